/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Binomial-tree broadcast: ceil(log2 p) hops from the root to the farthest
 * rank, the latency-optimal choice for small messages (see
 * patterns/patterns.h for the tree).  A rank receives each slice from its
 * parent, stores it, and sends it to its children, largest subtree first.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_broadcast_tree(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t bytes = a->count * a->esize;
    int parent, children[TUTTI_PATTERN_MAX_CHILDREN];
    int n = tutti_pattern_binomial(r, p, a->root, &parent, children);
    tutti_sched_phase(s, a->chunk); /* the tuner's slice (0: the slot) */
    tutti_step_t *st = tutti_sched_step(s);
    st->flags = TUTTI_STEP_STABLE; /* the root's data and forwarded copies are final */
    st->bytes = bytes;
    st->dst = a->recvbuf;
    if (parent < 0) st->src = a->sendbuf;
    else tutti_step_recv(st, parent);
    for (int k = 0; k < n; k++) {
        if (st->nsend == TUTTI_MAX_FAN) {
            /* more children than one step can feed: continue from dst */
            st = tutti_sched_step(s);
            st->flags = TUTTI_STEP_STABLE;
            st->bytes = bytes;
            st->src = a->recvbuf;
        }
        tutti_step_send(st, children[k]);
    }
    return TUTTI_SUCCESS;
}
