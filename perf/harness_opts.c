/* SPDX-License-Identifier: BSD-3-Clause */
/* The benchmarks' command line: nccl-tests' flags and meanings, and ours. */
#include "harness_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(const char *bench_name, int me)
{
    if (me != 0) return;
    fprintf(stderr,
            "usage: mpirun -np N %s [options]\n"
            "  -b, --minbytes SIZE     smallest size (default 32M; K/M/G suffixes)\n"
            "  -e, --maxbytes SIZE     largest size (default 32M)\n"
            "  -i, --stepbytes SIZE    increment between sizes (default 1M)\n"
            "  -f, --stepfactor F      multiply sizes by F instead\n"
            "  -n, --iters N           timed iterations per size (default 20)\n"
            "  -w, --warmup_iters N    untimed iterations first (default 1)\n"
            "  -c, --check N           check results: 0 no, N > 0 yes (default 1)\n"
            "  -d, --datatype T|all    int8 uint8 int32 uint32 int64 uint64 half bfloat16 float double\n"
            "  -o, --op OP|all         sum prod min max avg (default sum)\n"
            "  -r, --root R|all        root of broadcast/reduce (default 0)\n"
            "  -a, --average 0..3      time across ranks: 0 rank 0, 1 mean, 2 min, 3 max (default 1)\n"
            "  -z, --blocking 0|1      0: post all iterations nonblocking then wait; 1: blocking calls (default 1)\n"
            "  -T, --timeout S         deadline in seconds for each operation's waits\n"
            "  -I, --per_iter_timing 1 add min, median and p99 of per-iteration times\n"
            "  -J, --output_file F     write the results as JSON to F\n"
            "      --mpi               also run MPI on the same ranks, sizes and buffers; show the ratio\n"
            "      --cache-cold        rotate through buffers larger than the last-level cache\n"
            "      --memcpy            also time one core's memcpy of each size (rank 0 alone, warm\n"
            "                          buffers) and show busbw / memcpy: the bar a node-local call is held to\n"
            "      --sweep             run every algorithm at every size and mark the fastest\n"
            "      --slices            run the tuner's algorithm at every size with every pipelining slice\n"
            "                          (4K .. 256K) and compare the tuner's slice with the fastest\n"
            "      --vcounts           alltoall_perf: time tutti_alltoallv against MPI_Alltoallv (equal blocks)\n",
            bench_name);
}

static int lookup(const char *s, const char *const *names, int n)
{
    for (int k = 0; k < n; k++)
        if (strcasecmp(s, names[k]) == 0) return k;
    if (strcasecmp(s, "float32") == 0) return TUTTI_FLOAT32;
    if (strcasecmp(s, "float64") == 0) return TUTTI_FLOAT64;
    if (strcasecmp(s, "float16") == 0 || strcasecmp(s, "fp16") == 0) return TUTTI_FLOAT16;
    if (strcasecmp(s, "bf16") == 0) return TUTTI_BFLOAT16;
    return -1;
}

int perf_parse_opts(int argc, char **argv, opts_t *o, perf_coll_t coll, int me, const char *bench_name, int *vcounts)
{
    int np = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    memset(o, 0, sizeof(*o));
    o->minbytes = o->maxbytes = 32u << 20;
    o->stepbytes = 1u << 20;
    o->iters = 20;
    o->warmup = 1;
    o->check = 1;
    o->blocking = 1;
    o->average = 1;
    o->dt = TUTTI_FLOAT32;
    o->op = TUTTI_SUM;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define IS(s, l) (strcmp(a, s) == 0 || strcmp(a, l) == 0)
        if (IS("--mpi", "--mpi")) { o->mpi = 1; continue; }
        if (IS("--sweep", "--sweep")) { o->sweep = 1; continue; }
        if (IS("--slices", "--slices")) { o->sweep = o->slices = 1; continue; }
        if (IS("--cache-cold", "--cache-cold")) { o->cold = 1; continue; }
        if (IS("--memcpy", "--memcpy")) { o->memcpy_bar = 1; continue; }
        if (IS("--vcounts", "--vcounts")) {
            if (coll != PERF_ALLTOALL) {
                if (me == 0) fprintf(stderr, "%s: --vcounts is for alltoall_perf\n", bench_name);
                return -1;
            }
            *vcounts = 1;
            continue;
        }
        if (IS("-h", "--help")) { usage(bench_name, me); return -1; }
        if (!v) { if (me == 0) fprintf(stderr, "%s: %s needs a value\n", bench_name, a); return -1; }
        i++;
        int bad = 0;
        char *end;
        if (IS("-b", "--minbytes")) bad = perf_parse_size(v, &o->minbytes);
        else if (IS("-e", "--maxbytes")) bad = perf_parse_size(v, &o->maxbytes);
        else if (IS("-i", "--stepbytes")) bad = perf_parse_size(v, &o->stepbytes) || o->stepbytes == 0;
        else if (IS("-f", "--stepfactor")) { o->stepfactor = strtod(v, &end); bad = *end || o->stepfactor <= 1; }
        else if (IS("-n", "--iters")) { o->iters = (int)strtol(v, &end, 10); bad = *end || o->iters < 1; }
        else if (IS("-w", "--warmup_iters")) { o->warmup = (int)strtol(v, &end, 10); bad = *end || o->warmup < 0; }
        else if (IS("-c", "--check")) { o->check = (int)strtol(v, &end, 10); bad = *end || o->check < 0; }
        else if (IS("-z", "--blocking")) { o->blocking = (int)strtol(v, &end, 10); bad = *end || o->blocking < 0 || o->blocking > 1; }
        else if (IS("-a", "--average")) { o->average = (int)strtol(v, &end, 10); bad = *end || o->average < 0 || o->average > 3; }
        else if (IS("-I", "--per_iter_timing")) { o->per_iter = (int)strtol(v, &end, 10); bad = *end; }
        else if (IS("-T", "--timeout")) { o->timeout = strtod(v, &end); bad = *end || o->timeout <= 0; }
        else if (IS("-J", "--output_file")) o->json = v;
        else if (IS("-d", "--datatype")) {
            if (strcmp(v, "all") == 0) o->all_dt = 1;
            else bad = (o->dt = lookup(v, dt_names, TUTTI_NUM_DATATYPES)) < 0;
        } else if (IS("-o", "--op")) {
            if (strcmp(v, "all") == 0) o->all_op = 1;
            else bad = (o->op = lookup(v, op_names, TUTTI_NUM_OPS)) < 0;
        } else if (IS("-r", "--root")) {
            if (strcmp(v, "all") == 0) o->all_root = 1;
            else { o->root = (int)strtol(v, &end, 10); bad = *end || o->root < 0 || o->root >= np; }
        } else {
            if (me == 0) fprintf(stderr, "%s: unknown option %s\n", bench_name, a);
            usage(bench_name, me);
            return -1;
        }
#undef IS
        if (bad) {
            if (me == 0) fprintf(stderr, "%s: bad value '%s' for %s\n", bench_name, v, a);
            return -1;
        }
    }
    if (o->minbytes > o->maxbytes) {
        if (me == 0) fprintf(stderr, "%s: -b %zu is larger than -e %zu\n", bench_name, o->minbytes, o->maxbytes);
        return -1;
    }
    return 0;
}

/* ---- buffers ---------------------------------------------------------------- */

