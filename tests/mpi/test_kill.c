/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A rank killed with SIGKILL in the middle of a 64 MiB all-reduce, under the
 * real mpirun (started with --mca orte_abort_on_non_zero_status 0 so that
 * Open MPI lets the survivors live).  Every survivor, also those that do not
 * exchange data with the dead rank directly, must return TUTTI_ERR_REMOTE
 * (or TIMEOUT) naming it, well within the 10 s deadline; then get the same
 * error from tutti_comm_get_async_error and destroy cleanly.  Verdicts travel
 * over an MPI communicator of the survivors.  Rank 0 prints TAP.
 */
#include "tutti.h"
#include "tutti_mpi.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int me, np;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    int victim = np - 1;
    MPI_Comm alive;
    MPI_Comm_split(MPI_COMM_WORLD, me == victim, me, &alive);
    tutti_comm_t comm;
    if (tutti_comm_init_mpi(&comm, MPI_COMM_WORLD) != TUTTI_SUCCESS) {
        fprintf(stderr, "rank %d: init: %s\n", me, tutti_comm_last_error(NULL));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    tutti_comm_set_timeout(comm, 10);
    size_t n = 16u << 20; /* 64 MiB of float */
    float *a = calloc(n, sizeof(float)), *b = calloc(n, sizeof(float));
    for (int i = 0; i < 3; i++) tutti_allreduce(a, b, 1024, TUTTI_FLOAT32, TUTTI_SUM, comm);
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == victim) {
        tutti_request_t q;
        int done;
        tutti_iallreduce(a, b, n, TUTTI_FLOAT32, TUTTI_SUM, comm, &q);
        for (int i = 0; i < 50; i++) tutti_test(q, &done); /* well into it */
        usleep(10000);
        kill(getpid(), SIGKILL);
    }
    double t0 = now();
    tutti_result_t r = tutti_allreduce(a, b, n, TUTTI_FLOAT32, TUTTI_SUM, comm);
    double took = now() - t0;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", tutti_comm_last_error(comm));
    char name[32];
    snprintf(name, sizeof(name), "rank %d", victim);
    int ok = (r == TUTTI_ERR_REMOTE || r == TUTTI_ERR_TIMEOUT) && strstr(msg, name) && took < 10;
    if (!ok) printf("# rank %d: %s after %.3f s: %s\n", me, tutti_result_name(r), took, msg);
    tutti_result_t async = TUTTI_SUCCESS;
    tutti_comm_get_async_error(comm, &async);
    int async_ok = async == r;
    double t1 = now();
    int destroyed = tutti_comm_destroy(comm) == TUTTI_SUCCESS;
    double tdestroy = now() - t1;

    int na;
    MPI_Comm_size(alive, &na);
    double *times = malloc(sizeof(double) * (size_t)na);
    int all_ok = 0, all_async = 0, all_destroyed = 0;
    MPI_Gather(&took, 1, MPI_DOUBLE, times, 1, MPI_DOUBLE, 0, alive);
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, alive);
    MPI_Allreduce(&async_ok, &all_async, 1, MPI_INT, MPI_LAND, alive);
    int dok = destroyed && tdestroy < 5;
    MPI_Allreduce(&dok, &all_destroyed, 1, MPI_INT, MPI_LAND, alive);
    if (me == 0) {
        for (int i = 0; i < na; i++)
            for (int j = i + 1; j < na; j++)
                if (times[j] < times[i]) {
                    double x = times[i];
                    times[i] = times[j];
                    times[j] = x;
                }
        printf("%sok 1 - np=%d: rank %d SIGKILLed mid 64 MiB all-reduce: all %d survivors fail with REMOTE/TIMEOUT naming it; "
               "detection median %.3f s, max %.3f s (deadline 10 s)\n",
               all_ok ? "" : "not ", np, victim, na, times[na / 2], times[na - 1]);
        printf("# rank 0: %s\n", msg);
        printf("%sok 2 - np=%d: tutti_comm_get_async_error reports the same error on every survivor\n", all_async ? "" : "not ", np);
        printf("%sok 3 - np=%d: survivors destroy the communicator without hanging\n", all_destroyed ? "" : "not ", np);
        printf("1..3\n");
        fflush(stdout);
    }
    /* MPI_Finalize would wait for the dead rank, so every survivor leaves
     * with _exit, which mpirun calls improper and answers by killing the
     * rest: the others wait until rank 0's verdict is out (in its stdout
     * pipe), and leave after it */
    fflush(stdout);
    MPI_Barrier(alive);
    MPI_Comm_free(&alive);
    free(a);
    free(b);
    free(times);
    if (me != 0) usleep(300000);
    _exit(0);
}
