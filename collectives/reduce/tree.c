/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binomial-tree reduce: the broadcast tree run upward.  Each rank adds its
 * children's slices to its own and sends the sum to its parent; the root
 * keeps it.  ceil(log2 p) hops: the latency-optimal choice.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_reduce_tree(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t bytes = a->count * a->esize;
    int parent, children[TUTTI_PATTERN_MAX_CHILDREN];
    int n = tutti_pattern_binomial(r, p, a->root, &parent, children);
    if (n > TUTTI_MAX_FAN) return TUTTI_ERR_UNSUPPORTED;
    tutti_sched_phase(s, a->chunk); /* the tuner's slice (0: the slot) */
    tutti_step_t *st = tutti_sched_step(s);
    st->flags = TUTTI_STEP_REDUCE;
    st->src = a->sendbuf;
    st->bytes = bytes;
    /* smallest subtrees first: they are ready first */
    for (int k = n - 1; k >= 0; k--) tutti_step_recv(st, children[k]);
    if (parent >= 0) {
        tutti_step_send(st, parent);
    } else {
        st->flags |= TUTTI_STEP_FINAL;
        st->dst = a->recvbuf;
    }
    return TUTTI_SUCCESS;
}
