/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A host whose network link goes down mid-collective (the harness runs
 * `ip link set tt0 down` in its namespace).  Every rank runs all-reduces
 * until one fails; it then writes, to $TT_OUT/result.<rank>, what it got:
 * the error, how long after its last successful call, the message, and
 * whether destroy returned.  MPI cannot be used after the cut (its own
 * traffic crosses the same link), so verdicts go through files on the
 * shared file system, and the harness judges them.
 *
 *   $TT_OUT/ready.<rank>   written after the first 20 good calls: cut now
 */
#include "tutti.h"
#include "tutti_mpi.h"

#include <mpi.h>
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
    const char *out = getenv("TT_OUT");
    char path[512], host[64] = "?";
    gethostname(host, sizeof(host) - 1);
    if (!out) {
        fprintf(stderr, "TT_OUT is not set\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    tutti_comm_t comm;
    if (tutti_comm_init_mpi(&comm, MPI_COMM_WORLD) != TUTTI_SUCCESS) {
        fprintf(stderr, "rank %d: init: %s\n", me, tutti_comm_last_error(NULL));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    size_t count = 64 * 1024;
    float *buf = calloc(count, sizeof(float));
    double start = now(), last_ok = start;
    tutti_result_t r = TUTTI_SUCCESS;
    long calls = 0;
    while (now() - start < 120) {
        r = tutti_allreduce(buf, buf, count, TUTTI_FLOAT32, TUTTI_SUM, comm);
        if (r != TUTTI_SUCCESS) break;
        last_ok = now();
        if (++calls == 20) {
            snprintf(path, sizeof(path), "%s/ready.%d", out, me);
            FILE *f = fopen(path, "w");
            if (f) fclose(f);
        }
    }
    double detect = now() - last_ok;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", tutti_comm_last_error(comm));
    for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    double t0 = now();
    tutti_result_t d = tutti_comm_destroy(comm);
    double tdestroy = now() - t0;
    snprintf(path, sizeof(path), "%s/result.%d.tmp", out, me);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "rank=%d host=%s calls=%ld result=%s detect=%.3f destroy=%s destroy_s=%.3f msg=%s\n", me, host,
                calls, tutti_result_name(r), detect, tutti_result_name(d), tdestroy, msg);
        fclose(f);
        char final[512];
        snprintf(final, sizeof(final), "%s/result.%d", out, me);
        rename(path, final);
    }
    free(buf);
    /* no MPI_Finalize: MPI's own connections crossed the dead link */
    _exit(0);
}
