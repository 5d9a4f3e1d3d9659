/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pure peer math: given (rank, size[, root]) return peers.  No I/O, no
 * allocation; exhaustively unit-tested in tests/unit/test_patterns.c.
 */
#ifndef TUTTI_PATTERNS_H
#define TUTTI_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#define TUTTI_PATTERN_MAX_CHILDREN 32

/* ---- ring ----------------------------------------------------------------
 *   0 -> 1 -> 2 -> ... -> p-1 -> 0
 */
static inline int tutti_pattern_ring_next(int r, int p) { return (r + 1) % p; }
static inline int tutti_pattern_ring_prev(int r, int p) { return (r - 1 + p) % p; }
static inline int tutti_pattern_mod(int a, int p) { return ((a % p) + p) % p; }

/* Ring order from the topology (order.c): order[i] is the rank at position
 * i, ranks sorted by (node, package, NUMA node, rank); NULL arrays count as
 * all zero.  Pure: every rank computes the same order. */
void tutti_pattern_topo_order(int p, const int *node, const int *package, const int *numa, int *order);
/* How many neighbours around the ring differ in key[] (node, package). */
/* Turns each node's run of a topology order so that the ring enters and
 * leaves the node on the NUMA nodes / sockets nearest its NICs (order.c);
 * nic_numas[r] / nic_packages[r]: bit per NUMA node / package of rank r's
 * node that holds a NIC (0: none known).  Nothing changes on one node.
 * Pure: every rank computes the same. */
void tutti_pattern_nic_turn(int p, const int *node, const int *package, const int *numa, const uint64_t *nic_numas,
                            const uint64_t *nic_packages, int *order);
int tutti_pattern_ring_crossings(int p, const int *order, const int *key);

/* ---- segments ------------------------------------------------------------
 * count elements cut into p contiguous segments, sizes differing by at most
 * one, the larger ones first:  count=10, p=4 -> 3 3 2 2
 */
static inline size_t tutti_pattern_seg_off(size_t count, int p, int k)
{
    size_t base = count / (size_t)p, rem = count % (size_t)p;
    return (size_t)k * base + ((size_t)k < rem ? (size_t)k : rem);
}
static inline size_t tutti_pattern_seg_len(size_t count, int p, int k)
{
    return count / (size_t)p + ((size_t)k < count % (size_t)p ? 1 : 0);
}

/* ---- binomial tree (relative to root) ------------------------------------
 *   vr = (r - root) mod p; parent(vr) = vr minus its lowest set bit;
 *   children(vr) = vr + 2^k for 2^k below vr's lowest set bit.
 *
 *   p=8:            0
 *              /    |    \
 *             4     2     1
 *            / \    |
 *           6   5   3
 *           |
 *           7
 * Returns the number of children written (largest subtree first);
 * *parent = -1 at the root.  Peers are real ranks.
 */
int tutti_pattern_binomial(int r, int p, int root, int *parent, int *children);

/* ---- in-order binary tree over positions 0..p-1 --------------------------
 *   position x with lowest set bit b has children x - b/2 and x + h, h the
 *   largest of b/2, b/4, ... with x + h < p; position 0 is the root with the
 *   single child 2^floor(log2(p-1)).
 *
 *   p=8:   0
 *          |
 *          4
 *        /   \
 *       2     6
 *      / \   / \
 *     1   3 5   7
 *
 * Odd positions are leaves, so in a double binary tree (the second tree
 * uses the mirrored or shifted positions) most ranks are interior in at
 * most one tree.  Returns the number of children (0..2).
 */
int tutti_pattern_btree(int pos, int p, int *parent, int children[2]);

/* Double binary tree: tree t (0 or 1) of rank r, peers as real ranks.
 * Tree 0 uses positions = ranks; tree 1 mirrors them (pos = p-1-r) when p
 * is even and shifts them (pos = r-1 mod p) when p is odd. */
int tutti_pattern_dbtree(int t, int r, int p, int *parent, int children[2]);

/* ---- recursive doubling with a fold for non-powers of two ----------------
 *   p2 = largest power of two <= p, rem = p - p2.  Ranks 0..2*rem-1 pair up:
 *   the even one folds its data into the odd one and sits out.  The p2
 *   survivors get virtual ranks and exchange with vr ^ 2^k.
 *
 *   p=6: pairs (0,1) (2,3);  survivors 1 3 4 5 -> vr 0 1 2 3
 */
static inline int tutti_pattern_pow2_floor(int p)
{
    int q = 1;
    while (q * 2 <= p) q *= 2;
    return q;
}
/* Virtual rank of r, or -1 if r folds out. */
static inline int tutti_pattern_rd_vrank(int r, int p)
{
    int rem = p - tutti_pattern_pow2_floor(p);
    if (r < 2 * rem) return (r % 2) ? r / 2 : -1;
    return r - rem;
}
static inline int tutti_pattern_rd_real(int vr, int p)
{
    int rem = p - tutti_pattern_pow2_floor(p);
    return vr < rem ? 2 * vr + 1 : vr + rem;
}

#endif
