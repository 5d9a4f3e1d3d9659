/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A job without MPI for the launcher tests (tests/launch/): whatever
 * started it (mpirun, mpiexec, srun), tutti_comm_init_env must find the
 * rank, the size and the rendezvous with nothing exported.  Then the
 * collective matrix on a few sizes, each result checked exactly: all-reduce
 * (int32 sum, float max), broadcast from the last rank, all-gather,
 * reduce-scatter, reduce to rank 1 % size, all-to-all, barrier; a split;
 * and a second communicator from the environment (the launcher's service
 * again, with its own key).  One line per rank: "rank R of N ok (host H)"
 * or "rank R failed: <error>"; exit 0 only if every check passed.
 */
#include <tutti.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int me, np;
static char failure[600];

static int fail(const char *what, tutti_result_t r, tutti_comm_t c)
{
    if (!failure[0])
        snprintf(failure, sizeof(failure), "%s: %s%s%s", what, r ? tutti_result_name(r) : "wrong result",
                 r ? ": " : "", r ? tutti_comm_last_error(c) : "");
    return 1;
}

static int matrix(tutti_comm_t c)
{
    static const size_t sizes[] = {1, 4099, 262147};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        int32_t *a = malloc(n * sizeof(int32_t) * (size_t)np), *b = malloc(n * sizeof(int32_t) * (size_t)np);
        float *f = malloc(n * sizeof(float));
        tutti_result_t r;
        int bad = 0;
        if (!a || !b || !f) return fail("malloc", TUTTI_ERR_NO_MEMORY, c);
        for (size_t i = 0; i < n; i++) a[i] = (int32_t)(me * 3 + (int)i), f[i] = (float)((me * 7 + (int)i) % 11);
        if ((r = tutti_allreduce(a, b, n, TUTTI_INT32, TUTTI_SUM, c))) return fail("allreduce", r, c);
        for (size_t i = 0; i < n; i++) bad |= b[i] != (int32_t)(3 * np * (np - 1) / 2 + np * (int)i);
        if (bad) return fail("allreduce int32 sum", 0, c);
        if ((r = tutti_allreduce(f, f, n, TUTTI_FLOAT32, TUTTI_MAX, c))) return fail("allreduce max", r, c);
        for (size_t i = 0; i < n; i++) {
            float want = 0;
            for (int q = 0; q < np; q++)
                if ((float)((q * 7 + (int)i) % 11) > want) want = (float)((q * 7 + (int)i) % 11);
            bad |= f[i] != want;
        }
        if (bad) return fail("allreduce float max", 0, c);
        for (size_t i = 0; i < n; i++) a[i] = me == np - 1 ? (int32_t)(i * 5) : -1;
        if ((r = tutti_broadcast(a, a, n, TUTTI_INT32, np - 1, c))) return fail("broadcast", r, c);
        for (size_t i = 0; i < n; i++) bad |= a[i] != (int32_t)(i * 5);
        if (bad) return fail("broadcast", 0, c);
        for (size_t i = 0; i < n; i++) a[i] = (int32_t)(me * 1000003 + (int)i);
        if ((r = tutti_allgather(a, b, n, TUTTI_INT32, c))) return fail("allgather", r, c);
        for (int q = 0; q < np; q++)
            for (size_t i = 0; i < n; i++) bad |= b[(size_t)q * n + i] != (int32_t)(q * 1000003 + (int)i);
        if (bad) return fail("allgather", 0, c);
        for (size_t i = 0; i < n * (size_t)np; i++) b[i] = (int32_t)(me + (int)i);
        if ((r = tutti_reduce_scatter(b, a, n, TUTTI_INT32, TUTTI_SUM, c))) return fail("reduce_scatter", r, c);
        for (size_t i = 0; i < n; i++) bad |= a[i] != (int32_t)(np * (np - 1) / 2 + np * (int)((size_t)me * n + i));
        if (bad) return fail("reduce_scatter", 0, c);
        for (size_t i = 0; i < n; i++) a[i] = (int32_t)(me + 1);
        if ((r = tutti_reduce(a, b, n, TUTTI_INT32, TUTTI_SUM, 1 % np, c))) return fail("reduce", r, c);
        for (size_t i = 0; i < n && me == 1 % np; i++) bad |= b[i] != (int32_t)(np * (np + 1) / 2);
        if (bad) return fail("reduce", 0, c);
        for (int q = 0; q < np; q++)
            for (size_t i = 0; i < n; i++) a[(size_t)q * n + i] = (int32_t)(me * 100 + q);
        if ((r = tutti_alltoall(a, b, n, TUTTI_INT32, c))) return fail("alltoall", r, c);
        for (int q = 0; q < np; q++)
            for (size_t i = 0; i < n; i++) bad |= b[(size_t)q * n + i] != (int32_t)(q * 100 + me);
        if (bad) return fail("alltoall", 0, c);
        free(a);
        free(b);
        free(f);
    }
    tutti_result_t r = tutti_barrier(c);
    return r ? fail("barrier", r, c) : 0;
}

/* --time: only tutti_comm_init_env, timed; rank 0 prints the slowest
 * rank's seconds (an all-reduce of the times) for perf/init_env.sh */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each verdict line out at once, whatever exit does */
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    tutti_comm_t c, half = NULL, second;
    double t0 = now();
    tutti_result_t r = tutti_comm_init_env(&c);
    double t_init = now() - t0;
    if (argc > 1 && strcmp(argv[1], "--time") == 0 && r == TUTTI_SUCCESS) {
        double worst = 0;
        tutti_comm_rank(c, &me);
        tutti_comm_size(c, &np);
        r = tutti_allreduce(&t_init, &worst, 1, TUTTI_FLOAT64, TUTTI_MAX, c);
        if (me == 0 && r == TUTTI_SUCCESS) printf("init_env %d ranks: %.3f s (slowest rank)\n", np, worst);
        tutti_comm_destroy(c);
        return r != TUTTI_SUCCESS;
    }
    if (r != TUTTI_SUCCESS) {
        printf("rank ? failed: init: %s: %s\n", tutti_result_name(r), tutti_comm_last_error(NULL));
        return 1;
    }
    tutti_comm_rank(c, &me);
    tutti_comm_size(c, &np);
    int bad = matrix(c);
    if (!bad && (r = tutti_comm_split(c, me % 2, me, &half))) bad = fail("split", r, c);
    if (!bad) {
        int hn = 0, hm = 0;
        tutti_comm_size(half, &hn);
        tutti_comm_rank(half, &hm);
        int32_t v = me, sum = 0, want = 0;
        for (int q = me % 2; q < np; q += 2) want += q;
        if ((r = tutti_allreduce(&v, &sum, 1, TUTTI_INT32, TUTTI_SUM, half))) bad = fail("split allreduce", r, half);
        else if (sum != want || hm != me / 2) bad = fail("split allreduce", 0, half);
        (void)hn;
    }
    if (!bad && (r = tutti_comm_init_env(&second)) != TUTTI_SUCCESS) {
        bad = fail("second tutti_comm_init_env", r, NULL);
    } else if (!bad) {
        int32_t v = 1, sum = 0;
        if ((r = tutti_allreduce(&v, &sum, 1, TUTTI_INT32, TUTTI_SUM, second))) bad = fail("second comm", r, second);
        else if (sum != np) bad = fail("second comm allreduce", 0, second);
        tutti_comm_destroy(second);
    }
    if (half) tutti_comm_destroy(half);
    if (bad) printf("rank %d failed: %s\n", me, failure);
    else printf("rank %d of %d ok (host %s)\n", me, np, host);
    tutti_comm_destroy(c);
    return bad;
}
