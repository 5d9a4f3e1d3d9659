/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/transports.h"

#include "dtype/copy.h"
#include "util/log.h"

#include "shm/shm.h"
#include "tcp/tcp.h"
#ifdef TUTTI_HAVE_UCX
#include "ucx/ucx.h"
#endif
#ifdef TUTTI_HAVE_VERBS
#include "verbs/verbs.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The built-in entry points, in order of preference; plugins go in before
 * tcp (the catch-all). */
typedef struct {
    const char *name;
    tutti_transport_entry_t entry;
} tutti_tp_builtin_t;

static const tutti_tp_builtin_t tutti_builtin_first[] = {
    {"shm", tutti_shm_entry},
#ifdef TUTTI_HAVE_VERBS
    {"verbs", tutti_verbs_entry},
#endif
#ifdef TUTTI_HAVE_UCX
    {"ucx", tutti_ucx_entry},
#endif
};
static const tutti_tp_builtin_t tutti_builtin_last[] = {
    {"tcp", tutti_tcp_entry},
};

static tutti_tp_entry_t tutti_registry[TUTTI_TP_REGISTRY_MAX];
static size_t tutti_nregistry;
static pthread_once_t tutti_registry_once = PTHREAD_ONCE_INIT;

/* One transport through its entry point and the checks; left out (with the
 * reason) where either fails or the name is taken. */
static void tutti_registry_add(tutti_tp_origin_t origin, const char *name, const char *path,
                               tutti_transport_entry_t entry, const char *load_why)
{
    if (tutti_nregistry == TUTTI_TP_REGISTRY_MAX) {
        TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, -1, "transport %s (%s) ignored: more than %d transports", name,
                   path ? path : "built in", TUTTI_TP_REGISTRY_MAX);
        return;
    }
    tutti_tp_entry_t *e = &tutti_registry[tutti_nregistry];
    memset(e, 0, sizeof(*e));
    e->origin = origin;
    snprintf(e->name, sizeof(e->name), "%s", name);
    if (path) snprintf(e->path, sizeof(e->path), "%s", path);
    const tutti_transport_t *tp = NULL;
    char why[256] = "";
    if (!entry) {
        snprintf(why, sizeof(why), "%s", load_why ? load_why : "no entry point");
    } else if (entry(TUTTI_TRANSPORT_API_VERSION, &tp, why, sizeof(why)) != TUTTI_SUCCESS || !tp) {
        if (!why[0]) snprintf(why, sizeof(why), "its entry point returned no transport");
        tp = NULL;
    } else if (tutti_tp_check(tp, why, sizeof(why)) != TUTTI_SUCCESS) {
        tp = NULL;
    } else {
        for (size_t k = 0; k < tutti_nregistry; k++)
            if (tutti_registry[k].tp && strcmp(tutti_registry[k].name, tp->name) == 0) {
                snprintf(why, sizeof(why), "a transport named '%s' is already registered (%s%s)", tp->name,
                         tutti_registry[k].origin == TUTTI_TP_BUILTIN ? "built in" : "plugin ",
                         tutti_registry[k].path);
                tp = NULL;
                break;
            }
    }
    if (tp) {
        snprintf(e->name, sizeof(e->name), "%s", tp->name);
        if (tp->size >= offsetof(tutti_transport_t, version) + sizeof(tp->version) && tp->version)
            snprintf(e->version, sizeof(e->version), "%s", tp->version);
        e->tp = tp;
        TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, -1, "transport %s: %s%s%s%s", e->name,
                   origin == TUTTI_TP_BUILTIN ? "built in" : "plugin ", e->path, e->version[0] ? ", " : "",
                   e->version);
    } else {
        snprintf(e->why, sizeof(e->why), "%s", why);
        TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, -1, "transport %s left out (%s%s): %s", e->name,
                   origin == TUTTI_TP_BUILTIN ? "built in" : "plugin ", e->path, e->why);
    }
    tutti_nregistry++;
}

static void tutti_registry_add_plugin(const char *name, const char *path, tutti_transport_entry_t entry,
                                      const char *why)
{
    tutti_registry_add(TUTTI_TP_PLUGIN, name, path, entry, why);
}

static void tutti_registry_build(void)
{
    for (size_t k = 0; k < sizeof(tutti_builtin_first) / sizeof(tutti_builtin_first[0]); k++)
        tutti_registry_add(TUTTI_TP_BUILTIN, tutti_builtin_first[k].name, NULL, tutti_builtin_first[k].entry, NULL);
    tutti_plugins_load(tutti_registry_add_plugin);
    for (size_t k = 0; k < sizeof(tutti_builtin_last) / sizeof(tutti_builtin_last[0]); k++)
        tutti_registry_add(TUTTI_TP_BUILTIN, tutti_builtin_last[k].name, NULL, tutti_builtin_last[k].entry, NULL);
}

const tutti_tp_entry_t *tutti_transports_list(size_t *n)
{
    pthread_once(&tutti_registry_once, tutti_registry_build);
    *n = tutti_nregistry;
    return tutti_registry;
}

const tutti_tp_entry_t *tutti_transports_find(const char *name)
{
    size_t n;
    const tutti_tp_entry_t *e = tutti_transports_list(&n);
    for (size_t k = 0; k < n; k++)
        if (e[k].tp && strcmp(e[k].name, name) == 0) return &e[k];
    return NULL;
}

tutti_result_t tutti_tp_stub_block(void *tpcomm, int timeout_ms)
{
    (void)tpcomm;
    (void)timeout_ms;
    return TUTTI_ERR_UNSUPPORTED;
}

tutti_result_t tutti_tp_stub_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root)
{
    (void)tpcomm;
    (void)seq;
    (void)tag;
    (void)waiting_on;
    (void)root;
    return TUTTI_ERR_UNSUPPORTED;
}

tutti_result_t tutti_tp_stub_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root)
{
    (void)conn;
    (void)seq;
    (void)waiting_on;
    (void)root;
    return TUTTI_ERR_UNSUPPORTED;
}

tutti_result_t tutti_tp_stub_probe(int requested, char *why, size_t whylen)
{
    (void)requested;
    snprintf(why, whylen, "no probe");
    return TUTTI_ERR_UNSUPPORTED;
}

tutti_result_t tutti_tp_stub_window(void *tpcomm, tutti_tp_window_t *w)
{
    (void)tpcomm;
    (void)w;
    return TUTTI_ERR_UNSUPPORTED;
}

/* The next message copied out of its slot; a message of another length or
 * tag (unless TUTTI_TAG_ANY) stays where it is. */
tutti_result_t tutti_tp_recv_read_copy(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag,
                                       tutti_result_t (*acquire)(void *, const void **, size_t *, uint32_t *),
                                       tutti_result_t (*release)(void *))
{
    const void *slot;
    tutti_result_t r = acquire(conn, &slot, got, got_tag);
    if (r != TUTTI_SUCCESS) return r;
    if (*got != len || (tag != TUTTI_TAG_ANY && *got_tag != tag)) return TUTTI_ERR_MISMATCH;
    tutti_copy(dst, slot, len);
    return release(conn);
}
