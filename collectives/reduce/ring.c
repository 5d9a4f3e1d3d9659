/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pipelined chain reduce toward the root:
 *
 *   root+p-1 -> root+p-2 -> ... -> root+1 -> root      slice by slice
 *
 * Each rank adds its slice to what it receives and passes it on; the root
 * keeps the result.  Every link carries the message once.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_reduce_ring(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t bytes = a->count * a->esize;
    if (p == 1) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 1);
        return TUTTI_SUCCESS;
    }
    int pos = tutti_pattern_mod(r - a->root, p);
    tutti_sched_phase(s, a->chunk); /* the tuner's slice (0: the slot) */
    tutti_step_t *st = tutti_sched_step(s);
    st->src = a->sendbuf;
    st->bytes = bytes;
    if (pos < p - 1) {
        st->flags = TUTTI_STEP_REDUCE;
        tutti_step_recv(st, tutti_pattern_ring_next(r, p));
    }
    if (pos > 0) {
        tutti_step_send(st, tutti_pattern_ring_prev(r, p));
    } else {
        st->flags |= TUTTI_STEP_FINAL;
        st->dst = a->recvbuf;
    }
    return TUTTI_SUCCESS;
}
