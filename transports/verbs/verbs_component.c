/* SPDX-License-Identifier: BSD-3-Clause */
/* The ibverbs transport's ops table, data path, credits, completions and
 * failure reports (the protocol: verbs.h). */
#include "verbs/verbs.h"

#include "core/fingerprint.h"
#include "core/transports.h"
#include "dtype/copy.h"
#include "util/log.h"
#include "util/param.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ---- posting ----------------------------------------------------------- */

static uint64_t tutti_verbs_inbox_off(int rank)
{
    return (uint64_t)rank * sizeof(tutti_verbs_inbox_t);
}

/* An RDMA WRITE of len bytes from registered local memory into the peer's
 * inbox for this rank (at offset off in it).  0, or -1 when the send queue
 * has no room for control WRITEs or the connection failed. */
static int tutti_verbs_write_ctrl(tutti_verbs_pc_t *pc, const volatile void *src, uint32_t lkey, size_t len,
                                  size_t off, int kind)
{
    tutti_verbs_comm_t *vc = pc->vc;
    if (pc->failed || pc->ctrl_out >= TUTTI_VERBS_SQ_EXTRA) return -1;
    struct ibv_sge sge = {(uintptr_t)src, (uint32_t)len, lkey};
    struct ibv_send_wr wr, *bad;
    memset(&wr, 0, sizeof(wr));
    wr.wr_id = (uint64_t)pc->idx << 8 | (uint64_t)kind;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = IBV_WR_RDMA_WRITE;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = vc->peer_ctrl_addr[pc->peer] + tutti_verbs_inbox_off(vc->rank) + off;
    wr.wr.rdma.rkey = vc->peer_ctrl_rkey[pc->peer];
    int rc = ibv_post_send(pc->qp, &wr, &bad);
    if (rc != 0) {
        tutti_verbs_peer_fail(vc, pc->peer, TUTTI_ERR_REMOTE, 0, "verbs: ibv_post_send (RDMA WRITE) on QP %u towards "
                              "rank %d failed: %s", pc->qp->qp_num, pc->peer, strerror(rc));
        return -1;
    }
    pc->ctrl_out++;
    return 0;
}

/* Tells the peer how many of its messages this rank released: its credits. */
static void tutti_verbs_credit(tutti_verbs_pc_t *pc)
{
    if (pc->r_credited == pc->r_tail) return;
    *pc->credit_src = pc->r_tail;
    if (tutti_verbs_write_ctrl(pc, pc->credit_src, pc->mr->lkey, sizeof(uint64_t),
                               offsetof(tutti_verbs_inbox_t, released) + (size_t)pc->chan * sizeof(uint64_t),
                               TUTTI_VERBS_WR_CTRL) == 0)
        pc->r_credited = pc->r_tail;
    else
        pc->vc->credits_pending = 1; /* no room now: progress retries */
}

static tutti_result_t tutti_verbs_post_data(tutti_verbs_pc_t *pc, const void *addr, size_t len, uint32_t lkey,
                                            uint32_t tag)
{
    struct ibv_sge sge = {(uintptr_t)addr, (uint32_t)len, lkey};
    struct ibv_send_wr wr, *bad;
    memset(&wr, 0, sizeof(wr));
    wr.wr_id = (uint64_t)pc->idx << 8 | TUTTI_VERBS_WR_SEND;
    wr.sg_list = &sge;
    wr.num_sge = len ? 1 : 0;
    wr.opcode = IBV_WR_SEND_WITH_IMM;
    wr.imm_data = htonl(tag);
    wr.send_flags = IBV_SEND_SIGNALED;
    int rc = ibv_post_send(pc->qp, &wr, &bad);
    if (rc != 0) {
        tutti_verbs_peer_fail(pc->vc, pc->peer, TUTTI_ERR_REMOTE, 0, "verbs: ibv_post_send (SEND) on QP %u towards rank "
                              "%d failed: %s", pc->qp->qp_num, pc->peer, strerror(rc));
        return pc->failed_code;
    }
    return TUTTI_SUCCESS;
}

/* ---- failures ---------------------------------------------------------- */

void tutti_verbs_peer_fail(tutti_verbs_comm_t *vc, int peer, tutti_result_t code, int quiet, const char *fmt, ...)
{
    char why[sizeof(((tutti_verbs_pc_t *)0)->why)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    int first = 1;
    for (int c = 0; c < vc->nchan; c++) {
        tutti_verbs_pc_t *pc = tutti_verbs_pc(vc, peer, c);
        if (!pc || pc->failed) {
            first &= !(pc && pc->failed);
            continue;
        }
        pc->failed = 1;
        pc->failed_code = code;
        snprintf(pc->why, sizeof(pc->why), "%s", why);
    }
    if (first && quiet) TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, vc->rank, "%s", why);
    else if (first) TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, vc->rank, "%s", why);
}

static const char *tutti_verbs_status_hint(enum ibv_wc_status st)
{
    switch (st) {
    case IBV_WC_RETRY_EXC_ERR:
        return "did not acknowledge within TUTTI_IB_TIMEOUT x RETRY_CNT";
    case IBV_WC_RNR_RETRY_EXC_ERR:
        return "had no receive posted for too long (should not happen with credits): is it alive?";
    case IBV_WC_REM_ACCESS_ERR:
    case IBV_WC_REM_INV_REQ_ERR:
        return "refused the access to its memory: did it exit or restart (stale QP or key)?";
    case IBV_WC_REM_OP_ERR:
    case IBV_WC_REM_ABORT_ERR:
        return "failed the operation on its side: its queue pair is in error (did it exit?)";
    case IBV_WC_LOC_LEN_ERR:
    case IBV_WC_LOC_PROT_ERR:
    case IBV_WC_LOC_QP_OP_ERR:
    case IBV_WC_MW_BIND_ERR:
        return "(a local buffer or registration problem: a tutti bug, please report with TUTTI_DEBUG=INFO)";
    case IBV_WC_WR_FLUSH_ERR:
        return "(the queue pair was already in error)";
    default:
        return "check the port (ibv_devinfo) and the fabric";
    }
}

static void tutti_verbs_wc_error(tutti_verbs_comm_t *vc, tutti_verbs_pc_t *pc, const struct ibv_wc *wc, int kind)
{
    if (pc->failed) return; /* the first error is the cause; the rest are flushes */
    static const char *const what[] = {"send", "receive", "control write", "keepalive write"};
    int retry = wc->status == IBV_WC_RETRY_EXC_ERR;
    double tmo = 4.096e-6 * (double)(1ull << tutti_param_int(TUTTI_P_IB_TIMEOUT)) *
                 (double)(tutti_verbs_retry_cnt(vc) + 1);
    char extra[96] = "";
    if (retry)
        snprintf(extra, sizeof(extra), " (%d x %d tries: %.2f s): is it alive, the port up, the GID/subnet the same?",
                 (int)tutti_param_int(TUTTI_P_IB_TIMEOUT), tutti_verbs_retry_cnt(vc) + 1, tmo);
    tutti_verbs_peer_fail(vc, pc->peer, TUTTI_ERR_REMOTE, kind == TUTTI_VERBS_WR_CTRL,
                          "verbs: %s on QP %u to rank %d failed: %s; rank %d %s%s", what[kind & 3], pc->qp->qp_num,
                          pc->peer, ibv_wc_status_str(wc->status), pc->peer, tutti_verbs_status_hint(wc->status),
                          extra);
}

/* ---- completions ------------------------------------------------------- */

tutti_result_t tutti_verbs_poll(tutti_verbs_comm_t *vc)
{
    if (!vc->cq) return TUTTI_SUCCESS;
    struct ibv_wc wc[TUTTI_VERBS_CQ_BATCH];
    for (;;) {
        int n = ibv_poll_cq(vc->cq, TUTTI_VERBS_CQ_BATCH, wc);
        if (n < 0) {
            TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, vc->rank, "verbs: ibv_poll_cq failed (%d)", n);
            return TUTTI_ERR_SYSTEM;
        }
        for (int i = 0; i < n; i++) {
            int kind = (int)(wc[i].wr_id & 0xff);
            size_t idx = (size_t)(wc[i].wr_id >> 8);
            if (idx >= (size_t)vc->nactive) continue;
            tutti_verbs_pc_t *pc = vc->active[idx];
            switch (kind) {
            case TUTTI_VERBS_WR_SEND: {
                uint32_t s = (uint32_t)(pc->s_done % pc->nslots);
                tutti_verbs_rcache_put(&vc->rcache, pc->sref[s]);
                pc->sref[s] = NULL;
                pc->s_done++;
                break;
            }
            case TUTTI_VERBS_WR_RECV:
                if (wc[i].status == IBV_WC_SUCCESS) {
                    uint32_t s = (uint32_t)(pc->r_head % pc->nslots);
                    pc->rlen[s] = wc[i].byte_len;
                    pc->rtag[s] = ntohl(wc[i].imm_data);
                    pc->r_head++;
                }
                break;
            case TUTTI_VERBS_WR_PING:
                pc->ping_out = 0;
                pc->ctrl_out--;
                break;
            default:
                pc->ctrl_out--;
                break;
            }
            if (wc[i].status != IBV_WC_SUCCESS) tutti_verbs_wc_error(vc, pc, &wc[i], kind);
        }
        if (n < TUTTI_VERBS_CQ_BATCH) return TUTTI_SUCCESS;
    }
}

static tutti_result_t tutti_verbs_progress(void *tpcomm)
{
    tutti_verbs_comm_t *vc = tpcomm;
    tutti_result_t r = tutti_verbs_poll(vc);
    /* the engine is stalled: credits it held back go out now, so that a
     * sender waiting for them never waits on a batch */
    if (vc->credits_pending) {
        vc->credits_pending = 0;
        for (int a = 0; a < vc->nactive; a++) tutti_verbs_credit(vc->active[a]);
    }
    return r;
}

/* ---- data path --------------------------------------------------------- */

static tutti_result_t tutti_verbs_failure(const tutti_verbs_pc_t *pc)
{
    return pc->failed_code ? pc->failed_code : TUTTI_ERR_REMOTE;
}

static int tutti_verbs_can_send(const tutti_verbs_pc_t *pc)
{
    uint64_t credit = __atomic_load_n((uint64_t *)&pc->vc->inbox[pc->peer].released[pc->chan], __ATOMIC_ACQUIRE);
    return pc->s_head - pc->s_done < pc->nslots && pc->s_head < credit + pc->nslots;
}

static tutti_result_t tutti_verbs_send_acquire(void *conn, size_t len, void **slot)
{
    tutti_verbs_pc_t *pc = conn;
    (void)len;
    if (pc->failed) return tutti_verbs_failure(pc);
    if (!tutti_verbs_can_send(pc)) {
        tutti_verbs_poll(pc->vc);
        if (pc->failed) return tutti_verbs_failure(pc);
        if (!tutti_verbs_can_send(pc)) return TUTTI_INPROGRESS;
    }
    *slot = pc->sbuf + (size_t)(pc->s_head % pc->nslots) * pc->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_verbs_send_commit(void *conn, size_t len, uint32_t tag)
{
    tutti_verbs_pc_t *pc = conn;
    if (pc->failed) return tutti_verbs_failure(pc);
    uint32_t s = (uint32_t)(pc->s_head % pc->nslots);
    tutti_result_t r = tutti_verbs_post_data(pc, pc->sbuf + (size_t)s * pc->slot, len, pc->mr->lkey, tag);
    if (r == TUTTI_SUCCESS) pc->s_head++;
    return r;
}

/* Single copy: the SEND reads the user's buffer through a registration
 * (verbs_rcache.c), held until the send completes; the slot send_acquire
 * took stays unused.  Where no registration can be had the bytes go through
 * the slot after all. */
static tutti_result_t tutti_verbs_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    tutti_verbs_pc_t *pc = conn;
    tutti_verbs_comm_t *vc = pc->vc;
    if (pc->failed) return tutti_verbs_failure(pc);
    tutti_verbs_rentry_t *e = NULL;
    char why[200];
    tutti_result_t r = len ? tutti_verbs_rcache_get(&vc->rcache, buf, len, TUTTI_MEM_HOST, &e, why, sizeof(why))
                           : TUTTI_ERR_INVALID_ARGUMENT;
    if (r != TUTTI_SUCCESS) {
        if (len && !vc->ref_warned) {
            vc->ref_warned = 1;
            TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, vc->rank, "%s; copying through the slots instead", why);
        }
        uint32_t s = (uint32_t)(pc->s_head % pc->nslots);
        tutti_copy(pc->sbuf + (size_t)s * pc->slot, buf, len);
        return tutti_verbs_send_commit(conn, len, tag);
    }
    uint32_t s = (uint32_t)(pc->s_head % pc->nslots);
    r = tutti_verbs_post_data(pc, buf, len, e->mr->lkey, tag);
    if (r != TUTTI_SUCCESS) {
        tutti_verbs_rcache_put(&vc->rcache, e);
        return r;
    }
    pc->sref[s] = e;
    pc->s_head++;
    return TUTTI_SUCCESS;
}

/* An RC send completion means the peer's HCA acknowledged the bytes: they
 * are in its receive slot, no further call here is needed. */
static tutti_result_t tutti_verbs_send_flushed(void *conn)
{
    tutti_verbs_pc_t *pc = conn;
    if (pc->s_done == pc->s_head) return TUTTI_SUCCESS;
    tutti_verbs_poll(pc->vc);
    if (pc->s_done == pc->s_head) return TUTTI_SUCCESS;
    return pc->failed ? tutti_verbs_failure(pc) : TUTTI_INPROGRESS;
}

static tutti_result_t tutti_verbs_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    tutti_verbs_pc_t *pc = conn;
    if (pc->r_head == pc->r_tail) {
        tutti_verbs_poll(pc->vc);
        if (pc->r_head == pc->r_tail) return pc->failed ? tutti_verbs_failure(pc) : TUTTI_INPROGRESS;
    }
    uint32_t s = (uint32_t)(pc->r_tail % pc->nslots);
    *slot = pc->rbuf + (size_t)s * pc->slot;
    *len = pc->rlen[s];
    *tag = pc->rtag[s];
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_verbs_recv_release(void *conn)
{
    tutti_verbs_pc_t *pc = conn;
    uint32_t s = (uint32_t)(pc->r_tail % pc->nslots);
    pc->r_tail++;
    if (pc->failed) return TUTTI_SUCCESS; /* the QP is in error: nothing to repost */
    struct ibv_sge sge = {(uintptr_t)(pc->rbuf + (size_t)s * pc->slot), (uint32_t)pc->slot, pc->mr->lkey};
    struct ibv_recv_wr wr, *bad;
    memset(&wr, 0, sizeof(wr));
    wr.wr_id = (uint64_t)pc->idx << 8 | TUTTI_VERBS_WR_RECV;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    int rc = ibv_post_recv(pc->qp, &wr, &bad);
    if (rc != 0) {
        tutti_verbs_peer_fail(pc->vc, pc->peer, TUTTI_ERR_REMOTE, 0, "verbs: ibv_post_recv on QP %u (rank %d) failed: %s",
                              pc->qp->qp_num, pc->peer, strerror(rc));
        return pc->failed_code;
    }
    if (pc->r_tail - pc->r_credited >= (uint64_t)pc->vc->credit_batch) tutti_verbs_credit(pc);
    else pc->vc->credits_pending = 1;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_verbs_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got,
                                            uint32_t *got_tag)
{
    return tutti_tp_recv_read_copy(conn, dst, len, tag, got, got_tag, tutti_verbs_recv_acquire, tutti_verbs_recv_release);
}

static void *tutti_verbs_conn(void *tpcomm, int peer, int chan, int dir)
{
    tutti_verbs_comm_t *vc = tpcomm;
    (void)dir; /* one QP serves both directions of a peer and channel */
    if (peer < 0 || peer >= vc->nranks || chan < 0 || chan >= vc->nchan) return NULL;
    return tutti_verbs_pc(vc, peer, chan);
}

static size_t tutti_verbs_max_payload(void *tpcomm)
{
    return ((tutti_verbs_comm_t *)tpcomm)->max_payload;
}

/* ---- liveness, state, failure reports ---------------------------------- */

static tutti_result_t tutti_verbs_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen)
{
    tutti_verbs_pc_t *pc = conn;
    tutti_verbs_comm_t *vc = pc->vc;
    tutti_verbs_inbox_t *in = &vc->inbox[pc->peer];
    tutti_verbs_poll(vc);
    /* the peer's own report first: it is the cause, our QP's error the effect */
    if (__atomic_load_n((uint64_t *)&in->fail_gen, __ATOMIC_ACQUIRE)) {
        uint32_t len = in->fail.len < TUTTI_VERBS_WHY ? in->fail.len : TUTTI_VERBS_WHY;
        snprintf(why, whylen, "it reported: %.*s", (int)len, in->fail.why);
        return in->fail.code == TUTTI_ERR_MISMATCH ? TUTTI_ERR_MISMATCH : TUTTI_ERR_REMOTE;
    }
    if (pc->failed) {
        snprintf(why, whylen, "%s", pc->why);
        return tutti_verbs_failure(pc);
    }
    uint64_t state = __atomic_load_n((uint64_t *)&in->state, __ATOMIC_ACQUIRE);
    if (state && seq != TUTTI_SEQ_NONE && (uint32_t)(state >> 32) == (uint32_t)seq && (uint32_t)state != tag) {
        char theirs[160];
        tutti_fingerprint_describe((uint32_t)state, tag, theirs, sizeof(theirs));
        snprintf(why, whylen, "is in %s", theirs);
        return TUTTI_ERR_MISMATCH;
    }
    /* a peer this rank only waits on would never be noticed dead: an 8-byte
     * WRITE it must acknowledge turns its death into a retry-exceeded error */
    double now = tutti_time_now();
    /* the HCA acknowledges without the peer's CPU, so a keepalive that
     * stays unacknowledged for twice the retry budget means the peer is
     * gone even where the device retries for ever (some drivers treat
     * retry_cnt 7 so) */
    double budget = 4.096e-6 * (double)(1ull << tutti_param_int(TUTTI_P_IB_TIMEOUT)) *
                    (double)(tutti_verbs_retry_cnt(vc) + 1);
    if (pc->ping_out && now - pc->last_ping > (budget * 2 > 2.0 ? budget * 2 : 2.0)) {
        tutti_verbs_peer_fail(vc, pc->peer, TUTTI_ERR_REMOTE, 0, "verbs: rank %d has not acknowledged a keepalive "
                              "WRITE on QP %u for %.1f s (TUTTI_IB_TIMEOUT/RETRY_CNT allow %.2f s): is it alive, is "
                              "the port up?", pc->peer, pc->qp->qp_num, now - pc->last_ping, budget);
        snprintf(why, whylen, "%s", pc->why);
        return tutti_verbs_failure(pc);
    }
    if (!pc->ping_out && now - pc->last_ping >= TUTTI_VERBS_PING_S) {
        pc->last_ping = now;
        vc->outbox->ping++;
        if (tutti_verbs_write_ctrl(pc, &vc->outbox->ping, vc->ctrl_mr->lkey, sizeof(uint64_t),
                                   offsetof(tutti_verbs_inbox_t, ping), TUTTI_VERBS_WR_PING) == 0) {
            pc->ping_out = 1;
            if (!pc->pinged++)
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, vc->rank, "verbs: waiting on rank %d: keepalive WRITEs on QP %u "
                           "every %.0f ms", pc->peer, pc->qp->qp_num, TUTTI_VERBS_PING_S * 1e3);
        }
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_verbs_publish_state(void *tpcomm, uint64_t seq, uint32_t tag)
{
    tutti_verbs_comm_t *vc = tpcomm;
    if (!vc || !vc->nactive) return TUTTI_SUCCESS;
    __atomic_store_n((uint64_t *)&vc->outbox->state, (uint64_t)(uint32_t)seq << 32 | tag, __ATOMIC_RELEASE);
    for (int a = 0; a < vc->nactive; a++) {
        tutti_verbs_pc_t *pc = vc->active[a];
        if (pc->chan != 0) continue;
        /* best effort: a full send queue skips one update */
        (void)tutti_verbs_write_ctrl(pc, &vc->outbox->state, vc->ctrl_mr->lkey, sizeof(uint64_t),
                                     offsetof(tutti_verbs_inbox_t, state), TUTTI_VERBS_WR_CTRL);
    }
    return TUTTI_SUCCESS;
}

/* Best effort: the report's body, then its generation word in a second
 * WRITE on the same QP (RC places it after the body), to every peer. */
static tutti_result_t tutti_verbs_announce_failure(void *tpcomm, tutti_result_t result, const char *why)
{
    tutti_verbs_comm_t *vc = tpcomm;
    if (!vc || vc->announced || !vc->nactive) return TUTTI_SUCCESS;
    vc->announced = 1;
    tutti_verbs_outbox_t *o = vc->outbox;
    size_t len = why ? strlen(why) : 0;
    if (len > TUTTI_VERBS_WHY) len = TUTTI_VERBS_WHY;
    memset(&o->fail, 0, sizeof(o->fail));
    o->fail.code = result ? (int32_t)result : (int32_t)TUTTI_ERR_REMOTE;
    o->fail.len = (uint32_t)len;
    if (len) memcpy(o->fail.why, why, len);
    o->fail_gen = 1;
    for (int a = 0; a < vc->nactive; a++) {
        tutti_verbs_pc_t *pc = vc->active[a];
        if (pc->chan != 0 || pc->ctrl_out + 2 > TUTTI_VERBS_SQ_EXTRA) continue;
        if (tutti_verbs_write_ctrl(pc, &o->fail, vc->ctrl_mr->lkey, sizeof(o->fail),
                                   offsetof(tutti_verbs_inbox_t, fail), TUTTI_VERBS_WR_CTRL) == 0)
            (void)tutti_verbs_write_ctrl(pc, &o->fail_gen, vc->ctrl_mr->lkey, sizeof(uint64_t),
                                         offsetof(tutti_verbs_inbox_t, fail_gen), TUTTI_VERBS_WR_CTRL);
    }
    return TUTTI_SUCCESS;
}

/* ---- probe and stubs --------------------------------------------------- */

static tutti_result_t tutti_verbs_probe(int requested, char *why, size_t whylen)
{
    tutti_verbs_port_t p;
    (void)requested; /* without an active port there is nothing to fall back on */
    if (tutti_verbs_lib_load(why, whylen) != TUTTI_SUCCESS) return TUTTI_ERR_UNSUPPORTED;
    return tutti_verbs_port_find(0, -1, &p, NULL, 0, why, whylen);
}

const tutti_transport_t tutti_verbs_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "verbs",
    .caps = TUTTI_TP_CAP_INTRANODE | TUTTI_TP_CAP_INTERNODE | TUTTI_TP_CAP_NEEDS_PROGRESS | TUTTI_TP_CAP_SEND_REF |
            TUTTI_TP_CAP_PROBE,
    .comm_create = tutti_verbs_comm_create,
    .comm_destroy = tutti_verbs_comm_destroy,
    .conn = tutti_verbs_conn,
    .max_payload = tutti_verbs_max_payload,
    .progress = tutti_verbs_progress,
    .send_acquire = tutti_verbs_send_acquire,
    .send_commit = tutti_verbs_send_commit,
    .recv_acquire = tutti_verbs_recv_acquire,
    .recv_release = tutti_verbs_recv_release,
    .recv_read = tutti_verbs_recv_read,
    .send_commit_ref = tutti_verbs_send_commit_ref,
    .send_flushed = tutti_verbs_send_flushed,
    .peer_check = tutti_verbs_peer_check,
    .publish_state = tutti_verbs_publish_state,
    .announce_failure = tutti_verbs_announce_failure,
    .block = tutti_tp_stub_block,
    .publish_wait = tutti_tp_stub_publish_wait,
    .peer_wait = tutti_tp_stub_peer_wait,
    .probe = tutti_verbs_probe,
    .window = tutti_tp_stub_window,
    .version = TUTTI_TP_BUILTIN_VERSION ", libibverbs.so.1",
};

/* Loads libibverbs (verbs_lib.c): without it the transport is left out. */
tutti_result_t tutti_verbs_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen)
{
    (void)api_version;
    tutti_result_t r = tutti_verbs_lib_load(why, whylen);
    if (r != TUTTI_SUCCESS) return r;
    *tp = &tutti_verbs_transport;
    return TUTTI_SUCCESS;
}
