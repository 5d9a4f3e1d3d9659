/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring order from the job's topology: ranks sorted by (node, package, NUMA
 * node, rank), so that a ring walks every socket of a node before it
 * leaves the node, and every node once:
 *
 *   ranks dealt round-robin:  n0: 0 2 4   n1: 1 3 5
 *   rank order ring:          0 1 2 3 4 5 0      6 node crossings
 *   topology ring:            0 2 4 1 3 5 0      2 node crossings
 *
 * Then each node's run is turned (rotated by whole NUMA groups) so that
 * the ring enters and leaves the node next to a NIC where it can:
 *
 *   4 sockets, NICs on s1 and s2:   s0 s1 s2 s3   enters on s0, leaves from s3:
 *                                                 both hops cross to a NIC's socket
 *   turned:                         s2 s3 s0 s1   enters on s2, leaves from s1: none
 *
 * The cost of a turn counts socket changes along NIC -> first group -> ...
 * -> last group -> NIC (another NUMA node of the same socket costs 1,
 * another socket 2); the cheapest turn wins, ties to the unturned order.
 */
#include "patterns/patterns.h"

#include <stdint.h>
#include <stdlib.h>

static int tutti_order_key(const int *node, const int *package, const int *numa, int r, int k)
{
    switch (k) {
    case 0: return node ? node[r] : 0;
    case 1: return package && package[r] >= 0 ? package[r] : 0;
    case 2: return numa && numa[r] >= 0 ? numa[r] : 0;
    default: return r;
    }
}

static int tutti_order_cmp(const int *node, const int *package, const int *numa, int u, int v)
{
    for (int k = 0; k < 4; k++) {
        int a = tutti_order_key(node, package, numa, u, k), b = tutti_order_key(node, package, numa, v, k);
        if (a != b) return a < b ? -1 : 1;
    }
    return 0;
}

/* Sifts order[i] down the max-heap order[0..n). */
static void tutti_order_sift(const int *node, const int *package, const int *numa, int *order, int i, int n)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && tutti_order_cmp(node, package, numa, order[c], order[c + 1]) < 0) c++;
        if (tutti_order_cmp(node, package, numa, order[i], order[c]) >= 0) return;
        int t = order[i];
        order[i] = order[c];
        order[c] = t;
        i = c;
    }
}

void tutti_pattern_topo_order(int p, const int *node, const int *package, const int *numa, int *order)
{
    for (int i = 0; i < p; i++) order[i] = i;
    /* heap sort: O(p log p) with no allocation (the insertion sort before
     * it was O(p^2) on ranks dealt round-robin: 3.2 ms at 4096 ranks, 0.3
     * now, and 16x more for every 4x more ranks); the rank is the last
     * key, so the order is total and every rank computes the same */
    for (int i = p / 2 - 1; i >= 0; i--) tutti_order_sift(node, package, numa, order, i, p);
    for (int n = p - 1; n > 0; n--) {
        int t = order[0];
        order[0] = order[n];
        order[n] = t;
        tutti_order_sift(node, package, numa, order, 0, n);
    }
}

static void tutti_order_reverse(int *v, int lo, int hi)
{
    for (hi--; lo < hi; lo++, hi--) {
        int t = v[lo];
        v[lo] = v[hi];
        v[hi] = t;
    }
}

/* Cost of a hop between two places (package, NUMA node). */
static int tutti_order_hop(int pa, int na, int pb, int nb) { return pa != pb ? 2 : na != nb ? 1 : 0; }

/* Cost of the hop between a place and the nearest NIC of its node. */
static int tutti_order_nic_hop(int pk, int nm, uint64_t nic_numas, uint64_t nic_packages)
{
    if (nm < 64 && (nic_numas >> nm & 1)) return 0;
    if (pk < 64 && (nic_packages >> pk & 1)) return 1;
    return 2;
}

void tutti_pattern_nic_turn(int p, const int *node, const int *package, const int *numa, const uint64_t *nic_numas,
                            const uint64_t *nic_packages, int *order)
{
    if (!node || !nic_numas || !nic_packages || p < 2) return;
    int b = 0;
    while (b < p) {
        int nd = node[order[b]], e = b;
        uint64_t nn = 0, np = 0;
        while (e < p && node[order[e]] == nd) {
            nn |= nic_numas[order[e]];
            np |= nic_packages[order[e]];
            e++;
        }
        if (e - b == p) return; /* one node: the ring never leaves it */
        /* groups: runs of one (package, NUMA node); at most 64 turns tried */
        int start[64], gp[64], gn[64], g = 0;
        for (int i = b; i < e && g < 64; i++) {
            /* the sort's own keys: unknown places count as 0 */
            int pk = tutti_order_key(node, package, numa, order[i], 1);
            int nm = tutti_order_key(node, package, numa, order[i], 2);
            if (g == 0 || pk != gp[g - 1] || nm != gn[g - 1]) {
                start[g] = i;
                gp[g] = pk;
                gn[g] = nm;
                g++;
            }
        }
        int best = 0, bestcost = -1;
        for (int t = 0; t < g && (nn || np); t++) {
            int first = t, last = (t + g - 1) % g;
            int cost = tutti_order_nic_hop(gp[first], gn[first], nn, np) + tutti_order_nic_hop(gp[last], gn[last], nn, np);
            for (int k = 0; k + 1 < g; k++) {
                int x = (t + k) % g, y = (t + k + 1) % g;
                cost += tutti_order_hop(gp[x], gn[x], gp[y], gn[y]);
            }
            if (bestcost < 0 || cost < bestcost) {
                bestcost = cost;
                best = t;
            }
        }
        if (best > 0) { /* rotate order[b..e) left to start[best]: three reversals, in place */
            tutti_order_reverse(order, b, start[best]);
            tutti_order_reverse(order, start[best], e);
            tutti_order_reverse(order, b, e);
        }
        b = e;
    }
}

int tutti_pattern_ring_crossings(int p, const int *order, const int *key)
{
    int n = 0;
    for (int i = 0; i < p && p > 1; i++)
        if (key[order[i]] != key[order[(i + 1) % p]]) n++;
    return n;
}
