/* SPDX-License-Identifier: BSD-3-Clause */
/* The benchmarks' arithmetic: sizes, counts, bus-bandwidth factors, percentiles. */
#include "perf_math.h"
#include "tap.h"

#include <math.h>
#include <string.h>

static int near(double a, double b) { return fabs(a - b) <= 1e-12 * (fabs(b) + 1); }

int main(void)
{
    struct { const char *s; size_t v; } sz[] = {{"8", 8}, {"1K", 1024}, {"64K", 65536}, {"256M", 256u << 20},
                                                {"1G", 1u << 30}, {"4k", 4096}, {"2MB", 2u << 20}};
    for (size_t k = 0; k < sizeof(sz) / sizeof(sz[0]); k++) {
        size_t v = 0;
        tap_ok(perf_parse_size(sz[k].s, &v) == 0 && v == sz[k].v, "size '%s' = %zu", sz[k].s, sz[k].v);
    }
    const char *bad[] = {"", "-8", "K", "8X", "1.5M"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        size_t v;
        tap_ok(perf_parse_size(bad[k], &v) != 0, "size '%s' rejected", bad[k]);
    }
    /* nccl-tests' factors: all-reduce 2(n-1)/n, all-gather and
     * reduce-scatter (n-1)/n, broadcast and reduce 1 */
    int okf = 1;
    for (int n = 1; n <= 64; n++) {
        if (!near(perf_busbw_factor(PERF_ALLREDUCE, n), n > 1 ? 2.0 * (n - 1) / n : 0)) okf = 0;
        if (!near(perf_busbw_factor(PERF_ALLGATHER, n), n > 1 ? (double)(n - 1) / n : 0)) okf = 0;
        if (!near(perf_busbw_factor(PERF_REDUCE_SCATTER, n), n > 1 ? (double)(n - 1) / n : 0)) okf = 0;
        if (perf_busbw_factor(PERF_BROADCAST, n) != 1.0 || perf_busbw_factor(PERF_REDUCE, n) != 1.0) okf = 0;
    }
    tap_ok(okf, "bus-bandwidth factors for n = 1..64");
    tap_ok(near(perf_busbw_factor(PERF_ALLREDUCE, 8), 1.75) && near(perf_busbw_factor(PERF_ALLGATHER, 4), 0.75),
           "all-reduce on 8 ranks: 1.75; all-gather on 4: 0.75");
    tap_ok(near(perf_algbw(1000000000, 1e6), 1.0) && near(perf_algbw(64u << 20, 10000), 6.7108864),
           "algbw: 1 GB in 1 s is 1 GB/s; 64 MiB in 10 ms is 6.71 GB/s");
    tap_ok(perf_count(PERF_ALLREDUCE, 1000, 4, 3) == 250 && perf_count(PERF_ALLGATHER, 1000, 4, 3) == 249 &&
               perf_call_count(PERF_ALLGATHER, 249, 3) == 83 && perf_call_count(PERF_REDUCE_SCATTER, 249, 3) == 83 &&
               perf_call_count(PERF_BROADCAST, 250, 3) == 250,
           "counts: all-gather and reduce-scatter round to a multiple of the rank count");
    double v[100];
    for (int i = 0; i < 100; i++) v[i] = 100 - i;
    tap_ok(perf_quantile(v, 100, 0) == 1 && perf_quantile(v, 100, 0.5) == 50 && perf_quantile(v, 100, 0.99) == 99 &&
               perf_quantile(v, 100, 1) == 100,
           "quantiles: min, median, p99, max of 1..100");
    double one = 7;
    tap_ok(perf_quantile(&one, 1, 0.99) == 7, "quantile of one value");
    char b[32];
    tap_ok(!strcmp(perf_fmt(0.36, 7, b, sizeof(b)), "0.36") && !strcmp(perf_fmt(12345.678, 7, b, sizeof(b)), "12345.7") &&
               !strcmp(perf_fmt(1234567.0, 7, b, sizeof(b)), "1234567") && strlen(perf_fmt(123456789.0, 7, b, sizeof(b))) <= 7,
           "numbers fit nccl-tests' 7-character columns");
    return tap_done();
}
