/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every collective under mpirun, through the public API only:
 *   collective x algorithm (each forced) x datatype x op x size
 *   {0, 1, 7, 4099} x in-place/out-of-place x blocking/nonblocking,
 * plus a large size (2,000,003 elements; datatype and op rotate) for every
 * collective x algorithm x placement x mode, plus several nonblocking
 * collectives outstanding at once waited in a shuffled order.
 * Results are checked bit for bit on every rank; MPI only coordinates the
 * verdict, so a tutti bug cannot hide a failure.  Rank 0 prints TAP: one
 * line per (collective, algorithm, mode), counting its cases.
 */
#include "refcheck.h"
#include "tutti.h"
#include "tutti_mpi.h"
#include "verdict.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int me, np;
static tutti_comm_t comm;

static const char *const coll_names[] = {"allreduce", "broadcast", "allgather", "reduce_scatter",
                                         "reduce",    "barrier",   "alltoall",  "alltoallv"};
enum { ALLREDUCE, BROADCAST, ALLGATHER, REDUCE_SCATTER, REDUCE, BARRIER, ALLTOALL, ALLTOALLV, NCOLL };
static const char *const algos[NCOLL][6] = {
    {"ring", "tree", "rd", "hier", "window", NULL}, {"ring", "tree", "hier", "window", NULL},
    {"ring", "rd", "hier", "window", NULL},         {"ring", "window", NULL},
    {"ring", "tree", "window", NULL},               {"dissemination", NULL},
    {"pairwise", NULL},                             {"pairwise", NULL}};

typedef struct {
    int coll;
    size_t count;
    tutti_datatype_t dt;
    tutti_op_t op;
    int root, inplace, nonblocking;
    uint32_t seed;
} ccase_t;

typedef struct {
    char *s, *r, *want;
    const void *send;
    void *recv;
    const char *check;
    size_t ncheck;
    size_t *sc, *sd, *rc, *rd; /* alltoallv's layout */
} bufs_t;

/* alltoallv: elements rank a sends rank b (symmetric in place, where each
 * block is sent from where the peer's block lands) */
static size_t v_count(const ccase_t *c, int a, int b)
{
    if (c->inplace && a > b) {
        int t = a;
        a = b;
        b = t;
    }
    return c->count * (size_t)(((unsigned)a * 3u + (unsigned)b * 5u + c->seed) % 4u) / 2;
}

/* Where rank a's block for b starts in its send buffer: blocks in reverse
 * rank order with 3-element gaps (in place: the receive layout) */
static size_t v_sdispl(const ccase_t *c, int a, int b);
/* Where rank a receives b's block: rank order, 1-element gaps */
static size_t v_rdispl(const ccase_t *c, int a, int b)
{
    size_t d = 0;
    for (int q = 0; q < b; q++) d += v_count(c, q, a) + 1;
    return d;
}
static size_t v_sdispl(const ccase_t *c, int a, int b)
{
    if (c->inplace) return v_rdispl(c, a, b);
    size_t d = 0;
    for (int q = np - 1; q > b; q--) d += v_count(c, a, q) + 3;
    return d;
}

/* alltoallv's buffers: the gaps must come back untouched */
static void prepare_v(const ccase_t *c, bufs_t *b)
{
    size_t es = tutti_datatype_size(c->dt);
    b->sc = malloc(4 * sizeof(size_t) * (size_t)np);
    b->sd = b->sc + np;
    b->rc = b->sd + np;
    b->rd = b->rc + np;
    for (int q = 0; q < np; q++) {
        b->sc[q] = v_count(c, me, q);
        b->sd[q] = v_sdispl(c, me, q);
        b->rc[q] = v_count(c, q, me);
        b->rd[q] = v_rdispl(c, me, q);
    }
    size_t sn = v_sdispl(c, me, 0) + b->sc[0] + 3, rn = v_rdispl(c, me, np - 1) + b->rc[np - 1] + 1;
    if (c->inplace) sn = rn;
    b->s = malloc(sn * es + 64);
    b->r = malloc(rn * es + 64);
    b->want = malloc(rn * es + 64);
    ref_fill(b->s, sn, c->dt, TUTTI_SUM, me, 0, c->seed);
    memset(b->r, 0xa5, rn * es + 64);
    if (c->inplace) memcpy(b->r, b->s, sn * es);
    memcpy(b->want, b->r, rn * es);
    for (int q = 0; q < np; q++)
        ref_fill(b->want + b->rd[q] * es, b->rc[q], c->dt, TUTTI_SUM, q, v_sdispl(c, q, me), c->seed);
    b->send = c->inplace ? b->r : b->s;
    b->recv = b->r;
    b->check = b->r;
    b->ncheck = rn;
    /* in place the send layout may be left out: every other case passes it */
    if (c->inplace && c->seed % 2) b->sc[0] = (size_t)-1;
}

static void prepare(const ccase_t *c, bufs_t *b)
{
    size_t es = tutti_datatype_size(c->dt);
    b->sc = NULL;
    if (c->coll == ALLTOALLV) {
        prepare_v(c, b);
        return;
    }
    size_t sn = (c->coll == REDUCE_SCATTER || c->coll == ALLTOALL) ? c->count * (size_t)np : c->count;
    size_t rn = (c->coll == ALLGATHER || c->coll == ALLTOALL) ? c->count * (size_t)np : c->count;
    b->s = malloc(sn * es + 64);
    b->r = malloc(rn * es + 64);
    b->want = malloc(rn * es + 64);
    tutti_op_t fop = (c->coll == ALLREDUCE || c->coll == REDUCE_SCATTER || c->coll == REDUCE) ? c->op : TUTTI_SUM;
    ref_fill(b->s, sn, c->dt, fop, me, 0, c->seed);
    memset(b->r, 0xa5, rn * es + 64);
    b->send = b->s;
    b->recv = b->r;
    if (c->inplace) {
        if (c->coll == ALLGATHER) {
            memcpy(b->r + (size_t)me * c->count * es, b->s, c->count * es);
            b->send = b->r + (size_t)me * c->count * es;
        } else if (c->coll == REDUCE_SCATTER) {
            free(b->r);
            b->r = b->s;
            b->s = NULL;
            b->send = b->r;
            b->recv = b->r + (size_t)me * c->count * es;
        } else {
            memcpy(b->r, b->s, sn * es);
            b->send = b->r;
        }
    }
    if (c->coll == BROADCAST && me != c->root && !c->inplace) b->send = NULL;
    if (c->coll == REDUCE && me != c->root && !c->inplace) b->recv = NULL;
    /* expected result */
    b->check = b->r;
    b->ncheck = rn;
    switch (c->coll) {
    case ALLREDUCE: ref_reduce(b->want, rn, c->dt, c->op, np, 0, c->seed); break;
    case BROADCAST: ref_fill(b->want, rn, c->dt, TUTTI_SUM, c->root, 0, c->seed); break;
    case ALLGATHER:
        for (int q = 0; q < np; q++) ref_fill(b->want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, 0, c->seed);
        break;
    case REDUCE_SCATTER:
        ref_reduce(b->want, c->count, c->dt, c->op, np, (size_t)me * c->count, c->seed);
        b->ncheck = c->count;
        if (c->inplace) b->check = b->r + (size_t)me * c->count * es;
        break;
    case ALLTOALL: /* block q: rank q's block me */
        for (int q = 0; q < np; q++)
            ref_fill(b->want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, (size_t)me * c->count, c->seed);
        break;
    case REDUCE:
        b->ncheck = me == c->root ? c->count : 0;
        ref_reduce(b->want, b->ncheck, c->dt, c->op, np, 0, c->seed);
        break;
    default: b->ncheck = 0;
    }
}

static tutti_result_t post(const ccase_t *c, bufs_t *b, tutti_request_t *req)
{
    *req = NULL;
    switch (c->coll) {
    case ALLREDUCE:
        return c->nonblocking ? tutti_iallreduce(b->send, b->recv, c->count, c->dt, c->op, comm, req)
                              : tutti_allreduce(b->send, b->recv, c->count, c->dt, c->op, comm);
    case BROADCAST:
        return c->nonblocking ? tutti_ibroadcast(b->send, b->recv, c->count, c->dt, c->root, comm, req)
                              : tutti_broadcast(b->send, b->recv, c->count, c->dt, c->root, comm);
    case ALLGATHER:
        return c->nonblocking ? tutti_iallgather(b->send, b->recv, c->count, c->dt, comm, req)
                              : tutti_allgather(b->send, b->recv, c->count, c->dt, comm);
    case REDUCE_SCATTER:
        return c->nonblocking ? tutti_ireduce_scatter(b->send, b->recv, c->count, c->dt, c->op, comm, req)
                              : tutti_reduce_scatter(b->send, b->recv, c->count, c->dt, c->op, comm);
    case REDUCE:
        return c->nonblocking ? tutti_ireduce(b->send, b->recv, c->count, c->dt, c->op, c->root, comm, req)
                              : tutti_reduce(b->send, b->recv, c->count, c->dt, c->op, c->root, comm);
    case ALLTOALL:
        return c->nonblocking ? tutti_ialltoall(b->send, b->recv, c->count, c->dt, comm, req)
                              : tutti_alltoall(b->send, b->recv, c->count, c->dt, comm);
    case ALLTOALLV: {
        /* sc[0] == -1 marks "send layout left out" (in place) */
        int omit = b->sc[0] == (size_t)-1;
        const size_t *sc = omit ? NULL : b->sc, *sd = omit ? NULL : b->sd;
        return c->nonblocking ? tutti_ialltoallv(b->send, sc, sd, b->recv, b->rc, b->rd, c->dt, comm, req)
                              : tutti_alltoallv(b->send, sc, sd, b->recv, b->rc, b->rd, c->dt, comm);
    }
    default: return c->nonblocking ? tutti_ibarrier(comm, req) : tutti_barrier(comm);
    }
}

static int finish(const ccase_t *c, bufs_t *b, tutti_result_t res, char *err, size_t errlen)
{
    int ok = res == TUTTI_SUCCESS;
    if (!ok) snprintf(err, errlen, "%s: %s", tutti_result_name(res), tutti_comm_last_error(comm));
    size_t first = 0, bad = ok ? ref_mismatches(b->check, b->want, b->ncheck, c->dt, &first) : 0;
    if (bad) {
        snprintf(err, errlen, "%s count=%zu %s %s root=%d %s %s: %zu of %zu elements wrong, first at %zu",
                 coll_names[c->coll], c->count, tutti_datatype_name(c->dt), tutti_op_name(c->op), c->root,
                 c->inplace ? "in-place" : "out-of-place", c->nonblocking ? "nonblocking" : "blocking", bad, b->ncheck,
                 first);
        ok = 0;
    }
    free(b->s);
    free(b->r);
    free(b->want);
    free(b->sc);
    return ok;
}

static int run_one(const ccase_t *c, char *err, size_t errlen)
{
    bufs_t b;
    tutti_request_t req;
    prepare(c, &b);
    tutti_result_t res = post(c, &b, &req);
    if (res == TUTTI_SUCCESS && req) res = tutti_wait(req);
    return finish(c, &b, res, err, errlen);
}

static int has_op(int coll) { return coll == ALLREDUCE || coll == REDUCE_SCATTER || coll == REDUCE; }

/* --quick (emulated machines): every third datatype and every other op,
 * still every collective, algorithm, mode and placement */
static int quick;

static void run_matrix(size_t big)
{
    static const size_t small[] = {0, 1, 7, 4099};
    int dstep = quick ? 3 : 1, ostep = quick ? 2 : 1;
    uint32_t seed = 7;
    for (int coll = 0; coll < NCOLL; coll++)
        for (int a = 0; algos[coll][a]; a++) {
            char spec[64];
            snprintf(spec, sizeof(spec), "%s:%s", coll == ALLTOALLV ? "alltoall" : coll_names[coll], algos[coll][a]);
            tutti_comm_set_algorithms(comm, spec);
            /* the window algorithm exists on one node with shared windows
             * only: elsewhere the communicator picks another (skipped) */
            const char *got = tutti_comm_algorithm(comm, coll_names[coll], 4096);
            if (strcmp(algos[coll][a], "window") == 0 && (!got || strcmp(got, "window") != 0)) {
                for (int nb = 0; nb < 2; nb++) {
                    char desc[200];
                    snprintf(desc, sizeof(desc), "%s/window %s", coll_names[coll], nb ? "nonblocking" : "blocking");
                    verdict_skip(desc, np == 1 ? "one rank: no windows" : "no shared windows on this communicator "
                                                                          "(several nodes, or no shm among them)");
                }
                continue;
            }
            for (int nb = 0; nb < 2; nb++) {
                int ok = 1, n = 0;
                char err[700] = "";
                int ndt = coll == BARRIER ? 1 : TUTTI_NUM_DATATYPES, nop = has_op(coll) ? TUTTI_NUM_OPS : 1;
                for (size_t si = 0; si < 4 && (coll != BARRIER || si == 0); si++)
                    for (int dt = 0; dt < ndt; dt += dstep)
                        for (int op = 0; op < nop; op += ostep)
                            for (int inplace = 0; inplace < 2; inplace++) {
                                if (!ref_op_fits((tutti_op_t)op, (tutti_datatype_t)dt)) continue;
                                ccase_t c = {coll, small[si], (tutti_datatype_t)dt, (tutti_op_t)op,
                                             (int)(seed % (uint32_t)np), inplace, nb, seed};
                                seed++;
                                n++;
                                if (ok && !run_one(&c, err, sizeof(err))) ok = 0;
                            }
                /* the large size: datatype and op rotate */
                for (int inplace = 0; inplace < 2 && coll != BARRIER; inplace++) {
                    size_t count = big;
                    if (coll == ALLGATHER || coll == REDUCE_SCATTER || coll == ALLTOALL || coll == ALLTOALLV)
                        count = big / (size_t)np + 1;
                    ccase_t c = {coll, count, (tutti_datatype_t)(seed % TUTTI_NUM_DATATYPES),
                                 ref_op_for((tutti_datatype_t)(seed % TUTTI_NUM_DATATYPES), seed / 5), (int)((seed + 1) % (uint32_t)np), inplace, nb, seed};
                    seed++;
                    n++;
                    if (ok && !run_one(&c, err, sizeof(err))) ok = 0;
                }
                char desc[200];
                snprintf(desc, sizeof(desc), "%s/%s %s: %d cases (%s datatypes x ops x sizes 0,1,7,4099, "
                                             "and %zu elements)",
                         coll_names[coll], algos[coll][a], nb ? "nonblocking" : "blocking", n,
                         quick ? "a third of the" : "all", big);
                verdict(ok, err, desc);
            }
        }
    tutti_comm_set_algorithms(comm, NULL);
}

/* Several collectives outstanding, waited in a shuffled order. */
static void run_overlap(void)
{
    enum { K = 8 };
    int ok = 1;
    char err[700] = "";
    unsigned rs = 12345;
    for (int round = 0; round < 10 && ok; round++) {
        ccase_t c[K];
        bufs_t b[K];
        tutti_request_t req[K];
        tutti_result_t res[K];
        for (int k = 0; k < K; k++) {
            c[k] = (ccase_t){(round + k) % NCOLL, (size_t)(1 + (k * 7919 + round * 104729) % 50000),
                             (tutti_datatype_t)((round * K + k) % TUTTI_NUM_DATATYPES),
                             ref_op_for((tutti_datatype_t)((round * K + k) % TUTTI_NUM_DATATYPES), (unsigned)k),
                             (k + round) % np, k % 2, 1, (uint32_t)(1000 + round * K + k)};
            prepare(&c[k], &b[k]);
            res[k] = post(&c[k], &b[k], &req[k]);
        }
        int order[K];
        for (int k = 0; k < K; k++) order[k] = k;
        for (int k = K - 1; k > 0; k--) {
            rs = rs * 1103515245u + 12345u;
            int j = (int)((rs >> 16) % (unsigned)(k + 1));
            int t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < K; i++) {
            int k = order[i];
            if (res[k] == TUTTI_SUCCESS && req[k]) res[k] = tutti_wait(req[k]);
        }
        for (int k = 0; k < K; k++)
            if (!finish(&c[k], &b[k], res[k], err, sizeof(err))) ok = 0;
    }
    verdict(ok, err, "8 nonblocking collectives outstanding (mixed kinds, sizes, types), waited in shuffled order, 10 rounds");
}

/* A rank that destroys its communicator right after the last collective
 * while a peer still polls for that collective's last bytes: the peer must
 * complete (its bytes were sent before the destroy's goodbye), not fail.
 * Odd ranks poll with tutti_test and sleep between polls; 30 rounds, each
 * on a fresh communicator split from the world. */
static void run_destroy_race(void)
{
    size_t n = 1u << 20;
    float *b = malloc(n * sizeof(float));
    int ok = b != NULL;
    char err[400] = "";
    for (int round = 0; round < 30 && ok; round++) {
        tutti_comm_t sub;
        tutti_result_t r = tutti_comm_split(comm, 0, me, &sub);
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "round %d: split: %s", round, tutti_comm_last_error(comm));
            ok = 0;
            break;
        }
        for (size_t i = 0; i < n; i++) b[i] = (float)(me + 1);
        tutti_request_t req;
        r = tutti_iallreduce(b, b, n, TUTTI_FLOAT32, TUTTI_SUM, sub, &req);
        if (r == TUTTI_SUCCESS && me % 2) {
            int done = 0;
            while (r == TUTTI_SUCCESS && !done) {
                r = tutti_test(req, &done);
                if (!done) usleep(300);
            }
        } else if (r == TUTTI_SUCCESS) {
            r = tutti_wait(req);
        }
        float want = (float)np * (float)(np + 1) / 2.0f;
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "round %d: %s: %s", round, tutti_result_name(r), tutti_comm_last_error(sub));
            ok = 0;
        } else if (b[0] != want || b[n - 1] != want) {
            snprintf(err, sizeof(err), "round %d: got %g, want %g", round, (double)b[0], (double)want);
            ok = 0;
        }
        if (tutti_comm_destroy(sub) != TUTTI_SUCCESS && ok) {
            snprintf(err, sizeof(err), "round %d: destroy: %s", round, tutti_comm_last_error(NULL));
            ok = 0;
        }
        /* a round where one rank failed must not start the next */
        int all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
        if (!all) break;
    }
    free(b);
    verdict(ok, err, "destroy at once after the last collective while a peer still polls (30 rounds)");
}

/* Which transport carried the bytes: peers on this host (by host name; a
 * namespace host has its own) must have used shm, peers on other hosts tcp,
 * unless TUTTI_TRANSPORTS forces one.  Exact zero / nonzero per transport. */
static void check_paths(void)
{
    char host[64] = "", *all = calloc((size_t)np, sizeof(host));
    gethostname(host, sizeof(host) - 1);
    MPI_Allgather(host, sizeof(host), MPI_CHAR, all, sizeof(host), MPI_CHAR, MPI_COMM_WORLD);
    int local = 0, remote = 0;
    for (int q = 0; q < np; q++) {
        if (q == me) continue;
        if (strcmp(all + (size_t)q * sizeof(host), host) == 0) local++;
        else remote++;
    }
    int nhosts = 0;
    for (int q = 0; q < np; q++) {
        int first = 1;
        for (int k = 0; k < q; k++)
            if (strcmp(all + (size_t)q * sizeof(host), all + (size_t)k * sizeof(host)) == 0) first = 0;
        nhosts += first;
    }
    free(all);
    /* the default choice knows the job's shape: hierarchical exactly when
     * there are several hosts and some host has several ranks */
    /* hierarchical pays where a node's ranks talk over something cheaper
     * (shm) than the network: not when one transport is forced for all */
    const char *tpf = getenv("TUTTI_TRANSPORTS");
    int one_tp = tpf && tpf[0] && !strpbrk(tpf, ",^") && strcmp(tpf, "shm") != 0;
    int applies = nhosts > 1 && nhosts < np, want_hier = applies && !one_tp, hier_ok = 1;
    const char *colls[2] = {"allreduce", "broadcast"}; /* all-gather stays flat */
    char amsg[200] = "";
    /* the cost model picks hierarchical for small calls on such shapes (it
     * may not for large ones) and never elsewhere */
    for (int c = 0; c < 2 && !getenv("TUTTI_ALGO") && !(applies && one_tp); c++) {
        for (size_t bytes = 8; bytes <= (want_hier ? 8u : (64u << 20)); bytes *= 4096) {
            const char *name = tutti_comm_algorithm(comm, colls[c], bytes);
            if (!name || (strcmp(name, "hier") == 0) != want_hier) {
                hier_ok = 0;
                snprintf(amsg, sizeof(amsg), "%d hosts, %d ranks: %s of %zu bytes gets %s", nhosts, np, colls[c], bytes,
                         name ? name : "(null)");
            }
        }
    }
    char adesc[160];
    snprintf(adesc, sizeof(adesc), "default all-reduce and broadcast for %d host(s), %d rank(s) are %shierarchical%s",
             nhosts, np, want_hier ? "" : "not ", want_hier ? " for 8 B" : "");
    /* with one transport everywhere the model weighs hierarchical against
     * flat on equal hops: no fixed expectation, no case */
    if (!(applies && one_tp)) verdict(hier_ok, amsg, adesc);
    /* one transport named alone (tcp, ucx, verbs) carries every peer's
     * bytes; otherwise shm the same host's and tcp the other hosts' */
    const char *tp = getenv("TUTTI_TRANSPORTS");
    const char *forced = tp && tp[0] && !strpbrk(tp, ",^") && strcmp(tp, "shm") != 0 ? tp : NULL;
    const char *net = forced ? forced : "tcp";
    uint64_t shm = tutti_comm_transport_bytes(comm, "shm"), nb = tutti_comm_transport_bytes(comm, net);
    int want_shm = local && !forced, want_net = remote || (local && forced);
    char msg[300], desc[200];
    snprintf(msg, sizeof(msg), "host %s, %d peer(s) here, %d elsewhere: shm carried %llu bytes, %s %llu; expected "
                               "shm %s, %s %s",
             host, local, remote, (unsigned long long)shm, net, (unsigned long long)nb, want_shm ? "> 0" : "0", net,
             want_net ? "> 0" : "0");
    int ok = (shm > 0) == want_shm && (nb > 0) == want_net;
    if (forced)
        snprintf(desc, sizeof(desc), "bytes took the expected path (TUTTI_TRANSPORTS=%s): every peer over %s", tp,
                 forced);
    else
        snprintf(desc, sizeof(desc), "bytes took the expected path (TUTTI_TRANSPORTS=%s): peers on this host over "
                                     "shm, on other hosts over tcp",
                 tp ? tp : "default");
    verdict(ok, msg, desc);
    if (me == 0) printf("# rank 0: %s\n", msg);
}

/* --init-only: create and destroy the communicator, no collective (for
 * transports' set-up checks) */
static int init_only;

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    size_t big = 2000003;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--big") == 0 && i + 1 < argc) big = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--init-only") == 0) init_only = 1;
    tutti_result_t r = tutti_comm_init_mpi(&comm, MPI_COMM_WORLD);
    int ok = r == TUTTI_SUCCESS;
    verdict(ok, tutti_comm_last_error(NULL), "tutti_comm_init_mpi over MPI_COMM_WORLD");
    if (ok) {
        int rank = -1, size = -1;
        tutti_comm_rank(comm, &rank);
        tutti_comm_size(comm, &size);
        verdict(rank == me && size == np, "rank/size differ from MPI's", "each process keeps its MPI rank");
        if (!init_only) {
            run_matrix(big);
            run_overlap();
            run_destroy_race();
            check_paths();
        }
        verdict(tutti_comm_destroy(comm) == TUTTI_SUCCESS, tutti_comm_last_error(NULL), "destroy");
    }
    verdict_plan();
    MPI_Finalize();
    return 0;
}
