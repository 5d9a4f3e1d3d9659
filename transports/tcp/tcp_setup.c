/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's set-up and teardown.
 *
 *   every rank:   listen on the picked interface; allgather the addresses
 *   rank a < b:   connect nchan * nsocks sockets to b, each opening with a
 *                 signed hello (from, to, channel, socket index)
 *   rank b:       accept them, interleaved with its own connects (so that
 *                 neither a chain of ranks nor strangers filling the listen
 *                 queue can stall anyone); strangers and forgeries are
 *                 dropped and logged
 *   allgather:    "all my connections are up": everyone fails, or nobody
 *
 * The key that signs hellos is derived from the communicator's secret and
 * id, so a connection from another job, or from a communicator of this job
 * that was split differently, is refused.
 */
#include "tcp/tcp.h"

#include "core/bootstrap_wire.h"
#include "util/log.h"
#include "util/param.h"
#include "util/siphash.h"
#include "util/time.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void tutti_tcp_pc_free(tutti_tcp_pc_t *pc)
{
    if (!pc) return;
    for (int i = 0; i < TUTTI_TCP_MAX_SOCKS; i++) {
        if (pc->socks[i].fd >= 0) close(pc->socks[i].fd);
        free(pc->socks[i].stage);
    }
    free(pc->sbuf);
    free(pc->rbuf);
    free(pc->slen);
    free(pc->stag);
    free(pc->sref);
    free(pc->rlen);
    free(pc->rtag);
    free(pc->rdone);
    free(pc);
}

static tutti_tcp_pc_t *tutti_tcp_pc_new(tutti_tcp_comm_t *tc, int peer, int chan, int nsocks, uint32_t nslots,
                                        size_t slot)
{
    tutti_tcp_pc_t *pc = calloc(1, sizeof(*pc));
    if (!pc) return NULL;
    pc->tc = tc;
    pc->peer = peer;
    pc->chan = chan;
    pc->nsocks = nsocks;
    pc->nslots = nslots;
    pc->slot = slot;
    for (int i = 0; i < TUTTI_TCP_MAX_SOCKS; i++) {
        pc->socks[i].fd = -1;
        pc->socks[i].idx = i;
        pc->socks[i].pc = pc;
        pc->socks[i].wmsg = pc->socks[i].rmsg = (uint64_t)i;
        pc->socks[i].readable = pc->socks[i].writable = 1;
    }
    for (int i = 0; i < nsocks; i++) {
        pc->socks[i].stage = malloc(TUTTI_TCP_STAGE);
        if (!pc->socks[i].stage) {
            tutti_tcp_pc_free(pc);
            return NULL;
        }
    }
    pc->sbuf = malloc((size_t)nslots * slot);
    pc->rbuf = malloc((size_t)nslots * slot);
    pc->slen = calloc(nslots, sizeof(uint32_t));
    pc->stag = calloc(nslots, sizeof(uint32_t));
    pc->sref = calloc(nslots, sizeof(*pc->sref));
    pc->rlen = calloc(nslots, sizeof(uint32_t));
    pc->rtag = calloc(nslots, sizeof(uint32_t));
    pc->rdone = calloc(nslots, 1);
    if (!pc->sbuf || !pc->rbuf || !pc->slen || !pc->stag || !pc->sref || !pc->rlen || !pc->rtag || !pc->rdone) {
        tutti_tcp_pc_free(pc);
        return NULL;
    }
    /* fault the rings in now, not on the first large message */
    memset(pc->sbuf, 0, (size_t)nslots * slot);
    memset(pc->rbuf, 0, (size_t)nslots * slot);
    return pc;
}

static void tutti_tcp_sockopts(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

typedef struct {
    int fd;
    size_t have;
    double since;
    tutti_hello_t hello;
} tutti_tcp_pending_t;

#define TUTTI_TCP_MAX_PENDING 64

/* The accepting side, one step: takes what waits in the listen queue,
 * reads hellos, adopts authenticated connections from lower ranks, drops
 * (and logs) the rest.  Waits up to timeout_ms for something to happen. */
typedef struct {
    tutti_tcp_pending_t pend[TUTTI_TCP_MAX_PENDING];
    int npend, have, expect;
} tutti_tcp_acceptor_t;

static void tutti_tcp_accept_step(tutti_tcp_comm_t *tc, const tutti_tp_setup_t *setup, tutti_tcp_acceptor_t *ac,
                                  int timeout_ms)
{
    double now = tutti_time_now();
    struct pollfd pfd[1 + TUTTI_TCP_MAX_PENDING];
    pfd[0].fd = tc->listen_fd;
    pfd[0].events = POLLIN;
    for (int k = 0; k < ac->npend; k++) {
        pfd[1 + k].fd = ac->pend[k].fd;
        pfd[1 + k].events = POLLIN;
    }
    if (timeout_ms > 0) (void)poll(pfd, (nfds_t)(1 + ac->npend), timeout_ms);
    /* accept every waiting connection: strangers must not fill the queue */
    while (ac->npend < TUTTI_TCP_MAX_PENDING) {
        int fd = tutti_socket_accept(tc->listen_fd);
        if (fd < 0) break;
        memset(&ac->pend[ac->npend], 0, sizeof(ac->pend[ac->npend]));
        ac->pend[ac->npend].fd = fd;
        ac->pend[ac->npend].since = now;
        ac->npend++;
    }
    for (int k = 0; k < ac->npend;) {
        tutti_tcp_pending_t *p = &ac->pend[k];
        int rc = tutti_socket_read_some(p->fd, &p->hello, sizeof(p->hello), &p->have);
        const char *bad = NULL;
        if (rc < 0) bad = "closed before completing its hello";
        else if (rc == 0 && now - p->since > 10.0) bad = "sent no hello within 10 s";
        else if (rc == 0) {
            k++;
            continue;
        }
        tutti_tcp_pc_t *pc = NULL;
        int c = 0, idx = 0;
        if (!bad)
            bad = tutti_tcp_hello_accept(&p->hello, tc->key, tc->comm_id, tc->rank, tc->nranks, setup->use, tc->nchan,
                                         tc->nsocks, &c, &idx);
        if (!bad) {
            pc = tc->pcs[(size_t)p->hello.from * (size_t)tc->nchan + (size_t)c];
            if (pc->socks[idx].fd >= 0) bad = "a second connection for one socket";
        }
        if (bad) {
            TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: dropped an incoming connection: %s", bad);
            close(p->fd);
        } else {
            pc->socks[idx].fd = p->fd;
            tutti_tcp_sockopts(p->fd);
            ac->have++;
        }
        ac->pend[k] = ac->pend[--ac->npend];
    }
}

/* Names a lower rank that has not connected all its sockets. */
static int tutti_tcp_missing(const tutti_tcp_comm_t *tc, const tutti_tp_setup_t *setup)
{
    for (int q = 0; q < tc->rank; q++) {
        if (!setup->use[q]) continue;
        for (int c = 0; c < tc->nchan; c++) {
            const tutti_tcp_pc_t *pc = tc->pcs[(size_t)q * (size_t)tc->nchan + (size_t)c];
            for (int i = 0; i < pc->nsocks; i++)
                if (pc->socks[i].fd < 0) return q;
        }
    }
    return -1;
}

/* Connects the sockets of every higher peer (each opening with a signed
 * hello) and accepts those of every lower peer, interleaved: a rank never
 * waits on a connect without serving its own listen queue, so neither a
 * chain of ranks nor strangers filling the queue can stall the set-up. */
static tutti_result_t tutti_tcp_connect_all(tutti_tcp_comm_t *tc, const tutti_tp_setup_t *setup,
                                            const tutti_sockaddr_t *addrs, double deadline, char *err, size_t errlen)
{
    char abuf[80];
    tutti_result_t r = TUTTI_SUCCESS;
    tutti_tcp_acceptor_t *ac = calloc(1, sizeof(*ac));
    if (!ac) {
        snprintf(err, errlen, "tcp: out of memory");
        return TUTTI_ERR_NO_MEMORY;
    }
    for (int q = 0; q < tc->rank; q++)
        if (setup->use[q]) ac->expect += tc->nchan * tc->nsocks;
    for (int q = tc->rank + 1; r == TUTTI_SUCCESS && q < tc->nranks; q++) {
        if (!setup->use[q]) continue;
        for (int c = 0; r == TUTTI_SUCCESS && c < tc->nchan; c++) {
            tutti_tcp_pc_t *pc = tc->pcs[(size_t)q * (size_t)tc->nchan + (size_t)c];
            for (int i = 0; r == TUTTI_SUCCESS && i < pc->nsocks; i++) {
                int fd;
                for (;;) {
                    double now = tutti_time_now(), until = now + 0.05;
                    fd = tutti_socket_connect(&addrs[q], until < deadline ? until : deadline, 1);
                    if (fd >= 0) break;
                    if ((errno != ETIMEDOUT && errno != ECONNREFUSED) || tutti_time_now() >= deadline) {
                        snprintf(err, errlen, "tcp: rank %d cannot connect to rank %d at %s: %s", tc->rank, q,
                                 tutti_sockaddr_str(&addrs[q], abuf, sizeof(abuf)), strerror(errno));
                        r = errno == ETIMEDOUT ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_REMOTE;
                        break;
                    }
                    if (ac->expect) tutti_tcp_accept_step(tc, setup, ac, 0);
                }
                if (r != TUTTI_SUCCESS) break;
                pc->socks[i].fd = fd;
                tutti_hello_t h;
                if (tutti_hello_make(&h, TUTTI_HELLO_TCP, tc->comm_id, tc->rank, q, tc->nranks,
                                     (uint32_t)c << 8 | (uint32_t)i, &addrs[tc->rank], tc->key) != 0) {
                    snprintf(err, errlen, "tcp: getrandom: %s", strerror(errno));
                    r = TUTTI_ERR_SYSTEM;
                    break;
                }
                /* 96 bytes into a fresh socket's buffer: does not block */
                if (tutti_socket_write_all(fd, &h, sizeof(h), deadline) != 0) {
                    snprintf(err, errlen, "tcp: rank %d cannot send its hello to rank %d at %s: %s", tc->rank, q,
                             tutti_sockaddr_str(&addrs[q], abuf, sizeof(abuf)), strerror(errno));
                    r = TUTTI_ERR_REMOTE;
                    break;
                }
                tutti_tcp_sockopts(fd);
                if (ac->expect) tutti_tcp_accept_step(tc, setup, ac, 0);
            }
        }
    }
    while (r == TUTTI_SUCCESS && ac->have < ac->expect) {
        if (tutti_time_now() > deadline) {
            snprintf(err, errlen, "tcp: rank %d got %d of the %d connections it expects; none yet from rank %d within "
                                  "the deadline (a firewall, or TUTTI_SOCKET_IFNAME picking an interface the peers "
                                  "cannot reach?)",
                     tc->rank, ac->have, ac->expect, tutti_tcp_missing(tc, setup));
            r = TUTTI_ERR_TIMEOUT;
            break;
        }
        tutti_tcp_accept_step(tc, setup, ac, 100);
    }
    for (int k = 0; k < ac->npend; k++) close(ac->pend[k].fd);
    free(ac);
    return r;
}

/* Every rank's set-up status to every rank: *r becomes the first failure
 * (naming the rank that failed and `what` it failed at) on all of them.
 * -1 when the bootstrap itself broke: no further collective step. */
static int tutti_tcp_agree(const tutti_tp_setup_t *setup, tutti_result_t *r, int32_t *status, const char *what)
{
    int32_t st = (int32_t)*r;
    tutti_result_t r2 = setup->boot->allgather(setup->boot->ctx, &st, status, sizeof(st));
    if (r2 != TUTTI_SUCCESS) {
        if (*r == TUTTI_SUCCESS) {
            snprintf(setup->err, setup->errlen, "tcp: exchanging set-up status failed");
            *r = r2;
        }
        return -1;
    }
    for (int q = 0; *r == TUTTI_SUCCESS && q < setup->nranks; q++) {
        if (status[q] != 0) {
            snprintf(setup->err, setup->errlen, "tcp: rank %d %s (%s); see its log", q, what,
                     tutti_result_name((tutti_result_t)status[q]));
            *r = TUTTI_ERR_REMOTE;
        }
    }
    return 0;
}

/* Listens on addr (port 0), or on the first free port of
 * TUTTI_TCP_PORT_RANGE; fd or -1 with err. */
static int tutti_tcp_listen(tutti_sockaddr_t *addr, int backlog, const char *ifname, char *err, size_t errlen)
{
    const char *range = tutti_param_str(TUTTI_P_TCP_PORT_RANGE);
    unsigned lo = 0, hi = 0;
    int used = 0;
    if (range[0] && (sscanf(range, "%u-%u%n", &lo, &hi, &used) != 2 || range[used] != '\0' || lo == 0 ||
                     hi > 65535 || lo > hi)) {
        snprintf(err, errlen, "TUTTI_TCP_PORT_RANGE='%s' is not lo-hi with 1 <= lo <= hi <= 65535", range);
        errno = EINVAL;
        return -1;
    }
    for (unsigned port = lo; port <= hi; port++) {
        addr->port = htons((uint16_t)port);
        int fd = tutti_socket_listen(addr, backlog);
        if (fd >= 0) return fd;
        if (errno != EADDRINUSE || !range[0]) break;
    }
    if (range[0] && errno == EADDRINUSE)
        snprintf(err, errlen, "tcp: no free port in TUTTI_TCP_PORT_RANGE='%s' on %s", range, ifname);
    else
        snprintf(err, errlen, "tcp: cannot listen on %s: %s", ifname, strerror(errno));
    return -1;
}

tutti_result_t tutti_tcp_comm_destroy(void *tpcomm)
{
    tutti_tcp_comm_t *tc = tpcomm;
    if (!tc) return TUTTI_SUCCESS;
    if (tc->pcs)
        for (size_t k = 0; k < (size_t)tc->nranks * (size_t)tc->nchan; k++) tutti_tcp_pc_free(tc->pcs[k]);
    free(tc->pcs);
    free(tc->active);
    if (tc->epfd >= 0) close(tc->epfd);
    if (tc->listen_fd >= 0) close(tc->listen_fd);
    free(tc);
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_tcp_comm_create(const tutti_tp_setup_t *setup, void **out)
{
    tutti_result_t r = TUTTI_SUCCESS, r2;
    char *err = setup->err;
    size_t errlen = setup->errlen;
    tutti_sockaddr_t *addrs = NULL;
    int32_t *status = NULL;
    tutti_tcp_comm_t *tc = calloc(1, sizeof(*tc));
    if (!tc) {
        snprintf(err, errlen, "tcp: out of memory");
        return TUTTI_ERR_NO_MEMORY;
    }
    tc->rank = setup->rank;
    tc->nranks = setup->nranks;
    tc->nchan = setup->nchannels;
    tc->comm_id = setup->comm_id;
    tc->epfd = tc->listen_fd = -1;
    tutti_tcp_derive_key(setup->secret, setup->comm_id, tc->key);
    double deadline = tutti_time_now() + setup->timeout;
    int nsocks = (int)tutti_param_int(TUTTI_P_TCP_NSOCKS);
    tc->nsocks = nsocks;
    size_t slot = tutti_param_size(TUTTI_P_TCP_SLOT_SIZE) & ~(size_t)63;
    uint32_t nslots = (uint32_t)tutti_param_int(TUTTI_P_TCP_NSLOTS);
    int any = 0;
    for (int q = 0; q < tc->nranks; q++) any |= setup->use[q] != 0;

    addrs = calloc((size_t)tc->nranks, sizeof(*addrs));
    status = calloc((size_t)tc->nranks, sizeof(*status));
    tc->pcs = calloc((size_t)tc->nranks * (size_t)tc->nchan, sizeof(*tc->pcs));
    tc->active = calloc((size_t)tc->nranks * (size_t)tc->nchan, sizeof(*tc->active));
    if (!addrs || !status || !tc->pcs || !tc->active) {
        snprintf(err, errlen, "tcp: out of memory for %d ranks", tc->nranks);
        r = TUTTI_ERR_NO_MEMORY;
    }
    /* listen (only a rank with tcp peers: the others take part in the
     * collective steps with an empty address) */
    tutti_sockaddr_t mine;
    memset(&mine, 0, sizeof(mine));
    if (r == TUTTI_SUCCESS && any) {
        char ifname[64];
        if (tutti_socket_pick_if(tutti_param_str(TUTTI_P_SOCKET_IFNAME), tutti_param_str(TUTTI_P_SOCKET_FAMILY),
                                 &mine, ifname, sizeof(ifname), err, errlen) != 0) {
            r = TUTTI_ERR_INVALID_ARGUMENT;
        } else {
            mine.port = 0;
            int backlog = tc->nranks * tc->nchan * nsocks;
            tc->listen_fd = tutti_tcp_listen(&mine, backlog > 4096 ? 4096 : backlog < 128 ? 128 : backlog, ifname, err,
                                             errlen);
            if (tc->listen_fd < 0) {
                r = errno == EINVAL ? TUTTI_ERR_INVALID_ARGUMENT : TUTTI_ERR_SYSTEM;
            } else {
                char abuf[80];
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: listening on %s (%s), %d socket(s) per peer "
                           "and channel",
                           tutti_sockaddr_str(&mine, abuf, sizeof(abuf)), ifname, nsocks);
            }
        }
    }
    for (int q = 0; r == TUTTI_SUCCESS && q < tc->nranks; q++) {
        if (!setup->use[q]) continue;
        for (int c = 0; c < tc->nchan; c++) {
            tutti_tcp_pc_t *pc = tutti_tcp_pc_new(tc, q, c, nsocks, nslots, slot);
            tc->pcs[(size_t)q * (size_t)tc->nchan + (size_t)c] = pc;
            if (!pc) {
                snprintf(err, errlen, "tcp: out of memory for the slot rings of rank %d", q);
                r = TUTTI_ERR_NO_MEMORY;
                break;
            }
            tc->active[tc->nactive++] = pc;
        }
    }
    /* addresses: every rank takes part, also after a local failure (its
     * status below tells the others) */
    r2 = setup->boot->allgather(setup->boot->ctx, &mine, addrs, sizeof(mine));
    if (r2 != TUTTI_SUCCESS) {
        if (r == TUTTI_SUCCESS) snprintf(err, errlen, "tcp: exchanging addresses failed");
        r = r2;
        goto out; /* the bootstrap is broken: no further collective step */
    }
    for (int q = 0; r == TUTTI_SUCCESS && q < tc->nranks; q++) {
        if (setup->use[q] && addrs[q].family == 0) {
            snprintf(err, errlen, "tcp: rank %d has no tcp address, but rank %d wants to reach it over tcp "
                                  "(TUTTI_TRANSPORTS differs between the ranks?)",
                     q, tc->rank);
            r = TUTTI_ERR_INVALID_USAGE;
        }
    }
    if (r == TUTTI_SUCCESS) r = tutti_tcp_connect_all(tc, setup, addrs, deadline, err, errlen);
    if (r == TUTTI_SUCCESS && tc->nactive) {
        tc->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (tc->epfd < 0) {
            snprintf(err, errlen, "tcp: epoll_create1: %s", strerror(errno));
            r = TUTTI_ERR_SYSTEM;
        }
        for (int a = 0; r == TUTTI_SUCCESS && a < tc->nactive; a++) {
            tutti_tcp_pc_t *pc = tc->active[a];
            for (int i = 0; i < pc->nsocks; i++) {
                struct epoll_event ev;
                memset(&ev, 0, sizeof(ev));
                ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
                ev.data.ptr = &pc->socks[i];
                if (epoll_ctl(tc->epfd, EPOLL_CTL_ADD, pc->socks[i].fd, &ev) != 0) {
                    snprintf(err, errlen, "tcp: epoll_ctl: %s", strerror(errno));
                    r = TUTTI_ERR_SYSTEM;
                    break;
                }
            }
        }
    }
    /* everyone up, or everyone fails */
    if (tutti_tcp_agree(setup, &r, status, "could not set up its connections") != 0) goto out;
    if (tc->listen_fd >= 0) {
        close(tc->listen_fd); /* everything is connected: no stranger gets in later */
        tc->listen_fd = -1;
    }
out:
    free(addrs);
    free(status);
    if (r != TUTTI_SUCCESS) {
        tutti_tcp_comm_destroy(tc);
        return r;
    }
    *out = tc;
    return TUTTI_SUCCESS;
}
