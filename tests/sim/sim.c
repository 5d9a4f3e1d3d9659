/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simulator's transport.  Every engine shares one table of links, one
 * per (peer, channel); since the ranks run one at a time, a link's
 * connection is that peer and channel as seen by the running rank, and the
 * transport looks the FIFO up by (sender, receiver, channel):
 *
 *   rank 3 runs, sends to peer 5 on channel 1:  links[5 * nchan + 1]
 *       -> port (peer 5, chan 1) -> FIFO (3 -> 5, 1), made at its first use
 *
 * so a world of p ranks holds p links and as many FIFOs as the schedules
 * use (O(p log p) for trees, not p^2).  A rank that stopped on FIFOs, or
 * on a member's window counters, runs again only once one of them changed
 * (until then nothing it could do would differ): a round costs what moves,
 * not p engine calls.
 */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_fifo {
    char *data; /* n slots of `slot` bytes */
    size_t len[SIM_MAX_SLOTS];
    const char *ref[SIM_MAX_SLOTS]; /* by-reference messages: the sender's buffer */
    uint32_t tag[SIM_MAX_SLOTS];
    uint64_t head, tail;
    uint64_t offered; /* messages offered to the receiver at least once */
    uint64_t ver;     /* moves whenever head or tail does */
    int src, dst;
    unsigned wake; /* bit 0: the sender waits on it, bit 1: the receiver */
} sim_fifo_t;

typedef struct {
    int peer, chan;
    struct sim_world *w;
    /* the FIFOs of the rank that used it last (most calls of a run go
     * over the links it just used) */
    int last;
    struct sim_fifo *out, *in;
} sim_port_t;

/* What a rank stopped on in its last run: FIFOs at the version it saw, or
 * a member's window control block as it saw it. */
#define SIM_WAITS 8
typedef struct {
    struct {
        const sim_fifo_t *f;
        uint64_t ver;
    } on[SIM_WAITS];
    int n;
    int dirty; /* stopped on something else (a late message, too many FIFOs): run it again */
    int wq;    /* the member whose window counters it waits for, or -1 */
    tutti_tp_winctl_t wsaw;
    int queued; /* on the list of the next round */
    int *wwait; /* ranks that wait for this one's window counters */
    int nwwait, capwwait;
} sim_rank_t;

#define SIM_CHUNK 1024         /* FIFOs per pool chunk (pointers into it stay valid) */
#define SIM_BLOCK (64u << 10) /* bytes per block of FIFO slots */

struct sim_world {
    int p, nchan;
    unsigned nslots;
    size_t slot;
    unsigned seed;
    /* FIFOs by key (src, dst, chan) + 1: open addressing into the pool */
    uint64_t *keys;
    sim_fifo_t **vals;
    size_t cap, used;
    sim_fifo_t **chunks;
    size_t nchunks, nfifos;
    char **blocks; /* the FIFOs' slots */
    size_t nblocks, block_used, block_size;
    sim_port_t *ports;   /* [peer * nchan + chan] */
    tutti_link_t *links; /* the same table for every engine */
    tutti_engine_t *engines;
    sim_rank_t *ranks;
    int cur; /* the rank whose engine runs */
    int *next, nnext; /* the ranks to run in the next round: woken, or dirty */
    int *done;
    /* shared windows of the ranks that take part in window steps: small, so
     * calls take many chunks; the one-shot limit rotates with the seed */
    tutti_tp_window_t win;
    char **win_base;
    tutti_tp_winctl_t **win_ctl;
    size_t win_have; /* bytes per buffer of those allocated */
    unsigned late_rs; /* random state of late arrivals */
    int late;         /* a message was held back in this round */
};

static uint64_t sim_hash(uint64_t k) { return k * 0x9e3779b97f4a7c15ull; }

static int sim_grow(sim_world_t *w)
{
    size_t cap = w->cap ? 2 * w->cap : 1024;
    uint64_t *keys = calloc(cap, sizeof(uint64_t));
    sim_fifo_t **vals = calloc(cap, sizeof(sim_fifo_t *));
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < w->cap; i++) {
        if (!w->keys[i]) continue;
        size_t j = (size_t)(sim_hash(w->keys[i]) >> 20) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = w->keys[i];
        vals[j] = w->vals[i];
    }
    free(w->keys);
    free(w->vals);
    w->keys = keys;
    w->vals = vals;
    w->cap = cap;
    return 0;
}

/* A FIFO's slots, from blocks of SIM_BLOCK bytes (or one of its own). */
static char *sim_data(sim_world_t *w)
{
    size_t n = w->nslots * w->slot;
    if (w->block_used + n > w->block_size) {
        char **b = realloc(w->blocks, (w->nblocks + 1) * sizeof(*b));
        if (!b) return NULL;
        w->blocks = b;
        w->block_size = n > SIM_BLOCK ? n : SIM_BLOCK; /* a large FIFO: a block of its own */
        if (!(b[w->nblocks] = malloc(w->block_size))) return NULL;
        w->nblocks++;
        w->block_used = 0;
    }
    char *d = w->blocks[w->nblocks - 1] + w->block_used;
    w->block_used += n;
    return d;
}

/* The FIFO from src to dst on chan, made on first use (NULL: out of memory). */
static sim_fifo_t *sim_fifo(sim_world_t *w, int src, int dst, int chan)
{
    uint64_t key = ((uint64_t)src * (uint64_t)w->p + (uint64_t)dst) * (uint64_t)w->nchan + (uint64_t)chan + 1;
    if (w->cap) {
        size_t j = (size_t)(sim_hash(key) >> 20) & (w->cap - 1);
        for (; w->keys[j]; j = (j + 1) & (w->cap - 1))
            if (w->keys[j] == key) return w->vals[j];
    }
    if (2 * (w->used + 1) > w->cap && sim_grow(w) != 0) return NULL;
    if (w->nfifos == w->nchunks * SIM_CHUNK) {
        sim_fifo_t **c = realloc(w->chunks, (w->nchunks + 1) * sizeof(*c));
        if (!c) return NULL;
        w->chunks = c;
        if (!(c[w->nchunks] = calloc(SIM_CHUNK, sizeof(sim_fifo_t)))) return NULL;
        w->nchunks++;
    }
    sim_fifo_t *f = &w->chunks[w->nfifos / SIM_CHUNK][w->nfifos % SIM_CHUNK];
    if (!(f->data = sim_data(w))) return NULL;
    w->nfifos++;
    f->src = src;
    f->dst = dst;
    size_t j = (size_t)(sim_hash(key) >> 20) & (w->cap - 1);
    while (w->keys[j]) j = (j + 1) & (w->cap - 1);
    w->keys[j] = key;
    w->vals[j] = f;
    w->used++;
    return f;
}

static sim_fifo_t *sim_out(void *conn)
{
    sim_port_t *pt = conn;
    if (pt->last != pt->w->cur) {
        pt->last = pt->w->cur;
        pt->out = pt->in = NULL;
    }
    if (!pt->out) pt->out = sim_fifo(pt->w, pt->w->cur, pt->peer, pt->chan);
    return pt->out;
}

static sim_fifo_t *sim_in(void *conn)
{
    sim_port_t *pt = conn;
    if (pt->last != pt->w->cur) {
        pt->last = pt->w->cur;
        pt->out = pt->in = NULL;
    }
    if (!pt->in) pt->in = sim_fifo(pt->w, pt->peer, pt->w->cur, pt->chan);
    return pt->in;
}

/* Puts rank r on the next round's list. */
static void sim_wake(sim_world_t *w, int r)
{
    sim_rank_t *rk = &w->ranks[r];
    if (rk->queued || w->done[r]) return;
    rk->queued = 1;
    w->next[w->nnext++] = r;
}

/* f moved: wakes whoever stopped on it. */
static void sim_moved(sim_world_t *w, sim_fifo_t *f)
{
    f->ver++;
    if (f->wake & 1u) sim_wake(w, f->src);
    if (f->wake & 2u) sim_wake(w, f->dst);
    f->wake = 0;
}

/* The running rank stops on f, as its sender (side 1) or receiver (2);
 * dirty: on something that f's version does not tell, a message held back. */
static tutti_result_t sim_wait(sim_world_t *w, sim_fifo_t *f, unsigned side, int dirty)
{
    sim_rank_t *rk = &w->ranks[w->cur];
    f->wake |= side;
    if (dirty || rk->n == SIM_WAITS) {
        rk->dirty = 1;
    } else {
        rk->on[rk->n].f = f;
        rk->on[rk->n].ver = f->ver;
        rk->n++;
    }
    return TUTTI_INPROGRESS;
}

/* Late arrivals: a message that has not been offered yet is held back one
 * time in four, so that a receiver reads it after its sender went on (a
 * real transport's bytes are in flight; a reference is read whenever the
 * receiver gets to it).  A schedule that marks data stable and then
 * changes it, or that relies on a receiver keeping pace, fails here. */
static int sim_late(sim_world_t *w, sim_fifo_t *f)
{
    if (f->tail < f->offered) return 0;
    w->late_rs = w->late_rs * 1103515245u + 12345u;
    if (((w->late_rs >> 16) & 3u) == 0) {
        w->late = 1;
        return 1;
    }
    f->offered = f->tail + 1;
    return 0;
}

static tutti_result_t sim_send_acquire(void *conn, size_t len, void **slot)
{
    sim_world_t *w = ((sim_port_t *)conn)->w;
    sim_fifo_t *f = sim_out(conn);
    if (!f || len > w->slot) return TUTTI_ERR_INTERNAL;
    if (f->head - f->tail >= w->nslots) return sim_wait(w, f, 1, 0);
    *slot = f->data + (f->head % w->nslots) * w->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_commit(void *conn, const void *buf, size_t len, uint32_t tag)
{
    sim_world_t *w = ((sim_port_t *)conn)->w;
    sim_fifo_t *f = sim_out(conn);
    if (!f) return TUTTI_ERR_INTERNAL;
    size_t i = f->head % w->nslots;
    f->len[i] = len;
    f->tag[i] = tag;
    f->ref[i] = buf;
    f->head++;
    sim_moved(w, f);
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_send_commit(void *conn, size_t len, uint32_t tag) { return sim_commit(conn, NULL, len, tag); }

/* A real reference: the receiver copies from the sender's buffer whenever it
 * gets to it, so a schedule that marks data stable and then changes it
 * produces wrong results here. */
static tutti_result_t sim_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    return sim_commit(conn, buf, len, tag);
}

static tutti_result_t sim_send_flushed(void *conn)
{
    sim_world_t *w = ((sim_port_t *)conn)->w;
    sim_fifo_t *f = sim_out(conn);
    if (!f) return TUTTI_ERR_INTERNAL;
    return f->tail == f->head ? TUTTI_SUCCESS : sim_wait(w, f, 1, 0);
}

static tutti_result_t sim_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    sim_world_t *w = ((sim_port_t *)conn)->w;
    sim_fifo_t *f = sim_in(conn);
    if (!f) return TUTTI_ERR_INTERNAL;
    if (f->head == f->tail) return sim_wait(w, f, 2, 0);
    if (sim_late(w, f)) return sim_wait(w, f, 2, 1);
    size_t i = f->tail % w->nslots;
    *len = f->len[i];
    *tag = f->tag[i];
    if (f->ref[i]) {
        memcpy(f->data + i * w->slot, f->ref[i], f->len[i]);
        f->ref[i] = NULL; /* loaded once */
    }
    *slot = f->data + i * w->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag)
{
    sim_world_t *w = ((sim_port_t *)conn)->w;
    sim_fifo_t *f = sim_in(conn);
    if (!f) return TUTTI_ERR_INTERNAL;
    if (f->head == f->tail) return sim_wait(w, f, 2, 0);
    if (sim_late(w, f)) return sim_wait(w, f, 2, 1);
    size_t i = f->tail % w->nslots;
    *got = f->len[i];
    *got_tag = f->tag[i];
    if (*got != len || (tag != TUTTI_TAG_ANY && f->tag[i] != tag)) return TUTTI_ERR_MISMATCH;
    memcpy(dst, f->ref[i] ? f->ref[i] : f->data + i * w->slot, len);
    f->ref[i] = NULL;
    f->tail++;
    sim_moved(w, f);
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_recv_release(void *conn)
{
    sim_fifo_t *f = sim_in(conn);
    if (!f) return TUTTI_ERR_INTERNAL;
    f->tail++;
    sim_moved(((sim_port_t *)conn)->w, f);
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t len)
{
    return TUTTI_SUCCESS;
}

static const tutti_transport_t sim_transport = {
    .size = sizeof(tutti_transport_t),
    .api_version = TUTTI_TRANSPORT_API_VERSION,
    .name = "sim",
    .send_acquire = sim_send_acquire,
    .send_commit = sim_send_commit,
    .recv_acquire = sim_recv_acquire,
    .recv_release = sim_recv_release,
    .recv_read = sim_recv_read,
    .send_commit_ref = sim_send_commit_ref,
    .send_flushed = sim_send_flushed,
    .peer_check = sim_peer_check,
    .caps = TUTTI_TP_CAP_SEND_REF,
};

sim_world_t *sim_create(int p, int nchan, unsigned nslots, size_t slot_size, unsigned seed)
{
    if (nslots < 1 || nslots > SIM_MAX_SLOTS) return NULL;
    sim_world_t *w = calloc(1, sizeof(*w));
    w->p = p;
    w->nchan = nchan;
    w->nslots = nslots;
    w->slot = slot_size;
    w->seed = seed;
    size_t nl = (size_t)p * (size_t)nchan;
    w->ports = calloc(nl, sizeof(sim_port_t));
    w->links = calloc(nl, sizeof(tutti_link_t));
    for (int q = 0; q < p; q++)
        for (int c = 0; c < nchan; c++) {
            size_t k = (size_t)q * (size_t)nchan + (size_t)c;
            w->ports[k] = (sim_port_t){q, c, w, -1, NULL, NULL};
            tutti_link_t *l = &w->links[k];
            l->tp = &sim_transport;
            l->sconn = l->rconn = &w->ports[k];
            l->can_ref = 1;
            l->ref_min = seed % 2 ? 1 : 0; /* half the worlds send stable data by reference */
            /* a quarter also flush before completing (progress-driven transports) */
            l->flush = (seed % 4) == 3;
        }
    w->win_base = calloc((size_t)p, sizeof(char *));
    w->win_ctl = calloc((size_t)p, sizeof(tutti_tp_winctl_t *));
    w->win.size = sizeof(w->win);
    w->win.nbuf = 2;
    w->win.oneshot = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 64 : 1u << 20;
    w->win.base = w->win_base;
    w->win.ctl = w->win_ctl;
    w->engines = calloc((size_t)p, sizeof(tutti_engine_t));
    w->ranks = calloc((size_t)p, sizeof(sim_rank_t));
    w->next = malloc(sizeof(int) * (size_t)p);
    w->done = calloc((size_t)p, sizeof(int));
    for (int r = 0; r < p; r++) {
        tutti_engine_t *e = &w->engines[r];
        e->win = &w->win;
        e->rank = r;
        e->nranks = p;
        e->nchan = nchan;
        e->links = w->links;
        e->any_flush = (seed % 4) == 3;
    }
    return w;
}

static void sim_free_windows(sim_world_t *w)
{
    for (int r = 0; r < w->p; r++) {
        free(w->win_base[r]);
        free(w->win_ctl[r]);
        w->win_base[r] = NULL;
        w->win_ctl[r] = NULL;
    }
}

void sim_destroy(sim_world_t *w)
{
    if (!w) return;
    for (size_t b = 0; b < w->nblocks; b++) free(w->blocks[b]);
    for (size_t c = 0; c < w->nchunks; c++) free(w->chunks[c]);
    free(w->blocks);
    sim_free_windows(w);
    free(w->chunks);
    free(w->keys);
    free(w->vals);
    free(w->ports);
    free(w->links);
    free(w->win_base);
    free(w->win_ctl);
    free(w->engines);
    for (int r = 0; r < w->p; r++) free(w->ranks[r].wwait);
    free(w->ranks);
    free(w->next);
    free(w->done);
    free(w);
}

size_t sim_slot_size(const sim_world_t *w) { return w->slot; }

/* Windows for every member of a window step's group, of a size that holds
 * a chunk of the largest group (4 slots' worth at least); they start
 * afresh (a failed case may have left them half-way), with garbage in the
 * buffers: a rank that reads before its peer wrote fails.  0, or -1 when
 * out of memory. */
static int sim_windows(sim_world_t *w, tutti_exec_t *const *xs)
{
    int p = w->p, maxw = 0;
    char *member = calloc((size_t)p, 1);
    if (!member) return -1;
    for (int r = 0; r < p; r++) {
        const tutti_sched_t *s = &xs[r]->sched;
        for (uint32_t i = 0; i < s->nsteps; i++) {
            const tutti_step_t *st = &s->steps[i];
            if (!(st->flags & TUTTI_STEP_WIN)) continue;
            if (st->wsize > maxw) maxw = st->wsize;
            member[r] = 1;
            for (int j = 0; j < st->wsize; j++) {
                int q = tutti_step_member(s, st, j);
                if (q >= 0 && q < p) member[q] = 1;
            }
        }
    }
    size_t wb = w->slot * 4 < (size_t)maxw * 16 ? (size_t)maxw * 16 : w->slot * 4;
    wb = (wb + 63) & ~(size_t)63;
    if (maxw && wb != w->win_have) {
        sim_free_windows(w);
        w->win_have = wb;
    }
    w->win.bytes = w->win_have;
    int rc = 0;
    for (int r = 0; r < p && rc == 0; r++) {
        if (member[r] && !w->win_base[r]) {
            w->win_base[r] = malloc(2 * w->win_have);
            w->win_ctl[r] = aligned_alloc(64, sizeof(tutti_tp_winctl_t));
            if (!w->win_base[r] || !w->win_ctl[r]) rc = -1;
        }
        if (rc == 0 && w->win_base[r]) {
            memset(w->win_ctl[r], 0, sizeof(tutti_tp_winctl_t));
            memset(w->win_base[r], 0x5a, 2 * w->win_have);
        }
        w->engines[r].win_next = 1;
    }
    free(member);
    return rc;
}

static unsigned sim_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* Whether a rank would do nothing new: everything it stopped on is as it was. */
static int sim_idle(const sim_world_t *w, const sim_rank_t *rk)
{
    if (rk->dirty || (rk->n == 0 && rk->wq < 0)) return 0;
    if (rk->wq >= 0 && memcmp(&rk->wsaw, w->win_ctl[rk->wq], sizeof(rk->wsaw)) != 0) return 0;
    for (int i = 0; i < rk->n; i++)
        if (rk->on[i].f->ver != rk->on[i].ver) return 0;
    return 1;
}

/* After rank r ran and stopped: a window wait waits for a change of that
 * member's counters; what tells nothing runs again next round. */
static void sim_stopped(sim_world_t *w, int r, const tutti_exec_t *x)
{
    sim_rank_t *rk = &w->ranks[r];
    int q = x->blocked_peer;
    if (rk->n == 0 && !rk->dirty && x->wg0 && q >= 0 && q < w->p && w->win_ctl[q]) {
        sim_rank_t *m = &w->ranks[q];
        if (m->nwwait == m->capwwait) {
            int cap = m->capwwait ? 2 * m->capwwait : 8;
            int *n = realloc(m->wwait, sizeof(int) * (size_t)cap);
            if (!n) {
                rk->dirty = 1;
                sim_wake(w, r);
                return;
            }
            m->wwait = n;
            m->capwwait = cap;
        }
        m->wwait[m->nwwait++] = r;
        rk->wq = q;
        rk->wsaw = *w->win_ctl[q];
        return;
    }
    if (rk->n == 0) rk->dirty = 1;
    if (rk->dirty) sim_wake(w, r);
}

/* Ranks run in rounds, each round the ranks on its list in a shuffled
 * order: first all, then those woken by a change of what they stopped on
 * (and those whose stop tells nothing).  A round in which no rank moved,
 * and no message was held back, is a deadlock. */
int sim_run(sim_world_t *w, tutti_exec_t *const *xs, char *err, size_t errlen)
{
    int p = w->p;
    for (size_t k = 0; k < w->nfifos; k++) {
        sim_fifo_t *f = &w->chunks[k / SIM_CHUNK][k % SIM_CHUNK];
        f->head = f->tail = f->offered = 0;
        f->wake = 0;
        memset(f->ref, 0, sizeof(f->ref));
    }
    w->late_rs = w->seed * 2654435761u + 1;
    if (sim_windows(w, xs) != 0) {
        snprintf(err, errlen, "simulator: out of memory for windows");
        return -2;
    }
    int *order = malloc(sizeof(int) * (size_t)p);
    int ndone = 0, rc = 0;
    unsigned rs = w->seed;
    w->nnext = 0;
    for (int r = 0; r < p; r++) {
        sim_rank_t *rk = &w->ranks[r];
        rk->n = rk->dirty = rk->nwwait = 0;
        rk->wq = -1;
        rk->queued = 0;
        w->done[r] = 0;
        sim_wake(w, r);
    }
    while (ndone < p) {
        int n = w->nnext;
        memcpy(order, w->next, sizeof(int) * (size_t)n);
        w->nnext = 0;
        for (int i = 0; i < n; i++) w->ranks[order[i]].queued = 0;
        /* shuffle the order in which ranks get to run */
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(sim_rand(&rs) % (unsigned)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int moved = 0;
        w->late = 0;
        for (int k = 0; k < n; k++) {
            int r = order[k];
            sim_rank_t *rk = &w->ranks[r];
            if (w->done[r] || sim_idle(w, rk)) continue;
            tutti_tp_winctl_t mine;
            if (w->win_ctl[r]) mine = *w->win_ctl[r];
            rk->n = 0;
            rk->dirty = 0;
            rk->wq = -1;
            w->cur = r;
            uint64_t before = xs[r]->steps_done;
            char e[256] = "";
            tutti_result_t res = tutti_exec_run(&w->engines[r], xs[r], e, sizeof(e));
            if (xs[r]->steps_done != before) moved = 1;
            if (res == TUTTI_SUCCESS) {
                w->done[r] = 1;
                ndone++;
                moved = 1;
            } else if (res == TUTTI_INPROGRESS) {
                sim_stopped(w, r, xs[r]);
            } else {
                snprintf(err, errlen, "rank %d: engine error %d: %s", r, (int)res, e);
                rc = -2;
                goto out;
            }
            /* its window counters moved: wake who waits for them */
            if (w->win_ctl[r] && rk->nwwait && memcmp(&mine, w->win_ctl[r], sizeof(mine)) != 0) {
                for (int i = 0; i < rk->nwwait; i++) sim_wake(w, rk->wwait[i]);
                rk->nwwait = 0;
            }
        }
        if ((!moved && !w->late) || (w->nnext == 0 && ndone < p)) {
            int m = snprintf(err, errlen, "deadlock:");
            for (int r = 0; r < p && m < (int)errlen - 40; r++)
                if (!w->done[r])
                    m += snprintf(err + m, errlen - (size_t)m, " r%d(phase %u iter %llu step %u %s %d)", r,
                                  xs[r]->phase, (unsigned long long)xs[r]->iter[0], xs[r]->step[0],
                                  xs[r]->blocked_dir == 0 ? "send" : "recv", xs[r]->blocked_peer);
            rc = -1;
            goto out;
        }
    }
    for (size_t k = 0; k < w->nfifos; k++) {
        sim_fifo_t *f = &w->chunks[k / SIM_CHUNK][k % SIM_CHUNK];
        if (f->head != f->tail) {
            snprintf(err, errlen, "%llu message(s) left from rank %d to rank %d",
                     (unsigned long long)(f->head - f->tail), f->src, f->dst);
            rc = -3;
            goto out;
        }
    }
out:
    free(order);
    return rc;
}
