/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recursive-doubling all-reduce: log2(p) exchanges of the whole buffer, the
 * latency-optimal choice for small messages.
 *
 *   p=4:  round 0: 0<->1  2<->3      round 1: 0<->2  1<->3
 *
 * Non-powers of two fold first: with p2 the largest power of two <= p and
 * rem = p - p2, ranks 2i send to 2i+1 (i < rem), the p2 survivors run the
 * rounds, and the folded ranks get the result back at the end.
 *
 *   p=3:  fold 0->1;  round: 1<->2;  unfold 1->0
 *
 * Each round sends the current value, then combines the partner's into it;
 * the two operands are the same on both sides, so every rank computes the
 * bit-identical result.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_allreduce_rd(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t bytes = a->count * a->esize;
    const char *src = a->sendbuf;
    char *dst = a->recvbuf;
    if (p == 1) {
        tutti_coll_local_copy(s, src, dst, bytes, 1);
        return TUTTI_SUCCESS;
    }
    int p2 = tutti_pattern_pow2_floor(p), rem = p - p2;
    int vr = tutti_pattern_rd_vrank(r, p);
    tutti_sched_phase(s, 0);
    tutti_step_t *st;
    const char *cur = src; /* where this rank's current value lives */
    if (r < 2 * rem) {
        if (vr < 0) {
            st = tutti_sched_step(s);
            st->src = src;
            st->bytes = bytes;
            tutti_step_send(st, r + 1);
        } else {
            st = tutti_sched_step(s);
            st->flags = TUTTI_STEP_REDUCE;
            st->src = src;
            st->dst = dst;
            st->bytes = bytes;
            tutti_step_recv(st, r - 1);
            cur = dst;
        }
    }
    if (vr >= 0) {
        for (int mask = 1; mask < p2; mask <<= 1) {
            int peer = tutti_pattern_rd_real(vr ^ mask, p);
            st = tutti_sched_step(s);
            st->src = cur;
            st->bytes = bytes;
            tutti_step_send(st, peer);
            st = tutti_sched_step(s);
            st->flags = TUTTI_STEP_REDUCE | (mask * 2 >= p2 ? TUTTI_STEP_FINAL : 0);
            st->src = cur;
            st->dst = dst;
            st->bytes = bytes;
            tutti_step_recv(st, peer);
            cur = dst;
        }
    }
    if (r < 2 * rem) {
        st = tutti_sched_step(s);
        st->bytes = bytes;
        if (vr < 0) {
            st->dst = dst;
            tutti_step_recv(st, r + 1);
        } else {
            st->src = dst;
            tutti_step_send(st, r - 1);
        }
    }
    return TUTTI_SUCCESS;
}
