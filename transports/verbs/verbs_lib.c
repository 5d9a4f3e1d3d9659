/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libibverbs, loaded at run time: libtutti does not link it, so the library
 * loads and runs shm and tcp where rdma-core is not installed.  The first
 * need (the transport's registration) opens libibverbs.so.1 and resolves
 * every function the transport calls into tutti_verbs_lib; verbs.h maps the
 * ibv_* names onto it.  A missing library or symbol leaves the transport
 * out, with the reason (dlerror's words).
 *
 * Data-path calls (ibv_post_send, ibv_post_recv, ibv_poll_cq) are inline in
 * verbs.h and go through the device context's ops table: no symbol, no
 * change.
 */
#include "verbs/verbs.h"

#include "util/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TUTTI_VERBS_LIBNAME "libibverbs.so.1"

tutti_verbs_lib_t tutti_verbs_lib;

static pthread_once_t tutti_verbs_lib_once = PTHREAD_ONCE_INIT;
static char tutti_verbs_lib_why[256];
static int tutti_verbs_lib_ok;

static void tutti_verbs_lib_open(void)
{
    tutti_verbs_lib_t l;
    memset(&l, 0, sizeof(l));
    const tutti_dl_sym_t syms[] = {
        {&l.get_device_list, "ibv_get_device_list"},
        {&l.free_device_list, "ibv_free_device_list"},
        {&l.get_device_name, "ibv_get_device_name"},
        {&l.open_device, "ibv_open_device"},
        {&l.close_device, "ibv_close_device"},
        {&l.query_device, "ibv_query_device"},
        {&l.query_port_compat, "ibv_query_port"},
        {&l.query_gid, "ibv_query_gid"},
        {&l.query_gid_ex, "_ibv_query_gid_ex"},
        {&l.alloc_pd, "ibv_alloc_pd"},
        {&l.dealloc_pd, "ibv_dealloc_pd"},
        {&l.reg_mr, "ibv_reg_mr"},
        {&l.dereg_mr, "ibv_dereg_mr"},
        {&l.create_cq, "ibv_create_cq"},
        {&l.destroy_cq, "ibv_destroy_cq"},
        {&l.create_qp, "ibv_create_qp"},
        {&l.modify_qp, "ibv_modify_qp"},
        {&l.destroy_qp, "ibv_destroy_qp"},
        {&l.port_state_str, "ibv_port_state_str"},
        {&l.wc_status_str, "ibv_wc_status_str"},
    };
    if (!tutti_dl_open(TUTTI_VERBS_LIBNAME, RTLD_NOW | RTLD_LOCAL, "rdma-core's library", "rdma-core too old?", syms,
                       sizeof(syms) / sizeof(syms[0]), tutti_verbs_lib_why, sizeof(tutti_verbs_lib_why)))
        return;
    tutti_verbs_lib = l; /* never closed: devices may outlive a communicator */
    tutti_verbs_lib_ok = 1;
}

tutti_result_t tutti_verbs_lib_load(char *why, size_t whylen)
{
    pthread_once(&tutti_verbs_lib_once, tutti_verbs_lib_open);
    if (tutti_verbs_lib_ok) return TUTTI_SUCCESS;
    if (why) snprintf(why, whylen, "%s", tutti_verbs_lib_why);
    return TUTTI_ERR_UNSUPPORTED;
}

/* ibv_query_port as verbs.h's inline does it: the extended op where the
 * provider has one, else the original entry point (zeroed first). */
int tutti_verbs_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr)
{
    struct verbs_context *vctx = verbs_get_ctx_op(ctx, query_port);
    if (vctx) return vctx->query_port(ctx, port, attr, sizeof(*attr));
    memset(attr, 0, sizeof(*attr));
    return tutti_verbs_lib.query_port_compat(ctx, port, (struct _compat_ibv_port_attr *)attr);
}
