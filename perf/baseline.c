/* SPDX-License-Identifier: BSD-3-Clause */
/* What the benchmarks compare tutti with: MPI's calls, and one core's memcpy. */
#include "harness_int.h"

#include <stdlib.h>
#include <string.h>

MPI_Datatype perf_mpi_type(int dt)
{
    switch (dt) {
    case TUTTI_INT8: return MPI_INT8_T;
    case TUTTI_UINT8: return MPI_UINT8_T;
    case TUTTI_INT16: return MPI_INT16_T;
    case TUTTI_UINT16: return MPI_UINT16_T;
    case TUTTI_INT32: return MPI_INT32_T;
    case TUTTI_UINT32: return MPI_UINT32_T;
    case TUTTI_INT64: return MPI_INT64_T;
    case TUTTI_UINT64: return MPI_UINT64_T;
    case TUTTI_FLOAT32: return MPI_FLOAT;
    case TUTTI_FLOAT64: return MPI_DOUBLE;
    default: return MPI_DATATYPE_NULL; /* no float16/bfloat16 in MPI-3/4 */
    }
}

MPI_Op perf_mpi_op(int op)
{
    switch (op) {
    case TUTTI_SUM: return MPI_SUM;
    case TUTTI_PROD: return MPI_PROD;
    case TUTTI_MIN: return MPI_MIN;
    case TUTTI_MAX: return MPI_MAX;
    case TUTTI_BAND: return MPI_BAND;
    case TUTTI_BOR: return MPI_BOR;
    case TUTTI_BXOR: return MPI_BXOR;
    default: return MPI_OP_NULL; /* MPI has no average */
    }
}

/* One core's memcpy of `bytes` (rank 0 alone while the others wait in a
 * barrier; warm buffers, the best of the timed iterations), in GB/s on
 * every rank. */
double perf_memcpy_bw(int iters, size_t bytes)
{
    static char *a, *b;
    static size_t cap;
    double bw = 0;
    int me = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Barrier(MPI_COMM_WORLD);
    if (me == 0 && bytes) {
        if (bytes > cap) {
            free(a);
            free(b);
            a = malloc(bytes);
            b = malloc(bytes);
            cap = a && b ? bytes : 0;
            if (cap) {
                memset(a, 1, bytes);
                memset(b, 2, bytes);
            }
        }
        if (cap) {
            double best = 0;
            memcpy(b, a, bytes); /* warm */
            for (int i = 0; i < iters; i++) {
                double t0 = MPI_Wtime();
                memcpy(b, a, bytes);
                double t = MPI_Wtime() - t0;
                if (best == 0 || t < best) best = t;
            }
            bw = best > 0 ? (double)bytes / best / 1e9 : 0;
        }
    }
    MPI_Bcast(&bw, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return bw;
}

