/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pipelined ring (chain) broadcast from the root:
 *
 *   root -> root+1 -> root+2 -> ... -> root-1        slice by slice
 *
 * Every link carries the message once; after the pipeline fills, a slice
 * leaves the last rank every slice-time: bandwidth-optimal for large
 * messages.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_broadcast_ring(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t bytes = a->count * a->esize;
    int pos = tutti_pattern_mod(r - a->root, p);
    tutti_sched_phase(s, a->chunk); /* the tuner's slice (0: the slot) */
    tutti_step_t *st = tutti_sched_step(s);
    st->flags = TUTTI_STEP_STABLE; /* the root's data and forwarded copies are final */
    st->bytes = bytes;
    st->dst = a->recvbuf;
    if (pos == 0) st->src = a->sendbuf;
    else tutti_step_recv(st, tutti_pattern_ring_prev(r, p));
    if (pos < p - 1) tutti_step_send(st, tutti_pattern_ring_next(r, p));
    return TUTTI_SUCCESS;
}
