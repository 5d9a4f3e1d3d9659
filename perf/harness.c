/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shared benchmark harness: nccl-tests' flags and table, plus
 *   --mpi        the same call through MPI on the same ranks, sizes and
 *                buffers, in the same run, side by side with the ratio
 *   -I 1         per-iteration times: min, median, p99 (max over ranks)
 *   --cache-cold rotate through buffers larger than the last-level cache
 *   --sweep      every algorithm at every size, fastest marked
 *   --slices     the tuner's algorithm with every pipelining slice
 *   --vcounts    all-to-all through tutti_alltoallv / MPI_Alltoallv (a
 *                count and displacement per peer; equal blocks, so the
 *                sizes and checks are alltoall's)
 *   -J file      JSON with the table's fields
 * Launch with mpirun; see perf/README.md.
 */
#include "harness.h"

#include "harness_int.h"
#include "perf_math.h"
#include "refcheck.h"
#include "tutti.h"
#include "tutti_mpi.h"

#include <hwloc.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CANARY 64


static const char *const coll_api_name[PERF_NCOLL] = {"allreduce", "broadcast", "allgather", "reduce_scatter", "reduce",
                                                      "alltoall",  "sendrecv"};
static const char *const algos[PERF_NCOLL][6] = {{"ring", "tree", "rd", "hier", "window", NULL},
                                                    {"ring", "tree", "hier", "window", NULL},
                                                    {"ring", "rd", "hier", "window", NULL},
                                                    {"ring", "window", NULL},
                                                    {"ring", "tree", "window", NULL},
                                                    {"pairwise", NULL},
                                                    {NULL}};
const char *const op_names[TUTTI_NUM_OPS] = {"sum", "prod", "min", "max", "avg", "band", "bor", "bxor"};
const char *const dt_names[TUTTI_NUM_DATATYPES] = {"int8", "uint8", "int32", "uint32", "int64", "uint64",
                                                          "half", "bfloat16", "float", "double", "int16", "uint16"};

static int me, np;
static tutti_comm_t comm;
static perf_coll_t coll;
static int vcounts; /* --vcounts */
static const char *bench_name;
static FILE *json;
static int json_rows;

/* The algorithm tutti picks for this size ("p2p" for send/recv). */
static const char *algo_at(size_t bytes)
{
    const char *a = coll == PERF_SENDRECV ? NULL : tutti_comm_algorithm(comm, coll_api_name[coll], bytes);
    return a ? a : "p2p";
}

static int has_op(void) { return coll == PERF_ALLREDUCE || coll == PERF_REDUCE_SCATTER || coll == PERF_REDUCE; }
static int has_root(void) { return coll == PERF_BROADCAST || coll == PERF_REDUCE; }

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

typedef struct {
    char *send, *recv; /* pools; in cache-cold mode several sets side by side */
    size_t send_cap, recv_cap, set_stride_s, set_stride_r;
    size_t llc;
} pool_t;

static size_t llc_bytes(void)
{
    hwloc_topology_t t;
    size_t best = 32u << 20;
    if (hwloc_topology_init(&t) == 0 && hwloc_topology_load(t) == 0) {
        hwloc_obj_t o = NULL;
        size_t found = 0;
        while ((o = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_L3CACHE, o)))
            if (o->attr->cache.size > found) found = o->attr->cache.size;
        if (found) best = found;
        hwloc_topology_destroy(t);
    }
    return best;
}

static void *alloc_touch(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, n ? n : 4096) != 0) return NULL;
    memset(p, 0, n); /* pre-fault: benchmarks measure the library, not page faults */
    return p;
}

static size_t send_bytes(size_t count, size_t es)
{
    return (coll == PERF_REDUCE_SCATTER || coll == PERF_ALLTOALL ? count : perf_call_count(coll, count, np)) * es;
}
static size_t recv_bytes(size_t count, size_t es)
{
    return (coll == PERF_ALLGATHER || coll == PERF_ALLTOALL ? count : perf_call_count(coll, count, np)) * es;
}

/* ---- one operation -------------------------------------------------------------- */

typedef struct {
    const void *send;
    void *recv;
    size_t count; /* per call */
    int dt, op, root;
} call_t;

static void place(call_t *c, char *s, char *r, size_t count, size_t es, int inplace)
{
    c->count = perf_call_count(coll, count, np);
    c->send = s;
    c->recv = r;
    if (!inplace || coll == PERF_SENDRECV) return; /* no in-place form: both columns time the same call */
    if (coll == PERF_ALLGATHER) c->send = r + (size_t)me * c->count * es;
    else if (coll == PERF_REDUCE_SCATTER) { c->send = r; c->recv = r + (size_t)me * c->count * es; }
    else c->send = r;
}

/* --vcounts: the counts and displacements of equal blocks of n elements */
static size_t *v_cnt, *v_dsp;
static int *v_icnt, *v_idsp;

static int v_layout(size_t n)
{
    if (!v_cnt) {
        v_cnt = calloc((size_t)np, sizeof(size_t));
        v_dsp = calloc((size_t)np, sizeof(size_t));
        v_icnt = calloc((size_t)np, sizeof(int));
        v_idsp = calloc((size_t)np, sizeof(int));
        if (!v_cnt || !v_dsp || !v_icnt || !v_idsp) return -1;
    }
    for (int q = 0; q < np; q++) {
        v_cnt[q] = n;
        v_dsp[q] = (size_t)q * n;
        v_icnt[q] = (int)n; /* MPI's counts are int: checked by the caller */
        v_idsp[q] = (int)((size_t)q * n);
    }
    return 0;
}

static tutti_result_t tutti_call(const call_t *c, tutti_request_t *req)
{
    tutti_datatype_t dt = (tutti_datatype_t)c->dt;
    tutti_op_t op = (tutti_op_t)c->op;
    switch (coll) {
    case PERF_ALLREDUCE: return req ? tutti_iallreduce(c->send, c->recv, c->count, dt, op, comm, req) : tutti_allreduce(c->send, c->recv, c->count, dt, op, comm);
    case PERF_BROADCAST: return req ? tutti_ibroadcast(c->send, c->recv, c->count, dt, c->root, comm, req) : tutti_broadcast(c->send, c->recv, c->count, dt, c->root, comm);
    case PERF_ALLGATHER: return req ? tutti_iallgather(c->send, c->recv, c->count, dt, comm, req) : tutti_allgather(c->send, c->recv, c->count, dt, comm);
    case PERF_REDUCE_SCATTER: return req ? tutti_ireduce_scatter(c->send, c->recv, c->count, dt, op, comm, req) : tutti_reduce_scatter(c->send, c->recv, c->count, dt, op, comm);
    case PERF_REDUCE: return req ? tutti_ireduce(c->send, c->recv, c->count, dt, op, c->root, comm, req) : tutti_reduce(c->send, c->recv, c->count, dt, op, c->root, comm);
    case PERF_ALLTOALL:
        if (vcounts) {
            if (v_layout(c->count)) return TUTTI_ERR_NO_MEMORY;
            return req ? tutti_ialltoallv(c->send, v_cnt, v_dsp, c->recv, v_cnt, v_dsp, dt, comm, req)
                       : tutti_alltoallv(c->send, v_cnt, v_dsp, c->recv, v_cnt, v_dsp, dt, comm);
        }
        return req ? tutti_ialltoall(c->send, c->recv, c->count, dt, comm, req) : tutti_alltoall(c->send, c->recv, c->count, dt, comm);
    case PERF_SENDRECV: {
        tutti_result_t r = tutti_group_start(comm);
        if (r == TUTTI_SUCCESS) r = tutti_send(c->send, c->count, dt, (me + 1) % np, comm);
        if (r == TUTTI_SUCCESS) r = tutti_recv(c->recv, c->count, dt, (me + np - 1) % np, comm);
        if (r == TUTTI_SUCCESS) r = req ? tutti_igroup_end(comm, req) : tutti_group_end(comm);
        return r;
    }
    default: return TUTTI_ERR_INVALID_ARGUMENT;
    }
}

static int mpi_call(const call_t *c, MPI_Request *req)
{
    MPI_Datatype t = perf_mpi_type(c->dt);
    MPI_Op o = perf_mpi_op(c->op);
    int n = (int)c->count;
    const void *s = c->send == c->recv ? MPI_IN_PLACE : c->send;
    switch (coll) {
    case PERF_ALLREDUCE: return req ? MPI_Iallreduce(s, c->recv, n, t, o, MPI_COMM_WORLD, req) : MPI_Allreduce(s, c->recv, n, t, o, MPI_COMM_WORLD);
    case PERF_BROADCAST:
        /* MPI broadcasts one buffer: the root's recv buffer holds the data */
        if (me == c->root && c->send != c->recv) memcpy(c->recv, c->send, c->count * tutti_datatype_size((tutti_datatype_t)c->dt));
        return req ? MPI_Ibcast(c->recv, n, t, c->root, MPI_COMM_WORLD, req) : MPI_Bcast(c->recv, n, t, c->root, MPI_COMM_WORLD);
    case PERF_ALLGATHER:
        if ((const char *)c->send != (char *)c->recv + (size_t)me * c->count * tutti_datatype_size((tutti_datatype_t)c->dt)) s = c->send;
        else s = MPI_IN_PLACE;
        return req ? MPI_Iallgather(s, n, t, c->recv, n, t, MPI_COMM_WORLD, req) : MPI_Allgather(s, n, t, c->recv, n, t, MPI_COMM_WORLD);
    case PERF_REDUCE_SCATTER: {
        /* MPI's in-place reduce-scatter reads the whole buffer and keeps the
         * result at its start (tutti, like NCCL, at rank's block) */
        int inplace = (const char *)c->recv == (const char *)c->send + (size_t)me * c->count * tutti_datatype_size((tutti_datatype_t)c->dt);
        void *rbuf = inplace ? (void *)c->send : c->recv;
        s = inplace ? MPI_IN_PLACE : c->send;
        return req ? MPI_Ireduce_scatter_block(s, rbuf, n, t, o, MPI_COMM_WORLD, req)
                   : MPI_Reduce_scatter_block(s, rbuf, n, t, o, MPI_COMM_WORLD);
    }
    case PERF_REDUCE:
        if (c->send == c->recv) s = me == c->root ? MPI_IN_PLACE : c->send;
        return req ? MPI_Ireduce(s, c->recv, n, t, o, c->root, MPI_COMM_WORLD, req) : MPI_Reduce(s, c->recv, n, t, o, c->root, MPI_COMM_WORLD);
    case PERF_ALLTOALL:
        if (vcounts) {
            if ((size_t)c->count * (size_t)np > 0x7fffffff || v_layout(c->count)) return MPI_ERR_COUNT;
            return req ? MPI_Ialltoallv(s, v_icnt, v_idsp, t, c->recv, v_icnt, v_idsp, t, MPI_COMM_WORLD, req)
                       : MPI_Alltoallv(s, v_icnt, v_idsp, t, c->recv, v_icnt, v_idsp, t, MPI_COMM_WORLD);
        }
        return req ? MPI_Ialltoall(s, n, t, c->recv, n, t, MPI_COMM_WORLD, req) : MPI_Alltoall(s, n, t, c->recv, n, t, MPI_COMM_WORLD);
    case PERF_SENDRECV: /* MPI-3 has no nonblocking sendrecv: always blocking */
        if (req) *req = MPI_REQUEST_NULL;
        return MPI_Sendrecv(c->send, n, t, (me + 1) % np, 0, c->recv, n, t, (me + np - 1) % np, 0, MPI_COMM_WORLD,
                            MPI_STATUS_IGNORE);
    default: return MPI_ERR_OTHER;
    }
}

typedef struct {
    double time, min, med, p99; /* us */
    long wrong;
    int failed;
} result_t;

/* Times `iters` calls (tutti or MPI); buffers rotate in cache-cold mode. */
static void time_calls(const opts_t *o, pool_t *pool, size_t count, size_t es, int inplace, int use_mpi,
                       int dt, int op, int root, result_t *res)
{
    size_t sb = send_bytes(count, es), rb = recv_bytes(count, es);
    int nsets = 1;
    if (o->cold) {
        size_t per = sb + rb + 8192;
        nsets = (int)((2 * pool->llc) / (per ? per : 1)) + 1;
        size_t fit = pool->recv_cap / (rb + 4096 > 0 ? rb + 4096 : 1);
        if ((size_t)nsets > fit) nsets = (int)fit;
        if (nsets < 1) nsets = 1;
        if (nsets > 4096) nsets = 4096;
    }
    call_t *calls = calloc((size_t)nsets, sizeof(call_t));
    for (int k = 0; k < nsets; k++) {
        char *s = pool->send + (size_t)k * ((sb + 4095) & ~(size_t)4095);
        char *r = pool->recv + (size_t)k * ((rb + 4095) & ~(size_t)4095);
        place(&calls[k], s, r, count, es, inplace);
        calls[k].dt = dt;
        calls[k].op = op;
        calls[k].root = root;
    }
    int n = o->iters;
    double *it = calloc((size_t)n, sizeof(double));
    tutti_request_t *treq = calloc((size_t)n, sizeof(tutti_request_t));
    MPI_Request *mreq = calloc((size_t)n, sizeof(MPI_Request));
    int failed = 0;
    for (int w = 0; w < o->warmup && !failed; w++) {
        if (use_mpi) failed |= mpi_call(&calls[w % nsets], NULL) != MPI_SUCCESS;
        else failed |= tutti_call(&calls[w % nsets], NULL) != TUTTI_SUCCESS;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double total;
    if (o->blocking || o->per_iter) {
        double t0 = now_us();
        for (int i = 0; i < n && !failed; i++) {
            double a = now_us();
            if (use_mpi) failed |= mpi_call(&calls[i % nsets], NULL) != MPI_SUCCESS;
            else failed |= tutti_call(&calls[i % nsets], NULL) != TUTTI_SUCCESS;
            it[i] = now_us() - a;
        }
        total = now_us() - t0;
    } else {
        double t0 = now_us();
        for (int i = 0; i < n && !failed; i++) {
            if (use_mpi) failed |= mpi_call(&calls[i % nsets], &mreq[i]) != MPI_SUCCESS;
            else failed |= tutti_call(&calls[i % nsets], &treq[i]) != TUTTI_SUCCESS;
        }
        for (int i = 0; i < n && !failed; i++) {
            if (use_mpi) failed |= MPI_Wait(&mreq[i], MPI_STATUS_IGNORE) != MPI_SUCCESS;
            else failed |= tutti_wait(treq[i]) != TUTTI_SUCCESS;
        }
        total = now_us() - t0;
    }
    if (failed && me >= 0 && !use_mpi)
        fprintf(stderr, "%s: rank %d: %s\n", bench_name, me, tutti_comm_last_error(comm));
    double local = total / n, combined = 0;
    switch (o->average) {
    case 0: combined = local; MPI_Bcast(&combined, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); break;
    case 1: MPI_Allreduce(&local, &combined, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); combined /= np; break;
    case 2: MPI_Allreduce(&local, &combined, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD); break;
    default: MPI_Allreduce(&local, &combined, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); break;
    }
    res->time = combined;
    if (o->per_iter) {
        double *mx = calloc((size_t)n, sizeof(double));
        MPI_Allreduce(it, mx, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        res->min = perf_quantile(mx, (size_t)n, 0);
        res->med = perf_quantile(mx, (size_t)n, 0.5);
        res->p99 = perf_quantile(mx, (size_t)n, 0.99);
        free(mx);
    }
    MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    res->failed = failed;
    free(it);
    free(treq);
    free(mreq);
    free(calls);
}

/* One checked call with known data: wrong elements summed over ranks. */
static long check_call(pool_t *pool, size_t count, size_t es, int inplace, int dt, int op, int root, long *oob)
{
    call_t c;
    uint32_t seed = (uint32_t)(count * 2654435761u + (unsigned)dt * 7 + (unsigned)op * 131 + (unsigned)inplace);
    size_t rb = recv_bytes(count, es), sb = send_bytes(count, es);
    size_t n = perf_call_count(coll, count, np);
    place(&c, pool->send, pool->recv, count, es, inplace);
    c.dt = dt;
    c.op = op;
    c.root = root;
    tutti_op_t fop = has_op() ? (tutti_op_t)op : TUTTI_SUM;
    size_t sn = coll == PERF_REDUCE_SCATTER || coll == PERF_ALLTOALL ? n * (size_t)np : n;
    memset(pool->recv, 0xa5, (rb > sn * es ? rb : sn * es) + CANARY);
    if (inplace && coll == PERF_ALLGATHER) ref_fill(pool->recv + (size_t)me * n * es, n, (tutti_datatype_t)dt, fop, me, 0, seed);
    else if (inplace && coll != PERF_SENDRECV) ref_fill(pool->recv, sn, (tutti_datatype_t)dt, fop, me, 0, seed);
    else ref_fill(pool->send, sn, (tutti_datatype_t)dt, fop, me, 0, seed);
    (void)sb;
    long wrong = 0;
    if (tutti_call(&c, NULL) != TUTTI_SUCCESS) {
        wrong = (long)n;
    } else {
        char *want = malloc(rb + 64);
        const char *got = pool->recv;
        size_t ncheck = n;
        switch (coll) {
        case PERF_ALLREDUCE: ref_reduce(want, n, (tutti_datatype_t)dt, (tutti_op_t)op, np, 0, seed); break;
        case PERF_BROADCAST: ref_fill(want, n, (tutti_datatype_t)dt, TUTTI_SUM, root, 0, seed); break;
        case PERF_ALLGATHER:
            ncheck = n * (size_t)np;
            for (int q = 0; q < np; q++) ref_fill(want + (size_t)q * n * es, n, (tutti_datatype_t)dt, TUTTI_SUM, q, 0, seed);
            break;
        case PERF_REDUCE_SCATTER:
            ref_reduce(want, n, (tutti_datatype_t)dt, (tutti_op_t)op, np, (size_t)me * n, seed);
            if (inplace) got = pool->recv + (size_t)me * n * es;
            break;
        case PERF_REDUCE:
            ncheck = me == root ? n : 0;
            ref_reduce(want, ncheck, (tutti_datatype_t)dt, (tutti_op_t)op, np, 0, seed);
            break;
        case PERF_SENDRECV: ref_fill(want, n, (tutti_datatype_t)dt, TUTTI_SUM, (me + np - 1) % np, 0, seed); break;
        case PERF_ALLTOALL: /* block q: rank q's block me */
            ncheck = n * (size_t)np;
            for (int q = 0; q < np; q++)
                ref_fill(want + (size_t)q * n * es, n, (tutti_datatype_t)dt, TUTTI_SUM, q, (size_t)me * n, seed);
            break;
        default: break;
        }
        wrong = (long)ref_mismatches(got, want, ncheck, (tutti_datatype_t)dt, NULL);
        free(want);
    }
    long bad_canary = 0;
    size_t end = inplace && coll == PERF_REDUCE_SCATTER ? n * (size_t)np * es : rb;
    for (size_t k = 0; k < CANARY; k++)
        if ((unsigned char)pool->recv[end + k] != 0xa5) bad_canary++;
    MPI_Allreduce(MPI_IN_PLACE, &wrong, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &bad_canary, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    *oob += bad_canary;
    return wrong;
}

/* ---- output ------------------------------------------------------------------------ */

static void print_header(const opts_t *o, size_t first, size_t last)
{
    char host[64], *hosts = NULL, desc[256];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (me == 0) hosts = malloc((size_t)np * 64);
    MPI_Gather(host, 64, MPI_CHAR, hosts, 64, MPI_CHAR, 0, MPI_COMM_WORLD);
    tutti_comm_describe(comm, desc, sizeof(desc));
    if (me != 0) return;
    printf("# nccl-tests-compatible output from tutti %s\n", tutti_version_string());
    printf("# Collective test starting: %s\n", bench_name);
    printf("# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: ", o->minbytes, o->maxbytes);
    if (o->stepfactor > 1) printf("%g(factor)", o->stepfactor);
    else printf("%zu(bytes)", o->stepbytes);
    printf(" warmup iters: %d iters: %d agg iters: 1 validation: %d graph: 0\n", o->warmup, o->iters, o->check ? 1 : 0);
    printf("#\n# Using devices\n");
    for (int r = 0; r < np; r++) printf("#  Rank %2d Group  0 Pid %6s on %10s device  0 [cpu] host memory\n", r, "-", hosts + (size_t)r * 64);
    printf("#\n# tutti: %s\n", desc);
    printf("# tutti: calls are %s; time is the %s over ranks%s%s\n", o->blocking ? "blocking (-z 1)" : "nonblocking, all posted then waited (-z 0)",
           (const char *[]){"rank 0's", "mean", "min", "max"}[o->average], o->cold ? "; cache-cold buffers" : "",
           o->mpi ? "; MPI: the same call through the MPI library, same buffers" : "");
    if (vcounts) printf("# tutti: --vcounts: tutti_alltoallv against MPI_Alltoallv, a count and displacement per peer (equal blocks)\n");
    /* algorithm tutti picks per size */
    printf("# tutti: algorithm by size:");
    const char *prev = NULL;
    size_t from = 0, to = 0;
    for (size_t sz = first;;) {
        const char *a = algo_at(sz);
        if (!prev || strcmp(a, prev) != 0) {
            if (prev) printf(" %zu-%zu %s;", from, to, prev);
            prev = a;
            from = sz;
        }
        to = sz;
        if (sz >= last) break;
        size_t next = o->stepfactor > 1 ? (size_t)((double)sz * o->stepfactor) : sz + o->stepbytes;
        sz = next > sz ? next : last;
        if (sz > last) break;
    }
    if (prev) printf(" %zu-%zu %s\n", from, to, prev);
    free(hosts);
}

static void print_table_header(const opts_t *o)
{
    if (me != 0) return;
    const char *pi = o->per_iter ? "                     " : "";
    const char *mp = o->mpi ? "                       " : "";
    printf("#\n");
    if (o->sweep) return;
    printf("#                                                              out-of-place%s%s                       in-place\n", pi, mp);
    printf("#       size         count      type   redop    root     time   algbw   busbw #wrong");
    if (o->per_iter) printf("    min    med    p99");
    if (o->mpi) printf("  mpi:time  busbw  ratio");
    printf("     time   algbw   busbw #wrong");
    if (o->per_iter) printf("    min    med    p99");
    if (o->mpi) printf("  mpi:time  busbw  ratio");
    printf("\n#        (B)    (elements)                               (us)  (GB/s)  (GB/s)       ");
    if (o->per_iter) printf("   (us)   (us)   (us)");
    if (o->mpi) printf("      (us) (GB/s)   (x)");
    printf("     (us)  (GB/s)  (GB/s)       ");
    if (o->per_iter) printf("   (us)   (us)   (us)");
    if (o->mpi) printf("      (us) (GB/s)   (x)");
    if (o->memcpy_bar) printf("  memcpy(GB/s) bus/mc (out, in)");
    printf("\n");
}

static void json_placement(const char *name, const result_t *t, const result_t *m, size_t bytes, int check, int mpi_ok,
                           int last)
{
    double alg = perf_algbw(bytes, t->time), bus = alg * perf_busbw_factor(coll, np);
    fprintf(json, "\"%s\": {\"time\": %.3f, \"alg_bw\": %.4f, \"bus_bw\": %.4f, \"nwrong\": %s", name, t->time, alg, bus,
            check ? "" : "null");
    if (check) fprintf(json, "%ld", t->wrong);
    if (t->min > 0) fprintf(json, ", \"min\": %.3f, \"median\": %.3f, \"p99\": %.3f", t->min, t->med, t->p99);
    if (m) {
        if (mpi_ok) {
            double mbus = perf_algbw(bytes, m->time) * perf_busbw_factor(coll, np);
            fprintf(json, ", \"mpi\": {\"time\": %.3f, \"bus_bw\": %.4f, \"ratio\": %.4f}", m->time, mbus, m->time / t->time);
        } else {
            fprintf(json, ", \"mpi\": null");
        }
    }
    fprintf(json, "}%s", last ? "" : ", ");
}

static void print_placement(const opts_t *o, const result_t *t, const result_t *m, size_t bytes, int mpi_ok)
{
    char b1[32], b2[32], b3[32];
    double alg = perf_algbw(bytes, t->time), bus = alg * perf_busbw_factor(coll, np);
    printf("  %7s  %6s  %6s", perf_fmt(t->time, 7, b1, sizeof(b1)), perf_fmt(alg, 6, b2, sizeof(b2)), perf_fmt(bus, 6, b3, sizeof(b3)));
    if (o->check) printf("  %6ld", t->wrong);
    else printf("  %6s", "N/A");
    if (o->per_iter)
        printf(" %6s %6s %6s", perf_fmt(t->min, 6, b1, sizeof(b1)), perf_fmt(t->med, 6, b2, sizeof(b2)), perf_fmt(t->p99, 6, b3, sizeof(b3)));
    if (o->mpi) {
        if (mpi_ok) {
            double mbus = perf_algbw(bytes, m->time) * perf_busbw_factor(coll, np);
            printf("  %8s %6s %5.2fx", perf_fmt(m->time, 8, b1, sizeof(b1)), perf_fmt(mbus, 6, b2, sizeof(b2)), m->time / t->time);
        } else {
            printf("  %8s %6s %6s", "n/a", "n/a", "n/a");
        }
    }
}

/* ---- the run ----------------------------------------------------------------------- */

static void run_size(const opts_t *o, pool_t *pool, size_t bytes, int dt, int op, int root, double *busbw_sum,
                     int *rows, long *oob, int *any_wrong)
{
    size_t es = tutti_datatype_size((tutti_datatype_t)dt);
    size_t count = perf_count(coll, bytes, es, np);
    size_t realbytes = count * es;
    int mpi_ok = o->mpi && perf_mpi_type(dt) != MPI_DATATYPE_NULL && (!has_op() || perf_mpi_op(op) != MPI_OP_NULL);
    result_t t[2], m[2];
    memset(t, 0, sizeof(t));
    memset(m, 0, sizeof(m));
    for (int inplace = 0; inplace < 2; inplace++) {
        time_calls(o, pool, count, es, inplace, 0, dt, op, root, &t[inplace]);
        if (mpi_ok) time_calls(o, pool, count, es, inplace, 1, dt, op, root, &m[inplace]);
        if (o->check) t[inplace].wrong = t[inplace].failed ? (long)count : check_call(pool, count, es, inplace, dt, op, root, oob);
        if (t[inplace].wrong) *any_wrong = 1;
    }
    *busbw_sum += perf_algbw(realbytes, t[0].time) * perf_busbw_factor(coll, np);
    (*rows)++;
    double mc = o->memcpy_bar ? perf_memcpy_bw(o->iters, realbytes) : 0;
    if (me != 0) return;
    printf("%12zu  %12zu  %8s  %6s  %6d", realbytes, count, dt_names[dt], has_op() ? op_names[op] : "none", has_root() ? root : -1);
    print_placement(o, &t[0], &m[0], realbytes, mpi_ok);
    print_placement(o, &t[1], &m[1], realbytes, mpi_ok);
    if (o->memcpy_bar) {
        double bus = perf_algbw(realbytes, t[0].time) * perf_busbw_factor(coll, np);
        double busi = perf_algbw(realbytes, t[1].time) * perf_busbw_factor(coll, np);
        printf("  %6.2f %5.2fx %5.2fx", mc, mc > 0 ? bus / mc : 0, mc > 0 ? busi / mc : 0);
    }
    printf("\n");
    fflush(stdout);
    if (json) {
        fprintf(json, "%s\n    {\"size\": %zu, \"count\": %zu, \"type\": \"%s\", \"redop\": \"%s\", \"root\": %d, \"algorithm\": \"%s\", ",
                json_rows++ ? "," : "", realbytes, count, dt_names[dt], has_op() ? op_names[op] : "none", has_root() ? root : -1,
                algo_at(realbytes));
        json_placement("out_of_place", &t[0], o->mpi ? &m[0] : NULL, realbytes, o->check, mpi_ok, 0);
        json_placement("in_place", &t[1], o->mpi ? &m[1] : NULL, realbytes, o->check, mpi_ok, 1);
        if (o->memcpy_bar) fprintf(json, ", \"memcpy\": {\"bw\": %.4f}", mc);
        fprintf(json, "}");
    }
}

/* Every algorithm at this size; the fastest is marked with '*'. */
static void sweep_size(const opts_t *o, pool_t *pool, size_t bytes, int dt, int op, int root, int *within, int *rows)
{
    size_t es = tutti_datatype_size((tutti_datatype_t)dt);
    size_t count = perf_count(coll, bytes, es, np);
    size_t realbytes = count * es;
    double times[6] = {0};
    long wrong[6] = {0};
    long oob = 0;
    int n = 0, best = 0;
    for (; algos[coll][n]; n++) {
        char spec[64];
        snprintf(spec, sizeof(spec), "%s:%s", coll_api_name[coll], algos[coll][n]);
        tutti_comm_set_algorithms(comm, spec);
        result_t r;
        memset(&r, 0, sizeof(r));
        time_calls(o, pool, count, es, 0, 0, dt, op, root, &r);
        times[n] = r.time;
        if (o->check) wrong[n] = check_call(pool, count, es, 0, dt, op, root, &oob);
        if (times[n] < times[best]) best = n;
    }
    tutti_comm_set_algorithms(comm, NULL);
    const char *def = algo_at(realbytes);
    int di = 0;
    for (int k = 0; k < n; k++)
        if (strcmp(algos[coll][k], def) == 0) di = k;
    double ratio = times[di] / times[best];
    if (ratio <= 1.10) (*within)++;
    (*rows)++;
    if (me != 0) return;
    char b1[32], b2[32];
    printf("%12zu  %12zu  %8s  %6s", realbytes, count, dt_names[dt], has_op() ? op_names[op] : "none");
    for (int k = 0; k < n; k++) {
        double bus = perf_algbw(realbytes, times[k]) * perf_busbw_factor(coll, np);
        printf("  %c%-5s %9s %6s", k == best ? '*' : ' ', algos[coll][k], perf_fmt(times[k], 9, b1, sizeof(b1)),
               perf_fmt(bus, 6, b2, sizeof(b2)));
        if (wrong[k]) printf(" (%ld wrong)", wrong[k]);
    }
    printf("   tutti picks %-5s %5.2fx of best%s\n", def, ratio, ratio <= 1.10 ? "" : "  <-- more than 10% off");
    fflush(stdout);
    if (json) {
        fprintf(json, "%s\n    {\"size\": %zu, \"count\": %zu, \"type\": \"%s\", \"redop\": \"%s\", \"times\": {", json_rows++ ? "," : "",
                realbytes, count, dt_names[dt], has_op() ? op_names[op] : "none");
        for (int k = 0; k < n; k++) fprintf(json, "%s\"%s\": %.3f", k ? ", " : "", algos[coll][k], times[k]);
        fprintf(json, "}, \"fastest\": \"%s\", \"chosen\": \"%s\", \"chosen_over_fastest\": %.4f}", algos[coll][best], def, ratio);
    }
}

/* The tuner's algorithm at this size with every slice from 4K up to the
 * message (256K at most; the transports' slot caps what they cut), and
 * with the tuner's own slice; the fastest is marked with '*'. */
static void slices_size(const opts_t *o, pool_t *pool, size_t bytes, int dt, int op, int root, int *within, int *rows)
{
    enum { NS = 7 };
    size_t es = tutti_datatype_size((tutti_datatype_t)dt);
    size_t count = perf_count(coll, bytes, es, np);
    size_t realbytes = count * es;
    char algo[16];
    snprintf(algo, sizeof(algo), "%s", algo_at(realbytes));
    size_t tuned = tutti_comm_algorithm_slice(comm, coll_api_name[coll], realbytes);
    double times[NS + 1] = {0};
    size_t ck[NS];
    int n = 0, best = 0;
    for (size_t c = 4096; n < NS && c < realbytes; c *= 2) ck[n++] = c;
    if (n == 0) return; /* one slice whatever the setting */
    for (int k = 0; k <= n; k++) {
        char spec[96];
        if (k < n) snprintf(spec, sizeof(spec), "%s:%s/%zuK@0-max", coll_api_name[coll], algo, ck[k] >> 10);
        tutti_comm_set_algorithms(comm, k < n ? spec : NULL);
        result_t r;
        memset(&r, 0, sizeof(r));
        time_calls(o, pool, count, es, 0, 0, dt, op, root, &r);
        times[k] = r.time;
        if (k < n && times[k] < times[best]) best = k;
    }
    tutti_comm_set_algorithms(comm, NULL);
    double ratio = times[n] / times[best];
    if (ratio <= 1.10) (*within)++;
    (*rows)++;
    if (me != 0) return;
    char b1[32];
    printf("%12zu  %12zu  %8s  %6s  %-5s", realbytes, count, dt_names[dt], has_op() ? op_names[op] : "none", algo);
    for (int k = 0; k < n; k++)
        printf("  %c%4zuK %9s", k == best ? '*' : ' ', ck[k] >> 10, perf_fmt(times[k], 9, b1, sizeof(b1)));
    printf("   tuner: %zuK %9s %5.2fx of best%s\n", tuned >> 10, perf_fmt(times[n], 9, b1, sizeof(b1)), ratio,
           ratio <= 1.10 ? "" : "  <-- more than 10% off");
    fflush(stdout);
    if (json) {
        fprintf(json, "%s\n    {\"size\": %zu, \"count\": %zu, \"type\": \"%s\", \"algorithm\": \"%s\", \"times\": {",
                json_rows++ ? "," : "", realbytes, count, dt_names[dt], algo);
        for (int k = 0; k < n; k++) fprintf(json, "%s\"%zuK\": %.3f", k ? ", " : "", ck[k] >> 10, times[k]);
        fprintf(json, ", \"tuner\": %.3f}, \"fastest\": \"%zuK\", \"chosen\": \"%zuK\", \"chosen_over_fastest\": %.4f}",
                times[n], ck[best] >> 10, tuned >> 10, ratio);
    }
}

int perf_main(int argc, char **argv, perf_coll_t which, const char *name)
{
    opts_t o;
    coll = which;
    bench_name = name;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    if (perf_parse_opts(argc, argv, &o, coll, me, bench_name, &vcounts) != 0) {
        MPI_Finalize();
        return 2;
    }
    if (o.sweep && !algos[coll][0]) {
        if (me == 0) fprintf(stderr, "%s: --sweep/--slices: this benchmark has no algorithms to compare\n", name);
        MPI_Finalize();
        return 2;
    }
    tutti_result_t r = tutti_comm_init_mpi(&comm, MPI_COMM_WORLD);
    if (r != TUTTI_SUCCESS) {
        fprintf(stderr, "%s: rank %d: tutti_comm_init_mpi: %s: %s\n", name, me, tutti_result_name(r), tutti_comm_last_error(NULL));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (o.timeout > 0) tutti_comm_set_timeout(comm, o.timeout);
    pool_t pool;
    memset(&pool, 0, sizeof(pool));
    pool.llc = llc_bytes();
    size_t max_es = 8;
    size_t maxcount = perf_count(coll, o.maxbytes, 1, np);
    pool.send_cap = send_bytes(maxcount, 1) + CANARY + 4096;
    pool.recv_cap = recv_bytes(maxcount, 1) + (size_t)np * max_es + CANARY + 4096;
    if (coll == PERF_REDUCE_SCATTER) pool.recv_cap += o.maxbytes; /* in place uses the whole send layout */
    if (o.cold) {
        pool.send_cap += 3 * pool.llc;
        pool.recv_cap += 3 * pool.llc;
    }
    pool.send = alloc_touch(pool.send_cap);
    pool.recv = alloc_touch(pool.recv_cap);
    if (!pool.send || !pool.recv) {
        fprintf(stderr, "%s: rank %d: cannot allocate %zu + %zu bytes\n", name, me, pool.send_cap, pool.recv_cap);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (o.json && me == 0) {
        json = fopen(o.json, "w");
        if (!json) fprintf(stderr, "%s: cannot write %s\n", name, o.json);
    }
    print_header(&o, o.minbytes, o.maxbytes);
    print_table_header(&o);
    if (json) {
        char desc[256];
        tutti_comm_describe(comm, desc, sizeof(desc));
        fprintf(json, "{\"benchmark\": \"%s\", \"tutti_version\": \"%s\", \"nranks\": %d, \"description\": \"%s\", "
                      "\"blocking\": %d, \"cache_cold\": %d, \"mode\": \"%s\", \"results\": [",
                name, tutti_version_string(), np, desc, o.blocking, o.cold, o.sweep ? "sweep" : "table");
    }
    int dt0 = o.all_dt ? 0 : o.dt, dt1 = o.all_dt ? TUTTI_NUM_DATATYPES - 1 : o.dt;
    int op0 = o.all_op && has_op() ? 0 : o.op, op1 = o.all_op && has_op() ? TUTTI_NUM_OPS - 1 : o.op;
    int rt0 = o.all_root && has_root() ? 0 : o.root, rt1 = o.all_root && has_root() ? np - 1 : o.root;
    size_t nsizes = 0;
    for (size_t sz = o.minbytes; sz <= o.maxbytes; sz = o.stepfactor > 1 ? (size_t)((double)sz * o.stepfactor) : sz + o.stepbytes) {
        nsizes++;
        if (sz == 0 || (o.stepfactor > 1 && (size_t)((double)sz * o.stepfactor) == sz)) break;
    }
    size_t total_rows = nsizes * (size_t)(dt1 - dt0 + 1) * (size_t)(op1 - op0 + 1) * (size_t)(rt1 - rt0 + 1), done_rows = 0;
    double start = now_us(), last_progress = start;
    double busbw_sum = 0;
    int rows = 0, within = 0, any_wrong = 0;
    long oob = 0;
    for (int dt = dt0; dt <= dt1; dt++)
        for (int op = op0; op <= op1; op++)
            for (int root = rt0; root <= rt1; root++)
                for (size_t sz = o.minbytes; sz <= o.maxbytes;) {
                    if (has_op() && !ref_op_fits((tutti_op_t)op, (tutti_datatype_t)dt)) break; /* bitwise: integers */
                    if (o.slices) slices_size(&o, &pool, sz, dt, op, root, &within, &rows);
                    else if (o.sweep) sweep_size(&o, &pool, sz, dt, op, root, &within, &rows);
                    else run_size(&o, &pool, sz, dt, op, root, &busbw_sum, &rows, &oob, &any_wrong);
                    done_rows++;
                    double t = now_us();
                    if (me == 0 && t - last_progress > 1e6) {
                        double per = (t - start) / (double)done_rows;
                        fprintf(stderr, "[%s] %zu/%zu rows, at %zu bytes, %.0f s elapsed, about %.0f s left\n", name, done_rows,
                                total_rows, sz, (t - start) / 1e6, per * (double)(total_rows - done_rows) / 1e6);
                        last_progress = t;
                    }
                    if (sz == 0) break;
                    size_t next = o.stepfactor > 1 ? (size_t)((double)sz * o.stepfactor) : sz + o.stepbytes;
                    if (next <= sz) break;
                    sz = next;
                }
    if (me == 0) {
        if (o.sweep) {
            printf("# Sizes where tutti's pick is within 10%% of the fastest %s: %d of %d\n",
                   o.slices ? "slice" : "algorithm", within, rows);
        } else {
            printf("# Out of bounds values : %ld %s\n", oob, oob ? "FAILED" : "OK");
            printf("# Avg bus bandwidth    : %g \n", rows ? busbw_sum / rows : 0.0);
        }
        printf("#\n# Collective test concluded: %s\n", name);
        fflush(stdout);
    }
    if (json) {
        if (o.sweep) fprintf(json, "\n  ], \"within_10pct\": %d, \"rows\": %d}\n", within, rows);
        else fprintf(json, "\n  ], \"out_of_bounds\": %ld, \"avg_bus_bw\": %.4f}\n", oob, rows ? busbw_sum / rows : 0.0);
        fclose(json);
    }
    tutti_comm_destroy(comm);
    free(pool.send);
    free(pool.recv);
    MPI_Finalize();
    return (any_wrong || oob) ? 1 : 0;
}
