/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Double-binary-tree all-reduce: the buffer is split in two halves; half 0
 * is reduced up and broadcast down tree 0, half 1 on tree 1 (channel 1).
 * Most ranks are leaves in one tree and interior in the other, so the work
 * of interior nodes is shared.
 *
 *   p=8   tree 0:    0            tree 1 (mirrored):   7
 *                    |                                  |
 *                    4                                  3
 *                  /   \                              /   \
 *                 2     6                            5     1
 *                / \   / \                          / \   / \
 *               1   3 5   7                        6   4 2   0
 *
 * Per slice: children's slices are added to the local slice and sent to
 * the parent; the root finishes the slice and sends it down at once.  Each
 * tree's reduction and broadcast are separate streams (core/sched.h), so
 * both pipelines flow at once and one slot per FIFO is enough.
 */
#include "coll.h"
#include "patterns/patterns.h"

tutti_result_t tutti_coll_allreduce_tree(tutti_sched_t *s, const tutti_coll_args_t *a)
{
    int p = a->nranks, r = a->rank;
    size_t es = a->esize;
    const char *src = a->sendbuf;
    char *dst = a->recvbuf;
    if (p == 1) {
        tutti_coll_local_copy(s, src, dst, a->count * es, 1);
        return TUTTI_SUCCESS;
    }
    int ntrees = s->nchan >= 2 ? 2 : 1;
    /* slices small enough to pipeline through the tree: the tuner's, or
     * an eighth of a tree's half (16 KiB at least) */
    size_t half = tutti_pattern_seg_len(a->count, ntrees, 0) * es;
    size_t slice = a->chunk ? a->chunk : half / 8;
    if (!a->chunk && slice < 16384) slice = 16384;
    tutti_sched_phase(s, slice);
    int parent[2], nch[2], ch[2][2];
    for (int t = 0; t < ntrees; t++) {
        nch[t] = tutti_pattern_dbtree(t, r, p, &parent[t], ch[t]);
    }
    for (int t = 0; t < ntrees; t++) {
        size_t off = tutti_pattern_seg_off(a->count, ntrees, t) * es;
        size_t len = tutti_pattern_seg_len(a->count, ntrees, t) * es;
        tutti_step_t *st = tutti_sched_step(s);
        st->flags = TUTTI_STEP_REDUCE;
        st->chan = (uint8_t)t;
        st->stream = (uint8_t)(2 * t); /* up (or root) stream of tree t */
        st->src = src + off;
        st->bytes = len;
        for (int k = 0; k < nch[t]; k++) tutti_step_recv(st, ch[t][k]);
        if (parent[t] >= 0) {
            tutti_step_send(st, parent[t]);
        } else {
            st->flags |= TUTTI_STEP_FINAL | TUTTI_STEP_STABLE;
            st->dst = dst + off;
            for (int k = 0; k < nch[t]; k++) tutti_step_send(st, ch[t][k]);
        }
    }
    for (int t = 0; t < ntrees; t++) {
        if (parent[t] < 0) continue;
        size_t off = tutti_pattern_seg_off(a->count, ntrees, t) * es;
        size_t len = tutti_pattern_seg_len(a->count, ntrees, t) * es;
        tutti_step_t *st = tutti_sched_step(s);
        st->chan = (uint8_t)t;
        st->stream = (uint8_t)(2 * t + 1); /* down stream of tree t */
        st->flags = TUTTI_STEP_STABLE;
        st->dst = dst + off;
        st->bytes = len;
        tutti_step_recv(st, parent[t]);
        for (int k = 0; k < nch[t]; k++) tutti_step_send(st, ch[t][k]);
    }
    return TUTTI_SUCCESS;
}
