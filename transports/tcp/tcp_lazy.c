/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's connections, made on first use.
 *
 * The first call that needs a peer and channel (a send, a receive, a
 * liveness check), at either end, connects its sockets; the other end
 * accepts them whenever it next makes progress.  Each socket opens with a
 * signed hello (from, to, channel, socket index) and is answered:
 *
 *   a (connects)                          b (listens)
 *   connect, hello  ------------------->  accept, check the hello:
 *                                           b idle or accepting: adopt it
 *                   <-------------------  ack: accepted   (messages may follow)
 *   all sockets accepted: up              all sockets adopted: up
 *
 * Both ends may start at once.  Then the lower rank's connections win:
 *
 *   b (higher) gets a's hello while connecting: drops its own sockets,
 *              adopts a's (and its hellos to a get refused or closed)
 *   a (lower)  gets b's hello while connecting: refuses it (ack: refused)
 *
 * Each end decides from its own state only, and no message is written
 * before the pc is up, so whichever order the hellos cross in, both ends
 * end with the same sockets and nothing is lost.  A peer that cannot be
 * reached (its listener is gone: the process ended) fails the pc with the
 * address and the reason; strangers and forgeries are dropped and logged.
 */
#include "tcp/tcp.h"

#include "util/log.h"
#include "util/param.h"
#include "util/time.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUTTI_TCP_HELLO_WAIT 10.0 /* seconds a connection may take to say hello */

static void tutti_tcp_sockopts(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Edge-triggered, reading, writing and hang-ups: the data path's way. */
static int tutti_tcp_watch(tutti_tcp_comm_t *tc, tutti_tcp_sock_t *s, int op)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
    ev.data.ptr = s;
    return epoll_ctl(tc->epfd, op, s->fd, &ev);
}

static void tutti_tcp_sock_close(tutti_tcp_sock_t *s)
{
    if (s->fd >= 0) close(s->fd); /* leaves the epoll set with it */
    s->fd = -1;
    s->hs = TUTTI_TCP_HS_NONE;
    s->ack_have = 0;
}

static void tutti_tcp_pc_up(tutti_tcp_pc_t *pc)
{
    pc->state = TUTTI_TCP_PC_UP;
    for (int i = 0; i < pc->nsocks; i++) pc->socks[i].readable = pc->socks[i].writable = 1;
    TUTTI_TRACE(TUTTI_SUBSYS_TRANSPORT, pc->tc->rank, "tcp: rank %d channel %d connected (%d sockets)", pc->peer,
                pc->chan, pc->nsocks);
}

/* This end connects: nonblocking connects on every socket; their hellos go
 * out when the connects complete (tutti_tcp_hs_pc). */
static void tutti_tcp_hs_start(tutti_tcp_pc_t *pc)
{
    tutti_tcp_comm_t *tc = pc->tc;
    char abuf[80];
    struct sockaddr_storage ss;
    socklen_t len;
    if (tutti_sockaddr_to_os(&tc->addrs[pc->peer], &ss, &len) != 0) {
        tutti_tcp_pc_fail(pc, TUTTI_ERR_INVALID_USAGE, "rank %d has no usable tcp address", pc->peer);
        return;
    }
    pc->state = TUTTI_TCP_PC_CONNECTING;
    pc->nup = 0;
    for (int i = 0; i < pc->nsocks; i++) {
        tutti_tcp_sock_t *s = &pc->socks[i];
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            tutti_tcp_pc_fail(pc, errno == EMFILE || errno == ENFILE ? TUTTI_ERR_NO_MEMORY : TUTTI_ERR_SYSTEM,
                              "cannot open a socket to rank %d: %s%s", pc->peer, strerror(errno),
                              errno == EMFILE ? " (the per-process limit on open files, ulimit -n)" : "");
            return;
        }
        s->fd = fd;
        s->hs = TUTTI_TCP_HS_CONNECT;
        s->ack_have = 0;
        tutti_tcp_sockopts(fd);
        if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
            int e = errno;
            tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "cannot connect to rank %d at %s: %s%s", pc->peer,
                              tutti_sockaddr_str(&tc->addrs[pc->peer], abuf, sizeof(abuf)), strerror(e),
                              e == ECONNREFUSED ? " (it refused the connection: its communicator failed or was "
                                                  "destroyed, or its process ended)" : "");
            return;
        }
        if (tutti_tcp_watch(tc, s, EPOLL_CTL_ADD) != 0) {
            tutti_tcp_pc_fail(pc, TUTTI_ERR_SYSTEM, "tcp: epoll_ctl: %s", strerror(errno));
            return;
        }
        s->writable = 1; /* look at it at once: a local connect may be done already */
    }
}

/* One connecting socket: the connect's outcome, the hello, the answer. */
static void tutti_tcp_hs_sock(tutti_tcp_pc_t *pc, tutti_tcp_sock_t *s)
{
    tutti_tcp_comm_t *tc = pc->tc;
    char abuf[80];
    if (s->hs == TUTTI_TCP_HS_CONNECT && s->writable) {
        int e = 0;
        socklen_t el = sizeof(e);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
        if (e == EINPROGRESS || e == EALREADY) return;
        if (e == 0) {
            /* SO_ERROR is 0 before the connect finished too: is it? */
            struct sockaddr_storage peer;
            socklen_t pl = sizeof(peer);
            if (getpeername(s->fd, (struct sockaddr *)&peer, &pl) != 0) {
                if (errno == ENOTCONN) {
                    s->writable = 0;
                    return;
                }
                e = errno;
            }
        }
        if (e != 0) {
            if (e == ECONNREFUSED)
                tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d at %s refused the connection: its communicator "
                                  "failed or was destroyed, or its process ended", pc->peer,
                                  tutti_sockaddr_str(&tc->addrs[pc->peer], abuf, sizeof(abuf)));
            else
                tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "cannot connect to rank %d at %s: %s", pc->peer,
                                  tutti_sockaddr_str(&tc->addrs[pc->peer], abuf, sizeof(abuf)), strerror(e));
            return;
        }
        tutti_hello_t h;
        if (tutti_hello_make(&h, TUTTI_HELLO_TCP, tc->comm_id, tc->rank, pc->peer, tc->nranks,
                             (uint32_t)pc->chan << 8 | (uint32_t)s->idx, &tc->addrs[tc->rank], tc->key) != 0) {
            tutti_tcp_pc_fail(pc, TUTTI_ERR_SYSTEM, "tcp: getrandom: %s", strerror(errno));
            return;
        }
        /* 96 bytes into a fresh socket's buffer: never short */
        if (send(s->fd, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(h)) {
            tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "cannot send the hello to rank %d at %s: %s", pc->peer,
                              tutti_sockaddr_str(&tc->addrs[pc->peer], abuf, sizeof(abuf)), strerror(errno));
            return;
        }
        s->hs = TUTTI_TCP_HS_ACK;
        s->readable = 1;
    }
    if (s->hs != TUTTI_TCP_HS_ACK || !s->readable) return;
    int rc = tutti_socket_read_some(s->fd, &s->ack, sizeof(s->ack), &s->ack_have);
    if (rc == 0) {
        s->readable = 0;
        return;
    }
    if (rc < 0 || s->ack.magic != TUTTI_TCP_ACK_MAGIC) {
        /* closed without an answer: the peer refused the hello as a
         * stranger's (another communicator), or died */
        tutti_tcp_pc_fail(pc, TUTTI_ERR_REMOTE, "rank %d at %s %s during the connection handshake", pc->peer,
                          tutti_sockaddr_str(&tc->addrs[pc->peer], abuf, sizeof(abuf)),
                          rc < 0 ? "closed the connection" : "answered garbage");
        return;
    }
    if (s->ack.accept == TUTTI_TCP_ACK_FAILED) {
        /* the peer's communicator failed: its report follows (best effort) */
        tutti_tcp_failed_t f;
        memset(&f, 0, sizeof(f));
        ssize_t n = recv(s->fd, &f, sizeof(f), MSG_DONTWAIT);
        size_t len = n > 8 && f.len < sizeof(f.text) ? (size_t)n - 8 : 0;
        if (len > f.len) len = f.len;
        tutti_result_t code = n >= 4 && (tutti_result_t)f.code == TUTTI_ERR_MISMATCH ? TUTTI_ERR_MISMATCH
                                                                                     : TUTTI_ERR_REMOTE;
        tutti_tcp_pc_fail(pc, code, "it reported: %.*s", (int)len, f.text);
        return;
    }
    if (!s->ack.accept) {
        /* refused: the peer (a lower rank) connects to us itself */
        tutti_tcp_sock_close(s);
        return;
    }
    s->hs = TUTTI_TCP_HS_DATA;
    if (++pc->nup == pc->nsocks) tutti_tcp_pc_up(pc);
}

void tutti_tcp_hs_pc(tutti_tcp_pc_t *pc)
{
    if (pc->failed || pc->state != TUTTI_TCP_PC_CONNECTING) return;
    for (int i = 0; i < pc->nsocks && !pc->failed && pc->state == TUTTI_TCP_PC_CONNECTING; i++)
        if (pc->socks[i].hs == TUTTI_TCP_HS_CONNECT || pc->socks[i].hs == TUTTI_TCP_HS_ACK)
            tutti_tcp_hs_sock(pc, &pc->socks[i]);
}

/* The answer to a hello (8 bytes into a fresh socket: never short). */
static int tutti_tcp_answer(int fd, int accept)
{
    tutti_tcp_ack_t a = {TUTTI_TCP_ACK_MAGIC, accept ? 1u : 0u};
    return send(fd, &a, sizeof(a), MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(a) ? 0 : -1;
}

/* An authenticated hello from `from` for socket idx of channel c: adopt the
 * connection, or refuse it; NULL, or why it was dropped. */
static const char *tutti_tcp_adopt(tutti_tcp_comm_t *tc, int fd, int from, int c, int idx)
{
    tutti_tcp_pc_t *pc = tutti_tcp_pc_get(tc, from, c);
    if (!pc) return "out of memory for a peer";
    if (pc->failed) return "for a connection that already failed";
    if (pc->state == TUTTI_TCP_PC_UP) return "a second connection for one socket";
    if (tutti_tcp_pc_activate(pc) != 0) return "out of memory for the slot rings";
    if (pc->state == TUTTI_TCP_PC_CONNECTING) {
        if (from > tc->rank) {
            (void)tutti_tcp_answer(fd, 0); /* our own connections win */
            close(fd);
            return NULL;
        }
        /* the lower rank's connections win: give up ours */
        for (int i = 0; i < pc->nsocks; i++) tutti_tcp_sock_close(&pc->socks[i]);
        pc->nup = 0;
        pc->state = TUTTI_TCP_PC_ACCEPTING;
    }
    if (pc->state == TUTTI_TCP_PC_IDLE) {
        pc->state = TUTTI_TCP_PC_ACCEPTING;
        pc->nup = 0;
    }
    tutti_tcp_sock_t *s = &pc->socks[idx];
    if (s->fd >= 0) return "a second connection for one socket";
    s->fd = fd;
    if (tutti_tcp_answer(fd, 1) != 0) {
        s->fd = -1;
        return "closed before the answer";
    }
    tutti_tcp_sockopts(fd);
    if (epoll_ctl(tc->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 || tutti_tcp_watch(tc, s, EPOLL_CTL_ADD) != 0) {
        tutti_tcp_pc_fail(pc, TUTTI_ERR_SYSTEM, "tcp: epoll_ctl: %s", strerror(errno));
        return NULL; /* the pc owns the fd now */
    }
    s->hs = TUTTI_TCP_HS_DATA;
    s->readable = s->writable = 1;
    if (++pc->nup == pc->nsocks) tutti_tcp_pc_up(pc);
    return NULL;
}

void tutti_tcp_hs_step(tutti_tcp_comm_t *tc)
{
    if (tc->listen_fd < 0) return;
    tc->hs_work = 0;
    double now = tutti_time_now();
    /* take what waits in the listen queue: strangers must not fill it */
    while (tc->npend < TUTTI_TCP_MAX_PENDING) {
        int fd = tutti_socket_accept(tc->listen_fd);
        if (fd < 0) break;
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = tc;
        if (epoll_ctl(tc->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            continue;
        }
        tutti_tcp_pending_t *p = &tc->pend[tc->npend++];
        memset(p, 0, sizeof(*p));
        p->fd = fd;
        p->since = now;
    }
    for (int k = 0; k < tc->npend;) {
        tutti_tcp_pending_t *p = &tc->pend[k];
        int rc = tutti_socket_read_some(p->fd, &p->hello, sizeof(p->hello), &p->have);
        const char *bad = NULL;
        if (rc < 0) bad = "closed before completing its hello";
        else if (rc == 0 && now - p->since > TUTTI_TCP_HELLO_WAIT) bad = "sent no hello within 10 s";
        else if (rc == 0) {
            k++;
            continue;
        }
        int c = 0, idx = 0, fd = p->fd, early = rc < 0 && p->have == 0;
        tutti_hello_t h = p->hello;
        tc->pend[k] = tc->pend[--tc->npend];
        if (!bad)
            bad = tutti_tcp_hello_accept(&h, tc->key, tc->comm_id, tc->rank, tc->nranks, tc->use, tc->nchan,
                                         tc->nsocks, &c, &idx);
        if (!bad) bad = tutti_tcp_adopt(tc, fd, (int)h.from, c, idx);
        if (bad) {
            /* a peer that gave up its own connection (ours won) closes
             * before its hello: not worth a warning */
            if (early)
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: dropped an incoming connection: %s", bad);
            else
                TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: dropped an incoming connection: %s", bad);
            close(fd);
        }
    }
}

void tutti_tcp_hs_fail_all(tutti_tcp_comm_t *tc, tutti_result_t code, const char *why)
{
    if (tc->listen_fd < 0) return;
    struct {
        tutti_tcp_ack_t a;
        tutti_tcp_failed_t f;
    } m;
    memset(&m, 0, sizeof(m));
    m.a.magic = TUTTI_TCP_ACK_MAGIC;
    m.a.accept = TUTTI_TCP_ACK_FAILED;
    m.f.code = (int32_t)code;
    m.f.len = (uint32_t)snprintf(m.f.text, sizeof(m.f.text), "%s", why ? why : "");
    if (m.f.len >= sizeof(m.f.text)) m.f.len = sizeof(m.f.text) - 1;
    int fd;
    while (tc->npend < TUTTI_TCP_MAX_PENDING && (fd = tutti_socket_accept(tc->listen_fd)) >= 0) {
        memset(&tc->pend[tc->npend], 0, sizeof(tc->pend[0]));
        tc->pend[tc->npend++].fd = fd;
    }
    /* a stranger gets the same words as a peer: they name no secret */
    for (int k = 0; k < tc->npend; k++) {
        (void)!send(tc->pend[k].fd, &m, sizeof(m.a) + 8 + m.f.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(tc->pend[k].fd);
    }
    tc->npend = 0;
    close(tc->listen_fd);
    tc->listen_fd = -1;
    for (int a = 0; a < tc->nactive; a++) {
        tutti_tcp_pc_t *pc = tc->active[a];
        if (pc->state == TUTTI_TCP_PC_UP || pc->failed) continue;
        for (int i = 0; i < pc->nsocks; i++) tutti_tcp_sock_close(&pc->socks[i]);
        tutti_tcp_pc_fail(pc, code ? code : TUTTI_ERR_REMOTE, "this rank's communicator failed");
    }
}

tutti_result_t tutti_tcp_ready(tutti_tcp_pc_t *pc)
{
    if (__builtin_expect(pc->state == TUTTI_TCP_PC_UP, 1)) return TUTTI_SUCCESS;
    if (pc->failed) return pc->failed_code ? pc->failed_code : TUTTI_ERR_REMOTE;
    tutti_tcp_comm_t *tc = pc->tc;
    /* the peer may have connected already: adopt before connecting */
    tutti_tcp_hs_step(tc);
    if (pc->state == TUTTI_TCP_PC_IDLE && !pc->failed) {
        if (tutti_tcp_pc_activate(pc) == 0) tutti_tcp_hs_start(pc);
    }
    tutti_tcp_hs_pc(pc);
    if (pc->state == TUTTI_TCP_PC_UP) return TUTTI_SUCCESS;
    if (pc->failed) return pc->failed_code ? pc->failed_code : TUTTI_ERR_REMOTE;
    return TUTTI_INPROGRESS;
}
