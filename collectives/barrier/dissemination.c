/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Dissemination barrier: in round k every rank sends a one-byte token to
 * r + 2^k and waits for one from r - 2^k.  After ceil(log2 p) rounds every
 * rank has heard, directly or through others, from every rank.
 *
 *   p=5: round 0  0->1 1->2 2->3 3->4 4->0
 *        round 1  0->2 1->3 2->4 3->0 4->1
 *        round 2  0->4 1->0 2->1 3->2 4->3
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_barrier_dissemination(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    tutti_sched_phase(s, 0);
    for (int d = 1; d < p; d <<= 1) {
        tutti_step_t *st = tutti_sched_step(s);
        st->src = s->token_src;
        st->bytes = 1;
        tutti_step_send(st, (r + d) % p);
        st = tutti_sched_step(s);
        st->dst = s->token_dst;
        st->bytes = 1;
        tutti_step_recv(st, tutti_pattern_mod(r - d, p));
    }
    return TUTTI_SUCCESS;
}
