/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TAP for the multi-process tests: one line per verdict, from rank 0.  A
 * verdict is ok only when it is ok on every rank of MPI_COMM_WORLD; the
 * first failing rank's message reaches rank 0 and is printed under the
 * line.  MPI only carries verdicts, so a tutti bug cannot hide a failure.
 */
#ifndef TUTTI_TESTS_MPI_VERDICT_H
#define TUTTI_TESTS_MPI_VERDICT_H

#include <mpi.h>
#include <stdio.h>

static int verdict_n; /* verdicts so far: the plan */

static void verdict(int local_ok, const char *local_msg, const char *desc)
{
    int me, np, all_ok = 0, first_bad;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    int bad_rank = local_ok ? np : me;
    MPI_Allreduce(&local_ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    MPI_Allreduce(&bad_rank, &first_bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    char msg[700] = "";
    if (!all_ok) {
        if (first_bad == me) snprintf(msg, sizeof(msg), "rank %d: %s", me, local_msg ? local_msg : "");
        MPI_Bcast(msg, sizeof(msg), MPI_CHAR, first_bad, MPI_COMM_WORLD);
    }
    verdict_n++;
    if (me != 0) return;
    printf("%sok %d - np=%d %s\n", all_ok ? "" : "not ", verdict_n, np, desc);
    if (!all_ok && msg[0]) printf("# %s\n", msg);
    fflush(stdout);
}

/* A case that cannot run here, and why (the same on every rank). */
static inline void verdict_skip(const char *desc, const char *why)
{
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    verdict_n++;
    if (me != 0) return;
    int np;
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    printf("ok %d - np=%d %s # SKIP %s\n", verdict_n, np, desc, why);
    fflush(stdout);
}

/* The TAP plan (rank 0), after the last verdict. */
static void verdict_plan(void)
{
    int me;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (me != 0) return;
    printf("1..%d\n", verdict_n);
    fflush(stdout);
}

#endif
