/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pairwise-exchange all-to-all: block q of rank r's sendbuf goes to block r
 * of rank q's recvbuf.  In step k (k = 0 .. p-1) rank r trades blocks with
 * s = (k - r) mod p, a pairing that is its own inverse, so both ranks of a
 * pair meet in the same step; the step where s == r is the local block.
 *
 *   p=4: the partner of rank r in step k (itself: the own block, copied)
 *
 *          k=0  k=1  k=2  k=3
 *     r0    0    1    2    3
 *     r1    3    0    1    2
 *     r2    2    3    0    1
 *     r3    1    2    3    0
 *
 * Per slice, a rank first sends to every partner in step order, then
 * receives from every partner in the same order: all p-1 messages of a
 * slice are in flight at once (one latency, not p-1 round trips), and at
 * any moment the ranks send to different peers, so no rank is flooded.
 * The sends copy the slice into transport slots before any receive writes
 * it, so in place (sendbuf == recvbuf) needs no extra buffer.  Slice-major
 * order keeps every connection (one block each way per pair) in one global
 * order, so one slot per FIFO is enough whatever the size.  Each rank sends
 * and receives (p-1)/p of its buffer once: bandwidth-optimal.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_alltoall_pairwise(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t blk = a->count * a->esize;
    const char *src = a->sendbuf;
    char *dst = a->recvbuf;
    int inplace = (const char *)dst == src;
    tutti_sched_phase(s, 0);
    for (int k = 0; k < p; k++) {
        int q = tutti_pattern_mod(k - r, p);
        if (q == r && inplace) continue; /* the own block is already in place */
        tutti_step_t *st = tutti_sched_step(s);
        st->src = src + (size_t)q * blk;
        st->bytes = blk;
        if (q == r) {
            st->dst = dst + (size_t)r * blk; /* the own block: a local copy */
            continue;
        }
        /* out of place the send buffer is never written: by reference is safe */
        if (!inplace) st->flags = TUTTI_STEP_STABLE;
        tutti_step_send(st, q);
    }
    for (int k = 0; k < p; k++) {
        int q = tutti_pattern_mod(k - r, p);
        if (q == r) continue;
        tutti_step_t *st = tutti_sched_step(s);
        st->dst = dst + (size_t)q * blk;
        st->bytes = blk;
        tutti_step_recv(st, q);
    }
    return TUTTI_SUCCESS;
}
