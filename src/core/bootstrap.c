/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/bootstrap.h"

#include "util/log.h"
#include "util/param.h"
#include "util/siphash.h"
#include "util/time.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUTTI_BOOT_PENDING_TIMEOUT 10.0

typedef struct {
    int fd;
    size_t have;
    tutti_hello_t hello;
    double since;
} tutti_boot_pending_t;

struct tutti_bootstrap {
    int rank, nranks;
    uint64_t comm_id;
    uint8_t secret[16];
    double timeout;
    int listen_fd;
    tutti_sockaddr_t *addrs;
    int *fd_out; /* connections this rank made: it sends on them */
    int *fd_in;  /* connections peers made to this rank: it receives on them */
    tutti_boot_pending_t *pending;
    size_t npending, cappending;
    uint32_t op_seq;    /* bootstrap operations so far, tags every frame */
    uint32_t split_seq; /* splits so far, derives child ids */
    const int *abort_flag;
    uint64_t strangers;
    char err[512];
};

static tutti_bootstrap_t *tutti_boot_alloc(int rank, int nranks)
{
    tutti_bootstrap_t *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->rank = rank;
    b->nranks = nranks;
    b->listen_fd = -1;
    b->addrs = calloc((size_t)nranks, sizeof(*b->addrs));
    b->fd_out = malloc(sizeof(int) * (size_t)nranks);
    b->fd_in = malloc(sizeof(int) * (size_t)nranks);
    if (!b->addrs || !b->fd_out || !b->fd_in) {
        free(b->addrs);
        free(b->fd_out);
        free(b->fd_in);
        free(b);
        return NULL;
    }
    for (int r = 0; r < nranks; r++) b->fd_out[r] = b->fd_in[r] = -1;
    return b;
}

void tutti_bootstrap_destroy(tutti_bootstrap_t *b)
{
    if (!b) return;
    for (int r = 0; r < b->nranks; r++) {
        if (b->fd_out[r] >= 0) close(b->fd_out[r]);
        if (b->fd_in[r] >= 0) close(b->fd_in[r]);
    }
    for (size_t k = 0; k < b->npending; k++)
        if (b->pending[k].fd >= 0) close(b->pending[k].fd);
    if (b->listen_fd >= 0) close(b->listen_fd);
    free(b->pending);
    free(b->addrs);
    free(b->fd_out);
    free(b->fd_in);
    free(b);
}

int tutti_bootstrap_rank(const tutti_bootstrap_t *b) { return b->rank; }
int tutti_bootstrap_nranks(const tutti_bootstrap_t *b) { return b->nranks; }
uint64_t tutti_bootstrap_comm_id(const tutti_bootstrap_t *b) { return b->comm_id; }
const uint8_t *tutti_bootstrap_secret(const tutti_bootstrap_t *b) { return b->secret; }
const char *tutti_bootstrap_error(const tutti_bootstrap_t *b) { return b->err; }
uint64_t tutti_bootstrap_strangers(const tutti_bootstrap_t *b) { return b->strangers; }
const tutti_sockaddr_t *tutti_bootstrap_addr(const tutti_bootstrap_t *b, int r) { return &b->addrs[r]; }
void tutti_bootstrap_set_abort_flag(tutti_bootstrap_t *b, const int *flag) { b->abort_flag = flag; }

static int tutti_boot_aborted(const tutti_bootstrap_t *b)
{
    return b->abort_flag && __atomic_load_n(b->abort_flag, __ATOMIC_ACQUIRE);
}

static tutti_result_t tutti_boot_fail(tutti_bootstrap_t *b, tutti_result_t r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static tutti_result_t tutti_boot_fail(tutti_bootstrap_t *b, tutti_result_t r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof(b->err), fmt, ap);
    va_end(ap);
    TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, b->rank, "%s", b->err);
    return r;
}

/* ---- incoming connections --------------------------------------------- */

static void tutti_boot_drop_pending(tutti_bootstrap_t *b, size_t k, const char *why)
{
    b->strangers++;
    TUTTI_WARN(TUTTI_SUBSYS_BOOTSTRAP, b->rank, "dropped incoming connection: %s", why);
    close(b->pending[k].fd);
    b->pending[k] = b->pending[--b->npending];
}

static void tutti_boot_accept_all(tutti_bootstrap_t *b)
{
    int fd;
    while ((fd = tutti_socket_accept(b->listen_fd)) >= 0) {
        if (b->npending == b->cappending) {
            size_t cap = b->cappending ? 2 * b->cappending : 8;
            tutti_boot_pending_t *n = realloc(b->pending, cap * sizeof(*n));
            if (!n) {
                close(fd);
                continue;
            }
            b->pending = n;
            b->cappending = cap;
        }
        tutti_boot_pending_t *p = &b->pending[b->npending++];
        memset(p, 0, sizeof(*p));
        p->fd = fd;
        p->since = tutti_time_now();
    }
}

/* Reads hellos on pending connections; promotes authenticated ones. */
static void tutti_boot_serve_pending(tutti_bootstrap_t *b)
{
    double now = tutti_time_now();
    for (size_t k = 0; k < b->npending;) {
        tutti_boot_pending_t *p = &b->pending[k];
        int rc = tutti_socket_read_some(p->fd, &p->hello, sizeof(p->hello), &p->have);
        if (rc < 0) {
            tutti_boot_drop_pending(b, k, "closed before completing its hello");
            continue;
        }
        if (rc == 0) {
            if (now - p->since > TUTTI_BOOT_PENDING_TIMEOUT) {
                tutti_boot_drop_pending(b, k, "sent no hello within 10 s");
                continue;
            }
            k++;
            continue;
        }
        const tutti_hello_t *h = &p->hello;
        const char *bad = tutti_hello_check(h, TUTTI_HELLO_PEER, b->comm_id, b->secret, b->rank, b->nranks);
        if (bad) {
            tutti_boot_drop_pending(b, k, bad);
            continue;
        }
        if (b->fd_in[h->from] >= 0) {
            tutti_boot_drop_pending(b, k, "a second connection claiming an already connected rank");
            continue;
        }
        b->fd_in[h->from] = p->fd;
        TUTTI_TRACE(TUTTI_SUBSYS_BOOTSTRAP, b->rank, "accepted connection from rank %d", h->from);
        b->pending[k] = b->pending[--b->npending];
    }
}

/* ---- one exchange: send a frame to dst while receiving one from src ---- */

typedef struct {
    uint8_t hdr[sizeof(tutti_hello_t) + sizeof(tutti_frame_t)];
    size_t hdrlen, hdrdone;
    const uint8_t *payload;
    size_t len, done;
    int connecting;
} tutti_boot_out_t;

typedef struct {
    tutti_frame_t frame;
    size_t hdone;
    uint8_t *payload;
    size_t len, done;
} tutti_boot_in_t;

static tutti_result_t tutti_boot_exchange(tutti_bootstrap_t *b, int dst, const void *sbuf,
                                          size_t slen, int src, void *rbuf, size_t rlen,
                                          uint32_t tag, const char *what)
{
    tutti_boot_out_t out;
    tutti_boot_in_t in;
    double deadline = tutti_time_now() + b->timeout;
    char abuf[80];
    memset(&out, 0, sizeof(out));
    memset(&in, 0, sizeof(in));
    int sending = dst >= 0, receiving = src >= 0;
    if (sending) {
        tutti_frame_t f = {TUTTI_FRAME_MAGIC, TUTTI_WIRE_VERSION, TUTTI_FRAME_DATA, tag, (uint32_t)slen};
        if (b->fd_out[dst] < 0) {
            tutti_hello_t h;
            if (tutti_hello_make(&h, TUTTI_HELLO_PEER, b->comm_id, b->rank, dst, b->nranks, 0, &b->addrs[b->rank],
                                 b->secret) != 0)
                return tutti_boot_fail(b, TUTTI_ERR_SYSTEM, "bootstrap: getrandom: %s", strerror(errno));
            memcpy(out.hdr, &h, sizeof(h));
            out.hdrlen = sizeof(h);
            int fd = tutti_socket_connect(&b->addrs[dst], deadline, 0);
            if (fd < 0)
                return tutti_boot_fail(b, TUTTI_ERR_REMOTE,
                                       "bootstrap: rank %d cannot connect to rank %d at %s: %s (%s)",
                                       b->rank, dst, tutti_sockaddr_str(&b->addrs[dst], abuf, sizeof(abuf)),
                                       strerror(errno), what);
            b->fd_out[dst] = fd;
        }
        memcpy(out.hdr + out.hdrlen, &f, sizeof(f));
        out.hdrlen += sizeof(f);
        out.payload = sbuf;
        out.len = slen;
    }
    in.payload = rbuf;
    in.len = rlen;

    struct pollfd pfd[3 + 64];
    for (;;) {
        if (tutti_boot_aborted(b))
            return tutti_boot_fail(b, TUTTI_ERR_ABORTED, "bootstrap: aborted during %s", what);
        /* send side */
        if (sending) {
            int fd = b->fd_out[dst];
            int rc = 1;
            if (out.hdrdone < out.hdrlen) rc = tutti_socket_write_some(fd, out.hdr, out.hdrlen, &out.hdrdone);
            if (rc > 0 && out.hdrdone == out.hdrlen)
                rc = tutti_socket_write_some(fd, out.payload, out.len, &out.done);
            if (rc < 0)
                return tutti_boot_fail(b, TUTTI_ERR_REMOTE, "bootstrap: rank %d lost its connection to rank %d: %s (%s)",
                                       b->rank, dst, strerror(errno), what);
            if (rc > 0) sending = 0;
        }
        /* receive side */
        if (receiving && b->fd_in[src] >= 0) {
            int fd = b->fd_in[src];
            int rc = 1;
            if (in.hdone < sizeof(in.frame)) {
                rc = tutti_socket_read_some(fd, &in.frame, sizeof(in.frame), &in.hdone);
                if (rc > 0) {
                    const tutti_frame_t *f = &in.frame;
                    if (tutti_frame_check(f, 1u << TUTTI_FRAME_DATA, TUTTI_FRAME_MAX_LEN))
                        return tutti_boot_fail(b, TUTTI_ERR_REMOTE,
                                               "bootstrap: rank %d sent a malformed frame to rank %d (%s)",
                                               src, b->rank, what);
                    if (f->tag != tag || f->len != rlen)
                        return tutti_boot_fail(b, TUTTI_ERR_MISMATCH,
                                               "bootstrap: rank %d sent operation %u with %u bytes, rank %d "
                                               "expected operation %u with %zu bytes (%s): did the ranks "
                                               "call init/split in different orders?",
                                               src, f->tag, f->len, b->rank, tag, rlen, what);
                }
            }
            if (rc > 0) rc = tutti_socket_read_some(fd, in.payload, in.len, &in.done);
            if (rc < 0)
                return tutti_boot_fail(b, TUTTI_ERR_REMOTE,
                                       "bootstrap: rank %d lost its connection from rank %d: %s (%s)",
                                       b->rank, src, strerror(errno), what);
            if (rc > 0) receiving = 0;
        }
        if (!sending && !receiving) return TUTTI_SUCCESS;
        tutti_boot_accept_all(b);
        tutti_boot_serve_pending(b);
        if (receiving && b->fd_in[src] >= 0 && in.hdone == 0 && in.done == 0) {
            /* just connected: try reading before sleeping */
        }
        double now = tutti_time_now();
        if (now >= deadline) {
            if (receiving)
                return tutti_boot_fail(b, TUTTI_ERR_TIMEOUT,
                                       "bootstrap: rank %d waited %.1f s for rank %d (%s)%s", b->rank,
                                       b->timeout, src, what,
                                       b->fd_in[src] < 0 ? ": it never connected" : ": it connected but sent nothing");
            return tutti_boot_fail(b, TUTTI_ERR_TIMEOUT,
                                   "bootstrap: rank %d could not send to rank %d within %.1f s (%s)",
                                   b->rank, dst, b->timeout, what);
        }
        nfds_t n = 0;
        pfd[n].fd = b->listen_fd;
        pfd[n++].events = POLLIN;
        if (sending) {
            pfd[n].fd = b->fd_out[dst];
            pfd[n++].events = POLLOUT;
        }
        if (receiving && b->fd_in[src] >= 0) {
            pfd[n].fd = b->fd_in[src];
            pfd[n++].events = POLLIN;
        }
        for (size_t k = 0; k < b->npending && n < sizeof(pfd) / sizeof(pfd[0]); k++) {
            pfd[n].fd = b->pending[k].fd;
            pfd[n++].events = POLLIN;
        }
        int ms = (int)((deadline - now) * 1000) + 1;
        if (ms > 100) ms = 100;
        if (poll(pfd, n, ms) < 0 && errno != EINTR)
            return tutti_boot_fail(b, TUTTI_ERR_SYSTEM, "bootstrap: poll: %s", strerror(errno));
    }
}

/*
 * Bruck allgather over the bootstrap connections:
 *
 *   round k (d = 2^k):  send my blocks [r, r+n) to r-d,
 *                       receive blocks [r+d, r+d+n) from r+d,  n = min(d, p-d)
 *
 *   p=5, rank 0:  k=0 has {0}   -> gets {1}      k=1 has {0,1} -> gets {2,3}
 *                 k=2 has {0..3} -> gets {4}     (indices mod p)
 */
tutti_result_t tutti_bootstrap_allgather(tutti_bootstrap_t *b, const void *mine, void *all,
                                         size_t bytes)
{
    int p = b->nranks, r = b->rank;
    char *out = all;
    uint32_t op = ++b->op_seq;
    memmove(out + (size_t)r * bytes, mine, bytes);
    if (p == 1) return TUTTI_SUCCESS;
    size_t maxn = (size_t)(p / 2 + 1);
    char *sbuf = malloc(maxn * bytes + 1), *rbuf = malloc(maxn * bytes + 1);
    tutti_result_t res = TUTTI_SUCCESS;
    if (!sbuf || !rbuf) {
        res = tutti_boot_fail(b, TUTTI_ERR_NO_MEMORY, "bootstrap: allgather of %zu bytes: out of memory", bytes);
        goto out_free;
    }
    int round = 0;
    for (int d = 1; d < p; d <<= 1, round++) {
        int n = d < p - d ? d : p - d;
        for (int i = 0; i < n; i++)
            memcpy(sbuf + (size_t)i * bytes, out + (size_t)((r + i) % p) * bytes, bytes);
        char what[64];
        snprintf(what, sizeof(what), "allgather %u round %d", op, round);
        res = tutti_boot_exchange(b, ((r - d) % p + p) % p, sbuf, (size_t)n * bytes, (r + d) % p, rbuf,
                                  (size_t)n * bytes, (op << 8) | (uint32_t)round, what);
        if (res != TUTTI_SUCCESS) goto out_free;
        for (int i = 0; i < n; i++)
            memcpy(out + (size_t)((r + d + i) % p) * bytes, rbuf + (size_t)i * bytes, bytes);
    }
out_free:
    free(sbuf);
    free(rbuf);
    return res;
}

tutti_result_t tutti_bootstrap_barrier(tutti_bootstrap_t *b)
{
    uint8_t one = 1;
    uint8_t stack[256];
    uint8_t *all = b->nranks <= (int)sizeof(stack) ? stack : malloc((size_t)b->nranks);
    if (!all) return tutti_boot_fail(b, TUTTI_ERR_NO_MEMORY, "bootstrap: barrier: out of memory");
    tutti_result_t r = tutti_bootstrap_allgather(b, &one, all, 1);
    if (all != stack) free(all);
    return r;
}

/* ---- joining through the root ----------------------------------------- */

static tutti_result_t tutti_boot_listen(tutti_bootstrap_t *b, int family_hint)
{
    char ifname[64];
    tutti_sockaddr_t a;
    const char *family = tutti_param_str(TUTTI_P_SOCKET_FAMILY);
    if (!family[0] && family_hint == AF_INET6) family = "AF_INET6";
    if (tutti_socket_pick_if(tutti_param_str(TUTTI_P_SOCKET_IFNAME), family, &a, ifname,
                             sizeof(ifname), b->err, sizeof(b->err)) != 0)
        return tutti_boot_fail(b, TUTTI_ERR_SYSTEM, "bootstrap: %.400s", b->err);
    b->listen_fd = tutti_socket_listen(&a, 1024);
    if (b->listen_fd < 0) return tutti_boot_fail(b, TUTTI_ERR_SYSTEM, "bootstrap: listen on %s: %s", ifname, strerror(errno));
    b->addrs[b->rank] = a;
    return TUTTI_SUCCESS;
}

int tutti_hello_make(tutti_hello_t *h, int kind, uint64_t comm_id, int from, int to, int nranks, uint32_t pad,
                     const tutti_sockaddr_t *addr, const uint8_t key[16])
{
    memset(h, 0, sizeof(*h));
    h->magic = TUTTI_HELLO_MAGIC;
    h->version = TUTTI_WIRE_VERSION;
    h->kind = (uint16_t)kind;
    h->comm_id = comm_id;
    h->from = from;
    h->to = to;
    h->nranks = nranks;
    h->pad = pad;
    h->addr = *addr;
    if (tutti_random_bytes(h->nonce, sizeof(h->nonce)) != 0) return -1;
    tutti_hello_sign(h, key);
    return 0;
}

static tutti_result_t tutti_boot_register(tutti_bootstrap_t *b, const tutti_sockaddr_t *root,
                                          double deadline)
{
    char abuf[80];
    tutti_result_t res = TUTTI_SUCCESS;
    tutti_hello_t h;
    uint8_t *payload = NULL;
    if (tutti_hello_make(&h, TUTTI_HELLO_ROOT, b->comm_id, b->rank, -1, b->nranks, 0, &b->addrs[b->rank], b->secret) !=
        0)
        return tutti_boot_fail(b, TUTTI_ERR_SYSTEM, "bootstrap: getrandom: %s", strerror(errno));

    int fd = tutti_socket_connect(root, deadline, 1);
    if (fd < 0)
        return tutti_boot_fail(b, errno == ETIMEDOUT ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_SYSTEM,
                               "bootstrap: rank %d cannot reach the root at %s: %s", b->rank,
                               tutti_sockaddr_str(root, abuf, sizeof(abuf)), strerror(errno));
    tutti_frame_t f;
    /* the root answers only once every rank has joined: wait a little longer
     * than our own deadline so its list of missing ranks can arrive */
    double answer_deadline = deadline + 2.0;
    if (tutti_socket_write_all(fd, &h, sizeof(h), deadline) != 0 ||
        tutti_socket_read_all(fd, &f, sizeof(f), answer_deadline) != 0) {
        res = tutti_boot_fail(b, errno == ETIMEDOUT ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_REMOTE,
                              "bootstrap: rank %d got no answer from the root at %s: %s", b->rank,
                              tutti_sockaddr_str(root, abuf, sizeof(abuf)),
                              errno == ETIMEDOUT ? "timed out waiting for the other ranks"
                                                 : strerror(errno));
        goto out;
    }
    if (tutti_frame_check(&f, 1u << TUTTI_FRAME_ROOT_TABLE | 1u << TUTTI_FRAME_ROOT_ERROR, 1u << 20)) {
        res = tutti_boot_fail(b, TUTTI_ERR_REMOTE, "bootstrap: malformed answer from the root at %s",
                              tutti_sockaddr_str(root, abuf, sizeof(abuf)));
        goto out;
    }
    payload = malloc((size_t)f.len + 17);
    if (!payload) {
        res = tutti_boot_fail(b, TUTTI_ERR_NO_MEMORY, "bootstrap: out of memory");
        goto out;
    }
    if (tutti_socket_read_all(fd, payload + 16, f.len, answer_deadline) != 0) {
        res = tutti_boot_fail(b, TUTTI_ERR_REMOTE, "bootstrap: truncated answer from the root: %s", strerror(errno));
        goto out;
    }
    if (f.type == TUTTI_FRAME_ROOT_ERROR) {
        payload[16 + f.len] = '\0';
        int never = strstr((char *)payload + 16, "never joined") != NULL;
        res = tutti_boot_fail(b, never ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_INVALID_USAGE,
                              "bootstrap: rank %d: root reports: %.400s", b->rank, (char *)payload + 16);
        goto out;
    }
    const char *bad = tutti_root_table_parse(payload + 16, f.len, h.nonce, b->secret, b->nranks, b->rank, b->addrs);
    if (bad)
        res = tutti_boot_fail(b, TUTTI_ERR_REMOTE, "bootstrap: the answer of the root at %s was refused: %s",
                              tutti_sockaddr_str(root, abuf, sizeof(abuf)), bad);
out:
    free(payload);
    close(fd);
    return res;
}

tutti_result_t tutti_bootstrap_init(const tutti_id_info_t *info, int rank, int nranks,
                                    double timeout, tutti_bootstrap_t **outp, char *err,
                                    size_t errlen)
{
    tutti_result_t res;
    double deadline = tutti_time_now() + timeout;
    tutti_bootstrap_t *b = tutti_boot_alloc(rank, nranks);
    if (!b) {
        snprintf(err, errlen, "bootstrap: out of memory for %d ranks", nranks);
        return TUTTI_ERR_NO_MEMORY;
    }
    b->comm_id = info->comm_id;
    memcpy(b->secret, info->secret, 16);
    b->timeout = timeout;
    res = tutti_boot_listen(b, info->root.family);
    if (res != TUTTI_SUCCESS) goto fail;
    res = tutti_boot_register(b, &info->root, deadline);
    if (res != TUTTI_SUCCESS) goto fail;
    /* everyone learns every address */
    tutti_sockaddr_t mine = b->addrs[rank];
    tutti_sockaddr_t *all = malloc(sizeof(*all) * (size_t)nranks);
    if (!all) {
        res = tutti_boot_fail(b, TUTTI_ERR_NO_MEMORY, "bootstrap: out of memory");
        goto fail;
    }
    /* the allgather needs only the partner addresses the root sent */
    res = tutti_bootstrap_allgather(b, &mine, all, sizeof(mine));
    if (res == TUTTI_SUCCESS) memcpy(b->addrs, all, sizeof(*all) * (size_t)nranks);
    free(all);
    if (res != TUTTI_SUCCESS) goto fail;
    TUTTI_INFO(TUTTI_SUBSYS_BOOTSTRAP, rank, "bootstrap ready: %d ranks", nranks);
    *outp = b;
    return TUTTI_SUCCESS;
fail:
    snprintf(err, errlen, "%s", b->err);
    tutti_bootstrap_destroy(b);
    return res;
}

/* ---- split ------------------------------------------------------------- */

typedef struct {
    int32_t color, key;
    tutti_sockaddr_t addr;
} tutti_split_entry_t;

tutti_result_t tutti_bootstrap_split(tutti_bootstrap_t *parent, int color, int key,
                                     tutti_bootstrap_t **outp, int *new_rank, int *new_nranks,
                                     int **parent_ranks)
{
    tutti_result_t res;
    int p = parent->nranks;
    int listen_fd = -1;
    tutti_sockaddr_t a;
    memset(&a, 0, sizeof(a));
    uint32_t seq = ++parent->split_seq;
    *outp = NULL;
    *parent_ranks = NULL;
    if (color >= 0) {
        a = parent->addrs[parent->rank];
        a.port = 0;
        listen_fd = tutti_socket_listen(&a, 1024);
        if (listen_fd < 0)
            return tutti_boot_fail(parent, TUTTI_ERR_SYSTEM, "split: listen: %s", strerror(errno));
    }
    tutti_split_entry_t me = {color, key, a};
    tutti_split_entry_t *all = malloc(sizeof(*all) * (size_t)p);
    int *members = malloc(sizeof(int) * (size_t)p);
    if (!all || !members) {
        res = tutti_boot_fail(parent, TUTTI_ERR_NO_MEMORY, "split: out of memory");
        goto out;
    }
    res = tutti_bootstrap_allgather(parent, &me, all, sizeof(me));
    if (res != TUTTI_SUCCESS || color < 0) goto out;
    /* members of my color, sorted by (key, parent rank): insertion sort is
     * stable and p is small at init time */
    int n = 0;
    for (int r = 0; r < p; r++) {
        if (all[r].color != color) continue;
        int i = n++;
        while (i > 0 && all[members[i - 1]].key > all[r].key) {
            members[i] = members[i - 1];
            i--;
        }
        members[i] = r;
    }
    tutti_bootstrap_t *b = tutti_boot_alloc(0, n);
    if (!b) {
        res = tutti_boot_fail(parent, TUTTI_ERR_NO_MEMORY, "split: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        b->addrs[i] = all[members[i]].addr;
        if (members[i] == parent->rank) b->rank = i;
    }
    /* child id and secret derive from the parent's secret, so the child is
     * authenticated as strongly as the parent */
    struct {
        uint64_t parent_id;
        uint32_t seq;
        int32_t color;
    } ctx = {parent->comm_id, seq, color};
    uint8_t derived[16];
    tutti_siphash_mac(parent->secret, &ctx, sizeof(ctx), derived);
    memcpy(b->secret, derived, 16);
    memcpy(&b->comm_id, derived, 8);
    b->comm_id ^= 0x9e3779b97f4a7c15ULL * (uint64_t)(seq + 1);
    tutti_siphash_mac(derived, &ctx, sizeof(ctx), b->secret);
    b->timeout = parent->timeout;
    b->listen_fd = listen_fd;
    b->abort_flag = parent->abort_flag;
    listen_fd = -1;
    *new_rank = b->rank;
    *new_nranks = n;
    *outp = b;
    *parent_ranks = members;
    members = NULL;
out:
    if (listen_fd >= 0) close(listen_fd);
    free(all);
    free(members);
    return res;
}
