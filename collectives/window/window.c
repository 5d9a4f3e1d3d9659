/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The window algorithm: all-reduce, reduce-scatter, all-gather, broadcast
 * and reduce among the ranks of one node through their shared windows.
 * Each builder writes one window step for the whole call; the engine
 * (core/window.c, where the chunks and their synchronisations are drawn)
 * cuts it into chunks of the window's size.  Instead of a ring's 2(p-1)
 * dependent hand-offs per slice, a chunk costs three counter waits
 * (all-reduce; two for the others), whatever p.
 *
 * Available only where every rank of the group shares a node with shm
 * windows (the selector checks; tutti_coll_window_step serves hier's node
 * phases too).
 */
#include "coll.h"

/* One window step over group ranks (NULL: 0..p-1), me at index `me`. */
tutti_result_t tutti_coll_window_step(tutti_sched_t *s, tutti_win_kind_t kind, const void *src, void *dst,
                                      size_t bytes, int p, int me, int root, const int *group, int final)
{
    tutti_sched_phase(s, 0);
    tutti_step_t *st = tutti_sched_step(s);
    st->flags = TUTTI_STEP_WIN | (final ? TUTTI_STEP_FINAL : 0);
    st->wkind = (uint8_t)kind;
    st->src = src;
    st->dst = dst;
    st->bytes = bytes;
    st->wsize = p;
    st->wme = me;
    st->wroot = root;
    st->wgroup = TUTTI_WIN_IDENTITY;
    if (group) {
        uint32_t off;
        int32_t *g = tutti_sched_group(s, p, &off);
        if (!g) return TUTTI_ERR_NO_MEMORY;
        for (int i = 0; i < p; i++) g[i] = group[i];
        st->wgroup = off;
    }
    return s->oom ? TUTTI_ERR_NO_MEMORY : TUTTI_SUCCESS;
}

tutti_result_t tutti_coll_allreduce_window(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    size_t bytes = a->count * a->esize;
    if (a->nranks == 1) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 1);
        return TUTTI_SUCCESS;
    }
    if (bytes == 0) return TUTTI_SUCCESS;
    return tutti_coll_window_step(s, TUTTI_WIN_ALLREDUCE, a->sendbuf, a->recvbuf, bytes, a->nranks, a->rank, 0,
                                  NULL, 1);
}

tutti_result_t tutti_coll_reduce_scatter_window(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    size_t blk = a->count * a->esize;
    if (a->nranks == 1) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, blk, 1);
        return TUTTI_SUCCESS;
    }
    if (blk == 0) return TUTTI_SUCCESS;
    return tutti_coll_window_step(s, TUTTI_WIN_REDUCE_SCATTER, a->sendbuf, a->recvbuf, blk, a->nranks, a->rank, 0,
                                  NULL, 1);
}

tutti_result_t tutti_coll_allgather_window(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    size_t blk = a->count * a->esize;
    char *dst = a->recvbuf;
    if (a->nranks == 1) {
        tutti_coll_local_copy(s, a->sendbuf, dst, blk, 0);
        return TUTTI_SUCCESS;
    }
    if (blk == 0) return TUTTI_SUCCESS;
    return tutti_coll_window_step(s, TUTTI_WIN_ALLGATHER, a->sendbuf, dst, blk, a->nranks, a->rank, 0, NULL, 0);
}

tutti_result_t tutti_coll_broadcast_window(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    size_t bytes = a->count * a->esize;
    if (a->nranks == 1) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 0);
        return TUTTI_SUCCESS;
    }
    if (bytes == 0) return TUTTI_SUCCESS;
    return tutti_coll_window_step(s, TUTTI_WIN_BROADCAST, a->rank == a->root ? a->sendbuf : NULL, a->recvbuf, bytes,
                                  a->nranks, a->rank, a->root, NULL, 0);
}

tutti_result_t tutti_coll_reduce_window(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    size_t bytes = a->count * a->esize;
    if (a->nranks == 1) {
        tutti_coll_local_copy(s, a->sendbuf, a->recvbuf, bytes, 1);
        return TUTTI_SUCCESS;
    }
    if (bytes == 0) return TUTTI_SUCCESS;
    return tutti_coll_window_step(s, TUTTI_WIN_REDUCE, a->sendbuf, a->rank == a->root ? a->recvbuf : NULL, bytes,
                                  a->nranks, a->rank, a->root, NULL, 1);
}
