/* SPDX-License-Identifier: BSD-3-Clause */
#include "perf_math.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int perf_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno) return -1;
    unsigned long long m = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': m = 1ULL << 10; end++; break;
    case 'M': m = 1ULL << 20; end++; break;
    case 'G': m = 1ULL << 30; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b') end++;
    if (*end != '\0' || v > SIZE_MAX / m) return -1;
    *out = (size_t)(v * m);
    return 0;
}

size_t perf_count(perf_coll_t c, size_t bytes, size_t esize, int nranks)
{
    size_t count = bytes / esize;
    if (c == PERF_ALLGATHER || c == PERF_REDUCE_SCATTER || c == PERF_ALLTOALL) count -= count % (size_t)nranks;
    return count;
}

size_t perf_call_count(perf_coll_t c, size_t count, int nranks)
{
    return (c == PERF_ALLGATHER || c == PERF_REDUCE_SCATTER || c == PERF_ALLTOALL) ? count / (size_t)nranks : count;
}

double perf_busbw_factor(perf_coll_t c, int n)
{
    switch (c) {
    case PERF_ALLREDUCE: return n > 1 ? 2.0 * (n - 1) / n : 0.0;
    case PERF_ALLGATHER:
    case PERF_REDUCE_SCATTER:
    case PERF_ALLTOALL: return n > 1 ? (double)(n - 1) / n : 0.0;
    case PERF_BROADCAST:
    case PERF_REDUCE:
    case PERF_SENDRECV: return 1.0;
    default: return 0.0;
    }
}

double perf_algbw(size_t bytes, double usec)
{
    return usec > 0 ? (double)bytes / 1e3 / usec : 0.0;
}

static int perf_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double perf_quantile(double *v, size_t n, double q)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof(double), perf_cmp);
    if (q <= 0) return v[0];
    size_t k = (size_t)ceil(q * (double)n);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

const char *perf_fmt(double v, int width, char *buf, size_t len)
{
    /* as many decimals as fit, like nccl-tests' getFloatStr */
    for (int prec = 2; prec >= 0; prec--) {
        int n = snprintf(buf, len, "%.*f", prec, v);
        if (n <= width) return buf;
    }
    snprintf(buf, len, "%.*g", width > 6 ? width - 5 : 1, v);
    return buf;
}
