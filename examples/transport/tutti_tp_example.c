/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An example transport plugin, built outside tutti with only its installed
 * header (docs/TRANSPORTS.md walks through it):
 *
 *   cc -std=c11 -O2 -fPIC -shared -I$PREFIX/include tutti_tp_example.c -o tutti_tp_example.so
 *   TUTTI_TRANSPORT_PLUGINS=$PWD/tutti_tp_example.so TUTTI_TRANSPORTS=example mpirun -np 4 ./app
 *
 * It moves messages between the ranks of one node through shared memory:
 * every rank owns one segment holding a receive ring per (peer, channel),
 * which its peers map and write into.
 *
 *   rank r's segment:  header (pid, published call, failure)
 *                      ring[q * nchan + c]   <- written by rank q on channel c
 *   ring:              head (sender's count) | tail (receiver's count) |
 *                      nslots x { len, tag, payload[slot_size] }
 *
 * A sender may fill slot head % nslots while head - tail < nslots; the
 * receiver reads slot tail % nslots while tail < head.  head and tail are
 * published with release stores and read with acquire loads, so a slot's
 * bytes are visible before its count.  No call blocks; a full or empty ring
 * is TUTTI_INPROGRESS and the core calls again.
 */
#define _GNU_SOURCE
#include <tutti/transport.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
} ex_ring_t;

typedef struct {
    uint64_t len;
    uint32_t tag;
    uint32_t pad;
} ex_slothdr_t;

typedef struct {
    _Atomic int32_t pid;         /* the owner, for liveness */
    _Atomic int32_t failure;     /* a tutti_result_t the owner announced, 0 if none */
    _Atomic uint64_t state_seq;  /* the call the owner is in ... */
    _Atomic uint32_t state_tag;  /* ... and its fingerprint */
    char why[128];               /* the announced failure, in words */
} ex_header_t;

typedef struct ex_comm ex_comm_t;

typedef struct {
    ex_comm_t *c;
    int peer;
    ex_ring_t *ring;
    char *slots;
} ex_conn_t;

struct ex_comm {
    int rank, nranks, nchan, nslots;
    size_t slot_size, stride, seg_bytes;
    char **seg;      /* by rank: its segment mapped here (NULL if not a peer) */
    ex_conn_t *conns; /* [(peer * nchan + chan) * 2 + dir] */
};

#define EX_HDR 4096 /* the header's page, before the rings */

static size_t ex_ring_bytes(const ex_comm_t *c)
{
    return sizeof(ex_ring_t) + (size_t)c->nslots * c->stride;
}

static void ex_name(char *buf, size_t len, uint64_t id, int rank)
{
    snprintf(buf, len, "/tutti-ex-%016llx-%d", (unsigned long long)id, rank);
}

static char *ex_map(const char *name, size_t bytes, int create, char *err, size_t errlen)
{
    int fd = shm_open(name, create ? O_CREAT | O_EXCL | O_RDWR : O_RDWR, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "example: shm_open(%s): %s", name, strerror(errno));
        return NULL;
    }
    if (create && ftruncate(fd, (off_t)bytes) != 0) {
        snprintf(err, errlen, "example: ftruncate(%s, %zu): %s", name, bytes, strerror(errno));
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "example: mmap(%s): %s", name, strerror(errno));
        return NULL;
    }
    return p;
}

static tutti_result_t ex_comm_destroy(void *tpcomm)
{
    ex_comm_t *c = tpcomm;
    if (!c) return TUTTI_SUCCESS;
    for (int q = 0; q < c->nranks && c->seg; q++)
        if (c->seg[q]) munmap(c->seg[q], c->seg_bytes);
    free(c->seg);
    free(c->conns);
    free(c);
    return TUTTI_SUCCESS;
}

/* Collective: create my segment, wait until every rank has, map the peers'
 * ones, wait again, then unlink mine (the mappings keep it alive). */
static tutti_result_t ex_comm_create(const tutti_tp_setup_t *s, void **out)
{
    char name[64];
    tutti_result_t r = TUTTI_ERR_NO_MEMORY;
    ex_comm_t *c = calloc(1, sizeof(*c));
    if (!c) goto fail;
    c->rank = s->rank;
    c->nranks = s->nranks;
    c->nchan = s->nchannels;
    c->nslots = s->nslots;
    c->slot_size = s->slot_size;
    c->stride = (sizeof(ex_slothdr_t) + c->slot_size + 63) & ~(size_t)63;
    c->seg_bytes = EX_HDR + (size_t)c->nranks * (size_t)c->nchan * ex_ring_bytes(c);
    c->seg = calloc((size_t)c->nranks, sizeof(char *));
    c->conns = calloc((size_t)c->nranks * (size_t)c->nchan * 2, sizeof(ex_conn_t));
    if (!c->seg || !c->conns) {
        snprintf(s->err, s->errlen, "example: out of memory for %d ranks", c->nranks);
        goto fail;
    }
    ex_name(name, sizeof(name), s->comm_id, c->rank);
    /* sparse: only the rings of peers that write here are ever touched */
    c->seg[c->rank] = ex_map(name, c->seg_bytes, 1, s->err, s->errlen);
    r = TUTTI_ERR_SYSTEM;
    if (!c->seg[c->rank]) goto fail;
    ex_header_t *h = (ex_header_t *)c->seg[c->rank];
    atomic_store(&h->pid, (int32_t)getpid());
    r = s->boot->barrier(s->boot->ctx);
    if (r != TUTTI_SUCCESS) {
        snprintf(s->err, s->errlen, "example: barrier after creating the segments failed");
        goto fail;
    }
    for (int q = 0; q < c->nranks; q++) {
        if (q == c->rank || !s->use[q]) continue;
        char peer[64];
        ex_name(peer, sizeof(peer), s->comm_id, q);
        c->seg[q] = ex_map(peer, c->seg_bytes, 0, s->err, s->errlen);
        if (!c->seg[q]) {
            r = TUTTI_ERR_SYSTEM;
            goto fail;
        }
        for (int ch = 0; ch < c->nchan; ch++) {
            size_t off_send = EX_HDR + ((size_t)c->rank * (size_t)c->nchan + (size_t)ch) * ex_ring_bytes(c);
            size_t off_recv = EX_HDR + ((size_t)q * (size_t)c->nchan + (size_t)ch) * ex_ring_bytes(c);
            ex_conn_t *sc = &c->conns[((size_t)q * (size_t)c->nchan + (size_t)ch) * 2];
            sc[0] = (ex_conn_t){c, q, (ex_ring_t *)(c->seg[q] + off_send), c->seg[q] + off_send + sizeof(ex_ring_t)};
            sc[1] = (ex_conn_t){c, q, (ex_ring_t *)(c->seg[c->rank] + off_recv),
                                c->seg[c->rank] + off_recv + sizeof(ex_ring_t)};
        }
    }
    r = s->boot->barrier(s->boot->ctx);
    shm_unlink(name);
    if (r != TUTTI_SUCCESS) {
        snprintf(s->err, s->errlen, "example: barrier after mapping the peers' segments failed");
        goto fail;
    }
    *out = c;
    return TUTTI_SUCCESS;
fail:
    if (c && c->seg && c->seg[c->rank]) shm_unlink(name);
    ex_comm_destroy(c);
    return r;
}

static void *ex_conn(void *tpcomm, int peer, int chan, int dir)
{
    ex_comm_t *c = tpcomm;
    return &c->conns[((size_t)peer * (size_t)c->nchan + (size_t)chan) * 2 + (size_t)dir];
}

static size_t ex_max_payload(void *tpcomm)
{
    return ((ex_comm_t *)tpcomm)->slot_size;
}

static tutti_result_t ex_progress(void *tpcomm)
{
    (void)tpcomm; /* stores move the bytes: nothing to drive */
    return TUTTI_SUCCESS;
}

static ex_slothdr_t *ex_slot(ex_conn_t *k, uint64_t n)
{
    return (ex_slothdr_t *)(k->slots + (n % (uint64_t)k->c->nslots) * k->c->stride);
}

static tutti_result_t ex_send_acquire(void *conn, size_t len, void **slot)
{
    ex_conn_t *k = conn;
    uint64_t head = atomic_load_explicit(&k->ring->head, memory_order_relaxed);
    if (len > k->c->slot_size) return TUTTI_ERR_INVALID_ARGUMENT;
    if (head - atomic_load_explicit(&k->ring->tail, memory_order_acquire) >= (uint64_t)k->c->nslots)
        return TUTTI_INPROGRESS;
    *slot = ex_slot(k, head) + 1;
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_send_commit(void *conn, size_t len, uint32_t tag)
{
    ex_conn_t *k = conn;
    uint64_t head = atomic_load_explicit(&k->ring->head, memory_order_relaxed);
    ex_slothdr_t *h = ex_slot(k, head);
    h->len = len;
    h->tag = tag;
    atomic_store_explicit(&k->ring->head, head + 1, memory_order_release);
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    ex_conn_t *k = conn;
    uint64_t tail = atomic_load_explicit(&k->ring->tail, memory_order_relaxed);
    if (tail == atomic_load_explicit(&k->ring->head, memory_order_acquire)) return TUTTI_INPROGRESS;
    ex_slothdr_t *h = ex_slot(k, tail);
    *slot = h + 1;
    *len = (size_t)h->len;
    *tag = h->tag;
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_recv_release(void *conn)
{
    ex_conn_t *k = conn;
    uint64_t tail = atomic_load_explicit(&k->ring->tail, memory_order_relaxed);
    atomic_store_explicit(&k->ring->tail, tail + 1, memory_order_release);
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag)
{
    const void *slot;
    tutti_result_t r = ex_recv_acquire(conn, &slot, got, got_tag);
    if (r != TUTTI_SUCCESS) return r;
    if (*got != len || (tag != TUTTI_TAG_ANY && *got_tag != tag)) return TUTTI_ERR_MISMATCH; /* left in place */
    if (len) memcpy(dst, slot, len);
    return ex_recv_release(conn);
}

static tutti_result_t ex_send_flushed(void *conn)
{
    ex_conn_t *k = conn; /* consumed = the receiver's tail caught up */
    return atomic_load_explicit(&k->ring->tail, memory_order_acquire) ==
                   atomic_load_explicit(&k->ring->head, memory_order_relaxed)
               ? TUTTI_SUCCESS
               : TUTTI_INPROGRESS;
}

/* Alive (its process exists), no failure announced, and not in our call
 * number with another fingerprint. */
static tutti_result_t ex_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen)
{
    ex_conn_t *k = conn;
    ex_header_t *h = (ex_header_t *)k->c->seg[k->peer];
    int32_t failure = atomic_load(&h->failure);
    if (failure) {
        snprintf(why, whylen, "example: rank %d failed: %.100s", k->peer, h->why);
        return (tutti_result_t)failure;
    }
    pid_t pid = (pid_t)atomic_load(&h->pid);
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        snprintf(why, whylen, "example: rank %d (pid %d) is gone", k->peer, (int)pid);
        return TUTTI_ERR_REMOTE;
    }
    if (seq != TUTTI_SEQ_NONE && atomic_load(&h->state_seq) == seq && atomic_load(&h->state_tag) != tag) {
        snprintf(why, whylen, "example: rank %d is in call %llu with fingerprint %08x, this rank with %08x", k->peer,
                 (unsigned long long)seq, atomic_load(&h->state_tag), tag);
        return TUTTI_ERR_MISMATCH;
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_publish_state(void *tpcomm, uint64_t seq, uint32_t tag)
{
    ex_comm_t *c = tpcomm;
    ex_header_t *h = (ex_header_t *)c->seg[c->rank];
    atomic_store(&h->state_tag, tag);
    atomic_store(&h->state_seq, seq);
    return TUTTI_SUCCESS;
}

static tutti_result_t ex_announce_failure(void *tpcomm, tutti_result_t result, const char *why)
{
    ex_comm_t *c = tpcomm;
    ex_header_t *h = (ex_header_t *)c->seg[c->rank];
    snprintf(h->why, sizeof(h->why), "%s", why ? why : "");
    atomic_store(&h->failure, (int32_t)result);
    return TUTTI_SUCCESS;
}

/* ---- what this transport does not do: stubs, and the caps say so ------- */

static tutti_result_t ex_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    (void)conn, (void)buf, (void)len, (void)tag;
    return TUTTI_ERR_UNSUPPORTED;
}

static tutti_result_t ex_block(void *tpcomm, int timeout_ms)
{
    (void)tpcomm, (void)timeout_ms;
    return TUTTI_ERR_UNSUPPORTED;
}

static tutti_result_t ex_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root)
{
    (void)tpcomm, (void)seq, (void)tag, (void)waiting_on, (void)root;
    return TUTTI_ERR_UNSUPPORTED;
}

static tutti_result_t ex_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root)
{
    (void)conn, (void)seq, (void)waiting_on, (void)root;
    return TUTTI_ERR_UNSUPPORTED;
}

static tutti_result_t ex_probe(int requested, char *why, size_t whylen)
{
    (void)requested, (void)why, (void)whylen;
    return TUTTI_ERR_UNSUPPORTED;
}

static tutti_result_t ex_window(void *tpcomm, tutti_tp_window_t *w)
{
    (void)tpcomm, (void)w;
    return TUTTI_ERR_UNSUPPORTED;
}

static const tutti_transport_t ex_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "example",
    .caps = TUTTI_TP_CAP_INTRANODE,
    .comm_create = ex_comm_create,
    .comm_destroy = ex_comm_destroy,
    .conn = ex_conn,
    .max_payload = ex_max_payload,
    .progress = ex_progress,
    .send_acquire = ex_send_acquire,
    .send_commit = ex_send_commit,
    .recv_acquire = ex_recv_acquire,
    .recv_release = ex_recv_release,
    .recv_read = ex_recv_read,
    .send_commit_ref = ex_send_commit_ref,
    .send_flushed = ex_send_flushed,
    .peer_check = ex_peer_check,
    .publish_state = ex_publish_state,
    .announce_failure = ex_announce_failure,
    .block = ex_block,
    .publish_wait = ex_publish_wait,
    .peer_wait = ex_peer_wait,
    .probe = ex_probe,
    .window = ex_window,
    .version = "example 1.0",
};

/* The one entry point: the core asks once per process. */
tutti_result_t tutti_transport_plugin(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen)
{
    if (api_version != TUTTI_TRANSPORT_API_VERSION) {
        snprintf(why, whylen, "example speaks transport interface version %d, the core %u",
                 TUTTI_TRANSPORT_API_VERSION, api_version);
        return TUTTI_ERR_UNSUPPORTED;
    }
    *tp = &ex_transport;
    return TUTTI_SUCCESS;
}
