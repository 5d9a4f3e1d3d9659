/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hierarchical collectives: inside a node over shared memory, between nodes
 * among one representative per node (its "leader": the node's first rank in
 * the topology order, which starts each node next to a NIC; the lowest rank
 * without one), over the network.
 *
 *   all-reduce            node 0: r0 r1 r2      node 1: r3 r4 r5
 *     1 reduce to leader       r1,r2 -> r0            r4,r5 -> r3
 *     2 all-reduce leaders     r0 <-------------------> r3   (ring or rd)
 *     3 broadcast in node      r0 -> r1,r2            r3 -> r4,r5
 *
 *   broadcast (root r4)
 *     1 broadcast among reps   r4 -> r0               (r4 stands for node 1)
 *     2 broadcast in node      r0 -> r1,r2            r4 -> r3,r5
 *
 *   all-gather
 *     1 gather to leader       r1,r2 blocks -> r0     r4,r5 blocks -> r3
 *     2 ring among leaders     node blocks go round the leaders
 *     3 broadcast in node      r0 -> r1,r2 (whole result)
 *
 * Only the leaders' traffic crosses nodes, once per node instead of once per
 * rank.  Where the node shares windows (a->node_win), the phases inside it
 * (reduce to the leader, broadcast from it) are window steps over the
 * node's ranks instead of trees and chains.  Each level reuses a flat algorithm run on a group: the group's
 * ranks are renumbered 0..n-1 for the builder and its steps mapped back.
 * Ranks need not be contiguous per node.
 */
#include "coll.h"
#include "patterns/patterns.h"

#include <stdlib.h>

typedef struct {
    int *local; /* ranks of my node, ascending */
    int nlocal, me_local;
    int *reps;  /* one rank per node, by node index */
    int nnodes, my_node;
} tutti_hier_t;

static void tutti_hier_free(tutti_hier_t *h)
{
    free(h->local);
    free(h->reps);
}

/* Groups of a job shape, in topology order (a->ring_order; rank order
 * without): reps[n] is node n's first rank, except that the node of
 * `rep_rank` (if >= 0) is represented by it; local[0] is my node's. */
static int tutti_hier_groups(tutti_hier_t *h, const tutti_coll_args_t *a, int rep_rank)
{
    int p = a->nranks, nn = a->node_of_rank ? a->nnodes : 1;
    h->local = malloc(sizeof(int) * (size_t)p);
    h->reps = malloc(sizeof(int) * (size_t)nn);
    h->nnodes = nn;
    h->nlocal = 0;
    if (!h->local || !h->reps) return -1;
    for (int n = 0; n < nn; n++) h->reps[n] = -1;
    h->my_node = a->node_of_rank ? a->node_of_rank[a->rank] : 0;
    for (int i = 0; i < p; i++) {
        int q = a->ring_order ? a->ring_order[i] : i;
        int n = a->node_of_rank ? a->node_of_rank[q] : 0;
        if (n < 0 || n >= nn) return -1;
        if (h->reps[n] < 0) h->reps[n] = q;
        if (n == h->my_node) {
            if (q == a->rank) h->me_local = h->nlocal;
            h->local[h->nlocal++] = q;
        }
    }
    if (rep_rank >= 0) h->reps[a->node_of_rank ? a->node_of_rank[rep_rank] : 0] = rep_rank;
    return 0;
}

static int tutti_hier_index(const int *group, int n, int rank)
{
    for (int i = 0; i < n; i++)
        if (group[i] == rank) return i;
    return -1;
}

static tutti_coll_args_t tutti_hier_sub(const tutti_coll_args_t *a, tutti_coll_t c, const void *sendbuf,
                                        void *recvbuf, size_t count, int root, int rank, int nranks)
{
    tutti_coll_args_t sub = *a;
    sub.coll = c;
    sub.sendbuf = sendbuf;
    sub.recvbuf = recvbuf;
    sub.count = count;
    sub.root = root;
    sub.rank = rank;
    sub.nranks = nranks;
    return sub;
}

/* Latency-bound sizes take the tree / recursive-doubling builders. */
static int tutti_hier_small(const tutti_coll_args_t *a, size_t bytes)
{
    return bytes <= (a->small_msg ? a->small_msg : 32768);
}

tutti_result_t tutti_coll_allreduce_hier(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    tutti_hier_t h;
    tutti_result_t r = TUTTI_SUCCESS;
    size_t bytes = a->count * a->esize;
    int small = tutti_hier_small(a, bytes);
    if (tutti_hier_groups(&h, a, -1) != 0) {
        r = TUTTI_ERR_NO_MEMORY;
        goto out;
    }
    int leader = h.me_local == 0;
    /* 1: reduce to the leader (its result is not final yet) */
    if (h.nlocal > 1 && a->node_win) {
        r = bytes ? tutti_coll_window_step(s, TUTTI_WIN_REDUCE, a->sendbuf, leader ? a->recvbuf : NULL, bytes, h.nlocal,
                                           h.me_local, 0, h.local, 0)
                  : TUTTI_SUCCESS;
        if (r != TUTTI_SUCCESS) goto out;
    } else if (h.nlocal > 1) {
        /* a binomial reduce takes all its children in one step: at most
         * TUTTI_MAX_FAN, so nodes of more than 2^TUTTI_MAX_FAN ranks chain */
        int tree = small && h.nlocal <= (1 << TUTTI_MAX_FAN);
        r = tutti_coll_run_on_group(s, tree ? tutti_coll_reduce_tree : tutti_coll_reduce_ring,
                           tutti_hier_sub(a, TUTTI_COLL_REDUCE, a->sendbuf, a->recvbuf, a->count, 0, h.me_local,
                                          h.nlocal),
                           h.local, 0);
        if (r != TUTTI_SUCCESS) goto out;
    } else if (a->sendbuf != a->recvbuf) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 0);
    }
    /* 2: the leaders combine the nodes' partial results, in place; the
     * final division (AVG) happens here */
    if (leader) {
        int i = tutti_hier_index(h.reps, h.nnodes, a->rank);
        r = tutti_coll_run_on_group(s, small ? tutti_coll_allreduce_rd : tutti_coll_allreduce_ring,
                           tutti_hier_sub(a, TUTTI_COLL_ALLREDUCE, a->recvbuf, a->recvbuf, a->count, 0, i, h.nnodes),
                           h.reps, 1);
        if (r != TUTTI_SUCCESS) goto out;
    }
    /* 3: the leader hands the result to its node */
    if (h.nlocal > 1 && a->node_win)
        r = bytes ? tutti_coll_window_step(s, TUTTI_WIN_BROADCAST, leader ? a->recvbuf : NULL, a->recvbuf, bytes,
                                           h.nlocal, h.me_local, 0, h.local, 0)
                  : TUTTI_SUCCESS;
    else if (h.nlocal > 1)
        r = tutti_coll_run_on_group(s, small ? tutti_coll_broadcast_tree : tutti_coll_broadcast_ring,
                           tutti_hier_sub(a, TUTTI_COLL_BROADCAST, a->recvbuf, a->recvbuf, a->count, 0, h.me_local,
                                          h.nlocal),
                           h.local, 0);
out:
    tutti_hier_free(&h);
    return r;
}

tutti_result_t tutti_coll_broadcast_hier(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    tutti_hier_t h;
    tutti_result_t r = TUTTI_SUCCESS;
    size_t bytes = a->count * a->esize;
    int small = tutti_hier_small(a, bytes);
    if (tutti_hier_groups(&h, a, a->root) != 0) {
        r = TUTTI_ERR_NO_MEMORY;
        goto out;
    }
    int rep = h.reps[h.my_node];
    int done_here = 0; /* the root's data is in recvbuf */
    /* 1: among the nodes' representatives (the root stands for its node) */
    if (h.nnodes > 1 && rep == a->rank) {
        int i = tutti_hier_index(h.reps, h.nnodes, a->rank);
        int root_node = a->node_of_rank ? a->node_of_rank[a->root] : 0;
        r = tutti_coll_run_on_group(s, small ? tutti_coll_broadcast_tree : tutti_coll_broadcast_ring,
                           tutti_hier_sub(a, TUTTI_COLL_BROADCAST, a->sendbuf, a->recvbuf, a->count, root_node, i,
                                          h.nnodes),
                           h.reps, 0);
        if (r != TUTTI_SUCCESS) goto out;
        done_here = 1;
    }
    /* 2: inside each node, from its representative */
    if (h.nlocal > 1 && a->node_win) {
        int root_local = tutti_hier_index(h.local, h.nlocal, rep);
        const void *from = (done_here || a->rank != a->root) ? a->recvbuf : a->sendbuf;
        r = bytes ? tutti_coll_window_step(s, TUTTI_WIN_BROADCAST, a->rank == rep ? from : NULL, a->recvbuf, bytes,
                                           h.nlocal, h.me_local, root_local, h.local, 0)
                  : TUTTI_SUCCESS;
    } else if (h.nlocal > 1) {
        int root_local = tutti_hier_index(h.local, h.nlocal, rep);
        const void *from = (done_here || a->rank != a->root) ? a->recvbuf : a->sendbuf;
        r = tutti_coll_run_on_group(s, small ? tutti_coll_broadcast_tree : tutti_coll_broadcast_ring,
                           tutti_hier_sub(a, TUTTI_COLL_BROADCAST, from, a->recvbuf, a->count, root_local,
                                          h.me_local, h.nlocal),
                           h.local, 0);
    } else if (!done_here && a->rank == a->root && a->sendbuf != a->recvbuf) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 0);
    }
out:
    tutti_hier_free(&h);
    return r;
}

tutti_result_t tutti_coll_allgather_hier(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    tutti_hier_t h;
    tutti_result_t r = TUTTI_SUCCESS;
    size_t blk = a->count * a->esize;
    char *dst = a->recvbuf;
    const char *own = a->sendbuf;
    if (tutti_hier_groups(&h, a, -1) != 0) {
        r = TUTTI_ERR_NO_MEMORY;
        goto out;
    }
    int leader = h.me_local == 0;
    /* 1: gather the node's blocks at the leader */
    tutti_sched_phase(s, 0);
    if (leader) {
        if (own != dst + (size_t)a->rank * blk) {
            tutti_step_t *st = tutti_sched_step(s);
            st->src = own;
            st->dst = dst + (size_t)a->rank * blk;
            st->bytes = blk;
        }
        for (int m = 1; m < h.nlocal; m++) {
            tutti_step_t *st = tutti_sched_step(s);
            st->dst = dst + (size_t)h.local[m] * blk;
            st->bytes = blk;
            tutti_step_recv(st, h.local[m]);
        }
    } else {
        tutti_step_t *st = tutti_sched_step(s);
        st->src = own;
        st->bytes = blk;
        st->flags = TUTTI_STEP_STABLE; /* the input is never written */
        tutti_step_send(st, h.local[0]);
        if (own != dst + (size_t)a->rank * blk) st->dst = dst + (size_t)a->rank * blk;
    }
    /* 2: the node blocks go round the ring of leaders; a node's block is
     * its members' blocks, in rank order, wherever they lie in recvbuf.
     * Nodes differ in size, so a leader does not forward what it receives
     * step for step; it alternates one send and one receive:
     *   sends:    node i, i-1, ..., i-nn+2    (own, then what arrived)
     *   receives: node i-1, ..., i-nn+1
     * A block is sent |node i| pairs after it arrived, and no leader gets
     * more than one message ahead of its neighbours: any slot count works. */
    if (leader && h.nnodes > 1) {
        int nn = h.nnodes, i = tutti_hier_index(h.reps, nn, a->rank);
        int right = h.reps[tutti_pattern_ring_next(i, nn)], left = h.reps[tutti_pattern_ring_prev(i, nn)];
        /* the ranks of each node in rank order (a counting sort: O(p), where
         * scanning every rank for every node cost nodes x p per leader) */
        int p = a->nranks;
        int *sendq = malloc(sizeof(int) * (size_t)p), *recvq = malloc(sizeof(int) * (size_t)p);
        int *first = calloc((size_t)nn + 1, sizeof(int)), *at = malloc(sizeof(int) * (size_t)nn);
        int *byn = malloc(sizeof(int) * (size_t)p);
        int ns = 0, nr = 0;
        if (!sendq || !recvq || !first || !at || !byn) {
            free(sendq);
            free(recvq);
            free(first);
            free(at);
            free(byn);
            r = TUTTI_ERR_NO_MEMORY;
            goto out;
        }
        for (int q = 0; q < p; q++) first[(a->node_of_rank ? a->node_of_rank[q] : 0) + 1]++;
        for (int n = 0; n < nn; n++) {
            first[n + 1] += first[n];
            at[n] = first[n];
        }
        for (int q = 0; q < p; q++) byn[at[a->node_of_rank ? a->node_of_rank[q] : 0]++] = q;
        for (int u = 0; u < nn; u++) {
            int node = tutti_pattern_mod(i - u, nn);
            for (int k = first[node]; k < first[node + 1]; k++) {
                if (u < nn - 1) sendq[ns++] = byn[k];
                if (u > 0) recvq[nr++] = byn[k];
            }
        }
        free(first);
        free(at);
        free(byn);
        tutti_sched_phase(s, 0);
        for (int k = 0; k < ns || k < nr; k++) {
            if (k < ns) {
                tutti_step_t *st = tutti_sched_step(s);
                st->flags = TUTTI_STEP_STABLE;
                st->bytes = blk;
                st->src = dst + (size_t)sendq[k] * blk;
                tutti_step_send(st, right);
            }
            if (k < nr) {
                tutti_step_t *st = tutti_sched_step(s);
                st->bytes = blk;
                st->dst = dst + (size_t)recvq[k] * blk;
                tutti_step_recv(st, left);
            }
        }
        free(sendq);
        free(recvq);
    }
    /* 3: the leader hands the whole result to its node */
    if (h.nlocal > 1 && a->node_win) {
        size_t total = blk * (size_t)a->nranks;
        r = total ? tutti_coll_window_step(s, TUTTI_WIN_BROADCAST, leader ? dst : NULL, dst, total, h.nlocal,
                                           h.me_local, 0, h.local, 0)
                  : TUTTI_SUCCESS;
    } else if (h.nlocal > 1) {
        size_t total = a->count * (size_t)a->nranks;
        r = tutti_coll_run_on_group(s, tutti_hier_small(a, blk * (size_t)a->nranks) ? tutti_coll_broadcast_tree
                                                                            : tutti_coll_broadcast_ring,
                           tutti_hier_sub(a, TUTTI_COLL_BROADCAST, dst, dst, total, 0, h.me_local, h.nlocal),
                           h.local, 0);
    }
out:
    tutti_hier_free(&h);
    return r;
}
