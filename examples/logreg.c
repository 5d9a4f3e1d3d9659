/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Data-parallel logistic regression: the smallest real training loop.
 *
 * Every rank owns a shard of a synthetic data set (samples i with
 * i % nranks == rank), computes the gradient of the log-loss on its shard,
 * and tutti_allreduce sums the gradients (and the loss) over ranks, so every
 * rank takes the same step and keeps identical weights.  Rank 0 prints the
 * loss per epoch.  With --check, rank 0 also trains the same model alone on
 * the whole data set and compares: the losses and weights must agree to
 * within floating-point reassociation (1e-9 relative).
 *
 *   mpirun -np 4 examples/logreg [--epochs 20] [--samples 20000] [--check]
 *
 * No MPI code: ranks find each other from what mpirun exports
 * (tutti_comm_init_env).  Any launcher that sets rank and size works.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tutti.h>

#define DIM 16

/* Deterministic sample i: features in [-1, 1], label from a hidden model
 * plus label noise, so the problem is learnable but not separable. */
static void sample(uint64_t i, double *x, double *y)
{
    uint64_t s = i * 0x9e3779b97f4a7c15ULL + 12345;
    double z = 0.3;
    for (int d = 0; d < DIM; d++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[d] = (double)(s % 20001) / 10000.0 - 1.0;
        z += x[d] * ((d % 3) - 1) * (1.0 + d / 8.0);
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    double noise = (double)(s % 1000) / 1000.0;
    *y = (1.0 / (1.0 + exp(-z)) > noise) ? 1.0 : 0.0;
}

/* Gradient (DIM weights + bias) and summed log-loss over samples
 * first, first+stride, ... < n. */
static void local_grad(const double *w, uint64_t n, uint64_t first, uint64_t stride, double *g)
{
    double x[DIM], y;
    memset(g, 0, sizeof(double) * (DIM + 2));
    for (uint64_t i = first; i < n; i += stride) {
        sample(i, x, &y);
        double z = w[DIM];
        for (int d = 0; d < DIM; d++) z += w[d] * x[d];
        double p = 1.0 / (1.0 + exp(-z));
        for (int d = 0; d < DIM; d++) g[d] += (p - y) * x[d];
        g[DIM] += p - y;
        g[DIM + 1] += -(y * log(p + 1e-12) + (1 - y) * log(1 - p + 1e-12));
    }
}

static void step(double *w, const double *g, uint64_t n, double lr)
{
    for (int d = 0; d <= DIM; d++) w[d] -= lr * g[d] / (double)n;
}

int main(int argc, char **argv)
{
    int epochs = 20, check = 0;
    uint64_t n = 20000;
    double lr = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--check")) check = 1;
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--samples N] [--check]\n", argv[0]);
            return 2;
        }
    }
    tutti_comm_t comm;
    tutti_result_t r = tutti_comm_init_env(&comm);
    if (r != TUTTI_SUCCESS) {
        fprintf(stderr, "logreg: tutti_comm_init_env: %s: %s\n", tutti_strerror(r), tutti_comm_last_error(NULL));
        return 1;
    }
    int rank, size;
    tutti_comm_rank(comm, &rank);
    tutti_comm_size(comm, &size);
    char desc[256];
    tutti_comm_describe(comm, desc, sizeof(desc));
    if (rank == 0) printf("logreg: %llu samples, %d features, %d epochs; %s\n", (unsigned long long)n, DIM, epochs, desc);

    double w[DIM + 1] = {0}, g[DIM + 2], sum[DIM + 2];
    double *losses = calloc((size_t)epochs, sizeof(double));
    for (int e = 0; e < epochs; e++) {
        local_grad(w, n, (uint64_t)rank, (uint64_t)size, g);
        /* one all-reduce carries the gradient and the loss */
        r = tutti_allreduce(g, sum, DIM + 2, TUTTI_FLOAT64, TUTTI_SUM, comm);
        if (r != TUTTI_SUCCESS) {
            fprintf(stderr, "logreg: rank %d: allreduce: %s\n", rank, tutti_comm_last_error(comm));
            return 1;
        }
        losses[e] = sum[DIM + 1] / (double)n;
        if (rank == 0) printf("epoch %3d  loss %.10f\n", e, losses[e]);
        step(w, sum, n, lr);
    }
    int status = 0;
    if (check && rank == 0) {
        /* the same training in one process */
        double w1[DIM + 1] = {0}, g1[DIM + 2], worst = 0;
        for (int e = 0; e < epochs; e++) {
            local_grad(w1, n, 0, 1, g1);
            double rel = fabs(g1[DIM + 1] / (double)n - losses[e]) / fabs(losses[e]);
            if (rel > worst) worst = rel;
            step(w1, g1, n, lr);
        }
        for (int d = 0; d <= DIM; d++) {
            double rel = fabs(w1[d] - w[d]) / (fabs(w1[d]) + 1e-12);
            if (rel > worst) worst = rel;
        }
        int ok = worst < 1e-9;
        printf("check: %d-rank training matches the single-process result: %s (largest relative difference %.2e)\n",
               size, ok ? "yes" : "NO", worst);
        status = ok ? 0 : 1;
    }
    /* everyone learns the verdict, so the exit status is the same on all */
    int all_status = 0;
    tutti_allreduce(&status, &all_status, 1, TUTTI_INT32, TUTTI_MAX, comm);
    free(losses);
    tutti_comm_destroy(comm);
    return all_status;
}
