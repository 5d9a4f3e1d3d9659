/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring all-reduce: reduce-scatter then all-gather around the ring, every
 * segment pipelined in slices.
 *
 *   p=4, segments A B C D, rank r sends right and receives from the left:
 *
 *   reduce-scatter (p-1 steps)             all-gather (p-1 steps)
 *   r0: send A  +D->  +C->  =B            recv A  recv D  recv C
 *   r1: send B  +A->  +D->  =C            ...
 *   step t: recv seg r-t from the left, add own seg r-t, send it on;
 *   the last step writes the finished segment r+1 and starts the
 *   all-gather with it.
 *
 * Each rank sends and receives 2(p-1)/p of the data: bandwidth-optimal.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_allreduce_ring(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t es = a->esize;
    const char *src = a->sendbuf;
    char *dst = a->recvbuf;
    if (p == 1) {
        tutti_coll_local_copy(s, src, dst, a->count * es, 1);
        return TUTTI_SUCCESS;
    }
    int right = tutti_pattern_ring_next(r, p), left = tutti_pattern_ring_prev(r, p);
    tutti_sched_phase(s, tutti_pattern_seg_len(a->count, p, 0) * es);
#define SEG_OFF(k) (tutti_pattern_seg_off(a->count, p, (k)) * es)
#define SEG_LEN(k) (tutti_pattern_seg_len(a->count, p, (k)) * es)
    /* reduce-scatter */
    for (int t = 0; t < p; t++) {
        int k = tutti_pattern_mod(r - t, p);
        tutti_step_t *st = tutti_sched_step(s);
        st->src = src + SEG_OFF(k);
        st->bytes = SEG_LEN(k);
        if (t > 0) {
            st->flags = TUTTI_STEP_REDUCE;
            tutti_step_recv(st, left);
        }
        if (t == 0 && src != dst) st->flags |= TUTTI_STEP_STABLE; /* sendbuf is never written */
        if (t == p - 1) {
            /* the finished segment is final: it may go by reference */
            st->flags |= TUTTI_STEP_FINAL | TUTTI_STEP_STABLE;
            st->dst = dst + SEG_OFF(k);
        }
        tutti_step_send(st, right);
    }
    /* all-gather: forward what arrives, except on the last step */
    for (int u = 0; u < p - 1; u++) {
        int k = tutti_pattern_mod(r - u, p);
        tutti_step_t *st = tutti_sched_step(s);
        st->flags = TUTTI_STEP_STABLE;
        st->dst = dst + SEG_OFF(k);
        st->bytes = SEG_LEN(k);
        tutti_step_recv(st, left);
        if (u < p - 2) tutti_step_send(st, right);
    }
#undef SEG_OFF
#undef SEG_LEN
    return TUTTI_SUCCESS;
}
