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
 *
 * With a count per peer (tutti_alltoallv) the steps are the same, each
 * block of its own size at its own displacement; a block of 0 elements is
 * still one empty message, so that a pair whose counts disagree (0 against
 * n) fails at once on the size in the fingerprint, like any other sizes.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_alltoall_pairwise(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t blk = a->count * a->esize, es = a->esize;
    const char *src = a->sendbuf;
    char *dst = a->recvbuf;
    int inplace = dst && (const char *)dst == src; /* (both NULL: nothing here, not in place) */
    /* per-peer counts (alltoallv): the same exchange, each block its own
     * size and place; every message is fingerprinted with its size.  In
     * place the caller made the send layout the receive layout, so a slice
     * sent to q is sent before the same slice from q overwrites it. */
    int v = a->vcounts;
#define SBYTES(q) (v ? a->scounts[q] * es : blk)
#define SOFF(q) (v ? a->sdispls[q] * es : (size_t)(q) * blk)
#define RBYTES(q) (v ? a->rcounts[q] * es : blk)
#define ROFF(q) (v ? a->rdispls[q] * es : (size_t)(q) * blk)
    tutti_sched_phase(s, 0);
    for (int k = 0; k < p; k++) {
        int q = tutti_pattern_mod(k - r, p);
        if (q == r && inplace) continue; /* the own block is already in place */
        if (q == r && v && SBYTES(q) == 0) continue; /* an empty own block: nothing to copy */
        tutti_step_t *st = tutti_sched_step(s);
        st->bytes = SBYTES(q);
        if (st->bytes) st->src = src + SOFF(q); /* (an empty block may point nowhere) */
        if (q == r) {
            st->dst = dst + ROFF(r); /* the own block: a local copy (sizes checked equal) */
            continue;
        }
        /* out of place the send buffer is never written: by reference is safe */
        st->flags = (inplace ? 0 : TUTTI_STEP_STABLE) | (v ? TUTTI_STEP_SIZED | TUTTI_STEP_EMPTY : 0);
        tutti_step_send(st, q);
    }
    for (int k = 0; k < p; k++) {
        int q = tutti_pattern_mod(k - r, p);
        if (q == r) continue;
        tutti_step_t *st = tutti_sched_step(s);
        st->bytes = RBYTES(q);
        if (st->bytes) st->dst = dst + ROFF(q);
        if (v) st->flags = TUTTI_STEP_SIZED | TUTTI_STEP_EMPTY;
        tutti_step_recv(st, q);
    }
#undef SBYTES
#undef SOFF
#undef RBYTES
#undef ROFF
    return TUTTI_SUCCESS;
}
