/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring reduce-scatter: the first half of the ring all-reduce, shifted by
 * one so that rank r finishes block r.
 *
 *   step t: recv block r-t-1 from the left, add own block r-t-1, send on;
 *   step p-1 keeps block r (the result) instead of sending it.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_reduce_scatter_ring(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t blk = a->count * a->esize;
    const char *src = a->sendbuf;
    if (p == 1) {
        tutti_coll_local_copy(s, src, a->recvbuf, blk, 1);
        return TUTTI_SUCCESS;
    }
    int right = tutti_pattern_ring_next(r, p), left = tutti_pattern_ring_prev(r, p);
    tutti_sched_phase(s, 0);
    for (int t = 0; t < p; t++) {
        int k = tutti_pattern_mod(r - t - 1, p);
        tutti_step_t *st = tutti_sched_step(s);
        st->src = src + (size_t)k * blk;
        st->bytes = blk;
        if (t > 0) {
            st->flags = TUTTI_STEP_REDUCE;
            tutti_step_recv(st, left);
        }
        if (t < p - 1) {
            tutti_step_send(st, right);
        } else {
            st->flags |= TUTTI_STEP_FINAL;
            st->dst = a->recvbuf;
        }
    }
    return TUTTI_SUCCESS;
}
