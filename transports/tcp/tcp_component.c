/* SPDX-License-Identifier: BSD-3-Clause */
/* The TCP transport's ops table and slot interface. */
#include "tcp/tcp.h"

#include "core/transports.h"

#include "core/fingerprint.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Oldest message not yet fully written: the slot ring's tail. */
static uint64_t tutti_tcp_s_tail(const tutti_tcp_pc_t *pc)
{
    uint64_t t = pc->s_head;
    for (int i = 0; i < pc->nsocks; i++)
        if (pc->socks[i].wmsg < t) t = pc->socks[i].wmsg;
    return t;
}

static tutti_result_t tutti_tcp_failure(const tutti_tcp_pc_t *pc)
{
    return pc->failed_code ? pc->failed_code : TUTTI_ERR_REMOTE;
}

static tutti_result_t tutti_tcp_send_acquire(void *conn, size_t len, void **slot)
{
    tutti_tcp_pc_t *pc = conn;
    (void)len;
    tutti_result_t r = tutti_tcp_ready(pc);
    if (r != TUTTI_SUCCESS) return r;
    if (pc->failed || tutti_tcp_pc_end_fails(pc)) return tutti_tcp_failure(pc); /* it reads no more */
    if (pc->s_head - tutti_tcp_s_tail(pc) >= pc->nslots) {
        for (int i = 0; i < pc->nsocks; i++) tutti_tcp_sock_write(&pc->socks[i]);
        if (pc->s_head - tutti_tcp_s_tail(pc) >= pc->nslots) return TUTTI_INPROGRESS;
    }
    *slot = pc->sbuf + (size_t)(pc->s_head % pc->nslots) * pc->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_commit(tutti_tcp_pc_t *pc, const char *ref, size_t len, uint32_t tag)
{
    uint32_t i = (uint32_t)(pc->s_head % pc->nslots);
    pc->slen[i] = (uint32_t)len;
    pc->stag[i] = tag;
    pc->sref[i] = ref;
    pc->s_head++;
    /* send at once when the socket can take it: no poll between a small
     * message and the wire */
    tutti_tcp_sock_write(&pc->socks[(pc->s_head - 1) % (uint64_t)pc->nsocks]);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_send_commit(void *conn, size_t len, uint32_t tag)
{
    return tutti_tcp_commit(conn, NULL, len, tag);
}

/* Zero staging copy: the socket reads the user's buffer (send_flushed tells
 * when the kernel has it all, and the engine waits for that). */
static tutti_result_t tutti_tcp_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    return tutti_tcp_commit(conn, buf, len, tag);
}

static tutti_result_t tutti_tcp_send_flushed(void *conn)
{
    tutti_tcp_pc_t *pc = conn;
    if (pc->state != TUTTI_TCP_PC_UP) return pc->failed ? tutti_tcp_failure(pc) : TUTTI_SUCCESS; /* nothing sent */
    if (tutti_tcp_s_tail(pc) >= pc->s_head) return TUTTI_SUCCESS; /* all in the kernel */
    if (pc->failed || tutti_tcp_pc_end_fails(pc)) return tutti_tcp_failure(pc);
    return TUTTI_INPROGRESS;
}

static tutti_result_t tutti_tcp_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    tutti_tcp_pc_t *pc = conn;
    tutti_result_t r = tutti_tcp_ready(pc);
    if (r != TUTTI_SUCCESS) return r;
    if (pc->r_head == pc->r_tail) {
        if (pc->failed) return tutti_tcp_failure(pc);
        for (int i = 0; i < pc->nsocks; i++)
            if (pc->socks[i].readable) tutti_tcp_sock_read(&pc->socks[i]);
        if (pc->r_head == pc->r_tail) {
            /* the next message comes on socket r_head mod n: if that one is
             * closed, it never will */
            if (pc->socks[pc->r_head % (uint64_t)pc->nsocks].rclosed) tutti_tcp_pc_end_fails(pc);
            return pc->failed ? tutti_tcp_failure(pc) : TUTTI_INPROGRESS;
        }
    }
    uint32_t i = (uint32_t)(pc->r_tail % pc->nslots);
    *slot = pc->rbuf + (size_t)i * pc->slot;
    *len = pc->rlen[i];
    *tag = pc->rtag[i];
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_recv_release(void *conn)
{
    tutti_tcp_pc_t *pc = conn;
    pc->rdone[pc->r_tail % pc->nslots] = 0;
    pc->r_tail++;
    /* a socket that stopped for want of a slot may go on (edge-triggered
     * epoll will not tell again) */
    for (int i = 0; i < pc->nsocks; i++) pc->socks[i].readable = 1;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got,
                                          uint32_t *got_tag)
{
    return tutti_tp_recv_read_copy(conn, dst, len, tag, got, got_tag, tutti_tcp_recv_acquire, tutti_tcp_recv_release);
}

static void *tutti_tcp_conn(void *tpcomm, int peer, int chan, int dir)
{
    tutti_tcp_comm_t *tc = tpcomm;
    (void)dir; /* one object serves both directions of a peer and channel */
    return tutti_tcp_pc_get(tc, peer, chan); /* no socket yet: the first use connects */
}

static size_t tutti_tcp_max_payload(void *tpcomm)
{
    tutti_tcp_comm_t *tc = tpcomm;
    return tc->slot;
}

static tutti_result_t tutti_tcp_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen)
{
    tutti_tcp_pc_t *pc = conn;
    if (!pc->failed && pc->state != TUTTI_TCP_PC_UP) {
        /* a wait on a peer not connected yet: the handshake tells (a peer
         * that is gone refuses the connect) */
        if (tutti_tcp_ready(pc) == TUTTI_INPROGRESS) return TUTTI_SUCCESS;
    }
    if (!pc->failed) {
        /* pick up a close or an error report that arrived meanwhile; the
         * caller is stalled on this peer, so a peer that stopped is the
         * reason */
        for (int i = 0; i < pc->nsocks; i++) tutti_tcp_sock_read(&pc->socks[i]);
        if (!tutti_tcp_pc_end_fails(pc)) {
            /* stuck in our call with another fingerprint: a mismatch */
            tutti_tcp_pc_t *p0 = pc->tc->pcs[(size_t)pc->peer * (size_t)pc->tc->nchan];
            if (p0 && p0->has_wait && p0->wait.seq == seq && p0->wait.tag != tag) {
                char theirs[160];
                tutti_fingerprint_describe(p0->wait.tag, tag, theirs, sizeof(theirs));
                snprintf(why, whylen, "is in %s", theirs);
                return TUTTI_ERR_MISMATCH;
            }
            return TUTTI_SUCCESS;
        }
    }
    snprintf(why, whylen, "%s", pc->why);
    return tutti_tcp_failure(pc);
}

/* Best effort: an error frame on a socket that is between messages. */
static tutti_result_t tutti_tcp_announce_failure(void *tpcomm, tutti_result_t result, const char *why)
{
    tutti_tcp_comm_t *tc = tpcomm;
    if (!tc || tc->announced) return TUTTI_SUCCESS;
    tc->announced = 1;
    tutti_tcp_hs_fail_all(tc, result, why);
    size_t len = why ? strlen(why) : 0;
    if (len > 180) len = 180;
    for (int a = 0; a < tc->nactive; a++) {
        tutti_tcp_pc_t *pc = tc->active[a];
        if (pc->chan != 0 || pc->failed || pc->state != TUTTI_TCP_PC_UP) continue;
        for (int i = 0; i < pc->nsocks; i++) {
            tutti_tcp_sock_t *s = &pc->socks[i];
            if (s->wdone != 0 || s->closed) continue; /* mid-message: not here */
            struct {
                tutti_tcp_hdr_t h;
                char text[180];
            } f;
            f.h.magic = TUTTI_TCP_MAGIC;
            f.h.len = (uint32_t)len;
            f.h.tag = (uint32_t)(int32_t)result;
            f.h.flags = TUTTI_TCP_FLAG_ERROR;
            memcpy(f.text, why, len);
            (void)!send(s->fd, &f, sizeof(f.h) + len, MSG_NOSIGNAL | MSG_DONTWAIT);
            s->closed = 1; /* nothing else goes on this socket */
            break;
        }
    }
    return TUTTI_SUCCESS;
}

/* Queues a wait-state frame on socket 0 of every peer's channel 0; it goes
 * out between messages. */
static tutti_result_t tutti_tcp_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root)
{
    tutti_tcp_comm_t *tc = tpcomm;
    tutti_tcp_hdr_t h = {TUTTI_TCP_MAGIC, sizeof(tutti_tcp_wait_t), 0, TUTTI_TCP_FLAG_WAIT};
    tutti_tcp_wait_t w = {seq, tag, waiting_on, root, 0};
    for (int a = 0; a < tc->nactive; a++) {
        tutti_tcp_pc_t *pc = tc->active[a];
        if (pc->chan != 0 || pc->failed || pc->state != TUTTI_TCP_PC_UP) continue;
        tutti_tcp_sock_t *s = &pc->socks[0];
        if (s->closed || s->ctl_done) continue; /* one in flight: skip */
        memcpy(s->ctl, &h, sizeof(h));
        memcpy(s->ctl + sizeof(h), &w, sizeof(w));
        s->ctl_len = sizeof(h) + sizeof(w);
        tutti_tcp_sock_write(s);
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root)
{
    tutti_tcp_pc_t *pc = conn;
    /* the state travels on channel 0 */
    tutti_tcp_pc_t *p0 = pc->tc->pcs[(size_t)pc->peer * (size_t)pc->tc->nchan];
    if (!p0 || !p0->has_wait) return TUTTI_INPROGRESS;
    *seq = p0->wait.seq;
    *waiting_on = p0->wait.waiting_on;
    *root = p0->wait.root;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_tcp_publish_state(void *tpcomm, uint64_t seq, uint32_t tag)
{
    /* peers cannot read it without a message: mismatched calls that never
     * exchange a message end in the stall deadline over TCP */
    (void)tpcomm;
    (void)seq;
    (void)tag;
    return TUTTI_SUCCESS;
}

const tutti_transport_t tutti_tcp_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "tcp",
    .caps = TUTTI_TP_CAP_INTRANODE | TUTTI_TP_CAP_INTERNODE | TUTTI_TP_CAP_NEEDS_PROGRESS | TUTTI_TP_CAP_SEND_REF |
            TUTTI_TP_CAP_BLOCK | TUTTI_TP_CAP_WAIT_STATE,
    .comm_create = tutti_tcp_comm_create,
    .comm_destroy = tutti_tcp_comm_destroy,
    .conn = tutti_tcp_conn,
    .max_payload = tutti_tcp_max_payload,
    .progress = tutti_tcp_progress,
    .send_acquire = tutti_tcp_send_acquire,
    .send_commit = tutti_tcp_send_commit,
    .recv_acquire = tutti_tcp_recv_acquire,
    .recv_release = tutti_tcp_recv_release,
    .recv_read = tutti_tcp_recv_read,
    .send_commit_ref = tutti_tcp_send_commit_ref,
    .send_flushed = tutti_tcp_send_flushed,
    .peer_check = tutti_tcp_peer_check,
    .announce_failure = tutti_tcp_announce_failure,
    .publish_state = tutti_tcp_publish_state,
    .block = tutti_tcp_block,
    .publish_wait = tutti_tcp_publish_wait,
    .peer_wait = tutti_tcp_peer_wait,
    .probe = tutti_tp_stub_probe,
    .window = tutti_tp_stub_window,
    .version = TUTTI_TP_BUILTIN_VERSION,
};

TUTTI_TP_STATIC_ENTRY(tutti_tcp_entry, tutti_tcp_transport)
