/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rendezvous root: a detached thread with one poll loop.
 *
 *   rank r --hello(rank, nranks, listen addr, MAC)--> root
 *   ... until all p ranks registered ...
 *   root --table(addresses of r - 2^k, k < log2 p; MAC)--> rank r
 *
 * A connection whose hello is malformed, late, unauthenticated, or claims a
 * rank already registered is closed and logged; it changes nothing else.
 * At the deadline the registered ranks get an error frame naming the ranks
 * that never came.
 */
#include "core/bootstrap.h"

#include "util/log.h"
#include "util/siphash.h"
#include "util/time.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUTTI_ROOT_HELLO_TIMEOUT 10.0

typedef struct {
    int fd;
    int rank; /* -1 until its hello was accepted */
    size_t have;
    tutti_hello_t hello;
    double since;
    uint8_t *out;
    size_t outlen, outdone;
} tutti_root_conn_t;

typedef struct {
    int listen_fd;
    tutti_id_info_t info;
    double deadline;
    int nranks; /* -1 until the first registration */
    int nregistered;
    tutti_root_conn_t *conns;
    size_t nconns, capconns;
    int *rank_conn;
    tutti_sockaddr_t *addrs;
    int replies_built;
} tutti_root_t;

static const char *tutti_root_peer(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    tutti_sockaddr_t a;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) return "unknown peer";
    tutti_sockaddr_from_os(&a, (struct sockaddr *)&ss);
    return tutti_sockaddr_str(&a, buf, len);
}

static void tutti_root_drop(tutti_root_t *rt, size_t k, const char *why)
{
    char peer[64];
    TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: dropped connection from %s: %s",
               tutti_root_peer(rt->conns[k].fd, peer, sizeof(peer)), why);
    close(rt->conns[k].fd);
    rt->conns[k].fd = -1;
    free(rt->conns[k].out);
    rt->conns[k].out = NULL;
}

/* Queues a frame (header + payload) on connection k. */
static int tutti_root_queue(tutti_root_conn_t *c, uint16_t type, const void *payload, size_t len)
{
    tutti_frame_t h = {TUTTI_FRAME_MAGIC, TUTTI_WIRE_VERSION, type, 0, (uint32_t)len};
    c->out = malloc(sizeof(h) + len);
    if (!c->out) return -1;
    memcpy(c->out, &h, sizeof(h));
    memcpy(c->out + sizeof(h), payload, len);
    c->outlen = sizeof(h) + len;
    c->outdone = 0;
    return 0;
}

static void tutti_root_send_error(tutti_root_conn_t *c, const char *text)
{
    free(c->out);
    c->out = NULL;
    tutti_root_queue(c, TUTTI_FRAME_ROOT_ERROR, text, strlen(text) + 1);
}

/* "3,5-7" */
static void tutti_root_missing(const tutti_root_t *rt, char *buf, size_t len)
{
    size_t o = 0;
    int n = rt->nranks;
    buf[0] = '\0';
    for (int r = 0; r < n && o + 24 < len; r++) {
        if (rt->rank_conn[r] >= 0) continue;
        int e = r;
        while (e + 1 < n && rt->rank_conn[e + 1] < 0) e++;
        if (e == r) o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", r);
        else o += (size_t)snprintf(buf + o, len - o, "%s%d-%d", o ? "," : "", r, e);
        r = e;
    }
}

static int tutti_root_alloc_ranks(tutti_root_t *rt, int nranks)
{
    rt->nranks = nranks;
    rt->rank_conn = malloc(sizeof(int) * (size_t)nranks);
    rt->addrs = calloc((size_t)nranks, sizeof(tutti_sockaddr_t));
    if (!rt->rank_conn || !rt->addrs) return -1;
    for (int r = 0; r < nranks; r++) rt->rank_conn[r] = -1;
    return 0;
}

static void tutti_root_on_hello(tutti_root_t *rt, size_t k)
{
    tutti_root_conn_t *c = &rt->conns[k];
    tutti_hello_t *h = &c->hello;
    char why[160];
    const char *bad = tutti_hello_check(h, TUTTI_HELLO_ROOT, rt->info.comm_id, rt->info.secret, -1, -1);
    if (bad) {
        tutti_root_drop(rt, k, bad);
        return;
    }
    if (rt->nranks < 0 && tutti_root_alloc_ranks(rt, h->nranks) != 0) {
        tutti_root_drop(rt, k, "root out of memory");
        return;
    }
    if (h->nranks != rt->nranks) {
        snprintf(why, sizeof(why), "rank %d says nranks=%d but the first rank to join said %d",
                 h->from, h->nranks, rt->nranks);
        TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: %s", why);
        tutti_root_send_error(c, why);
        c->rank = -2; /* close after the error is sent */
        return;
    }
    if (rt->rank_conn[h->from] >= 0) {
        snprintf(why, sizeof(why), "rank %d joined twice", h->from);
        TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: %s; keeping the first", why);
        tutti_root_send_error(c, why);
        c->rank = -2;
        return;
    }
    c->rank = h->from;
    rt->rank_conn[h->from] = (int)k;
    rt->addrs[h->from] = h->addr;
    rt->nregistered++;
    TUTTI_TRACE(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: rank %d/%d registered", h->from, rt->nranks);
}

/* Answers every rank with its Bruck partners' addresses. */
static int tutti_root_build_replies(tutti_root_t *rt)
{
    int p = rt->nranks;
    int maxk = 0;
    for (int d = 1; d < p; d <<= 1) maxk++;
    size_t cap = sizeof(tutti_root_table_t) + (size_t)maxk * sizeof(tutti_root_entry_t);
    uint8_t *buf = malloc(cap + 16);
    if (!buf) return -1;
    for (int r = 0; r < p; r++) {
        tutti_root_conn_t *c = &rt->conns[rt->rank_conn[r]];
        tutti_root_table_t *t = (tutti_root_table_t *)(buf + 16);
        tutti_root_entry_t *e = (tutti_root_entry_t *)(t + 1);
        int count = 0;
        for (int d = 1; d < p; d <<= 1) {
            int q = ((r - d) % p + p) % p;
            memset(&e[count], 0, sizeof(e[count]));
            e[count].rank = q;
            e[count].addr = rt->addrs[q];
            count++;
        }
        memset(t, 0, sizeof(*t));
        t->nranks = p;
        t->count = count;
        size_t len = sizeof(*t) + (size_t)count * sizeof(*e);
        memcpy(buf, c->hello.nonce, 16);
        uint8_t mac[16];
        tutti_siphash_mac(rt->info.secret, buf, 16 + len, mac);
        memcpy(t->mac, mac, 16);
        if (tutti_root_queue(c, TUTTI_FRAME_ROOT_TABLE, t, len) != 0) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    rt->replies_built = 1;
    return 0;
}

static int tutti_root_add_conn(tutti_root_t *rt, int fd)
{
    if (rt->nconns == rt->capconns) {
        size_t cap = rt->capconns ? rt->capconns * 2 : 16;
        tutti_root_conn_t *n = realloc(rt->conns, cap * sizeof(*n));
        if (!n) return -1;
        rt->conns = n;
        rt->capconns = cap;
    }
    tutti_root_conn_t *c = &rt->conns[rt->nconns++];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->rank = -1;
    c->since = tutti_time_now();
    return 0;
}

static void tutti_root_free(tutti_root_t *rt)
{
    for (size_t k = 0; k < rt->nconns; k++) {
        if (rt->conns[k].fd >= 0) close(rt->conns[k].fd);
        free(rt->conns[k].out);
    }
    if (rt->listen_fd >= 0) close(rt->listen_fd);
    free(rt->conns);
    free(rt->rank_conn);
    free(rt->addrs);
    free(rt);
}

/* Sends what is queued, for at most `secs` seconds. */
static void tutti_root_flush(tutti_root_t *rt, double secs)
{
    double end = tutti_time_now() + secs;
    for (;;) {
        int pending = 0;
        for (size_t k = 0; k < rt->nconns; k++) {
            tutti_root_conn_t *c = &rt->conns[k];
            if (c->fd < 0 || !c->out) continue;
            int rc = tutti_socket_write_some(c->fd, c->out, c->outlen, &c->outdone);
            if (rc == 0) pending = 1;
        }
        if (!pending || tutti_time_now() > end) return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *tutti_root_main(void *arg)
{
    tutti_root_t *rt = arg;
    struct pollfd *pfds = NULL;
    size_t cappfd = 0;
    int done = 0;
    while (!done) {
        double now = tutti_time_now();
        if (now >= rt->deadline) break;
        size_t n = 1 + rt->nconns;
        if (n > cappfd) {
            struct pollfd *np = realloc(pfds, n * sizeof(*np));
            if (!np) break;
            pfds = np;
            cappfd = n;
        }
        pfds[0].fd = rt->listen_fd;
        pfds[0].events = POLLIN;
        for (size_t k = 0; k < rt->nconns; k++) {
            tutti_root_conn_t *c = &rt->conns[k];
            pfds[1 + k].fd = c->fd;
            pfds[1 + k].events = (short)((c->rank == -1 ? POLLIN : 0) | (c->out ? POLLOUT : 0));
            pfds[1 + k].revents = 0;
        }
        int ms = (int)((rt->deadline - now) * 1000) + 1;
        if (ms > 200) ms = 200;
        if (poll(pfds, n, ms) < 0 && errno != EINTR) break;
        if (pfds[0].revents & POLLIN) {
            int fd;
            while ((fd = tutti_socket_accept(rt->listen_fd)) >= 0) {
                if (tutti_root_add_conn(rt, fd) != 0) close(fd);
            }
        }
        now = tutti_time_now();
        int outstanding = 0;
        for (size_t k = 0; k < rt->nconns && k + 1 < n; k++) {
            tutti_root_conn_t *c = &rt->conns[k];
            if (c->fd < 0) continue;
            if (c->rank == -1) {
                int rc = tutti_socket_read_some(c->fd, &c->hello, sizeof(c->hello), &c->have);
                if (rc < 0) tutti_root_drop(rt, k, "closed before completing its hello");
                else if (rc > 0) tutti_root_on_hello(rt, k);
                else if (now - c->since > TUTTI_ROOT_HELLO_TIMEOUT)
                    tutti_root_drop(rt, k, "sent no hello within 10 s");
                if (c->fd < 0) continue;
            }
            if (c->out) {
                int rc = tutti_socket_write_some(c->fd, c->out, c->outlen, &c->outdone);
                if (rc < 0) {
                    tutti_root_drop(rt, k, "closed before receiving its answer");
                    continue;
                }
                if (rc > 0 && c->rank == -2) {
                    close(c->fd);
                    c->fd = -1;
                    continue;
                }
                if (rc == 0) outstanding = 1;
            }
        }
        if (rt->nranks > 0 && rt->nregistered == rt->nranks) {
            if (!rt->replies_built && tutti_root_build_replies(rt) != 0) break;
            if (!outstanding) {
                int all_sent = 1;
                for (size_t k = 0; k < rt->nconns; k++)
                    if (rt->conns[k].fd >= 0 && rt->conns[k].out &&
                        rt->conns[k].outdone < rt->conns[k].outlen)
                        all_sent = 0;
                if (all_sent) done = 1;
            }
        }
    }
    if (!done) {
        char missing[256], text[400];
        if (rt->nranks > 0) {
            tutti_root_missing(rt, missing, sizeof(missing));
            snprintf(text, sizeof(text), "ranks %s of %d never joined the communicator", missing,
                     rt->nranks);
        } else {
            snprintf(text, sizeof(text), "no rank joined the communicator");
        }
        TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: deadline passed: %s", text);
        for (size_t k = 0; k < rt->nconns; k++)
            if (rt->conns[k].fd >= 0 && rt->conns[k].rank >= 0)
                tutti_root_send_error(&rt->conns[k], text);
        tutti_root_flush(rt, 1.0);
    } else {
        TUTTI_INFO(TUTTI_SUBSYS_BOOTSTRAP, -1, "root: all %d ranks joined", rt->nranks);
    }
    free(pfds);
    tutti_root_free(rt);
    return NULL;
}

tutti_result_t tutti_bootstrap_root_start(tutti_sockaddr_t *listen_addr, const tutti_id_info_t *info,
                                          double timeout, char *err, size_t errlen)
{
    char abuf[80];
    tutti_root_t *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        snprintf(err, errlen, "root: out of memory");
        return TUTTI_ERR_NO_MEMORY;
    }
    rt->nranks = -1;
    rt->info = *info;
    rt->deadline = tutti_time_now() + timeout;
    rt->listen_fd = tutti_socket_listen(listen_addr, 1024);
    if (rt->listen_fd < 0) {
        snprintf(err, errlen, "root: cannot listen on %s: %s",
                 tutti_sockaddr_str(listen_addr, abuf, sizeof(abuf)), strerror(errno));
        free(rt);
        return TUTTI_ERR_SYSTEM;
    }
    rt->info.root = *listen_addr;
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, tutti_root_main, rt);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, errlen, "root: cannot start thread: %s", strerror(rc));
        close(rt->listen_fd);
        free(rt);
        return TUTTI_ERR_SYSTEM;
    }
    TUTTI_INFO(TUTTI_SUBSYS_BOOTSTRAP, -1, "root listening on %s",
               tutti_sockaddr_str(listen_addr, abuf, sizeof(abuf)));
    return TUTTI_SUCCESS;
}
