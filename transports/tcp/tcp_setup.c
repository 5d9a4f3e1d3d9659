/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's set-up and teardown.
 *
 *   every rank:   listen on the picked interface; allgather the addresses
 *   allgather:    "my listener is up": everyone fails, or nobody
 *
 * Nothing is connected here: a peer and channel gets its sockets and slot
 * rings on first use (tcp_lazy.c), so a rank's fds and memory follow the
 * peers its schedules use, not the size of the job.  The listener stays
 * open for the communicator's life; the key that signs hellos is derived
 * from the communicator's secret and id, so a connection from another job,
 * or from a communicator of this job that was split differently, is
 * refused.
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
    for (int i = 0; pc->socks && i < pc->nsocks; i++) {
        if (pc->socks[i].fd >= 0) close(pc->socks[i].fd);
        free(pc->socks[i].stage);
    }
    free(pc->socks);
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

tutti_tcp_pc_t *tutti_tcp_pc_get(tutti_tcp_comm_t *tc, int peer, int chan)
{
    if (peer < 0 || peer >= tc->nranks || peer == tc->rank || chan < 0 || chan >= tc->nchan || !tc->use[peer])
        return NULL;
    tutti_tcp_pc_t **slot = &tc->pcs[(size_t)peer * (size_t)tc->nchan + (size_t)chan];
    if (*slot) return *slot;
    tutti_tcp_pc_t *pc = calloc(1, sizeof(*pc));
    if (!pc) return NULL;
    pc->tc = tc;
    pc->peer = peer;
    pc->chan = chan;
    pc->nsocks = tc->nsocks;
    pc->nslots = tc->nslots;
    pc->slot = tc->slot;
    *slot = pc;
    return pc;
}

int tutti_tcp_pc_activate(tutti_tcp_pc_t *pc)
{
    if (pc->socks) return 0;
    int nsocks = pc->nsocks;
    uint32_t nslots = pc->nslots;
    size_t slot = pc->slot;
    pc->socks = calloc((size_t)nsocks, sizeof(*pc->socks));
    if (!pc->socks) goto fail;
    for (int i = 0; i < nsocks; i++) {
        pc->socks[i].fd = -1;
        pc->socks[i].idx = i;
        pc->socks[i].pc = pc;
        pc->socks[i].wmsg = pc->socks[i].rmsg = (uint64_t)i;
        pc->socks[i].readable = pc->socks[i].writable = 1;
        pc->socks[i].stage = malloc(TUTTI_TCP_STAGE);
        if (!pc->socks[i].stage) goto fail;
    }
    pc->sbuf = malloc((size_t)nslots * slot);
    pc->rbuf = malloc((size_t)nslots * slot);
    pc->slen = calloc(nslots, sizeof(uint32_t));
    pc->stag = calloc(nslots, sizeof(uint32_t));
    pc->sref = calloc(nslots, sizeof(*pc->sref));
    pc->rlen = calloc(nslots, sizeof(uint32_t));
    pc->rtag = calloc(nslots, sizeof(uint32_t));
    pc->rdone = calloc(nslots, 1);
    if (!pc->sbuf || !pc->rbuf || !pc->slen || !pc->stag || !pc->sref || !pc->rlen || !pc->rtag || !pc->rdone)
        goto fail;
    /* fault the rings in now, not on the first large message */
    memset(pc->sbuf, 0, (size_t)nslots * slot);
    memset(pc->rbuf, 0, (size_t)nslots * slot);
    pc->tc->active[pc->tc->nactive++] = pc;
    return 0;
fail:
    for (int i = 0; pc->socks && i < nsocks; i++) free(pc->socks[i].stage);
    free(pc->socks);
    pc->socks = NULL;
    free(pc->sbuf);
    free(pc->rbuf);
    free(pc->slen);
    free(pc->stag);
    free(pc->sref);
    free(pc->rlen);
    free(pc->rtag);
    free(pc->rdone);
    pc->sbuf = pc->rbuf = NULL;
    pc->slen = pc->stag = pc->rlen = pc->rtag = NULL;
    pc->sref = NULL;
    pc->rdone = NULL;
    tutti_tcp_pc_fail(pc, TUTTI_ERR_NO_MEMORY, "out of memory for the sockets and slot rings of rank %d", pc->peer);
    return -1;
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
    if (tc->nactive && tutti_log_on(TUTTI_LOG_INFO, TUTTI_SUBSYS_TRANSPORT)) {
        char list[256];
        size_t n = 0;
        list[0] = '\0';
        for (int a = 0; a < tc->nactive && n + 16 < sizeof(list); a++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d/%d", a ? " " : "", tc->active[a]->peer,
                                  tc->active[a]->chan);
        TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: %d peer-channels of %d were connected (rank/channel: %s)",
                   tc->nactive, tc->nranks * tc->nchan, list);
    }
    if (tc->pcs)
        for (size_t k = 0; k < (size_t)tc->nranks * (size_t)tc->nchan; k++) tutti_tcp_pc_free(tc->pcs[k]);
    for (int k = 0; k < tc->npend; k++) close(tc->pend[k].fd);
    free(tc->pcs);
    free(tc->active);
    free(tc->addrs);
    free((void *)tc->use);
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
    int32_t *status = NULL;
    uint8_t *use = NULL;
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
    int nsocks = (int)tutti_param_int(TUTTI_P_TCP_NSOCKS);
    tc->nsocks = nsocks;
    tc->slot = tutti_param_size(TUTTI_P_TCP_SLOT_SIZE) & ~(size_t)63;
    tc->nslots = (uint32_t)tutti_param_int(TUTTI_P_TCP_NSLOTS);
    int any = 0;
    for (int q = 0; q < tc->nranks; q++) any |= setup->use[q] != 0;

    tc->addrs = calloc((size_t)tc->nranks, sizeof(*tc->addrs));
    status = calloc((size_t)tc->nranks, sizeof(*status));
    use = malloc((size_t)tc->nranks);
    tc->pcs = calloc((size_t)tc->nranks * (size_t)tc->nchan, sizeof(*tc->pcs));
    tc->active = calloc((size_t)tc->nranks * (size_t)tc->nchan, sizeof(*tc->active));
    if (!tc->addrs || !status || !use || !tc->pcs || !tc->active) {
        snprintf(err, errlen, "tcp: out of memory for %d ranks", tc->nranks);
        r = TUTTI_ERR_NO_MEMORY;
    } else {
        memcpy(use, setup->use, (size_t)tc->nranks);
    }
    tc->use = use;
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
                snprintf(tc->host, sizeof(tc->host), "%s", ifname);
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, tc->rank, "tcp: listening on %s (%s), %d socket(s) per peer "
                           "and channel, connected on first use",
                           tutti_sockaddr_str(&mine, abuf, sizeof(abuf)), ifname, nsocks);
            }
        }
    }
    if (r == TUTTI_SUCCESS && any) {
        /* the listener and pending hellos wake the engine's waits like data */
        tc->epfd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.ptr = tc;
        if (tc->epfd < 0 || epoll_ctl(tc->epfd, EPOLL_CTL_ADD, tc->listen_fd, &ev) != 0) {
            snprintf(err, errlen, "tcp: epoll: %s", strerror(errno));
            r = TUTTI_ERR_SYSTEM;
        }
    }
    /* addresses: every rank takes part, also after a local failure (its
     * status below tells the others) */
    r2 = setup->boot->allgather(setup->boot->ctx, &mine, tc->addrs, sizeof(mine));
    if (r2 != TUTTI_SUCCESS) {
        if (r == TUTTI_SUCCESS) snprintf(err, errlen, "tcp: exchanging addresses failed");
        r = r2;
        goto out; /* the bootstrap is broken: no further collective step */
    }
    for (int q = 0; r == TUTTI_SUCCESS && q < tc->nranks; q++) {
        if (setup->use[q] && tc->addrs[q].family == 0) {
            snprintf(err, errlen, "tcp: rank %d has no tcp address, but rank %d wants to reach it over tcp "
                                  "(TUTTI_TRANSPORTS differs between the ranks?)",
                     q, tc->rank);
            r = TUTTI_ERR_INVALID_USAGE;
        }
    }
    /* everyone listening, or everyone fails */
    if (tutti_tcp_agree(setup, &r, status, "could not set up its listener") != 0) goto out;
out:
    free(status);
    if (r != TUTTI_SUCCESS) {
        tutti_tcp_comm_destroy(tc);
        return r;
    }
    *out = tc;
    return TUTTI_SUCCESS;
}
