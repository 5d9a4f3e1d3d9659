/* SPDX-License-Identifier: BSD-3-Clause */
/* The TCP transport's socket I/O: framing, striping, failures. */
#include "tcp/tcp.h"

#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

void tutti_tcp_pc_fail(tutti_tcp_pc_t *pc, tutti_result_t code, const char *fmt, ...)
{
    if (pc->failed) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pc->why, sizeof(pc->why), fmt, ap);
    va_end(ap);
    pc->failed = 1;
    pc->failed_code = code;
    TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, pc->tc->rank, "tcp: rank %d: %s", pc->peer, pc->why);
}

void tutti_tcp_pc_end(tutti_tcp_pc_t *pc, tutti_result_t code, const char *fmt, ...)
{
    if (pc->ended) return; /* the first reason is the real one (a report comes before its EOF) */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pc->end_why, sizeof(pc->end_why), fmt, ap);
    va_end(ap);
    pc->ended = 1;
    pc->end_code = code;
    TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, pc->tc->rank, "tcp: rank %d channel %d: %s", pc->peer, pc->chan, pc->end_why);
}

int tutti_tcp_pc_end_fails(tutti_tcp_pc_t *pc)
{
    if (!pc->failed && pc->ended) {
        snprintf(pc->why, sizeof(pc->why), "%s", pc->end_why);
        pc->failed = 1;
        pc->failed_code = pc->end_code;
        TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, pc->tc->rank, "tcp: rank %d: %s", pc->peer, pc->why);
    }
    return pc->failed;
}

/* A send that returned -1 (not EINTR): the socket is full, or the peer is
 * gone. */
static void tutti_tcp_send_error(tutti_tcp_sock_t *s)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->writable = 0;
        return;
    }
    tutti_tcp_pc_fail(s->pc, TUTTI_ERR_REMOTE, "connection to rank %d lost while sending: %s", s->pc->peer,
                      strerror(errno));
}

/* Writes what it can of the messages that go on socket s. */
void tutti_tcp_sock_write(tutti_tcp_sock_t *s)
{
    tutti_tcp_pc_t *pc = s->pc;
    /* a control frame goes between messages, whole */
    while (!pc->failed && !s->closed && s->ctl_len && s->wdone == 0) {
        ssize_t w = send(s->fd, s->ctl + s->ctl_done, s->ctl_len - s->ctl_done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            tutti_tcp_send_error(s);
            return;
        }
        s->ctl_done += (size_t)w;
        if (s->ctl_done == s->ctl_len) s->ctl_len = s->ctl_done = 0;
    }
    while (!pc->failed && !s->closed && s->wmsg < pc->s_head) {
        uint32_t i = (uint32_t)(s->wmsg % pc->nslots);
        if (s->wdone == 0) {
            s->whdr.magic = TUTTI_TCP_MAGIC;
            s->whdr.len = pc->slen[i];
            s->whdr.tag = pc->stag[i];
            s->whdr.flags = 0;
        }
        size_t total = sizeof(s->whdr) + s->whdr.len;
        struct iovec iov[2];
        int n = 0;
        if (s->wdone < sizeof(s->whdr)) {
            iov[n].iov_base = (char *)&s->whdr + s->wdone;
            iov[n++].iov_len = sizeof(s->whdr) - s->wdone;
            iov[n].iov_base = pc->sref[i] ? (char *)pc->sref[i] : pc->sbuf + (size_t)i * pc->slot;
            iov[n++].iov_len = s->whdr.len;
        } else {
            size_t off = s->wdone - sizeof(s->whdr);
            iov[n].iov_base = (pc->sref[i] ? (char *)pc->sref[i] : pc->sbuf + (size_t)i * pc->slot) + off;
            iov[n++].iov_len = s->whdr.len - off;
        }
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            tutti_tcp_send_error(s);
            return;
        }
        s->wdone += (size_t)w;
        if (s->wdone == total) {
            s->wdone = 0;
            s->wmsg += (uint64_t)pc->nsocks;
        }
    }
}

/* Fills dst[0..want) as far as it can: from the stage, else from the
 * socket (small reads through the stage, large ones straight into dst).
 * Returns the bytes got, 0 when the socket has nothing now (readable
 * cleared), -1 when it ended (EOF or error: recorded on the pc). */
static ssize_t tutti_tcp_take(tutti_tcp_sock_t *s, char *dst, size_t want)
{
    tutti_tcp_pc_t *pc = s->pc;
    for (;;) {
        if (s->stage_off < s->stage_len) {
            size_t n = s->stage_len - s->stage_off < want ? s->stage_len - s->stage_off : want;
            memcpy(dst, s->stage + s->stage_off, n);
            s->stage_off += n;
            return (ssize_t)n;
        }
        if (s->drained) {
            s->readable = 0;
            return 0;
        }
        int direct = want >= TUTTI_TCP_STAGE / 2;
        size_t cap = direct ? want : TUTTI_TCP_STAGE;
        ssize_t r = recv(s->fd, direct ? dst : s->stage, cap, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->readable = 0;
                return 0;
            }
            s->rclosed = 1;
            tutti_tcp_pc_end(pc, TUTTI_ERR_REMOTE, "connection to rank %d lost: %s", pc->peer, strerror(errno));
            return -1;
        }
        if (r == 0) {
            s->rclosed = 1;
            tutti_tcp_pc_end(pc, TUTTI_ERR_REMOTE, "connection to rank %d closed (its process ended or its "
                                                   "communicator was destroyed)",
                             pc->peer);
            return -1;
        }
        if ((size_t)r < cap) s->drained = 1;
        if (direct) return r;
        s->stage_len = (size_t)r;
        s->stage_off = 0;
    }
}

/* Reads what it can of the messages that come on socket s, as long as a
 * slot is free for them. */
void tutti_tcp_sock_read(tutti_tcp_sock_t *s)
{
    tutti_tcp_pc_t *pc = s->pc;
    for (;;) {
        if (pc->failed || s->rclosed) return;
        if (s->rmsg - pc->r_tail >= pc->nslots) return; /* no slot: stop; retried after a release */
        char *dst;
        size_t want;
        if (s->rdone < sizeof(s->rhdr)) {
            dst = (char *)&s->rhdr + s->rdone;
            want = sizeof(s->rhdr) - s->rdone;
        } else {
            size_t off = s->rdone - sizeof(s->rhdr);
            if (s->rhdr.flags & (TUTTI_TCP_FLAG_ERROR | TUTTI_TCP_FLAG_WAIT)) dst = s->rtext + off;
            else dst = pc->rbuf + (size_t)(s->rmsg % pc->nslots) * pc->slot + off;
            want = s->rhdr.len - off;
        }
        ssize_t r = want ? tutti_tcp_take(s, dst, want) : 0;
        if (want && r <= 0) return; /* nothing now, or the socket ended */
        s->rdone += (size_t)r;
        if (s->rdone == sizeof(s->rhdr)) {
            /* validate the header before reading a byte of payload */
            if (s->rhdr.magic != TUTTI_TCP_MAGIC) {
                tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d sent a malformed message header", pc->peer);
                return;
            }
            if (s->rhdr.flags & TUTTI_TCP_FLAG_WAIT) {
                if (s->rhdr.len != sizeof(tutti_tcp_wait_t)) {
                    tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d sent a malformed wait state", pc->peer);
                    return;
                }
            } else if (s->rhdr.flags & TUTTI_TCP_FLAG_ERROR) {
                if (s->rhdr.len >= sizeof(s->rtext)) {
                    tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d sent an oversized error report", pc->peer);
                    return;
                }
            } else if (s->rhdr.len > pc->slot) {
                tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d sent a %u-byte message, more than a %zu-byte slot",
                                  pc->peer, s->rhdr.len, pc->slot);
                return;
            }
        }
        if (s->rdone < sizeof(s->rhdr) || s->rdone < sizeof(s->rhdr) + s->rhdr.len) continue;
        if (s->rhdr.flags & TUTTI_TCP_FLAG_WAIT) {
            /* not a message: the peer's wait state; rmsg stays */
            memcpy(&pc->wait, s->rtext, sizeof(pc->wait));
            pc->has_wait = 1;
            s->rdone = 0;
            continue;
        }
        if (s->rhdr.flags & TUTTI_TCP_FLAG_ERROR) {
            /* the peer stopped and said why (announce_failure): what it
             * sent before on the other sockets still counts */
            s->rtext[s->rhdr.len] = '\0';
            tutti_result_t code = (tutti_result_t)(int32_t)s->rhdr.tag;
            s->rclosed = 1;
            if (!pc->end_reported) pc->ended = 0; /* a report says more than an EOF seen before it */
            pc->end_reported = 1;
            tutti_tcp_pc_end(pc, code == TUTTI_ERR_MISMATCH ? code : TUTTI_ERR_REMOTE, "it reported: %.180s", s->rtext);
            return;
        }
        uint32_t i = (uint32_t)(s->rmsg % pc->nslots);
        pc->rlen[i] = s->rhdr.len;
        pc->rtag[i] = s->rhdr.tag;
        pc->rdone[i] = 1;
        s->rdone = 0;
        s->rmsg += (uint64_t)pc->nsocks;
        while (pc->r_head - pc->r_tail < pc->nslots && pc->rdone[pc->r_head % pc->nslots]) pc->r_head++;
    }
}

tutti_result_t tutti_tcp_block(void *tpcomm, int timeout_ms)
{
    tutti_tcp_comm_t *tc = tpcomm;
    if (tc->epfd < 0) return TUTTI_SUCCESS;
    if (tc->hs_work) return TUTTI_SUCCESS;
    /* a socket with work already known needs no sleep */
    for (int a = 0; a < tc->nactive; a++) {
        tutti_tcp_pc_t *pc = tc->active[a];
        if (pc->state != TUTTI_TCP_PC_UP) continue; /* handshakes wake through epoll */
        for (int i = 0; i < pc->nsocks; i++) {
            tutti_tcp_sock_t *s = &pc->socks[i];
            if ((s->writable && (s->wmsg < pc->s_head || s->ctl_len)) ||
                (s->readable && s->rmsg - pc->r_tail < pc->nslots && !pc->failed && !s->rclosed &&
                 (!s->drained || s->stage_off < s->stage_len)))
                return TUTTI_SUCCESS;
        }
    }
    return tutti_tcp_poll(tc, timeout_ms);
}

tutti_result_t tutti_tcp_progress(void *tpcomm)
{
    tutti_tcp_comm_t *tc = tpcomm;
    /* no peer over TCP (every peer on this node): no system call per poll */
    if (tc->epfd < 0) return TUTTI_SUCCESS;
    return tutti_tcp_poll(tc, 0);
}

tutti_result_t tutti_tcp_poll(tutti_tcp_comm_t *tc, int timeout_ms)
{
    struct epoll_event ev[64];
    int n = epoll_wait(tc->epfd, ev, 64, timeout_ms);
    for (int k = 0; k < n; k++) {
        if (ev[k].data.ptr == tc) { /* the listener, or a hello arriving */
            tc->hs_work = 1;
            continue;
        }
        tutti_tcp_sock_t *s = ev[k].data.ptr;
        if (ev[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
            s->readable = 1;
            s->drained = 0;
        }
        if (ev[k].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) s->writable = 1;
    }
    if (tc->hs_work) tutti_tcp_hs_step(tc);
    for (int a = 0; a < tc->nactive; a++) {
        tutti_tcp_pc_t *pc = tc->active[a];
        if (pc->state != TUTTI_TCP_PC_UP) {
            tutti_tcp_hs_pc(pc);
            if (pc->state != TUTTI_TCP_PC_UP) continue;
        }
        for (int i = 0; i < pc->nsocks; i++) {
            tutti_tcp_sock_t *s = &pc->socks[i];
            if (s->writable && (s->wmsg < pc->s_head || s->ctl_len)) tutti_tcp_sock_write(s);
            if (s->readable) tutti_tcp_sock_read(s);
        }
    }
    return TUTTI_SUCCESS;
}
