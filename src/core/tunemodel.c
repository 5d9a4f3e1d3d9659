/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost model of a communicator (src/tune/model.h) at creation: its job
 * shape and transports, from the allgathered job view, so every rank holds
 * the same model.  Its optional calibration is src/api/tuneprobe.c.
 */
#include "core/comm.h"

#include "coll.h"
#include "util/param.h"

#include <stdlib.h>

typedef struct {
    uint64_t kernel;
    int rank;
} tutti_model_kernel_t;

static int tutti_model_kernel_cmp(const void *x, const void *y)
{
    const tutti_model_kernel_t *a = x, *b = y;
    if (a->kernel != b->kernel) return a->kernel < b->kernel ? -1 : 1;
    return (a->rank > b->rank) - (a->rank < b->rank);
}

/* The fullest node's rank count, the most sockets a node's ranks span, and
 * the most ranks per CPU under one kernel: one pass by node, one sort by
 * kernel (comparing every rank's node and kernel with every other rank's
 * was O(p^2) at creation, 2 x 16M comparisons at 4096 ranks).  0, or -1
 * when out of memory: then rank by rank, so that every rank still builds
 * the same model. */
static int tutti_comm_model_grouped(tutti_comm_t comm, int *ppn, int *sockets, double *oversub)
{
    int p = comm->nranks, nn = comm->nnodes > 0 ? comm->nnodes : 1;
    int *here = calloc((size_t)nn, sizeof(int));
    uint64_t *pk = calloc((size_t)nn, sizeof(uint64_t));
    tutti_model_kernel_t *k = malloc(sizeof(*k) * (size_t)p);
    int rc = -1;
    if (!here || !pk || !k) goto out;
    for (int r = 0; r < p; r++) {
        int n = comm->node_of_rank[r];
        if (n < 0 || n >= nn) goto out;
        here[n]++;
        if (comm->info[r].my_package >= 0 && comm->info[r].my_package < 64) pk[n] |= 1ull << comm->info[r].my_package;
        k[r].kernel = comm->info[r].kernelid;
        k[r].rank = r;
    }
    for (int n = 0; n < nn; n++) {
        if (here[n] > *ppn) *ppn = here[n];
        if (__builtin_popcountll(pk[n]) > *sockets) *sockets = __builtin_popcountll(pk[n]);
    }
    /* ranks under one kernel: their count over the CPUs their masks cover
     * (tutti_comm_cpu_sharing, once per kernel) */
    qsort(k, (size_t)p, sizeof(*k), tutti_model_kernel_cmp);
    for (int i = 0; i < p;) {
        int j = i, ncpu = 0;
        uint64_t any[16] = {0};
        for (; j < p && k[j].kernel == k[i].kernel; j++)
            for (int w = 0; w < 16; w++) any[w] |= comm->info[k[j].rank].cpus[w];
        for (int w = 0; w < 16; w++) ncpu += __builtin_popcountll(any[w]);
        if (ncpu > 0 && (double)(j - i) / ncpu > *oversub) *oversub = (double)(j - i) / ncpu;
        i = j;
    }
    rc = 0;
out:
    free(here);
    free(pk);
    free(k);
    return rc;
}

static void tutti_comm_model_shape(tutti_comm_t comm, int *ppn, int *sockets, double *oversub)
{
    int p = comm->nranks;
    *ppn = 1;
    *sockets = 1;
    *oversub = 1;
    if (tutti_comm_model_grouped(comm, ppn, sockets, oversub) == 0) return;
    *ppn = 1;
    *sockets = 1;
    *oversub = 1;
    for (int q = 0; q < p; q++) {
        int here = 0, sharing, ncpu;
        uint64_t pk = 0;
        for (int r = 0; r < p; r++) {
            if (comm->node_of_rank[r] != comm->node_of_rank[q]) continue;
            here++;
            if (comm->info[r].my_package >= 0 && comm->info[r].my_package < 64) pk |= 1ull << comm->info[r].my_package;
        }
        tutti_comm_cpu_sharing(comm, q, &sharing, &ncpu);
        if (here > *ppn) *ppn = here;
        if (__builtin_popcountll(pk) > *sockets) *sockets = __builtin_popcountll(pk);
        if (ncpu > 0 && (double)sharing / ncpu > *oversub) *oversub = (double)sharing / ncpu;
    }
}

void tutti_comm_model_setup(tutti_comm_t comm)
{
    int ppn, sockets, from_env = 0;
    double oversub;
    const char *net = "tcp", *intra = "shm";
    for (int q = 0; q < comm->nranks; q++) {
        tutti_link_t *l = tutti_engine_link(&comm->engine, q, 0);
        if (!l->tp) continue;
        if (comm->node_of_rank[q] != comm->node_of_rank[comm->rank]) net = l->tp->name;
        else intra = l->tp->name;
    }
    /* every rank must use the same: the transport of the first pair of
     * ranks on different nodes is what the same rule chose everywhere */
    tutti_comm_model_shape(comm, &ppn, &sockets, &oversub);
    tutti_model_defaults(&comm->algo.model, net, ppn, sockets, oversub, comm->slice_max);
    tutti_model_intra(&comm->algo.model, intra, oversub);
    if (comm->nnodes == 1 && comm->engine.win) {
        comm->algo.model.win = 1;
        comm->algo.model.win_bytes = comm->win.bytes;
        comm->algo.model.win_oneshot = comm->win.oneshot;
    }
    (void)tutti_param_raw(TUTTI_P_SMALL_MSG_SIZE, &from_env);
    if (from_env) comm->algo.model.on = 0; /* the user's threshold decides */
    tutti_algo_memo_clear(&comm->algo);
}
