/* SPDX-License-Identifier: BSD-3-Clause */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t *len;
    const char **ref; /* by-reference messages: the sender's buffer */
    uint32_t *tag;
    unsigned n;
    size_t slot;
    uint64_t head, tail;
    uint64_t offered; /* messages offered to the receiver at least once */
    int src, dst;
    struct sim_world *w;
} sim_fifo_t;

struct sim_world {
    int p, nchan;
    unsigned nslots;
    size_t slot;
    unsigned seed;
    sim_fifo_t *fifos; /* [src][dst][chan] */
    tutti_engine_t *engines;
    /* shared windows: small, so calls take many chunks; the one-shot
     * limit rotates with the seed */
    tutti_tp_window_t win;
    char **win_base;
    tutti_tp_winctl_t **win_ctl;
    unsigned late_rs; /* random state of late arrivals */
    int late;         /* a message was held back in this round */
};

/* Late arrivals: a message that has not been offered yet is held back one
 * time in four, so that a receiver reads it after its sender went on (a
 * real transport's bytes are in flight; a reference is read whenever the
 * receiver gets to it).  A schedule that marks data stable and then
 * changes it, or that relies on a receiver keeping pace, fails here. */
static int sim_late(sim_fifo_t *f)
{
    if (f->tail < f->offered) return 0;
    f->w->late_rs = f->w->late_rs * 1103515245u + 12345u;
    if (((f->w->late_rs >> 16) & 3u) == 0) {
        f->w->late = 1;
        return 1;
    }
    f->offered = f->tail + 1;
    return 0;
}

static tutti_result_t sim_send_acquire(void *conn, size_t len, void **slot)
{
    sim_fifo_t *f = conn;
    if (len > f->slot) return TUTTI_ERR_INTERNAL;
    if (f->head - f->tail >= f->n) return TUTTI_INPROGRESS;
    *slot = f->data + (f->head % f->n) * f->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_send_commit(void *conn, size_t len, uint32_t tag)
{
    sim_fifo_t *f = conn;
    f->len[f->head % f->n] = len;
    f->tag[f->head % f->n] = tag;
    f->ref[f->head % f->n] = NULL;
    f->head++;
    return TUTTI_SUCCESS;
}

/* A real reference: the receiver copies from the sender's buffer whenever it
 * gets to it, so a schedule that marks data stable and then changes it
 * produces wrong results here. */
static tutti_result_t sim_send_commit_ref(void *conn, const void *buf, size_t len, uint32_t tag)
{
    sim_fifo_t *f = conn;
    f->len[f->head % f->n] = len;
    f->tag[f->head % f->n] = tag;
    f->ref[f->head % f->n] = buf;
    f->head++;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_send_flushed(void *conn)
{
    sim_fifo_t *f = conn;
    return f->tail == f->head ? TUTTI_SUCCESS : TUTTI_INPROGRESS;
}

static tutti_result_t sim_recv_acquire(void *conn, const void **slot, size_t *len, uint32_t *tag)
{
    sim_fifo_t *f = conn;
    if (f->head == f->tail || sim_late(f)) return TUTTI_INPROGRESS;
    size_t i = f->tail % f->n;
    *len = f->len[i];
    *tag = f->tag[i];
    if (f->ref[i]) {
        memcpy(f->data + i * f->slot, f->ref[i], f->len[i]);
        f->ref[i] = NULL; /* loaded once */
    }
    *slot = f->data + i * f->slot;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_recv_read(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag)
{
    sim_fifo_t *f = conn;
    if (f->head == f->tail || sim_late(f)) return TUTTI_INPROGRESS;
    size_t i = f->tail % f->n;
    *got = f->len[i];
    *got_tag = f->tag[i];
    if (*got != len || (tag != TUTTI_TAG_ANY && f->tag[i] != tag)) return TUTTI_ERR_MISMATCH;
    memcpy(dst, f->ref[i] ? f->ref[i] : f->data + i * f->slot, len);
    f->ref[i] = NULL;
    f->tail++;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_recv_release(void *conn)
{
    sim_fifo_t *f = conn;
    f->tail++;
    return TUTTI_SUCCESS;
}

static tutti_result_t sim_peer_check(void *conn, uint64_t seq, uint32_t tag, char *why, size_t len) { return TUTTI_SUCCESS; }

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
    sim_world_t *w = calloc(1, sizeof(*w));
    w->p = p;
    w->nchan = nchan;
    w->nslots = nslots;
    w->slot = slot_size;
    w->seed = seed;
    size_t nf = (size_t)p * (size_t)p * (size_t)nchan;
    w->fifos = calloc(nf, sizeof(sim_fifo_t));
    for (int s = 0; s < p; s++)
        for (int d = 0; d < p; d++)
            for (int c = 0; c < nchan; c++) {
                sim_fifo_t *f = &w->fifos[((size_t)s * (size_t)p + (size_t)d) * (size_t)nchan + (size_t)c];
                f->n = nslots;
                f->slot = slot_size;
                f->src = s;
                f->dst = d;
            }
    size_t wb = slot_size * 4 < (size_t)p * 16 ? (size_t)p * 16 : slot_size * 4;
    wb = (wb + 63) & ~(size_t)63;
    w->win_base = calloc((size_t)p, sizeof(char *));
    w->win_ctl = calloc((size_t)p, sizeof(tutti_tp_winctl_t *));
    for (int r = 0; r < p; r++) {
        w->win_base[r] = malloc(2 * wb);
        w->win_ctl[r] = aligned_alloc(64, sizeof(tutti_tp_winctl_t));
    }
    w->win.size = sizeof(w->win);
    w->win.bytes = wb;
    w->win.nbuf = 2;
    w->win.oneshot = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 64 : 1u << 20;
    w->win.base = w->win_base;
    w->win.ctl = w->win_ctl;
    w->engines = calloc((size_t)p, sizeof(tutti_engine_t));
    for (int r = 0; r < p; r++) {
        tutti_engine_t *e = &w->engines[r];
        e->win = &w->win;
        e->rank = r;
        e->nranks = p;
        e->nchan = nchan;
        e->links = calloc((size_t)p * (size_t)nchan, sizeof(tutti_link_t));
        for (int q = 0; q < p; q++)
            for (int c = 0; c < nchan; c++) {
                tutti_link_t *l = &e->links[(size_t)q * (size_t)nchan + (size_t)c];
                l->tp = &sim_transport;
                l->sconn = &w->fifos[((size_t)r * (size_t)p + (size_t)q) * (size_t)nchan + (size_t)c];
                l->rconn = &w->fifos[((size_t)q * (size_t)p + (size_t)r) * (size_t)nchan + (size_t)c];
                l->can_ref = 1;
                l->ref_min = seed % 2 ? 1 : 0; /* half the worlds send stable data by reference */
                /* a quarter also flush before completing (progress-driven transports) */
                l->flush = (seed % 4) == 3;
                e->any_flush |= l->flush;
            }
    }
    return w;
}

void sim_destroy(sim_world_t *w)
{
    if (!w) return;
    size_t nf = (size_t)w->p * (size_t)w->p * (size_t)w->nchan;
    for (size_t k = 0; k < nf; k++) {
        free(w->fifos[k].data);
        free(w->fifos[k].len);
        free(w->fifos[k].ref);
        free(w->fifos[k].tag);
    }
    for (int r = 0; r < w->p; r++) {
        free(w->engines[r].links);
        free(w->win_base[r]);
        free(w->win_ctl[r]);
    }
    free(w->win_base);
    free(w->win_ctl);
    free(w->engines);
    free(w->fifos);
    free(w);
}

size_t sim_slot_size(const sim_world_t *w) { return w->slot; }

static unsigned sim_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

int sim_run(sim_world_t *w, tutti_exec_t *const *xs, char *err, size_t errlen)
{
    int p = w->p;
    size_t nf = (size_t)p * (size_t)p * (size_t)w->nchan;
    for (size_t k = 0; k < nf; k++) {
        sim_fifo_t *f = &w->fifos[k];
        if (!f->data) {
            f->data = malloc(f->n * f->slot);
            f->len = calloc(f->n, sizeof(size_t));
            f->ref = calloc(f->n, sizeof(char *));
            f->tag = calloc(f->n, sizeof(uint32_t));
        }
        f->head = f->tail = f->offered = 0;
        f->w = w;
    }
    w->late_rs = w->seed * 2654435761u + 1;
    /* windows start afresh (a failed case may have left them half-way);
     * garbage in the buffers: a rank that reads before its peer wrote fails */
    for (int r = 0; r < p; r++) {
        memset(w->win_ctl[r], 0, sizeof(tutti_tp_winctl_t));
        memset(w->win_base[r], 0x5a, 2 * w->win.bytes);
        w->engines[r].win_next = 1;
    }
    int *order = malloc(sizeof(int) * (size_t)p);
    int *done = calloc((size_t)p, sizeof(int));
    int ndone = 0, rc = 0;
    unsigned rs = w->seed;
    for (int r = 0; r < p; r++) order[r] = r;
    while (ndone < p) {
        /* shuffle the order in which ranks get to run */
        for (int i = p - 1; i > 0; i--) {
            int j = (int)(sim_rand(&rs) % (unsigned)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int moved = 0;
        w->late = 0;
        for (int k = 0; k < p; k++) {
            int r = order[k];
            if (done[r]) continue;
            uint64_t before = xs[r]->steps_done;
            char e[256] = "";
            tutti_result_t res = tutti_exec_run(&w->engines[r], xs[r], e, sizeof(e));
            if (xs[r]->steps_done != before) moved = 1;
            if (res == TUTTI_SUCCESS) {
                done[r] = 1;
                ndone++;
                moved = 1;
            } else if (res != TUTTI_INPROGRESS) {
                snprintf(err, errlen, "rank %d: engine error %d: %s", r, (int)res, e);
                rc = -2;
                goto out;
            }
        }
        if (!moved && !w->late) {
            int n = snprintf(err, errlen, "deadlock:");
            for (int r = 0; r < p && n < (int)errlen - 40; r++)
                if (!done[r])
                    n += snprintf(err + n, errlen - (size_t)n, " r%d(phase %u iter %llu step %u %s %d)", r,
                                  xs[r]->phase, (unsigned long long)xs[r]->iter[0], xs[r]->step[0],
                                  xs[r]->blocked_dir == 0 ? "send" : "recv", xs[r]->blocked_peer);
            rc = -1;
            goto out;
        }
    }
    for (size_t k = 0; k < nf; k++) {
        sim_fifo_t *f = &w->fifos[k];
        if (f->head != f->tail) {
            snprintf(err, errlen, "%llu message(s) left from rank %d to rank %d",
                     (unsigned long long)(f->head - f->tail), f->src, f->dst);
            rc = -3;
            goto out;
        }
    }
out:
    free(order);
    free(done);
    return rc;
}
