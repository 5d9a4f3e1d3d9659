/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost model of a communicator (src/tune/model.h) at creation: its job
 * shape and transports, from the allgathered job view, so every rank holds
 * the same model.  Its optional calibration is src/api/tuneprobe.c.
 */
#include "core/comm.h"

#include "coll.h"
#include "util/param.h"

static void tutti_comm_model_shape(tutti_comm_t comm, int *ppn, int *sockets, double *oversub)
{
    int p = comm->nranks;
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
