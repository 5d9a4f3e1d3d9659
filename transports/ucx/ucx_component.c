/* SPDX-License-Identifier: BSD-3-Clause */
/* The UCX transport's ops table: slot interface, progress, failures. */
#include "ucx/ucx.h"

#include "core/transports.h"

#include "core/fingerprint.h"
#include "util/time.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static tutti_result_t tutti_ucx_failure(const tutti_ucx_conn_t *c, char *why, size_t whylen)
{
    const tutti_ucx_peer_t *p = &c->uc->peers[c->peer];
    if (why) snprintf(why, whylen, "%s", p->why);
    return p->code ? p->code : TUTTI_ERR_REMOTE;
}

static void tutti_ucx_send_cb(void *request, ucs_status_t status, void *user_data)
{
    tutti_ucx_ud_t *ud = user_data;
    tutti_ucx_conn_t *c = ud->c;
    (void)request;
    c->sdone[ud->idx] = 1;
    if (status != UCS_OK)
        tutti_ucx_peer_fail(c->uc, c->peer, TUTTI_ERR_REMOTE, "UCX: a send to rank %d failed: %s", c->peer,
                            ucs_status_string(status));
}

/* Completed sends leave the ring, in order. */
static void tutti_ucx_reap(tutti_ucx_conn_t *c)
{
    while (c->s_tail < c->s_head) {
        uint32_t i = (uint32_t)(c->s_tail % c->nslots);
        if (!c->sdone[i]) break;
        if (c->sreq[i]) ucp_request_free(c->sreq[i]);
        c->sreq[i] = NULL;
        c->s_tail++;
    }
}

/* Tells the sender how many messages this side released (best effort: a
 * credit message still on its way is not overtaken; the next call retries). */
void tutti_ucx_credit(tutti_ucx_conn_t *c)
{
    tutti_ucx_comm_t *uc = c->uc;
    if (c->credited == c->r_tail || uc->peers[c->peer].failed) return;
    if (c->creq) {
        if (ucp_request_check_status(c->creq) == UCS_INPROGRESS) return;
        ucp_request_free(c->creq);
        c->creq = NULL;
    }
    memset(&c->cout, 0, sizeof(c->cout));
    c->cout.type = TUTTI_UCX_CTL_CREDIT;
    c->cout.src = uc->rank;
    c->cout.tag = (uint32_t)c->chan;
    c->cout.seq = c->r_tail;
    ucp_request_param_t prm = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, .flags = UCP_AM_SEND_FLAG_EAGER};
    void *req = ucp_am_send_nbx(uc->peers[c->peer].ep, TUTTI_UCX_AM_CTL, &c->cout, sizeof(c->cout), NULL, 0, &prm);
    if (UCS_PTR_IS_ERR(req)) return;
    c->creq = req;
    c->credited = c->r_tail;
}

/* Has the sender used every credit it was given (all nslots messages since
 * the last credit message arrived)?  Then it waits for the next one. */
int tutti_ucx_sender_starved(const tutti_ucx_conn_t *c)
{
    uint64_t k = c->r_tail;
    while (k < c->r_post && c->rdone[k % c->nslots]) k++;
    return c->r_tail > c->credited && k >= c->credited + c->nslots;
}

static tutti_result_t tutti_ucx_progress_l(void *tpcomm)
{
    tutti_ucx_comm_t *uc = tpcomm;
    for (int k = 0; k < 16 && ucp_worker_progress(uc->worker); k++) {
    }
    /* the engine is stalled: a sender that used all its credits gets the
     * ones held back for a batch now (not every stall: a message per call
     * would double a small collective's traffic) */
    for (int a = 0; a < uc->nactive; a++)
        if (tutti_ucx_sender_starved(uc->active[a])) tutti_ucx_credit(uc->active[a]);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_send_acquire_l(void *conn, size_t len, void **slot)
{
    tutti_ucx_conn_t *c = conn;
    (void)len;
    if (c->uc->peers[c->peer].failed) return tutti_ucx_failure(c, NULL, 0);
    /* a slot of this side's ring, and a free receive on the peer's side */
    if (c->s_head - c->s_tail >= c->nslots || c->s_head >= c->credit + c->nslots) {
        tutti_ucx_reap(c);
        if (c->s_head - c->s_tail >= c->nslots || c->s_head >= c->credit + c->nslots) {
            ucp_worker_progress(c->uc->worker);
            tutti_ucx_reap(c);
            if (c->s_head - c->s_tail >= c->nslots || c->s_head >= c->credit + c->nslots) return TUTTI_INPROGRESS;
        }
    }
    *slot = c->sbuf + (size_t)(c->s_head % c->nslots) * c->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_commit(tutti_ucx_conn_t *c, const void *buf, size_t len, uint32_t tag)
{
    tutti_ucx_comm_t *uc = c->uc;
    uint32_t i = (uint32_t)(c->s_head % c->nslots);
    ucp_request_param_t prm = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA,
        .cb.send = tutti_ucx_send_cb,
        .user_data = &c->sud[i],
    };
    if (!buf) { /* the slot: registered once, its handle given */
        buf = c->sbuf + (size_t)i * c->slot;
        prm.op_attr_mask |= UCP_OP_ATTR_FIELD_MEMH;
        prm.memh = uc->memh;
    }
    c->sdone[i] = 0;
    void *req = ucp_tag_send_nbx(uc->peers[c->peer].ep, buf, len,
                                 tutti_ucx_tag(TUTTI_UCX_KIND_DATA, c->chan, uc->rank, tag), &prm);
    if (UCS_PTR_IS_ERR(req)) {
        tutti_ucx_peer_fail(uc, c->peer, TUTTI_ERR_REMOTE, "UCX: sending to rank %d failed: %s", c->peer,
                            ucs_status_string(UCS_PTR_STATUS(req)));
        return tutti_ucx_failure(c, NULL, 0);
    }
    if (!req) c->sdone[i] = 1;
    c->sreq[i] = req;
    c->s_head++;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_send_commit_l(void *conn, size_t len, uint32_t tag)
{
    return tutti_ucx_commit(conn, NULL, len, tag);
}

/* Single copy: UCX reads the user's buffer (rendezvous, zero copy where the
 * transport can; its registration cache keeps the registration). */
static tutti_result_t tutti_ucx_send_commit_ref_l(void *conn, const void *buf, size_t len, uint32_t tag)
{
    return tutti_ucx_commit(conn, buf, len, tag);
}

/* Every send completed: UCX has the bytes (a reference's buffer may be
 * reused) and they reach the peer without this rank calling in again (the
 * progress thread moves what UCX still holds; destroy closes the endpoints
 * with a flush).  No endpoint flush here: over some transports it waits for
 * the peer's acknowledgements. */
static tutti_result_t tutti_ucx_send_flushed_l(void *conn)
{
    tutti_ucx_conn_t *c = conn;
    tutti_ucx_reap(c);
    if (c->s_tail < c->s_head) {
        ucp_worker_progress(c->uc->worker);
        tutti_ucx_reap(c);
        if (c->s_tail < c->s_head)
            return c->uc->peers[c->peer].failed ? tutti_ucx_failure(c, NULL, 0) : TUTTI_INPROGRESS;
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_recv_acquire_l(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    tutti_ucx_conn_t *c = conn;
    uint32_t i = (uint32_t)(c->r_tail % c->nslots);
    if (c->r_tail >= c->r_post || !c->rdone[i]) {
        ucp_worker_progress(c->uc->worker);
        if (c->r_tail >= c->r_post || !c->rdone[i]) {
            /* a peer that ended may still have sent this message (its data
             * and its farewell take different paths): only peer_check,
             * called when the wait lasts, gives up on it */
            if (c->r_tail >= c->r_post && c->uc->peers[c->peer].failed) return tutti_ucx_failure(c, NULL, 0);
            return TUTTI_INPROGRESS;
        }
    }
    *slot = c->rbuf + (size_t)i * c->slot;
    *len = c->rlen[i];
    *tag = c->rtag[i];
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_recv_release_l(void *conn)
{
    tutti_ucx_conn_t *c = conn;
    uint32_t i = (uint32_t)(c->r_tail % c->nslots);
    if (c->rreq[i]) ucp_request_free(c->rreq[i]);
    c->rreq[i] = NULL;
    c->rdone[i] = 0;
    c->r_tail++;
    tutti_ucx_post_recvs(c);
    if (c->r_tail - c->credited >= (c->nslots + 1) / 2) tutti_ucx_credit(c);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_recv_read_l(void *conn, void *dst, size_t len, uint32_t tag, size_t *got,
                                            uint32_t *got_tag)
{
    return tutti_tp_recv_read_copy(conn, dst, len, tag, got, got_tag,
                                   tutti_ucx_recv_acquire_l, tutti_ucx_recv_release_l);
}

static void *tutti_ucx_conn(void *tpcomm, int peer, int chan, int dir)
{
    tutti_ucx_comm_t *uc = tpcomm;
    (void)dir; /* one object serves both directions of a peer and channel */
    if (peer < 0 || peer >= uc->nranks || chan < 0 || chan >= uc->nchan) return NULL;
    return uc->conns[(size_t)peer * (size_t)uc->nchan + (size_t)chan];
}

static size_t tutti_ucx_max_payload(void *tpcomm)
{
    tutti_ucx_comm_t *uc = tpcomm;
    return uc->nactive ? uc->slot : 0;
}

void tutti_ucx_ctl_arrived(tutti_ucx_comm_t *uc, const tutti_ucx_ctl_t *m)
{
    if (m->src < 0 || m->src >= uc->nranks || m->src == uc->rank || !uc->peers[m->src].ep) return;
    tutti_ucx_peer_t *p = &uc->peers[m->src];
    char text[sizeof(m->text) + 1];
    memcpy(text, m->text, sizeof(m->text));
    text[sizeof(m->text)] = '\0';
    if (m->type == TUTTI_UCX_CTL_ERROR) {
        tutti_result_t code = m->code == TUTTI_ERR_MISMATCH ? TUTTI_ERR_MISMATCH : TUTTI_ERR_REMOTE;
        tutti_ucx_peer_fail(uc, m->src, code, "it reported: %.180s", text);
    } else if (m->type == TUTTI_UCX_CTL_CREDIT) {
        if (m->tag < (uint32_t)uc->nchan) {
            tutti_ucx_conn_t *c = uc->conns[(size_t)m->src * (size_t)uc->nchan + m->tag];
            if (c && m->seq > c->credit) c->credit = m->seq;
        }
    } else if (m->type == TUTTI_UCX_CTL_WAIT) {
        p->has_wait = 1;
        p->wseq = m->seq;
        p->wtag = m->tag;
        p->waiting_on = m->waiting_on;
        p->root = m->root;
    }
}

/* A control message to peer q, best effort: skipped while the last one to
 * it is still on its way. */
static void tutti_ucx_ctl_send(tutti_ucx_comm_t *uc, int q, const tutti_ucx_ctl_t *m)
{
    tutti_ucx_peer_t *p = &uc->peers[q];
    if (p->out_req) {
        if (ucp_request_check_status(p->out_req) == UCS_INPROGRESS) return;
        ucp_request_free(p->out_req);
        p->out_req = NULL;
    }
    p->out = *m;
    ucp_request_param_t prm = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, .flags = UCP_AM_SEND_FLAG_EAGER};
    void *req = ucp_am_send_nbx(p->ep, TUTTI_UCX_AM_CTL, &p->out, sizeof(p->out), NULL, 0, &prm);
    if (req && !UCS_PTR_IS_ERR(req)) p->out_req = req;
}

static tutti_result_t tutti_ucx_peer_check_l(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen)
{
    tutti_ucx_conn_t *c = conn;
    tutti_ucx_comm_t *uc = c->uc;
    ucp_worker_progress(uc->worker);
    tutti_ucx_peer_t *p = &uc->peers[c->peer];
    if (!p->failed && p->pid > 0 && kill(p->pid, 0) != 0 && errno == ESRCH)
        tutti_ucx_peer_fail(uc, c->peer, TUTTI_ERR_REMOTE, "its process (pid %d on this node) is gone", p->pid);
    if (p->failed) return tutti_ucx_failure(c, why, whylen);
    if (p->has_wait && p->wseq == seq && p->wtag != tag) {
        char theirs[160];
        tutti_fingerprint_describe(p->wtag, tag, theirs, sizeof(theirs));
        snprintf(why, whylen, "is in %s", theirs);
        return TUTTI_ERR_MISMATCH;
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_announce_failure_l(void *tpcomm, tutti_result_t result, const char *why)
{
    tutti_ucx_comm_t *uc = tpcomm;
    if (!uc || uc->announced || !uc->worker) return TUTTI_SUCCESS;
    uc->announced = 1;
    tutti_ucx_ctl_t m;
    memset(&m, 0, sizeof(m));
    m.type = TUTTI_UCX_CTL_ERROR;
    m.src = uc->rank;
    m.code = (int32_t)result;
    snprintf(m.text, sizeof(m.text), "%s", why ? why : "");
    for (int q = 0; q < uc->nranks; q++)
        if (uc->peers[q].ep && !uc->peers[q].failed) tutti_ucx_ctl_send(uc, q, &m);
    /* a moment for the messages to leave; closing the endpoints flushes
     * the rest */
    double end = tutti_time_now() + 0.05;
    for (int q = 0; q < uc->nranks; q++)
        while (uc->peers[q].out_req && ucp_request_check_status(uc->peers[q].out_req) == UCS_INPROGRESS &&
               tutti_time_now() < end)
            ucp_worker_progress(uc->worker);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_publish_wait_l(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root)
{
    tutti_ucx_comm_t *uc = tpcomm;
    tutti_ucx_ctl_t m;
    memset(&m, 0, sizeof(m));
    m.type = TUTTI_UCX_CTL_WAIT;
    m.src = uc->rank;
    m.seq = seq;
    m.tag = tag;
    m.waiting_on = waiting_on;
    m.root = root;
    for (int q = 0; q < uc->nranks; q++)
        if (uc->peers[q].ep && !uc->peers[q].failed) tutti_ucx_ctl_send(uc, q, &m);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_peer_wait_l(void *conn, uint64_t *seq, int *waiting_on, int *root)
{
    tutti_ucx_conn_t *c = conn;
    const tutti_ucx_peer_t *p = &c->uc->peers[c->peer];
    if (!p->has_wait) return TUTTI_INPROGRESS;
    *seq = p->wseq;
    *waiting_on = p->waiting_on;
    *root = p->root;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_ucx_publish_state(void *tpcomm, uint64_t seq, uint32_t tag)
{
    /* as over TCP: a message per call would cost every small collective a
     * round of control traffic; calls that never exchange a message are
     * told apart by the wait states at half the deadline */
    (void)tpcomm;
    (void)seq;
    (void)tag;
    return TUTTI_SUCCESS;
}

/* ---- entry points: each under the communicator's UCX lock, shared with
 * the progress thread (ucx_setup.c) ---- */
#define TUTTI_UCX_LOCKED(name, uc_of, params, args)                            \
    static tutti_result_t tutti_ucx_##name params                              \
    {                                                                          \
        tutti_ucx_comm_t *uc = uc_of;                                          \
        if (!uc) return TUTTI_SUCCESS;                                         \
        tutti_ucx_enter(uc);                                                   \
        tutti_result_t r = tutti_ucx_##name##_l args;                          \
        tutti_ucx_leave(uc);                                                   \
        return r;                                                              \
    }
#define TUTTI_UCX_OF_CONN(conn) (((tutti_ucx_conn_t *)(conn))->uc)
TUTTI_UCX_LOCKED(progress, (tutti_ucx_comm_t *)tpcomm, (void *tpcomm), (tpcomm))
TUTTI_UCX_LOCKED(send_acquire, TUTTI_UCX_OF_CONN(conn), (void *conn, size_t len, void **slot), (conn, len, slot))
TUTTI_UCX_LOCKED(send_commit, TUTTI_UCX_OF_CONN(conn), (void *conn, size_t len, uint32_t tag), (conn, len, tag))
TUTTI_UCX_LOCKED(send_commit_ref, TUTTI_UCX_OF_CONN(conn), (void *conn, const void *buf, size_t len, uint32_t tag),
                 (conn, buf, len, tag))
TUTTI_UCX_LOCKED(send_flushed, TUTTI_UCX_OF_CONN(conn), (void *conn), (conn))
TUTTI_UCX_LOCKED(recv_acquire, TUTTI_UCX_OF_CONN(conn), (void *conn, const void **slot, size_t *len, uint32_t *tag),
                 (conn, slot, len, tag))
TUTTI_UCX_LOCKED(recv_release, TUTTI_UCX_OF_CONN(conn), (void *conn), (conn))
TUTTI_UCX_LOCKED(recv_read, TUTTI_UCX_OF_CONN(conn),
                 (void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag),
                 (conn, dst, len, tag, got, got_tag))
TUTTI_UCX_LOCKED(peer_check, TUTTI_UCX_OF_CONN(conn),
                 (void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen),
                 (conn, seq, tag, why, whylen))
TUTTI_UCX_LOCKED(announce_failure, (tutti_ucx_comm_t *)tpcomm, (void *tpcomm, tutti_result_t result, const char *why),
                 (tpcomm, result, why))
TUTTI_UCX_LOCKED(publish_wait,
                 (tutti_ucx_comm_t *)tpcomm, (void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root),
                 (tpcomm, seq, tag, waiting_on, root))
TUTTI_UCX_LOCKED(peer_wait, TUTTI_UCX_OF_CONN(conn), (void *conn, uint64_t *seq, int *waiting_on, int *root),
                 (conn, seq, waiting_on, root))

/* Sleeps on the worker's event fd once UCX says nothing is pending. */
static tutti_result_t tutti_ucx_block(void *tpcomm, int timeout_ms)
{
    tutti_ucx_comm_t *uc = tpcomm;
    if (uc->efd < 0 || !uc->worker) return TUTTI_SUCCESS;
    tutti_ucx_enter(uc);
    int busy = ucp_worker_progress(uc->worker) != 0;
    /* a credit still to tell (its predecessor was on its way): no sleep */
    for (int a = 0; a < uc->nactive && !busy; a++) {
        if (!tutti_ucx_sender_starved(uc->active[a])) continue;
        tutti_ucx_credit(uc->active[a]);
        busy = tutti_ucx_sender_starved(uc->active[a]);
    }
    busy = busy || ucp_worker_arm(uc->worker) != UCS_OK; /* events to handle */
    tutti_ucx_leave(uc);
    if (busy) return TUTTI_SUCCESS;
    struct pollfd pfd = {.fd = uc->efd, .events = POLLIN};
    (void)poll(&pfd, 1, timeout_ms);
    return TUTTI_SUCCESS;
}

const tutti_transport_t tutti_ucx_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "ucx",
    .caps = TUTTI_TP_CAP_INTRANODE | TUTTI_TP_CAP_INTERNODE | TUTTI_TP_CAP_NEEDS_PROGRESS | TUTTI_TP_CAP_SEND_REF |
            TUTTI_TP_CAP_BLOCK | TUTTI_TP_CAP_WAIT_STATE | TUTTI_TP_CAP_PROBE,
    .comm_create = tutti_ucx_comm_create,
    .comm_destroy = tutti_ucx_comm_destroy,
    .conn = tutti_ucx_conn,
    .max_payload = tutti_ucx_max_payload,
    .progress = tutti_ucx_progress,
    .send_acquire = tutti_ucx_send_acquire,
    .send_commit = tutti_ucx_send_commit,
    .recv_acquire = tutti_ucx_recv_acquire,
    .recv_release = tutti_ucx_recv_release,
    .recv_read = tutti_ucx_recv_read,
    .send_commit_ref = tutti_ucx_send_commit_ref,
    .send_flushed = tutti_ucx_send_flushed,
    .peer_check = tutti_ucx_peer_check,
    .announce_failure = tutti_ucx_announce_failure,
    .publish_state = tutti_ucx_publish_state,
    .block = tutti_ucx_block,
    .publish_wait = tutti_ucx_publish_wait,
    .peer_wait = tutti_ucx_peer_wait,
    .probe = tutti_ucx_probe,
    .window = tutti_tp_stub_window,
    .version = NULL /* set by tutti_ucx_entry */,
};

/* Loads libucp (ucx_lib.c): without it the transport is left out. */
tutti_result_t tutti_ucx_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen)
{
    (void)api_version;
    tutti_result_t r = tutti_ucx_lib_load(why, whylen);
    if (r != TUTTI_SUCCESS) return r;
    static tutti_transport_t t;
    static char version[64];
    unsigned major, minor, release;
    ucp_get_version(&major, &minor, &release);
    snprintf(version, sizeof(version), "tutti %s, UCX %u.%u.%u", tutti_version_string(), major, minor, release);
    t = tutti_ucx_transport;
    t.version = version;
    *tp = &t;
    return TUTTI_SUCCESS;
}
