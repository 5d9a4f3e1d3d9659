/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ring order from the job's topology: ranks sorted by (node, package, NUMA
 * node, rank), so that a ring walks every socket of a node before it
 * leaves the node, and every node once:
 *
 *   ranks dealt round-robin:  n0: 0 2 4   n1: 1 3 5
 *   rank order ring:          0 1 2 3 4 5 0      6 node crossings
 *   topology ring:            0 2 4 1 3 5 0      2 node crossings
 */
#include "patterns/patterns.h"

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

void tutti_pattern_topo_order(int p, const int *node, const int *package, const int *numa, int *order)
{
    for (int i = 0; i < p; i++) order[i] = i;
    /* insertion sort: stable, p is small enough at creation time, and it
     * is a pure function every rank computes alike */
    for (int i = 1; i < p; i++) {
        int v = order[i], j = i;
        while (j > 0) {
            int u = order[j - 1], cmp = 0;
            for (int k = 0; k < 4 && cmp == 0; k++) {
                int a = tutti_order_key(node, package, numa, u, k), b = tutti_order_key(node, package, numa, v, k);
                cmp = (a > b) - (a < b);
            }
            if (cmp <= 0) break;
            order[j] = u;
            j--;
        }
        order[j] = v;
    }
}

int tutti_pattern_ring_crossings(int p, const int *order, const int *key)
{
    int n = 0;
    for (int i = 0; i < p && p > 1; i++)
        if (key[order[i]] != key[order[(i + 1) % p]]) n++;
    return n;
}
