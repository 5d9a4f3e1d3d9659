/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Window steps: a whole collective over the node's shared windows
 * (include/tutti/transport.h, tutti_tp_window_t).  Each rank owns two
 * buffers of W bytes that the others read; a call moves in chunks, chunk g
 * (numbered for the life of the communicator) in buffer g % 2.  Per chunk,
 * all-reduce (two-shot; p = 3 drawn):
 *
 *     src0 [a0|a1|a2]  src1 [b0|b1|b2]  src2 [c0|c1|c2]
 *  1  wait: every rank's consumed >= g - 2 (my buffer g % 2 is free again)
 *  2  copy the slices the others reduce into my window, publish copied = g
 *     W0 [  |a1|a2]    W1 [b0|  |b2]    W2 [c0|c1|  ]
 *  3  wait: every copied >= g; reduce my slice in rank order, own part
 *     from src, into my window's empty slice; publish reduced = g
 *     W0 [s0|..|..]    W1 [..|s1|..]    W2 [..|..|s2]     s_i = a_i + b_i + c_i
 *  4  wait: every reduced >= g; copy every slice out to dst; publish
 *     consumed = g
 *
 * so each rank loads and stores 5 - 2/p bytes per byte with three
 * synchronisations per chunk and no chains: the two buffers let chunk g+1
 * be copied in while slower ranks still read chunk g.  Small calls (below
 * the window's `oneshot` over p - 1: what each rank then reads from the
 * others) skip the reduced phase: everyone copies the whole
 * chunk in, and everyone reduces all windows in rank order into dst.  The
 * order of every sum is fixed by rank, so every rank gets the same bits.
 *
 * The others draw alike:
 *   reduce-scatter  2 (block j's chunk into slot j), 3 into dst, consumed
 *   all-gather      2 (own block's chunk), 3 copy every window out, consumed
 *   broadcast       the root: 1, 2; the others: wait for the root, copy out
 *   reduce          2, 3 (into my window), and the root does 4
 *
 * Every wait polls one counter of one rank: when it is not there yet the
 * step returns TUTTI_INPROGRESS naming that rank, and the core's deadline,
 * liveness and published-state checks apply as to any message.  The call
 * word (first chunk number, fingerprint) a rank publishes before its first
 * counter of a call makes ranks in different calls fail with
 * TUTTI_ERR_MISMATCH instead of reading each other's data.
 */
#include "core/engine.h"

#include "core/fingerprint.h"
#include "dtype/copy.h"
#include "dtype/dtype.h"

#include <stdio.h>
#include <string.h>

enum { W_CALL, W_RESERVE, W_COPYIN, W_WAITIN, W_WORK, W_WAITRED, W_OUT, W_DONE };
enum { C_COPIED, C_REDUCED, C_CONSUMED };

#define TUTTI_WIN_BATCH 64 /* inputs per reduction call */

static uint64_t *tutti_win_counter(tutti_tp_winctl_t *c, int which)
{
    return which == C_COPIED ? &c->copied : which == C_REDUCED ? &c->reduced : &c->consumed;
}

static void tutti_win_publish(const tutti_engine_t *e, int which, uint64_t g)
{
    __atomic_store_n(tutti_win_counter(e->win->ctl[e->rank], which), g, __ATOMIC_RELEASE);
}

/* Into this rank's window: with streaming stores from nt_min bytes on, so
 * that readers pull the chunk from memory rather than out of this core's
 * cache (measured on 2 ranks: 1.5-1.7x faster in the machine's slow mode,
 * 0.7-0.9x in its fast one; perf/README.md, "Node-local collectives"). */
static void tutti_win_in(const tutti_tp_window_t *w, void *dst, const void *src, size_t len)
{
    if (w->nt_min && len >= w->nt_min) tutti_copy_stream(dst, src, len);
    else tutti_copy(dst, src, len);
}

static tutti_result_t tutti_win_mismatch(tutti_exec_t *x, int q)
{
    x->blocked_peer = q;
    x->blocked_dir = 1;
    x->blocked_chan = 0;
    return TUTTI_ERR_MISMATCH;
}

/* Waits until member(s) of the group have published `which` >= need
 * (root_only: only the root; skip_root: all but the root).  Resumes at
 * x->wpeer. */
static tutti_result_t tutti_win_wait(tutti_engine_t *e, tutti_exec_t *x, const tutti_step_t *st, int which,
                                     uint64_t need, int root_only, uint32_t tag, char *err,
                                     size_t errlen)
{
    for (; x->wpeer < (uint32_t)st->wsize; x->wpeer++) {
        int i = (int)x->wpeer;
        if (i == st->wme || (root_only && i != st->wroot)) continue;
        int q = tutti_step_member(&x->sched, st, i);
        tutti_tp_winctl_t *c = e->win->ctl[q];
        uint64_t v = __atomic_load_n(tutti_win_counter(c, which), __ATOMIC_ACQUIRE);
        if (v >= need) {
            if (which != C_COPIED) continue;
            /* about to read its buffer: does it hold this chunk of this
             * call?  (A rank in another call may have published copied
             * for a later chunk without ever writing this one.) */
            uint64_t held = __atomic_load_n(&c->held[need % (uint64_t)e->win->nbuf], __ATOMIC_ACQUIRE);
            if (held == ((uint64_t)(uint32_t)need << 32 | tag)) continue;
            char theirs[160] = "another call";
            if ((uint32_t)(held >> 32) == (uint32_t)need) tutti_fingerprint_describe((uint32_t)held, tag, theirs, sizeof(theirs));
            snprintf(err, errlen, "rank %d waits for rank %d, which is in %s (its window holds chunk %u, this call "
                                  "reads chunk %u there): the ranks called different collectives (or with different "
                                  "arguments)",
                     e->rank, q, theirs, (unsigned)(held >> 32), (unsigned)need);
            return tutti_win_mismatch(x, q);
        }
        /* the call word: same first chunk, another fingerprint = another call */
        uint64_t call = __atomic_load_n(&c->call, __ATOMIC_ACQUIRE);
        if ((uint32_t)(call >> 32) == (uint32_t)x->wg0 && (uint32_t)call != tag) {
            char theirs[160];
            tutti_fingerprint_describe((uint32_t)call, tag, theirs, sizeof(theirs));
            snprintf(err, errlen, "rank %d waits for rank %d, which is in %s: the ranks called different collectives "
                                  "(or with different arguments)",
                     e->rank, q, theirs);
            return tutti_win_mismatch(x, q);
        }
        x->blocked_peer = q;
        x->blocked_dir = which == C_CONSUMED ? 0 : 1; /* consumed: waits to write what it reads */
        x->blocked_chan = 0;
        return TUTTI_INPROGRESS;
    }
    x->wpeer = 0;
    return TUTTI_SUCCESS;
}

static void tutti_win_put(void *dst, const void *src, size_t len, int stream)
{
    if (dst == src || len == 0) return;
    if (stream) tutti_copy_stream(dst, src, len);
    else tutti_copy(dst, src, len);
}

/* dst = the op over the group's inputs in rank order: input j is member
 * j's window at byte `shift`, except the own one, read from `own` when
 * given; AVG's division (div > 1) once at the end; then, when `also` is
 * given, the result copied there too.  Block by block, so that the many
 * passes of a p-input sum and the second copy read the block from L1
 * (one pass over memory, as a fused kernel would).  Batches of inputs fold
 * into dst, which is never an input. */
#define TUTTI_WIN_BLOCK (16u << 10)
static void tutti_win_reduce(const tutti_engine_t *e, const tutti_exec_t *x, const tutti_step_t *st, char *dst,
                             const char *own, size_t shift, size_t count, int div, char *also, int stream)
{
    const void *b[TUTTI_WIN_BATCH + 1];
    const int p = st->wsize;
    const size_t es = tutti_dtype_size(x->dtype), per = TUTTI_WIN_BLOCK / es;
    for (size_t at = 0; at < count; at += per) {
        size_t n = count - at < per ? count - at : per, o = at * es;
        int j = 0;
        while (j < p) {
            int k = 0;
            if (j) b[k++] = dst + o;
            for (; k < TUTTI_WIN_BATCH + (j ? 1 : 0) && j < p; j++)
                b[k++] = own && j == st->wme ? own + o
                                             : (const void *)(e->win->base[tutti_step_member(&x->sched, st, j)] + shift + o);
            tutti_dtype_reduce(dst + o, b, k, n, x->dtype, x->op, j == p ? div : 0);
        }
        if (also) tutti_win_put(also + o, dst + o, n * es, stream);
    }
}

/* Start and length (elements) of slice i of ne elements over p ranks. */
static void tutti_win_split(size_t ne, int p, int i, size_t *start, size_t *cnt)
{
    size_t q = ne / (size_t)p, r = ne % (size_t)p, u = (size_t)i;
    *start = u * q + (u < r ? u : r);
    *cnt = q + (u < r ? 1 : 0);
}

tutti_result_t tutti_win_run(tutti_engine_t *e, tutti_exec_t *x, const tutti_step_t *st, char *err, size_t errlen)
{
    const tutti_tp_window_t *w = e->win;
    const int p = st->wsize, me = st->wme, root = st->wroot;
    const int kind = st->wkind;
    const size_t es = tutti_dtype_size(x->dtype);
    const uint32_t tag = st->tag ? st->tag : x->tag;
    const int stream = x->sched.stream_out;
    const int div = (st->flags & TUTTI_STEP_FINAL) ? x->div : 0;
    tutti_result_t r;
    if (!w || w->nbuf < 2 || w->nbuf > TUTTI_TP_WIN_MAXBUF || p < 2 || me < 0 || me >= p || root < 0 || root >= p || es == 0) {
        snprintf(err, errlen, "rank %d: a window step without windows (or with a bad group)", e->rank);
        return TUTTI_ERR_INTERNAL;
    }
    /* a chunk: cap bytes of the vector (of each block for reduce-scatter,
     * whose window holds one slot per block) */
    size_t cap = kind == TUTTI_WIN_REDUCE_SCATTER ? w->bytes / (size_t)p : w->bytes;
    cap -= cap % es;
    if (cap == 0) {
        snprintf(err, errlen, "rank %d: windows of %zu bytes cannot hold a chunk of %d ranks' %zu-byte elements",
                 e->rank, w->bytes, p, es);
        return TUTTI_ERR_INVALID_USAGE;
    }
    const uint64_t nchunks = (st->bytes + cap - 1) / cap;
    /* one-shot while the bytes each rank reads from the others stay small */
    const int oneshot = kind == TUTTI_WIN_ALLREDUCE && st->bytes * (size_t)(p - 1) < w->oneshot;
    const int writes = kind != TUTTI_WIN_BROADCAST || me == root;
    char *mine = w->base[e->rank];

    if (x->wg0 == 0) { /* begin: this call's chunk numbers */
        x->wg0 = e->win_next;
        e->win_next += nchunks ? nchunks : 1;
        x->wk = 0;
        x->wstage = W_CALL;
        x->wpeer = 0;
    }
    while (x->wk < nchunks) {
        const uint64_t g = x->wg0 + x->wk;
        const size_t off = (size_t)x->wk * cap;
        const size_t len = st->bytes - off < cap ? st->bytes - off : cap;
        const size_t ne = len / es;
        char *wb = mine + (size_t)(g % (uint64_t)w->nbuf) * w->bytes;
        const size_t boff = (size_t)(g % (uint64_t)w->nbuf) * w->bytes; /* the same buffer in every window */
        size_t s0, sn;
        tutti_win_split(ne, p, me, &s0, &sn);
        switch (x->wstage) {
        case W_CALL:
            __atomic_store_n(&w->ctl[e->rank]->call, (uint64_t)(uint32_t)x->wg0 << 32 | tag, __ATOMIC_RELEASE);
            x->wstage = W_RESERVE;
            /* fall through */
        case W_RESERVE:
            if (writes) {
                uint64_t need = g > (uint64_t)w->nbuf ? g - (uint64_t)w->nbuf : 0;
                r = tutti_win_wait(e, x, st, C_CONSUMED, need, 0, tag, err, errlen);
                if (r != TUTTI_SUCCESS) return r;
                /* (a rank's own consumed is always far enough: it is here) */
            }
            x->wstage = W_COPYIN;
            /* fall through */
        case W_COPYIN:
            if (writes) {
                const char *src = st->src;
                __atomic_store_n(&w->ctl[e->rank]->held[g % (uint64_t)w->nbuf], (uint64_t)(uint32_t)g << 32 | tag,
                                 __ATOMIC_RELAXED); /* published by copied's release store */
                switch (kind) {
                case TUTTI_WIN_ALLREDUCE:
                case TUTTI_WIN_REDUCE:
                    if (oneshot) {
                        tutti_win_in(w, wb, src + off, len);
                    } else {
                        for (int j = 0; j < p; j++) {
                            size_t a, n;
                            if (j == me) continue;
                            tutti_win_split(ne, p, j, &a, &n);
                            tutti_win_in(w, wb + a * es, src + off + a * es, n * es);
                        }
                    }
                    break;
                case TUTTI_WIN_REDUCE_SCATTER:
                    for (int j = 0; j < p; j++)
                        if (j != me) tutti_win_in(w, wb + (size_t)j * cap, src + (size_t)j * st->bytes + off, len);
                    break;
                case TUTTI_WIN_ALLGATHER:
                    tutti_win_in(w, wb, src + off, len);
                    tutti_win_put(st->dst + (size_t)me * st->bytes + off, src + off, len, stream);
                    break;
                case TUTTI_WIN_BROADCAST:
                    tutti_win_in(w, wb, src + off, len);
                    if (st->dst) tutti_win_put(st->dst + off, src + off, len, stream);
                    break;
                }
                if (w->nt_min) tutti_copy_fence(); /* streaming stores before the counter */
                tutti_win_publish(e, C_COPIED, g);
                x->steps_done++;
            }
            x->wstage = W_WAITIN;
            /* fall through */
        case W_WAITIN:
            r = tutti_win_wait(e, x, st, C_COPIED, g, kind == TUTTI_WIN_BROADCAST, tag, err, errlen);
            if (r != TUTTI_SUCCESS) return r;
            x->wstage = W_WORK;
            /* fall through */
        case W_WORK:
            switch (kind) {
            case TUTTI_WIN_ALLREDUCE:
            case TUTTI_WIN_REDUCE:
                if (oneshot) {
                    if (kind == TUTTI_WIN_ALLREDUCE || me == root)
                        tutti_win_reduce(e, x, st, st->dst + off, NULL, boff, ne, div, NULL, 0);
                } else {
                    /* into my window (the others read it there), and on to dst */
                    int out = kind == TUTTI_WIN_ALLREDUCE || me == root;
                    tutti_win_reduce(e, x, st, wb + s0 * es, st->src + off + s0 * es, boff + s0 * es, sn, div,
                                     out ? st->dst + off + s0 * es : NULL, stream);
                    tutti_win_publish(e, C_REDUCED, g);
                }
                break;
            case TUTTI_WIN_REDUCE_SCATTER: {
                const char *own = st->src + (size_t)me * st->bytes + off;
                /* dst may lie inside src (in place): reduce into my own
                 * (unused) slot, then copy */
                const char *s_lo = st->src, *s_hi = st->src + (size_t)p * st->bytes;
                int alias = st->dst + off < s_hi && s_lo < st->dst + off + len;
                if (alias) {
                    tutti_win_reduce(e, x, st, wb + (size_t)me * cap, own, boff + (size_t)me * cap, ne, div,
                                     st->dst + off, stream);
                } else {
                    tutti_win_reduce(e, x, st, st->dst + off, own, boff + (size_t)me * cap, ne, div, NULL, 0);
                }
                break;
            }
            case TUTTI_WIN_ALLGATHER:
                for (int j = 0; j < p; j++) {
                    if (j == me) continue;
                    const char *from = w->base[tutti_step_member(&x->sched, st, j)] + boff;
                    tutti_win_put(st->dst + (size_t)j * st->bytes + off, from, len, stream);
                }
                break;
            case TUTTI_WIN_BROADCAST:
                if (me != root)
                    tutti_win_put(st->dst + off, w->base[tutti_step_member(&x->sched, st, root)] + boff, len, stream);
                break;
            }
            x->steps_done++;
            x->wstage = W_WAITRED;
            /* fall through */
        case W_WAITRED:
            if (!oneshot && (kind == TUTTI_WIN_ALLREDUCE || (kind == TUTTI_WIN_REDUCE && me == root))) {
                r = tutti_win_wait(e, x, st, C_REDUCED, g, 0, tag, err, errlen);
                if (r != TUTTI_SUCCESS) return r;
                for (int j = 0; j < p; j++) {
                    size_t a, n;
                    if (j == me) continue;
                    tutti_win_split(ne, p, j, &a, &n);
                    const char *from = w->base[tutti_step_member(&x->sched, st, j)] + boff + a * es;
                    tutti_win_put(st->dst + off + a * es, from, n * es, stream);
                }
                x->steps_done++;
            }
            x->wstage = W_DONE;
            /* fall through */
        case W_OUT:
        case W_DONE:
            tutti_win_publish(e, C_CONSUMED, g);
            x->steps_done++;
            x->wk++;
            x->wstage = W_RESERVE;
            break;
        }
    }
    x->wg0 = 0; /* done: a later window step of this schedule begins afresh */
    return TUTTI_SUCCESS;
}
