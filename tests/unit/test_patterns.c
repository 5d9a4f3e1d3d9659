/* SPDX-License-Identifier: BSD-3-Clause */
/* Pure peer math: trees are trees, rings are rings, for p = 1..130. */
#include "patterns/patterns.h"
#include "tap.h"

#include <string.h>

static int depth_of(int r, int p, int root, int *ok)
{
    int d = 0, parent, ch[TUTTI_PATTERN_MAX_CHILDREN];
    while (r != root && d <= p) {
        tutti_pattern_binomial(r, p, root, &parent, ch);
        if (parent < 0) { *ok = 0; return d; }
        r = parent;
        d++;
    }
    if (d > p) *ok = 0;
    return d;
}

static void test_segments(void)
{
    int ok = 1;
    for (int p = 1; p <= 70; p++)
        for (size_t count = 0; count < 300; count += 7) {
            size_t sum = 0;
            for (int k = 0; k < p; k++) {
                if (tutti_pattern_seg_off(count, p, k) != sum) ok = 0;
                size_t l = tutti_pattern_seg_len(count, p, k);
                if (l != count / (size_t)p && l != count / (size_t)p + 1) ok = 0;
                sum += l;
            }
            if (sum != count) ok = 0;
        }
    tap_ok(ok, "segments cover the buffer contiguously, sizes differ by at most one");
}

static void test_binomial(void)
{
    int ok = 1, depth_ok = 1;
    for (int p = 1; p <= 130; p++) {
        int lg = 0;
        while ((1 << lg) < p) lg++;
        for (int root = 0; root < p; root++) {
            int nparent_links = 0;
            for (int r = 0; r < p; r++) {
                int parent, ch[TUTTI_PATTERN_MAX_CHILDREN];
                int n = tutti_pattern_binomial(r, p, root, &parent, ch);
                if ((r == root) != (parent < 0)) ok = 0;
                if (n > lg) ok = 0;
                for (int k = 0; k < n; k++) {
                    int pp, cc[TUTTI_PATTERN_MAX_CHILDREN];
                    tutti_pattern_binomial(ch[k], p, root, &pp, cc);
                    if (pp != r) ok = 0;
                    nparent_links++;
                }
                if (depth_of(r, p, root, &ok) > lg) depth_ok = 0;
            }
            if (nparent_links != p - 1) ok = 0;
        }
    }
    tap_ok(ok, "binomial tree: every rank but the root has one parent that lists it as a child, any root");
    tap_ok(depth_ok, "binomial tree depth <= ceil(log2 p)");
}

static void test_btree(void)
{
    int ok = 1, both_interior_max = 0;
    for (int p = 1; p <= 130; p++) {
        for (int t = 0; t < 2; t++) {
            int roots = 0, links = 0;
            for (int r = 0; r < p; r++) {
                int parent, ch[2];
                int n = tutti_pattern_dbtree(t, r, p, &parent, ch);
                if (parent < 0) roots++;
                for (int k = 0; k < n; k++) {
                    int pp, cc[2];
                    tutti_pattern_dbtree(t, ch[k], p, &pp, cc);
                    if (pp != r || ch[k] < 0 || ch[k] >= p) ok = 0;
                    links++;
                }
                /* walk to the root */
                int x = r, steps = 0;
                while (steps <= p) {
                    int pp, cc[2];
                    tutti_pattern_dbtree(t, x, p, &pp, cc);
                    if (pp < 0) break;
                    x = pp;
                    steps++;
                }
                if (steps > p) ok = 0;
            }
            if (roots != 1 || links != p - 1) ok = 0;
        }
        int both = 0;
        for (int r = 0; r < p; r++) {
            int pa, pb, ca[2], cb[2];
            int na = tutti_pattern_dbtree(0, r, p, &pa, ca), nb = tutti_pattern_dbtree(1, r, p, &pb, cb);
            if (na > 0 && nb > 0) both++;
        }
        if (both > both_interior_max) both_interior_max = both;
    }
    tap_ok(ok, "double binary tree: both trees span all ranks with consistent parent/child links");
    tap_ok(both_interior_max <= 2, "double binary tree: at most 2 ranks are interior in both trees (max %d)",
           both_interior_max);
}

static void test_rd(void)
{
    int ok = 1;
    for (int p = 1; p <= 130; p++) {
        int p2 = tutti_pattern_pow2_floor(p), seen[256];
        memset(seen, 0, sizeof(seen));
        if (p2 > p || p2 * 2 <= p) ok = 0;
        int survivors = 0;
        for (int r = 0; r < p; r++) {
            int vr = tutti_pattern_rd_vrank(r, p);
            if (vr < 0) continue;
            survivors++;
            if (vr >= p2 || seen[vr]++ || tutti_pattern_rd_real(vr, p) != r) ok = 0;
        }
        if (survivors != p2) ok = 0;
    }
    tap_ok(ok, "recursive doubling: p2 survivors with a bijective virtual rank, for p = 1..130");
}

/* Ring order from the topology: a pure function of the job view. */
static void test_topo_order(void)
{
    int order[16];
    /* 6 ranks dealt round-robin over 2 nodes */
    int node6[6] = {0, 1, 0, 1, 0, 1};
    int ident[6] = {0, 1, 2, 3, 4, 5};
    tutti_pattern_topo_order(6, node6, NULL, NULL, order);
    int want6[6] = {0, 2, 4, 1, 3, 5};
    tap_ok(memcmp(order, want6, sizeof(want6)) == 0 && tutti_pattern_ring_crossings(6, ident, node6) == 6 &&
               tutti_pattern_ring_crossings(6, order, node6) == 2,
           "round-robin over 2 nodes: ring 0 2 4 1 3 5 crosses nodes 2 times instead of 6");
    /* one node, 8 ranks alternating over 2 sockets (a common default binding) */
    int pk8[8] = {0, 1, 0, 1, 0, 1, 0, 1};
    tutti_pattern_topo_order(8, NULL, pk8, NULL, order);
    tap_ok(tutti_pattern_ring_crossings(8, order, pk8) == 2 && order[0] == 0 && order[4] == 1,
           "8 ranks alternating over 2 sockets: the ring crosses sockets twice, not 8 times");
    /* 4 nodes of 4 (GPU-node fixture shape): node first, then package, then rank */
    int node16[16], pk16[16];
    for (int r = 0; r < 16; r++) {
        node16[r] = r % 4;
        pk16[r] = (r / 4) % 2;
    }
    tutti_pattern_topo_order(16, node16, pk16, NULL, order);
    int ok = tutti_pattern_ring_crossings(16, order, node16) == 4;
    for (int i = 1; i < 16; i++)
        ok &= node16[order[i - 1]] < node16[order[i]] ||
              (node16[order[i - 1]] == node16[order[i]] && (pk16[order[i - 1]] < pk16[order[i]] ||
                                                            (pk16[order[i - 1]] == pk16[order[i]] && order[i - 1] < order[i])));
    tap_ok(ok, "16 ranks on 4 nodes x 2 sockets: sorted by (node, socket, rank), 4 node crossings");
    /* contiguous placement stays rank order; unknown packages (-1) count as 0 */
    int node4[4] = {0, 0, 1, 1}, unk[4] = {-1, -1, -1, -1};
    tutti_pattern_topo_order(4, node4, unk, unk, order);
    tap_ok(order[0] == 0 && order[1] == 1 && order[2] == 2 && order[3] == 3,
           "ranks already grouped by node keep rank order (no reordering cost)");
}

int main(void)
{
    test_topo_order();
    test_segments();
    test_binomial();
    test_btree();
    test_rd();
    return tap_done();
}
