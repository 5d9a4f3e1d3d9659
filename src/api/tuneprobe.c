/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost model's optional calibration (TUTTI_TUNE_PROBE=1), made of
 * public calls on the new communicator (hence here, with the entry points;
 * the model itself is set up in src/core/tunemodel.c):
 *
 *   30 x 8 B all-reduce, recursive doubling   -> alpha  (latency per step)
 *    3 x 1 MiB all-reduce, ring               -> beta   (seconds per byte)
 *
 * on the job's slowest hop class, timed on every rank; one allgather and
 * every rank takes the slowest rank's figures, so all decide alike.
 */
#include "api/api.h"

#include "coll.h"
#include "util/log.h"
#include "util/param.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From the allgathered job view only (identical on every rank): ranks on
 * the fullest node, sockets its ranks span, and how many ranks share each
 * CPU at worst (ranks under one kernel over the CPUs they may use). */
static double tutti_comm_probe_time(tutti_comm_t comm, const char *algo, void *buf, size_t count, int iters)
{
    tutti_algo_config_t saved = comm->algo;
    comm->algo.model.on = 0;
    comm->algo.nrules = 0;
    comm->algo.nranges[TUTTI_COLL_ALLREDUCE] = 0;
    comm->algo.allowed[TUTTI_COLL_ALLREDUCE] = 1u << (strcmp(algo, "rd") == 0 ? TUTTI_ALGO_RD : TUTTI_ALGO_RING);
    tutti_algo_memo_clear(&comm->algo); /* restored with the rest below */
    memset(comm->logged, 0xff, sizeof(comm->logged)); /* the probe's forced calls are not explained */
    double t = -1;
    if (tutti_allreduce(buf, buf, count, TUTTI_FLOAT32, TUTTI_SUM, comm) == TUTTI_SUCCESS) { /* warm-up */
        double t0 = tutti_time_now();
        int k;
        for (k = 0; k < iters; k++)
            if (tutti_allreduce(buf, buf, count, TUTTI_FLOAT32, TUTTI_SUM, comm) != TUTTI_SUCCESS) break;
        if (k == iters) t = (tutti_time_now() - t0) / iters;
    }
    comm->algo = saved;
    memset(comm->logged, 0, sizeof(comm->logged)); /* explain real calls, not the probe's */
    return t;
}

tutti_result_t tutti_comm_tune_probe(tutti_comm_t comm)
{
    int p = comm->nranks;
    if (!tutti_param_int(TUTTI_P_TUNE_PROBE) || p < 2 || !comm->algo.model.on) return TUTTI_SUCCESS;
    const size_t big = 1u << 20;
    float *buf = calloc(big / sizeof(float), sizeof(float));
    double mine[2] = {-1, -1}, *all = calloc((size_t)p, sizeof(mine));
    tutti_result_t r = TUTTI_ERR_NO_MEMORY;
    if (!buf || !all) goto out;
    mine[0] = tutti_comm_probe_time(comm, "rd", buf, 2, 30);
    mine[1] = tutti_comm_probe_time(comm, "ring", buf, big / sizeof(float), 3);
    r = tutti_bootstrap_allgather(comm->boot, mine, all, sizeof(mine));
    if (r != TUTTI_SUCCESS) goto out;
    double ts = 0, tb = 0;
    for (int q = 0; q < p; q++) {
        if (all[2 * q] < 0 || all[2 * q + 1] < 0) ts = -1; /* some rank failed: defaults stay */
        if (ts >= 0 && all[2 * q] > ts) ts = all[2 * q];
        if (all[2 * q + 1] > tb) tb = all[2 * q + 1];
    }
    if (ts > 0 && tb > 0) {
        tutti_model_t *m = &comm->algo.model;
        int lg = 0;
        while ((1 << lg) < p) lg++;
        int steps = lg + ((p & (p - 1)) ? 2 : 0);
        double n = (double)big, alpha = ts / steps;
        /* ring: 2(p-1) alpha + 2(p-1)/p n beta + (p-1)/p n gamma */
        double beta = (tb - 2 * (p - 1) * alpha - (double)(p - 1) / p * n * m->gamma) / (2.0 * (p - 1) / p * n);
        char src[96];
        snprintf(src, sizeof(src), "probed: alpha %.2f us, %.2f GB/s", alpha * 1e6, beta > 0 ? 1e-9 / beta : 0.0);
        tutti_model_calibrate(m, comm->nnodes, alpha, beta, src);
        tutti_algo_memo_clear(&comm->algo);
        if (comm->rank == 0)
            TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "TUTTI_TUNE_PROBE: 8 B rd %.2f us, 1 MiB ring %.1f us (slowest "
                       "rank) -> %s on the %s hop", ts * 1e6, tb * 1e6, src,
                       comm->nnodes > 1 ? "node" : m->sockets > 1 ? "socket" : "same-socket");
        tutti_comm_log_table(comm); /* the table it now uses */
    }
out:
    free(buf);
    free(all);
    return r;
}
