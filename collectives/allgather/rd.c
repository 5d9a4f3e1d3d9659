/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recursive-doubling all-gather in Bruck's dissemination form, which works
 * for any p in ceil(log2 p) rounds:
 *
 *   round k (d = 2^k): send blocks [r, r+n) to r-d, receive [r+d, r+d+n)
 *   from r+d, with n = min(d, p-d) and block indices mod p.
 *
 *   p=5, rank 0:  has {0} -> gets {1};  has {0,1} -> gets {2,3};  gets {4}
 *
 * Blocks are received straight into their final place in recvbuf, so no
 * final rotation is needed; a range that wraps past block p-1 is sent as two
 * pieces.  Each round is a phase of its own: round k+1 forwards what round k
 * received.
 */
#include "coll.h"
#include "patterns/patterns.h"

/* Adds steps covering blocks [first, first+n) mod p of dst, each sending to
 * `to` (to >= 0) or receiving from `from`. */
static void tutti_allgather_rd_pieces(tutti_sched_t *s, char *dst, size_t blk, int p, int first,
                                      int n, int to, int from)
{
    int start = first;
    int left = n;
    while (left > 0) {
        int run = left < p - start ? left : p - start;
        tutti_step_t *st = tutti_sched_step(s);
        st->bytes = (size_t)run * blk;
        if (to >= 0) {
            st->src = dst + (size_t)start * blk;
            tutti_step_send(st, to);
        } else {
            st->dst = dst + (size_t)start * blk;
            tutti_step_recv(st, from);
        }
        left -= run;
        start = 0;
    }
}

tutti_result_t tutti_coll_allgather_rd(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t blk = a->count * a->esize;
    char *dst = a->recvbuf;
    tutti_coll_local_copy(s, a->sendbuf, dst + (size_t)r * blk, blk, 0);
    for (int d = 1; d < p; d <<= 1) {
        int n = d < p - d ? d : p - d;
        tutti_sched_phase(s, 0);
        tutti_allgather_rd_pieces(s, dst, blk, p, r, n, tutti_pattern_mod(r - d, p), -1);
        tutti_allgather_rd_pieces(s, dst, blk, p, (r + d) % p, n, -1, (r + d) % p);
    }
    return TUTTI_SUCCESS;
}
