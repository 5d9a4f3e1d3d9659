/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Soak: a long random sequence of collectives on one communicator, every
 * result checked.  All ranks draw the same sequence from one seed: kind,
 * algorithm (switched with tutti_comm_set_algorithms), datatype, op, root,
 * size (0 to ~1 MB, log-uniform), placement, and blocking or nonblocking
 * with up to 4 operations outstanding, completed in a random order.
 *
 *   mpirun -np 4 tests/mpi/test_soak [--ops N] [--seconds S] [--seed X]
 *
 * Stops after N operations or S seconds (agreed among ranks every 64
 * operations), prints TAP: how many operations, how many per second.
 */
#include "refcheck.h"
#include "tutti.h"
#include "tutti_mpi.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ALLREDUCE, BROADCAST, ALLGATHER, REDUCE_SCATTER, REDUCE, BARRIER, ALLTOALL, NCOLL };
static const char *const cname[NCOLL] = {"allreduce", "broadcast", "allgather", "reduce_scatter",
                                         "reduce",    "barrier",   "alltoall"};
static const char *const algos[NCOLL][4] = {
    {"ring", "tree", "rd", NULL}, {"ring", "tree", NULL}, {"ring", "rd", NULL}, {"ring", NULL}, {"ring", "tree", NULL},
    {"dissemination", NULL},      {"pairwise", NULL}};

static int me, np;
static uint64_t rs;

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

typedef struct {
    int coll, algo, root, inplace, nonblocking;
    tutti_datatype_t dt;
    tutti_op_t op;
    size_t count;
    uint32_t seed;
    char *s, *r, *want;
    const void *send;
    void *recv;
    tutti_request_t req;
    tutti_result_t res;
} op_t;

static void prepare(op_t *o)
{
    size_t es = tutti_datatype_size(o->dt);
    size_t sn = (o->coll == REDUCE_SCATTER || o->coll == ALLTOALL) ? o->count * (size_t)np : o->count;
    size_t rn = (o->coll == ALLGATHER || o->coll == ALLTOALL) ? o->count * (size_t)np : o->count;
    o->s = malloc(sn * es + 8);
    o->r = malloc((rn > sn ? rn : sn) * es + 8);
    o->want = malloc(rn * es + 8);
    int red = o->coll == ALLREDUCE || o->coll == REDUCE_SCATTER || o->coll == REDUCE;
    ref_fill(o->s, sn, o->dt, red ? o->op : TUTTI_SUM, me, 0, o->seed);
    o->send = o->s;
    o->recv = o->r;
    if (o->inplace) {
        if (o->coll == ALLGATHER) {
            memcpy(o->r + (size_t)me * o->count * es, o->s, o->count * es);
            o->send = o->r + (size_t)me * o->count * es;
        } else if (o->coll == REDUCE_SCATTER) {
            memcpy(o->r, o->s, sn * es);
            o->send = o->r;
            o->recv = o->r + (size_t)me * o->count * es;
        } else {
            memcpy(o->r, o->s, sn * es);
            o->send = o->r;
        }
    }
}

static tutti_result_t post(tutti_comm_t c, op_t *o)
{
    tutti_request_t *q = o->nonblocking ? &o->req : NULL;
    o->req = NULL;
    switch (o->coll) {
    case ALLREDUCE: return q ? tutti_iallreduce(o->send, o->recv, o->count, o->dt, o->op, c, q) : tutti_allreduce(o->send, o->recv, o->count, o->dt, o->op, c);
    case BROADCAST: return q ? tutti_ibroadcast(o->send, o->recv, o->count, o->dt, o->root, c, q) : tutti_broadcast(o->send, o->recv, o->count, o->dt, o->root, c);
    case ALLGATHER: return q ? tutti_iallgather(o->send, o->recv, o->count, o->dt, c, q) : tutti_allgather(o->send, o->recv, o->count, o->dt, c);
    case REDUCE_SCATTER: return q ? tutti_ireduce_scatter(o->send, o->recv, o->count, o->dt, o->op, c, q) : tutti_reduce_scatter(o->send, o->recv, o->count, o->dt, o->op, c);
    case REDUCE: return q ? tutti_ireduce(o->send, o->recv, o->count, o->dt, o->op, o->root, c, q) : tutti_reduce(o->send, o->recv, o->count, o->dt, o->op, o->root, c);
    case ALLTOALL: return q ? tutti_ialltoall(o->send, o->recv, o->count, o->dt, c, q) : tutti_alltoall(o->send, o->recv, o->count, o->dt, c);
    default: return q ? tutti_ibarrier(c, q) : tutti_barrier(c);
    }
}

/* 1 when the result is right; frees the buffers. */
static int check(op_t *o, char *err, size_t len)
{
    size_t es = tutti_datatype_size(o->dt);
    const char *got = o->r;
    size_t n = (o->coll == ALLGATHER || o->coll == ALLTOALL) ? o->count * (size_t)np : o->count;
    switch (o->coll) {
    case ALLREDUCE: ref_reduce(o->want, n, o->dt, o->op, np, 0, o->seed); break;
    case BROADCAST: ref_fill(o->want, n, o->dt, TUTTI_SUM, o->root, 0, o->seed); break;
    case ALLGATHER:
        for (int q = 0; q < np; q++) ref_fill(o->want + (size_t)q * o->count * es, o->count, o->dt, TUTTI_SUM, q, 0, o->seed);
        break;
    case REDUCE_SCATTER:
        ref_reduce(o->want, n, o->dt, o->op, np, (size_t)me * o->count, o->seed);
        if (o->inplace) got = o->r + (size_t)me * o->count * es;
        break;
    case REDUCE:
        if (me != o->root) n = 0;
        ref_reduce(o->want, n, o->dt, o->op, np, 0, o->seed);
        break;
    case ALLTOALL: /* block q: rank q's block me */
        for (int q = 0; q < np; q++)
            ref_fill(o->want + (size_t)q * o->count * es, o->count, o->dt, TUTTI_SUM, q, (size_t)me * o->count, o->seed);
        break;
    default: n = 0;
    }
    size_t bad = o->res == TUTTI_SUCCESS ? ref_mismatches(got, o->want, n, o->dt, NULL) : n + 1;
    if (bad)
        snprintf(err, len, "%s/%s count %zu %s %s root %d %s %s: %s, %zu wrong", cname[o->coll], algos[o->coll][o->algo],
                 o->count, tutti_datatype_name(o->dt), tutti_op_name(o->op), o->root, o->inplace ? "in-place" : "",
                 o->nonblocking ? "nonblocking" : "blocking", tutti_result_name(o->res), bad);
    free(o->s);
    free(o->r);
    free(o->want);
    return bad == 0;
}

int main(int argc, char **argv)
{
    long maxops = 2000;
    double seconds = 120;
    uint64_t seed = 20261122;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ops")) maxops = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
    }
    rs = seed | 1;
    tutti_comm_t c;
    if (tutti_comm_init_mpi(&c, MPI_COMM_WORLD) != TUTTI_SUCCESS) MPI_Abort(MPI_COMM_WORLD, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    op_t win[4];
    int nwin = 0, ok = 1;
    long done = 0;
    char err[600] = "";
    for (long k = 0; k < maxops && ok; k++) {
        op_t o;
        memset(&o, 0, sizeof(o));
        o.coll = (int)(rnd() % NCOLL);
        int na = 0;
        while (algos[o.coll][na]) na++;
        o.algo = (int)(rnd() % (uint64_t)na);
        o.dt = (tutti_datatype_t)(rnd() % TUTTI_NUM_DATATYPES);
        o.op = ref_op_for(o.dt, (unsigned)rnd());
        o.root = (int)(rnd() % (uint64_t)np);
        o.inplace = (int)(rnd() % 2);
        o.nonblocking = (int)(rnd() % 3 == 0);
        int lg = (int)(rnd() % 18);
        o.count = lg == 0 ? 0 : (size_t)(rnd() % (1ULL << lg)) + 1;
        if (o.coll == ALLGATHER || o.coll == REDUCE_SCATTER || o.coll == ALLTOALL) o.count = o.count / (size_t)np + (o.count > 0);
        o.seed = (uint32_t)rnd();
        int reorder = (int)(rnd() % 2);
        char spec[64];
        snprintf(spec, sizeof(spec), "%s:%s", cname[o.coll], algos[o.coll][o.algo]);
        tutti_comm_set_algorithms(c, spec);
        prepare(&o);
        o.res = post(c, &o);
        if (o.nonblocking && o.res == TUTTI_SUCCESS) {
            win[nwin++] = o;
        } else {
            if (!check(&o, err, sizeof(err))) ok = 0;
            done++;
        }
        /* complete the window: when full, at the end, or at random */
        if (nwin == 4 || (nwin && (k + 1 == maxops || rnd() % 4 == 0))) {
            for (int i = 0; i < nwin; i++) {
                int j = reorder ? nwin - 1 - i : i;
                if (win[j].res == TUTTI_SUCCESS) win[j].res = tutti_wait(win[j].req);
            }
            for (int i = 0; i < nwin; i++) {
                if (!check(&win[i], err, sizeof(err))) ok = 0;
                done++;
            }
            nwin = 0;
        }
        if ((k & 63) == 63 && nwin == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            int stop = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9 > seconds, any = 0;
            MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
            int all_ok = 0;
            MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
            if (any || !all_ok) break;
        }
    }
    for (int i = 0; i < nwin; i++) {
        if (win[i].res == TUTTI_SUCCESS) win[i].res = tutti_wait(win[i].req);
        if (!check(&win[i], err, sizeof(err))) ok = 0;
        done++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    int all_ok = 0, bad_rank = ok ? np : me, first_bad = np;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    MPI_Allreduce(&bad_rank, &first_bad, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) MPI_Bcast(err, sizeof(err), MPI_CHAR, first_bad, MPI_COMM_WORLD);
    if (me == 0) {
        printf("%sok 1 - np=%d soak: %ld random collectives (kinds, algorithms, types, ops, roots, sizes 0..128K elements, "
               "in place, up to 4 nonblocking outstanding) in %.1f s (%.0f/s), every result checked\n",
               all_ok ? "" : "not ", np, done, el, done / el);
        if (!all_ok) printf("# rank %d: %s\n", first_bad, err);
        printf("1..1\n");
        fflush(stdout);
    }
    tutti_comm_destroy(c);
    MPI_Finalize();
    return 0;
}
