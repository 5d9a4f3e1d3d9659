/* SPDX-License-Identifier: BSD-3-Clause */
/* The benchmark harness's parts (perf/harness.c runs them). */
#ifndef TUTTI_PERF_HARNESS_INT_H
#define TUTTI_PERF_HARNESS_INT_H

#include "perf_math.h"
#include "tutti.h"

#include <mpi.h>
#include <stddef.h>

typedef struct {
    size_t minbytes, maxbytes, stepbytes;
    double stepfactor;
    int iters, warmup, check, blocking, average, per_iter;
    int all_dt, all_op, all_root, dt, op, root;
    double timeout;
    const char *json;
    int mpi, sweep, cold, slices, memcpy_bar;
} opts_t;

extern const char *const op_names[TUTTI_NUM_OPS];
extern const char *const dt_names[TUTTI_NUM_DATATYPES];

/* nccl-tests' flags and ours (harness_opts.c); 0, or -1 after a message
 * (rank 0) or the usage. */
int perf_parse_opts(int argc, char **argv, opts_t *o, perf_coll_t coll, int me, const char *bench_name, int *vcounts);

/* What tutti is compared with (baseline.c): MPI's datatype and op for
 * ours (MPI_DATATYPE_NULL, MPI_OP_NULL where MPI has none), and one core's
 * memcpy of `bytes` in GB/s, measured on rank 0 alone, known to all. */
MPI_Datatype perf_mpi_type(int dt);
MPI_Op perf_mpi_op(int op);
double perf_memcpy_bw(int iters, size_t bytes);

#endif
