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
 * Per slice, each exchange sends before it receives; the send copies the
 * slice into a transport slot first, so in place (sendbuf == recvbuf) the
 * received slice may overwrite the block just sent.  Slice-major order keeps
 * every connection (one block each way per pair) in one global order, so
 * one slot per FIFO is enough whatever the size.  Each rank sends and
 * receives (p-1)/p of its buffer once: bandwidth-optimal; p-1 latencies.
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
        if (q == r) {
            if (inplace) continue; /* the own block is already in place */
            tutti_step_t *st = tutti_sched_step(s);
            st->src = src + (size_t)r * blk;
            st->dst = dst + (size_t)r * blk;
            st->bytes = blk;
            continue;
        }
        tutti_step_t *out = tutti_sched_step(s);
        out->src = src + (size_t)q * blk;
        out->bytes = blk;
        /* out of place the send buffer is never written: by reference is safe */
        if (!inplace) out->flags = TUTTI_STEP_STABLE;
        tutti_step_send(out, q);
        tutti_step_t *in = tutti_sched_step(s);
        in->dst = dst + (size_t)q * blk;
        in->bytes = blk;
        tutti_step_recv(in, q);
    }
    return TUTTI_SUCCESS;
}
