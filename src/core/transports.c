/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/transports.h"

#include "dtype/copy.h"

#include "shm/shm.h"
#include "tcp/tcp.h"
#ifdef TUTTI_HAVE_UCX
#include "ucx/ucx.h"
#endif
#ifdef TUTTI_HAVE_VERBS
#include "verbs/verbs.h"
#endif

static const tutti_transport_t *const tutti_builtin[] = {
    &tutti_shm_transport,
#ifdef TUTTI_HAVE_VERBS
    &tutti_verbs_transport,
#endif
#ifdef TUTTI_HAVE_UCX
    &tutti_ucx_transport,
#endif
    &tutti_tcp_transport,
};

const tutti_transport_t *const *tutti_transports_builtin(size_t *n)
{
    *n = sizeof(tutti_builtin) / sizeof(tutti_builtin[0]);
    return tutti_builtin;
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
