/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The arithmetic of the benchmarks, kept pure so it is unit-tested
 * (tests/unit/test_perfmath.c): size parsing, element counts, bus-bandwidth
 * factors (nccl-tests' doc/PERFORMANCE.md), percentiles, number formatting.
 */
#ifndef TUTTI_PERF_MATH_H
#define TUTTI_PERF_MATH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PERF_ALLREDUCE,
    PERF_BROADCAST,
    PERF_ALLGATHER,
    PERF_REDUCE_SCATTER,
    PERF_REDUCE,
    PERF_ALLTOALL,
    PERF_SENDRECV, /* each rank sends to rank+1 and receives from rank-1 */
    PERF_NCOLL
} perf_coll_t;

/* "64", "64K", "1M", "2G" (powers of 1024).  0 on success. */
int perf_parse_size(const char *s, size_t *out);

/* Element count of the "count" column for a size in bytes: size / esize,
 * rounded down to what the collective can split evenly over nranks. */
size_t perf_count(perf_coll_t c, size_t bytes, size_t esize, int nranks);
/* Elements each rank passes to the call (sendcount / recvcount / count). */
size_t perf_call_count(perf_coll_t c, size_t count, int nranks);

/* busbw = algbw * factor:  all-reduce 2(n-1)/n; all-gather and
 * reduce-scatter (n-1)/n; broadcast and reduce 1. */
double perf_busbw_factor(perf_coll_t c, int nranks);

/* algbw in GB/s (1e9 bytes/s) for `bytes` moved in `usec` microseconds. */
double perf_algbw(size_t bytes, double usec);

/* q-quantile (0..1, nearest rank) of n values; sorts v in place. */
double perf_quantile(double *v, size_t n, double q);

/* nccl-tests' fixed-width number: at most `width` characters. */
const char *perf_fmt(double v, int width, char *buf, size_t len);

#endif
