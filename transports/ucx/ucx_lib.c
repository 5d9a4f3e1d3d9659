/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libucp, loaded at run time: libtutti does not link UCX, so the library
 * loads and runs shm and tcp where UCX is not installed.  The first need
 * (the transport's registration) opens libucp.so.0 (which brings libucs)
 * and resolves every function the transport calls into tutti_ucx_lib;
 * ucx.h maps the ucp_* and ucs_* names onto it.  A missing library or
 * symbol, or a UCX of another major version than the headers tutti was
 * built with, leaves the transport out with the reason.
 */
#include "ucx/ucx.h"

#include "util/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TUTTI_UCX_LIBNAME "libucp.so.0"

tutti_ucx_lib_t tutti_ucx_lib;

static pthread_once_t tutti_ucx_lib_once = PTHREAD_ONCE_INIT;
static char tutti_ucx_lib_why[256];
static int tutti_ucx_lib_ok;

static void tutti_ucx_lib_open(void)
{
    tutti_ucx_lib_t l;
    memset(&l, 0, sizeof(l));
    const tutti_dl_sym_t syms[] = {
        {&l.am_send_nbx, "ucp_am_send_nbx"},
        {&l.cleanup, "ucp_cleanup"},
        {&l.config_modify, "ucp_config_modify"},
        {&l.config_read, "ucp_config_read"},
        {&l.config_release, "ucp_config_release"},
        {&l.context_query, "ucp_context_query"},
        {&l.ep_close_nbx, "ucp_ep_close_nbx"},
        {&l.ep_create, "ucp_ep_create"},
        {&l.get_version, "ucp_get_version"},
        {&l.init_version, "ucp_init_version"},
        {&l.mem_map, "ucp_mem_map"},
        {&l.mem_query, "ucp_mem_query"},
        {&l.mem_unmap, "ucp_mem_unmap"},
        {&l.request_cancel, "ucp_request_cancel"},
        {&l.request_check_status, "ucp_request_check_status"},
        {&l.request_free, "ucp_request_free"},
        {&l.tag_recv_nbx, "ucp_tag_recv_nbx"},
        {&l.tag_send_nbx, "ucp_tag_send_nbx"},
        {&l.worker_arm, "ucp_worker_arm"},
        {&l.worker_create, "ucp_worker_create"},
        {&l.worker_destroy, "ucp_worker_destroy"},
        {&l.worker_get_address, "ucp_worker_get_address"},
        {&l.worker_get_efd, "ucp_worker_get_efd"},
        {&l.worker_progress, "ucp_worker_progress"},
        {&l.worker_release_address, "ucp_worker_release_address"},
        {&l.worker_set_am_recv_handler, "ucp_worker_set_am_recv_handler"},
        {&l.status_string, "ucs_status_string"},
    };
    void *h = tutti_dl_open(TUTTI_UCX_LIBNAME, RTLD_NOW | RTLD_LOCAL, "UCX's library", "UCX older than 1.10?", syms,
                            sizeof(syms) / sizeof(syms[0]), tutti_ucx_lib_why, sizeof(tutti_ucx_lib_why));
    if (!h) return;
    unsigned major, minor, release;
    l.get_version(&major, &minor, &release);
    if (major != UCP_API_MAJOR) {
        snprintf(tutti_ucx_lib_why, sizeof(tutti_ucx_lib_why),
                 "%s is UCX %u.%u.%u; tutti was built against UCX %u.x headers", TUTTI_UCX_LIBNAME, major, minor,
                 release, (unsigned)UCP_API_MAJOR);
        dlclose(h);
        return;
    }
    tutti_ucx_lib = l; /* never closed: UCX's own modules stay loaded */
    tutti_ucx_lib_ok = 1;
}

tutti_result_t tutti_ucx_lib_load(char *why, size_t whylen)
{
    pthread_once(&tutti_ucx_lib_once, tutti_ucx_lib_open);
    if (tutti_ucx_lib_ok) return TUTTI_SUCCESS;
    if (why) snprintf(why, whylen, "%s", tutti_ucx_lib_why);
    return TUTTI_ERR_UNSUPPORTED;
}
