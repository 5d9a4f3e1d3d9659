/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring all-gather: every rank passes blocks to its right neighbour,
 * forwarding what it received the step before.
 *
 *   p=4, rank r holds block r:
 *   step 0: send r        step 1: recv r-1, send it     step 2: recv r-2, send it
 *   step 3: recv r-3 (= r+1)
 *
 * Each link carries (p-1)/p of the result: bandwidth-optimal.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_allgather_ring(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t blk = a->count * a->esize;
    char *dst = a->recvbuf;
    int right = tutti_pattern_ring_next(r, p), left = tutti_pattern_ring_prev(r, p);
    tutti_sched_phase(s, 0);
    tutti_step_t *st = tutti_sched_step(s);
    /* own block, then forwarded blocks: none is written again (also in
     * place, where sendbuf is recvbuf's block r), so all may go by reference */
    st->flags = TUTTI_STEP_STABLE;
    st->src = a->sendbuf;
    st->dst = dst + (size_t)r * blk;
    st->bytes = blk;
    if (p > 1) tutti_step_send(st, right);
    for (int u = 1; u < p; u++) {
        int k = tutti_pattern_mod(r - u, p);
        st = tutti_sched_step(s);
        st->flags = TUTTI_STEP_STABLE;
        st->dst = dst + (size_t)k * blk;
        st->bytes = blk;
        tutti_step_recv(st, left);
        if (u < p - 1) tutti_step_send(st, right);
    }
    return TUTTI_SUCCESS;
}
