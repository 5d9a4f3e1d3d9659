/* SPDX-License-Identifier: BSD-3-Clause */
/* The shm transport's ops table and data path. */
#include "shm/shm.h"

#include "core/transports.h"

#include "dtype/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A connection's FIFO is mapped on its first use, from either end. */
#define TUTTI_SHM_MAPPED(c)                                                    \
    do {                                                                       \
        if (__builtin_expect((c)->slots == NULL, 0)) {                         \
            tutti_result_t mr_ = tutti_shm_conn_map(c);                        \
            if (mr_ != TUTTI_SUCCESS) return mr_;                              \
        }                                                                      \
    } while (0)

static tutti_result_t tutti_shm_send_acquire(void *conn, size_t len, void **slot)
{
    tutti_shm_conn_t *c = conn;
    TUTTI_SHM_MAPPED(c);
    if (c->pos - c->cached_tail >= c->nslots) {
        c->cached_tail = __atomic_load_n(&c->ctrl->tail, __ATOMIC_ACQUIRE);
        if (c->pos - c->cached_tail >= c->nslots) return TUTTI_INPROGRESS;
    }
    *slot = len <= TUTTI_SHM_INLINE ? (void *)c->slots[c->idx].inl : (void *)(c->data + (size_t)c->idx * c->slot_size);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_send_commit(void *conn, size_t len, uint32_t tag)
{
    tutti_shm_conn_t *c = conn;
    tutti_shm_slot_t *s = &c->slots[c->idx];
    s->len = (uint32_t)len;
    s->tag = tag;
    __atomic_store_n(&s->seq, c->pos + 1, __ATOMIC_RELEASE);
    c->pos++;
    c->idx = c->idx + 1 == c->nslots ? 0 : c->idx + 1;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    tutti_shm_conn_t *c = conn;
    TUTTI_SHM_MAPPED(c);
    if (!c->owner->cma) {
        /* no single copy on this node: the slot was acquired, copy into it */
        void *slot = NULL;
        tutti_result_t r = tutti_shm_send_acquire(conn, len, &slot);
        if (r != TUTTI_SUCCESS) return r == TUTTI_INPROGRESS ? TUTTI_ERR_INTERNAL : r; /* the engine holds it */
        tutti_copy(slot, buf, len);
        return tutti_shm_send_commit(conn, len, tag);
    }
    tutti_shm_slot_t *s = &c->slots[c->idx];
    tutti_shm_ref_t ref = {(uint64_t)(uintptr_t)buf, (int32_t)getpid(), 0};
    memcpy(s->inl, &ref, sizeof(ref));
    s->len = (uint32_t)len | TUTTI_SHM_REF;
    s->tag = tag;
    __atomic_store_n(&s->seq, c->pos + 1, __ATOMIC_RELEASE);
    c->pos++;
    c->idx = c->idx + 1 == c->nslots ? 0 : c->idx + 1;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_send_flushed(void *conn)
{
    tutti_shm_conn_t *c = conn;
    if (!c->slots) return c->map_err ? c->map_err : TUTTI_SUCCESS; /* never sent on */
    c->cached_tail = __atomic_load_n(&c->ctrl->tail, __ATOMIC_ACQUIRE);
    return c->cached_tail >= c->pos ? TUTTI_SUCCESS : TUTTI_INPROGRESS;
}

/* The header of the next message, or NULL when it has not arrived. */
static tutti_shm_slot_t *tutti_shm_next(tutti_shm_conn_t *c)
{
    tutti_shm_slot_t *s = &c->slots[c->idx];
    if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != c->pos + 1) return NULL;
    return s;
}

static tutti_result_t tutti_shm_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    tutti_shm_conn_t *c = conn;
    TUTTI_SHM_MAPPED(c);
    tutti_shm_slot_t *s = tutti_shm_next(c);
    if (!s) return TUTTI_INPROGRESS;
    uint32_t l = s->len & ~TUTTI_SHM_REF;
    *tag = s->tag;
    if (l > c->slot_size) return TUTTI_ERR_REMOTE; /* corrupted segment */
    char *payload = c->data + (size_t)c->idx * c->slot_size;
    if (s->len & TUTTI_SHM_REF) {
        /* a reduction needs the bytes here: read the reference into our slot
         * (once, however often this is called before the release) */
        if (c->ref_loaded != c->pos + 1) {
            tutti_shm_ref_t ref;
            memcpy(&ref, s->inl, sizeof(ref));
            tutti_result_t r = tutti_shm_cma_read(ref.pid, ref.addr, payload, l);
            if (r != TUTTI_SUCCESS) return r;
            c->ref_loaded = c->pos + 1;
        }
        *len = l;
        *slot = payload;
        return TUTTI_SUCCESS;
    }
    *len = l;
    *slot = l <= TUTTI_SHM_INLINE ? (const void *)s->inl : (const void *)payload;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_recv_release(void *conn)
{
    tutti_shm_conn_t *c = conn;
    c->pos++;
    c->idx = c->idx + 1 == c->nslots ? 0 : c->idx + 1;
    __atomic_store_n(&c->ctrl->tail, c->pos, __ATOMIC_RELEASE);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got,
                                          uint32_t *got_tag)
{
    tutti_shm_conn_t *c = conn;
    TUTTI_SHM_MAPPED(c);
    tutti_shm_slot_t *s = tutti_shm_next(c);
    if (!s) return TUTTI_INPROGRESS;
    uint32_t l = s->len & ~TUTTI_SHM_REF;
    *got = (size_t)l;
    *got_tag = s->tag;
    if (l != len || (tag != TUTTI_TAG_ANY && s->tag != tag)) return TUTTI_ERR_MISMATCH;
    if (l > c->slot_size && !(s->len & TUTTI_SHM_REF)) return TUTTI_ERR_REMOTE; /* corrupted segment */
    if ((s->len & TUTTI_SHM_REF) && c->ref_loaded != c->pos + 1) {
        tutti_shm_ref_t ref;
        memcpy(&ref, s->inl, sizeof(ref));
        tutti_result_t r = tutti_shm_cma_read(ref.pid, ref.addr, dst, l);
        if (r != TUTTI_SUCCESS) return r;
    } else {
        tutti_copy(dst, l <= TUTTI_SHM_INLINE && !(s->len & TUTTI_SHM_REF) ? (const void *)s->inl
                                                                            : (const void *)(c->data + (size_t)c->idx * c->slot_size),
                   l);
    }
    return tutti_shm_recv_release(conn);
}

static tutti_result_t tutti_shm_progress(void *tpcomm)
{
    return TUTTI_SUCCESS; /* passive: peers write straight into our FIFOs */
}

static tutti_result_t tutti_shm_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen)
{
    tutti_shm_conn_t *c = conn;
    if (c->map_err) {
        snprintf(why, whylen, "%s", c->owner->map_why);
        return c->map_err;
    }
    return tutti_shm_peer_alive(c->owner, c->peer_local, seq, tag, why, whylen);
}

static tutti_result_t tutti_shm_publish_state(void *tpcomm, uint64_t seq, uint32_t tag)
{
    tutti_shm_comm_t *sc = tpcomm;
    if (sc && sc->peers) __atomic_store_n(&sc->peers[sc->me].state, (uint64_t)(uint32_t)seq << 32 | tag, __ATOMIC_RELEASE);
    return TUTTI_SUCCESS;
}

/* On one node a stuck peer is alive (its pid checks out): the chain of
 * waits it published is what names the rank that really stopped. */
static tutti_result_t tutti_shm_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root)
{
    tutti_shm_comm_t *sc = tpcomm;
    (void)tag;
    if (!sc || !sc->peers || waiting_on < 0 || root < 0) return TUTTI_SUCCESS;
    tutti_shm_peer_t *me = &sc->peers[sc->me];
    __atomic_store_n(&me->wait_who, (uint64_t)(uint32_t)waiting_on << 32 | (uint32_t)root, __ATOMIC_RELAXED);
    __atomic_store_n(&me->wait_seq, seq, __ATOMIC_RELEASE);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root)
{
    tutti_shm_conn_t *c = conn;
    if (!c || !c->owner || !c->owner->peers) return TUTTI_INPROGRESS;
    tutti_shm_peer_t *p = &c->owner->peers[c->peer_local];
    uint64_t s = __atomic_load_n(&p->wait_seq, __ATOMIC_ACQUIRE);
    if (s == 0) return TUTTI_INPROGRESS;
    uint64_t who = __atomic_load_n(&p->wait_who, __ATOMIC_RELAXED);
    *seq = s;
    *waiting_on = (int)(who >> 32);
    *root = (int)(uint32_t)who;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_shm_announce_failure(void *tpcomm, tutti_result_t result, const char *why)
{
    tutti_shm_comm_t *sc = tpcomm;
    if (!sc || !sc->peers) return TUTTI_SUCCESS;
    tutti_shm_peer_t *me = &sc->peers[sc->me];
    if (__atomic_load_n(&me->failed, __ATOMIC_ACQUIRE)) return TUTTI_SUCCESS; /* first failure wins */
    snprintf(me->why, sizeof(me->why), "%s", why ? why : "");
    __atomic_store_n(&me->failed, result ? (int32_t)result : (int32_t)TUTTI_ERR_REMOTE, __ATOMIC_RELEASE);
    return TUTTI_SUCCESS;
}

static void *tutti_shm_conn(void *tpcomm, int peer, int chan, int dir)
{
    tutti_shm_comm_t *sc = tpcomm;
    int l = sc->local_of[peer];
    if (l < 0 || chan >= sc->nchan) return NULL;
    return dir == 0 ? (void *)&sc->send[l * sc->nchan + chan] : (void *)&sc->recv[l * sc->nchan + chan];
}

static size_t tutti_shm_max_payload(void *tpcomm)
{
    return ((tutti_shm_comm_t *)tpcomm)->slot_size;
}

static tutti_result_t tutti_shm_comm_destroy(void *tpcomm)
{
    tutti_shm_comm_t *sc = tpcomm;
    if (!sc) return TUTTI_SUCCESS;
    size_t n = sc->send ? (size_t)sc->nlocal * (size_t)sc->nchan : 0;
    for (size_t k = 0; k < n; k++) {
        tutti_shm_conn_unmap(&sc->send[k]);
        tutti_shm_conn_unmap(&sc->recv[k]);
    }
    tutti_shm_win_release(sc);
    tutti_shm_seg_release(sc);
    free(sc->local_ranks);
    free(sc->local_of);
    free(sc->send);
    free(sc->recv);
    free(sc);
    return TUTTI_SUCCESS;
}

/* FIFO of sender i to receiver j on channel c, in the segment. */
static size_t tutti_shm_fifo_index(const tutti_shm_comm_t *sc, int i, int j, int c)
{
    int col = j < i ? j : j - 1;
    return ((size_t)i * (size_t)(sc->nlocal - 1) + (size_t)col) * (size_t)sc->nchan + (size_t)c;
}

static void tutti_shm_conn_init(tutti_shm_comm_t *sc, tutti_shm_conn_t *cn, int sender, int receiver, int chan,
                                int peer_local)
{
    memset(cn, 0, sizeof(*cn));
    cn->off = sc->hdr_bytes + tutti_shm_fifo_index(sc, sender, receiver, chan) * sc->fifo_bytes;
    cn->nslots = sc->nslots;
    cn->slot_size = sc->slot_size;
    cn->peer = sc->local_ranks[peer_local];
    cn->peer_local = peer_local;
    cn->peer_pid = sc->peers[peer_local].pid;
    cn->owner = sc;
}

static tutti_result_t tutti_shm_comm_create(const tutti_tp_setup_t *setup, void **out)
{
    tutti_result_t r = TUTTI_ERR_NO_MEMORY;
    tutti_shm_comm_t *sc = calloc(1, sizeof(*sc));
    if (!sc) goto fail;
    sc->fd = -1;
    int p = setup->nranks;
    sc->local_ranks = malloc(sizeof(int) * (size_t)p);
    sc->local_of = malloc(sizeof(int) * (size_t)p);
    if (!sc->local_ranks || !sc->local_of) goto fail;
    for (int q = 0; q < p; q++) {
        sc->local_of[q] = -1;
        if (q == setup->rank || setup->use[q]) {
            if (q == setup->rank) sc->me = sc->nlocal;
            sc->local_of[q] = sc->nlocal;
            sc->local_ranks[sc->nlocal++] = q;
        }
    }
    sc->nchan = setup->nchannels;
    sc->nslots = (uint32_t)setup->nslots;
    sc->slot_size = (setup->slot_size + 63) & ~(size_t)63;
    /* collective even when this rank has no local peer */
    r = tutti_shm_seg_setup(sc, setup);
    if (r != TUTTI_SUCCESS) goto fail;
    r = tutti_shm_win_setup(sc, setup);
    if (r != TUTTI_SUCCESS) goto fail;
    if (sc->nlocal > 1) {
        size_t n = (size_t)sc->nlocal * (size_t)sc->nchan;
        sc->send = calloc(n, sizeof(tutti_shm_conn_t));
        sc->recv = calloc(n, sizeof(tutti_shm_conn_t));
        if (!sc->send || !sc->recv) {
            r = TUTTI_ERR_NO_MEMORY;
            goto fail;
        }
        for (int l = 0; l < sc->nlocal; l++) {
            if (l == sc->me) continue;
            for (int c = 0; c < sc->nchan; c++) {
                tutti_shm_conn_init(sc, &sc->send[l * sc->nchan + c], sc->me, l, c, l);
                tutti_shm_conn_init(sc, &sc->recv[l * sc->nchan + c], l, sc->me, c, l);
            }
        }
    }
    *out = sc;
    return TUTTI_SUCCESS;
fail:
    if (r == TUTTI_ERR_NO_MEMORY && setup->err && !setup->err[0]) snprintf(setup->err, setup->errlen, "shm: out of memory");
    tutti_shm_comm_destroy(sc);
    return r;
}

/* Shared memory has nothing the kernel could wake a waiter on. */
const tutti_transport_t tutti_shm_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "shm",
    .caps = TUTTI_TP_CAP_INTRANODE | TUTTI_TP_CAP_SEND_REF | TUTTI_TP_CAP_WAIT_STATE | TUTTI_TP_CAP_WINDOW,
    .comm_create = tutti_shm_comm_create,
    .comm_destroy = tutti_shm_comm_destroy,
    .conn = tutti_shm_conn,
    .max_payload = tutti_shm_max_payload,
    .progress = tutti_shm_progress,
    .send_acquire = tutti_shm_send_acquire,
    .send_commit = tutti_shm_send_commit,
    .recv_acquire = tutti_shm_recv_acquire,
    .recv_release = tutti_shm_recv_release,
    .recv_read = tutti_shm_recv_read,
    .send_commit_ref = tutti_shm_send_commit_ref,
    .send_flushed = tutti_shm_send_flushed,
    .peer_check = tutti_shm_peer_check,
    .announce_failure = tutti_shm_announce_failure,
    .publish_state = tutti_shm_publish_state,
    .block = tutti_tp_stub_block,
    .publish_wait = tutti_shm_publish_wait,
    .peer_wait = tutti_shm_peer_wait,
    .probe = tutti_tp_stub_probe,
    .window = tutti_shm_window,
    .version = TUTTI_TP_BUILTIN_VERSION,
};

TUTTI_TP_STATIC_ENTRY(tutti_shm_entry, tutti_shm_transport)
