/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Creating communicators under mpirun: from the environment mpirun exports,
 * from MPI communicators (world and a split of it), by tutti_comm_split
 * with collectives on parent and children interleaved, and with one rank
 * that never joins (the others must get TIMEOUT naming it, within the init
 * deadline).  Rank 0 prints TAP.
 */
#include "tutti.h"
#include "tutti_mpi.h"
#include "verdict.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int me, np;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* sum over the communicator of (its rank + 1) */
static int check_sum(tutti_comm_t c)
{
    int r, n, v, s = -1;
    tutti_comm_rank(c, &r);
    tutti_comm_size(c, &n);
    v = r + 1;
    if (tutti_allreduce(&v, &s, 1, TUTTI_INT32, TUTTI_SUM, c) != TUTTI_SUCCESS) return 0;
    return s == n * (n + 1) / 2;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    /* a short init deadline for the missing-rank case (read once, at the
     * first tutti call of the process) */
    setenv("TUTTI_INIT_TIMEOUT", "3", 1);

    tutti_comm_t env = NULL;
    tutti_result_t r = tutti_comm_init_env(&env);
    int rank = -1, size = -1;
    if (r == TUTTI_SUCCESS) {
        tutti_comm_rank(env, &rank);
        tutti_comm_size(env, &size);
    }
    verdict(r == TUTTI_SUCCESS && rank == me && size == np && check_sum(env), tutti_comm_last_error(NULL),
            "tutti_comm_init_env from what mpirun exports (no MPI involved)");

    /* from an MPI sub-communicator */
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, me % 2, me, &half);
    int hsize;
    MPI_Comm_size(half, &hsize);
    tutti_comm_t fromhalf = NULL;
    r = tutti_comm_init_mpi(&fromhalf, half);
    tutti_comm_size(fromhalf, &size);
    verdict(r == TUTTI_SUCCESS && size == hsize && check_sum(fromhalf), tutti_comm_last_error(NULL),
            "tutti_comm_init_mpi over an MPI_Comm_split of the world");

    /* split, with collectives on parent and child interleaved */
    tutti_comm_t child = NULL;
    int ok = env && tutti_comm_split(env, me % 3, np - me, &child) == TUTTI_SUCCESS && child;
    if (ok) {
        int cr, cs, expect_size = 0, expect_rank = 0;
        tutti_comm_rank(child, &cr);
        tutti_comm_size(child, &cs);
        for (int q = 0; q < np; q++)
            if (q % 3 == me % 3) {
                expect_size++;
                if (q > me) expect_rank++; /* keys np - q: higher ranks first */
            }
        ok = cr == expect_rank && cs == expect_size;
        float a[1000], b[1000], c[1000], d[1000];
        for (int i = 0; i < 1000; i++) a[i] = c[i] = 1;
        for (int round = 0; ok && round < 20; round++) {
            tutti_request_t r1, r2;
            ok = tutti_iallreduce(a, b, 1000, TUTTI_FLOAT32, TUTTI_SUM, env, &r1) == TUTTI_SUCCESS &&
                 tutti_iallreduce(c, d, 1000, TUTTI_FLOAT32, TUTTI_SUM, child, &r2) == TUTTI_SUCCESS &&
                 tutti_wait(r2) == TUTTI_SUCCESS && tutti_wait(r1) == TUTTI_SUCCESS && b[999] == (float)np &&
                 d[0] == (float)cs;
        }
    }
    verdict(ok, tutti_comm_last_error(env), "tutti_comm_split by rank % 3 with reversed keys; parent and child "
                                            "collectives outstanding together");
    if (child) tutti_comm_destroy(child);

    /* one rank never joins: the others get TIMEOUT naming it */
    if (np >= 2) {
        tutti_unique_id_t id;
        if (me == 0) tutti_get_unique_id(&id);
        MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
        tutti_comm_t part = NULL;
        double t0 = now(), took = 0;
        char msg[600] = "";
        ok = 1;
        if (me != np - 1) {
            r = tutti_comm_init_rank(&part, np, id, me);
            took = now() - t0;
            snprintf(msg, sizeof(msg), "%s %s (%.1f s)", tutti_result_name(r), tutti_comm_last_error(NULL), took);
            char want[64];
            snprintf(want, sizeof(want), "ranks %d of %d never joined", np - 1, np);
            ok = r == TUTTI_ERR_TIMEOUT && strstr(tutti_comm_last_error(NULL), want) && took < 3 + 5;
        }
        verdict(ok, msg, "a rank that never calls init: every other rank gets TIMEOUT naming it within the 3 s deadline");
    }

    verdict(tutti_comm_destroy(fromhalf) == TUTTI_SUCCESS && tutti_comm_destroy(env) == TUTTI_SUCCESS,
            tutti_comm_last_error(NULL), "destroy");
    MPI_Comm_free(&half);
    verdict_plan();
    MPI_Finalize();
    return 0;
}
