/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The job as every rank sees it, built from the facts each rank contributes
 * at creation: which ranks share a node, the ring order from the topology,
 * and what is logged and dumped about it (the job view, the algorithm
 * table).
 */
#include "core/comm.h"

#include "patterns/patterns.h"
#include "topo/topo.h"
#include "util/log.h"
#include "util/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The job as every rank sees it (the allgathered topology facts): logged at
 * INFO (rank 0), and written with the topology when TUTTI_TOPO_DUMP_FILE is
 * set (every rank, its own file with %r). */
void tutti_comm_job_view(tutti_comm_t comm)
{
    char view[512], local[256] = "", table[1024] = "", leaders[256] = "";
    int n = snprintf(view, sizeof(view), "%d ranks on %d node(s); ranks per node:", comm->nranks, comm->nnodes);
    for (int node = 0; node < comm->nnodes && n > 0 && (size_t)n < sizeof(view); node++) {
        int cnt = 0, first = -1, sockets = 0;
        uint64_t seen = 0;
        for (int q = 0; q < comm->nranks; q++) {
            if (comm->node_of_rank[q] != node) continue;
            if (first < 0) first = q;
            cnt++;
            int pk = comm->info[q].my_package;
            if (pk >= 0 && pk < 64 && !(seen & (1ULL << pk))) {
                seen |= 1ULL << pk;
                sockets++;
            }
        }
        n += snprintf(view + n, sizeof(view) - (size_t)n, " %s (%d, on %d of %d socket%s, %d GPU, %d NIC)",
                      comm->info[first].host, cnt, sockets, comm->info[first].packages, comm->info[first].packages == 1 ? "" : "s",
                      comm->info[first].gpus, comm->info[first].nics);
    }
    /* the hierarchical leaders: each node's first rank in the ring order
     * (collectives/hier.c), by node index */
    for (int node = 0; node < comm->nnodes; node++)
        for (int i = 0; i < comm->nranks; i++) {
            int q = comm->ring_order ? comm->ring_order[i] : i;
            if (comm->node_of_rank[q] != node) continue;
            size_t l = strlen(leaders);
            snprintf(leaders + l, sizeof(leaders) - l, "%s%d", node ? "," : "", q);
            break;
        }
    char ring[256] = "rank order";
    if (comm->ring_order) {
        ring[0] = '\0';
        for (int i = 0; i < comm->nranks; i++) {
            size_t l = strlen(ring);
            snprintf(ring + l, sizeof(ring) - l, "%s%d", i ? "," : "", comm->ring_order[i]);
        }
    }
    if (comm->rank == 0) {
        TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "job: %s", view);
        TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "ring (all-reduce, broadcast, reduce): %s", ring);
    }
    const char *dump = tutti_param_str(TUTTI_P_TOPO_DUMP_FILE);
    if (!dump[0]) return;
    for (int q = 0; q < comm->nranks; q++) {
        if (comm->node_of_rank[q] != comm->node_of_rank[comm->rank]) continue;
        size_t l = strlen(local);
        snprintf(local + l, sizeof(local) - l, "%s%d", local[0] ? "," : "", q);
    }
    tutti_algo_table(&comm->algo, comm->nranks, comm->nnodes, table, sizeof(table));
    for (char *p = table; *p; p++)
        if (*p == '\n') *p = ';';
    char f_rank[32], f_nranks[32], f_node[32], f_nodes[32], f_local[300], f_table[1100], f_leaders[300], f_job[600],
        f_ring[300];
    snprintf(f_ring, sizeof(f_ring), "TuttiRing=%s", ring);
    snprintf(f_rank, sizeof(f_rank), "TuttiRank=%d", comm->rank);
    snprintf(f_nranks, sizeof(f_nranks), "TuttiRanks=%d", comm->nranks);
    snprintf(f_node, sizeof(f_node), "TuttiNode=%d", comm->node_of_rank[comm->rank]);
    snprintf(f_nodes, sizeof(f_nodes), "TuttiNodes=%d", comm->nnodes);
    snprintf(f_local, sizeof(f_local), "TuttiNodeRanks=%s", local);
    snprintf(f_leaders, sizeof(f_leaders), "TuttiNodeLeaders=%s", leaders);
    snprintf(f_table, sizeof(f_table), "TuttiAlgorithms=%s", table);
    snprintf(f_job, sizeof(f_job), "TuttiJob=%s", view);
    const char *facts[] = {f_rank, f_nranks, f_node, f_nodes, f_local, f_leaders, f_table, f_job, f_ring};
    char err[300];
    if (tutti_topo_dump(dump, comm->rank, facts, 9, err, sizeof(err)) != 0)
        TUTTI_WARN(TUTTI_SUBSYS_TUNE, comm->rank, "%s", err);
}

/* The decision table, once per communicator and algorithm setting (rank 0;
 * every rank computes the same one). */
void tutti_comm_log_table(tutti_comm_t comm)
{
    if (comm->rank != 0 || !tutti_log_on(TUTTI_LOG_INFO, TUTTI_SUBSYS_TUNE)) return;
    char table[2048];
    tutti_algo_table(&comm->algo, comm->nranks, comm->nnodes, table, sizeof(table));
    TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "algorithms for %d ranks on %d node(s), by call size in bytes:",
               comm->nranks, comm->nnodes);
    for (char *line = strtok(table, "\n"); line; line = strtok(NULL, "\n"))
        TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "  %s", line);
}

/* The ring order from the job view (patterns/order.c); kept only when it
 * differs from rank order. */
tutti_result_t tutti_comm_ring_order(tutti_comm_t comm)
{
    int p = comm->nranks, same = 1;
    if (p < 1) return TUTTI_ERR_INTERNAL;
    int *order = calloc((size_t)p, sizeof(int)), *pk = calloc((size_t)p, sizeof(int)), *nm = calloc((size_t)p, sizeof(int));
    uint64_t *nn = calloc((size_t)p, sizeof(uint64_t)), *np = calloc((size_t)p, sizeof(uint64_t));
    if (!order || !pk || !nm || !nn || !np) {
        free(order);
        free(pk);
        free(nm);
        free(nn);
        free(np);
        return TUTTI_ERR_NO_MEMORY;
    }
    for (int q = 0; q < p; q++) {
        pk[q] = comm->info[q].my_package;
        nm[q] = comm->info[q].my_numa;
        nn[q] = comm->info[q].nic_numas;
        np[q] = comm->info[q].nic_packages;
    }
    tutti_pattern_topo_order(p, comm->node_of_rank, pk, nm, order);
    /* enter and leave each node next to its NICs */
    tutti_pattern_nic_turn(p, comm->node_of_rank, pk, nm, nn, np, order);
    free(pk);
    free(nm);
    free(nn);
    free(np);
    for (int i = 0; i < p; i++) same &= order[i] == i;
    if (same) {
        free(order);
        return TUTTI_SUCCESS;
    }
    comm->ring_pos = malloc(sizeof(int) * (size_t)p);
    if (!comm->ring_pos) {
        free(order);
        return TUTTI_ERR_NO_MEMORY;
    }
    for (int i = 0; i < p; i++) comm->ring_pos[order[i]] = i;
    comm->ring_order = order;
    return TUTTI_SUCCESS;
}

/* Places ranks on nodes: node index = order of first appearance. */
tutti_result_t tutti_comm_map_nodes(tutti_comm_t comm)
{
    int p = comm->nranks;
    comm->node_of_rank = malloc(sizeof(int) * (size_t)p);
    if (!comm->node_of_rank) return TUTTI_ERR_NO_MEMORY;
    comm->nnodes = 0;
    for (int r = 0; r < p; r++) {
        int node = -1;
        for (int q = 0; q < r; q++)
            if (comm->info[q].hostid == comm->info[r].hostid) {
                node = comm->node_of_rank[q];
                break;
            }
        comm->node_of_rank[r] = node >= 0 ? node : comm->nnodes++;
    }
    comm->local_rank = comm->local_size = 0;
    for (int r = 0; r < p; r++) {
        if (comm->node_of_rank[r] != comm->node_of_rank[comm->rank]) continue;
        if (r < comm->rank) comm->local_rank++;
        comm->local_size++;
    }
    return TUTTI_SUCCESS;
}


/* Ranks under rank q's kernel (they share its CPUs, also on different
 * "nodes": containers, network namespaces) and the CPUs their affinity
 * masks cover together (0: unknown).  From the job view: alike everywhere. */
void tutti_comm_cpu_sharing(tutti_comm_t comm, int q, int *sharing, int *ncpu)
{
    uint64_t any[16] = {0};
    *sharing = 0;
    *ncpu = 0;
    for (int r = 0; r < comm->nranks; r++) {
        if (comm->info[r].kernelid != comm->info[q].kernelid) continue;
        (*sharing)++;
        for (int w = 0; w < 16; w++) any[w] |= comm->info[r].cpus[w];
    }
    for (int w = 0; w < 16; w++) *ncpu += __builtin_popcountll(any[w]);
}
