/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public API with ranks as threads of one process, over the real shm
 * transport: every algorithm forced, nonblocking calls waited in any order,
 * split, bad input, destroyed handles, abort from another thread, timeouts,
 * mismatched counts, and /dev/shm left clean.
 */
#define TUTTI_TAP_SHARED 1 /* one TAP count with the other file of test_api */
#include "core/comm.h"
#include "refcheck.h"
#include "tap.h"
#include "tutti.h"
#include "util/time.h"

#include <dirent.h>
#include <stddef.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apijob.h"

int tap_count, tap_failures;

/* ---- every collective x algorithm on real shm ------------------------------ */

typedef struct {
    tutti_coll_t coll;
    tutti_algo_t algo;
    size_t count;
    tutti_datatype_t dt;
    tutti_op_t op;
    int root, inplace, nonblocking;
    uint32_t seed;
} coll_case_t;

/* Runs one case on this rank and checks its result. */
static int run_coll(tutti_comm_t comm, int rank, int p, const coll_case_t *c, char *err, size_t errlen)
{
    size_t es = tutti_datatype_size(c->dt);
    int blocks_in = c->coll == TUTTI_COLL_REDUCE_SCATTER || c->coll == TUTTI_COLL_ALLTOALL;
    int blocks_out = c->coll == TUTTI_COLL_ALLGATHER || c->coll == TUTTI_COLL_ALLTOALL;
    size_t sn = blocks_in ? c->count * (size_t)p : c->count;
    size_t rn = blocks_out ? c->count * (size_t)p : c->count;
    char *s = malloc(sn * es + 64), *r = malloc(rn * es + 64), *want = malloc(rn * es + 64);
    tutti_op_t fop = tutti_coll_has_op(c->coll) ? c->op : TUTTI_SUM;
    ref_fill(s, sn, c->dt, fop, rank, 0, c->seed);
    memset(r, 0xa5, rn * es + 64);
    const void *send = s;
    void *recv = r;
    if (c->inplace) {
        if (c->coll == TUTTI_COLL_ALLGATHER) {
            memcpy(r + (size_t)rank * c->count * es, s, c->count * es);
            send = r + (size_t)rank * c->count * es;
        } else if (c->coll == TUTTI_COLL_REDUCE_SCATTER) {
            free(r);
            r = s;
            s = NULL;
            send = r;
            recv = r + (size_t)rank * c->count * es;
        } else {
            memcpy(r, s, sn * es);
            send = r;
        }
    }
    /* force the algorithm on this communicator */
    uint32_t saved = comm->algo.allowed[c->coll];
    comm->algo.allowed[c->coll] = 1u << c->algo;
    tutti_result_t res;
    tutti_request_t req = NULL;
    switch (c->coll) {
    case TUTTI_COLL_ALLREDUCE:
        res = c->nonblocking ? tutti_iallreduce(send, recv, c->count, c->dt, c->op, comm, &req)
                             : tutti_allreduce(send, recv, c->count, c->dt, c->op, comm);
        break;
    case TUTTI_COLL_BROADCAST:
        res = c->nonblocking ? tutti_ibroadcast(send, recv, c->count, c->dt, c->root, comm, &req)
                             : tutti_broadcast(send, recv, c->count, c->dt, c->root, comm);
        break;
    case TUTTI_COLL_ALLGATHER:
        res = c->nonblocking ? tutti_iallgather(send, recv, c->count, c->dt, comm, &req)
                             : tutti_allgather(send, recv, c->count, c->dt, comm);
        break;
    case TUTTI_COLL_REDUCE_SCATTER:
        res = c->nonblocking ? tutti_ireduce_scatter(send, recv, c->count, c->dt, c->op, comm, &req)
                             : tutti_reduce_scatter(send, recv, c->count, c->dt, c->op, comm);
        break;
    case TUTTI_COLL_REDUCE:
        res = c->nonblocking ? tutti_ireduce(send, recv, c->count, c->dt, c->op, c->root, comm, &req)
                             : tutti_reduce(send, recv, c->count, c->dt, c->op, c->root, comm);
        break;
    case TUTTI_COLL_ALLTOALL:
        res = c->nonblocking ? tutti_ialltoall(send, recv, c->count, c->dt, comm, &req)
                             : tutti_alltoall(send, recv, c->count, c->dt, comm);
        break;
    default:
        res = c->nonblocking ? tutti_ibarrier(comm, &req) : tutti_barrier(comm);
    }
    if (res == TUTTI_SUCCESS && req) res = tutti_wait(req);
    comm->algo.allowed[c->coll] = saved;
    int ok = res == TUTTI_SUCCESS;
    if (!ok) snprintf(err, errlen, "%s: %s", tutti_result_name(res), tutti_comm_last_error(comm));
    const char *got = r;
    size_t n = rn;
    switch (c->coll) {
    case TUTTI_COLL_ALLREDUCE: ref_reduce(want, n, c->dt, c->op, p, 0, c->seed); break;
    case TUTTI_COLL_BROADCAST: ref_fill(want, n, c->dt, TUTTI_SUM, c->root, 0, c->seed); break;
    case TUTTI_COLL_ALLGATHER:
        for (int q = 0; q < p; q++) ref_fill(want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, 0, c->seed);
        break;
    case TUTTI_COLL_REDUCE_SCATTER:
        n = c->count;
        ref_reduce(want, n, c->dt, c->op, p, (size_t)rank * c->count, c->seed);
        if (c->inplace) got = r + (size_t)rank * c->count * es;
        break;
    case TUTTI_COLL_REDUCE:
        n = rank == c->root ? c->count : 0;
        ref_reduce(want, n, c->dt, c->op, p, 0, c->seed);
        break;
    case TUTTI_COLL_ALLTOALL: /* block q: rank q's block `rank` */
        for (int q = 0; q < p; q++)
            ref_fill(want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, (size_t)rank * c->count, c->seed);
        break;
    default: n = 0;
    }
    size_t first = 0, bad = ok ? ref_mismatches(got, want, n, c->dt, &first) : 0;
    if (bad) {
        snprintf(err, errlen, "%zu of %zu elements wrong, first at %zu", bad, n, first);
        ok = 0;
    }
    free(s);
    free(r);
    free(want);
    return ok;
}

typedef struct {
    coll_case_t *cases;
    int ncases;
    int *failed_case;
} matrix_ctx_t;

static void matrix_rank(job_t *j, int rank)
{
    matrix_ctx_t *m = j->ctx;
    char err[400];
    for (int k = 0; k < m->ncases; k++) {
        if (!run_coll(j->comm[rank], rank, j->p, &m->cases[k], err, sizeof(err))) {
            coll_case_t *c = &m->cases[k];
            FAIL(j, rank, "%s/%s count=%zu %s %s root=%d %s %s: %s", tutti_coll_name(c->coll), tutti_algo_name(c->algo),
                 c->count, tutti_datatype_name(c->dt), tutti_op_name(c->op), c->root, c->inplace ? "in-place" : "",
                 c->nonblocking ? "nonblocking" : "", err);
            return;
        }
    }
}

static void test_matrix(int p)
{
    job_t j;
    if (!tap_ok(job_new(&j, p), "%d thread ranks create a communicator", p)) return;
    int shm_files = count_shm_files();
    tap_ok(shm_files == 0, "no tutti segment left in /dev/shm once every rank mapped it (%d)", shm_files);
    static const size_t counts[] = {0, 1, 7, 4099, 300003};
    coll_case_t *cases = calloc(4096, sizeof(coll_case_t));
    int n = 0;
    uint32_t seed = 100;
    for (int coll = 0; coll < TUTTI_NUM_COLLS; coll++)
        for (int algo = 0; algo < TUTTI_NUM_ALGOS; algo++) {
            if (!tutti_coll_builder((tutti_coll_t)coll, (tutti_algo_t)algo)) continue;
            for (size_t ci = 0; ci < 5; ci++)
                for (int inplace = 0; inplace < 2; inplace++) {
                    coll_case_t c = {(tutti_coll_t)coll, (tutti_algo_t)algo, counts[ci],
                                     (tutti_datatype_t)(seed % TUTTI_NUM_DATATYPES),
                                     ref_op_for((tutti_datatype_t)(seed % TUTTI_NUM_DATATYPES), seed / 3),
                                     (int)(seed % (uint32_t)p), inplace, (int)(seed / 2 % 2), seed};
                    if (counts[ci] > 100000 && (coll == TUTTI_COLL_ALLGATHER || coll == TUTTI_COLL_REDUCE_SCATTER ||
                                                coll == TUTTI_COLL_ALLTOALL))
                        c.count = 100003;
                    cases[n++] = c;
                    seed++;
                }
        }
    matrix_ctx_t m = {cases, n, NULL};
    j.ctx = &m;
    double t0 = tutti_time_now();
    int ok = job_run(&j, matrix_rank);
    tap_ok(ok, "p=%d: %d cases, every collective and algorithm, sizes 0..300003, in/out of place, blocking and not (%.1f s)",
           p, n, tutti_time_now() - t0);
    uint64_t shm_bytes = tutti_comm_transport_bytes(j.comm[0], "shm");
    tap_ok(p == 1 ? shm_bytes == 0 : shm_bytes > 0, "rank 0 counted %llu bytes through shm",
           (unsigned long long)shm_bytes);
    free(cases);
    job_destroy(&j);
}

/* ---- several nonblocking operations outstanding, waited in any order --------- */

static void overlap_rank(job_t *j, int rank)
{
    tutti_comm_t c = j->comm[rank];
    enum { N = 6, CNT = 70001 };
    float *s[N], *r[N], *want = malloc(sizeof(float) * CNT * (size_t)j->p);
    tutti_request_t req[N];
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < N; k++) {
            s[k] = malloc(sizeof(float) * CNT);
            r[k] = malloc(sizeof(float) * CNT * (size_t)j->p);
            ref_fill(s[k], CNT, TUTTI_FLOAT32, TUTTI_SUM, rank, 0, (uint32_t)(k + 10 * round));
            tutti_result_t res = k % 3 == 0   ? tutti_iallreduce(s[k], r[k], CNT, TUTTI_FLOAT32, TUTTI_SUM, c, &req[k])
                                 : k % 3 == 1 ? tutti_iallgather(s[k], r[k], CNT, TUTTI_FLOAT32, c, &req[k])
                                              : tutti_ibroadcast(s[k], r[k], CNT, TUTTI_FLOAT32, k % j->p, c, &req[k]);
            if (res != TUTTI_SUCCESS) FAIL(j, rank, "post %d: %s", k, tutti_comm_last_error(c));
        }
        /* wait in reverse order (round 0), by polling tutti_test (round 1), in order (round 2) */
        if (round == 1) {
            int left = N, done[N] = {0};
            double end = tutti_time_now() + 30;
            while (left && tutti_time_now() < end)
                for (int k = 0; k < N; k++) {
                    if (done[k]) continue;
                    int d = 0;
                    if (tutti_test(req[k], &d) != TUTTI_SUCCESS) FAIL(j, rank, "test %d failed", k);
                    if (d) {
                        done[k] = 1;
                        left--;
                    }
                }
            if (left) FAIL(j, rank, "tutti_test never completed %d requests", left);
        } else {
            for (int i = 0; i < N; i++) {
                int k = round == 0 ? N - 1 - i : i;
                if (tutti_wait(req[k]) != TUTTI_SUCCESS) FAIL(j, rank, "wait %d: %s", k, tutti_comm_last_error(c));
            }
        }
        for (int k = 0; k < N; k++) {
            size_t n = k % 3 == 1 ? (size_t)CNT * (size_t)j->p : CNT;
            if (k % 3 == 0) ref_reduce(want, CNT, TUTTI_FLOAT32, TUTTI_SUM, j->p, 0, (uint32_t)(k + 10 * round));
            else if (k % 3 == 1)
                for (int q = 0; q < j->p; q++) ref_fill(want + (size_t)q * CNT, CNT, TUTTI_FLOAT32, TUTTI_SUM, q, 0, (uint32_t)(k + 10 * round));
            else ref_fill(want, CNT, TUTTI_FLOAT32, TUTTI_SUM, k % j->p, 0, (uint32_t)(k + 10 * round));
            if (ref_mismatches(r[k], want, n, TUTTI_FLOAT32, NULL)) FAIL(j, rank, "round %d op %d: wrong result", round, k);
            free(s[k]);
            free(r[k]);
        }
    }
    free(want);
    /* a completed request cannot be waited again */
    tutti_request_t q;
    float x = 1, y;
    tutti_iallreduce(&x, &y, 1, TUTTI_FLOAT32, TUTTI_SUM, c, &q);
    tutti_wait(q);
    if (tutti_wait(q) != TUTTI_ERR_INVALID_USAGE) FAIL(j, rank, "waiting twice on a request was not refused");
}

static void test_overlap(int p)
{
    job_t j;
    if (!job_new(&j, p)) {
        tap_ok(0, "p=%d overlap: init", p);
        return;
    }
    tap_ok(job_run(&j, overlap_rank), "p=%d: 6 nonblocking collectives outstanding, waited in reverse, polled, in order", p);
    job_destroy(&j);
}

/* ---- split -------------------------------------------------------------------- */

static void split_rank(job_t *j, int rank)
{
    tutti_comm_t sub = NULL, none = (tutti_comm_t)1;
    int color = rank % 2;
    if (tutti_comm_split(j->comm[rank], color, -rank, &sub) != TUTTI_SUCCESS || !sub) {
        FAIL(j, rank, "split: %s", tutti_comm_last_error(j->comm[rank]));
        return;
    }
    int sr = -1, ss = -1;
    tutti_comm_rank(sub, &sr);
    tutti_comm_size(sub, &ss);
    int expect_size = (j->p + 1 - color) / 2, expect_rank = 0;
    for (int q = rank + 2; q < j->p; q += 2) expect_rank++;
    if (sr != expect_rank || ss != expect_size) FAIL(j, rank, "split rank %d/%d, expected %d/%d", sr, ss, expect_rank, expect_size);
    int v = rank, sum = -1;
    tutti_allreduce(&v, &sum, 1, TUTTI_INT32, TUTTI_SUM, sub);
    int want = 0;
    for (int q = color; q < j->p; q += 2) want += q;
    if (sum != want) FAIL(j, rank, "allreduce on the split communicator: %d, expected %d", sum, want);
    /* ranks that pass no color get no communicator */
    if (tutti_comm_split(j->comm[rank], rank == 0 ? TUTTI_SPLIT_NOCOLOR : 5, 0, &none) != TUTTI_SUCCESS)
        FAIL(j, rank, "second split failed");
    if (rank == 0 && none != NULL) FAIL(j, rank, "NOCOLOR should return NULL");
    if (rank != 0) {
        int one = 1, n = 0;
        tutti_allreduce(&one, &n, 1, TUTTI_INT32, TUTTI_SUM, none);
        if (n != j->p - 1) FAIL(j, rank, "second split has %d ranks", n);
        tutti_comm_destroy(none);
    }
    tutti_comm_destroy(sub);
}

/* ---- bad input ------------------------------------------------------------------ */

static void badinput_rank(job_t *j, int rank)
{
    tutti_comm_t c = j->comm[rank];
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[64];
    memset(b, 0, sizeof(b));
    tutti_request_t req;
    struct { tutti_result_t got, want; const char *what, *needle; } k[] = {
        {tutti_allreduce(NULL, b, 4, TUTTI_FLOAT32, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "NULL sendbuf", "sendbuf is NULL"},
        {tutti_allreduce(a, NULL, 4, TUTTI_FLOAT32, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "NULL recvbuf", "recvbuf is NULL"},
        {tutti_allreduce(a, b, 4, (tutti_datatype_t)42, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "datatype 42", "invalid datatype 42"},
        {tutti_allreduce(a, b, 4, (tutti_datatype_t)-1, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "datatype -1", "invalid datatype"},
        {tutti_allreduce(a, b, 4, TUTTI_FLOAT32, (tutti_op_t)7, c), TUTTI_ERR_INVALID_ARGUMENT, "op 7", "invalid reduction op 7"},
        {tutti_broadcast(a, b, 4, TUTTI_FLOAT32, j->p, c), TUTTI_ERR_INVALID_ARGUMENT, "root = nranks", "out of range"},
        {tutti_reduce(a, b, 4, TUTTI_FLOAT32, TUTTI_SUM, -1, c), TUTTI_ERR_INVALID_ARGUMENT, "root -1", "out of range"},
        {tutti_allreduce(a, b, SIZE_MAX / 2, TUTTI_FLOAT32, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "count overflow", "overflows"},
        {tutti_allgather(a, b, SIZE_MAX / 8, TUTTI_FLOAT64, c), TUTTI_ERR_INVALID_ARGUMENT, "all-gather count x ranks overflow", "overflows"},
        {tutti_allreduce(a, a + 1, 4, TUTTI_FLOAT32, TUTTI_SUM, c), TUTTI_ERR_INVALID_ARGUMENT, "partial overlap", "overlap"},
        {tutti_alltoall(NULL, b, 1, TUTTI_FLOAT32, c), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all NULL sendbuf", "sendbuf is NULL"},
        {tutti_alltoall(a, NULL, 1, TUTTI_FLOAT32, c), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all NULL recvbuf", "recvbuf is NULL"},
        {tutti_alltoall(a, b, 1, (tutti_datatype_t)42, c), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all datatype 42", "invalid datatype 42"},
        {tutti_alltoall(a, b, SIZE_MAX / 8, TUTTI_FLOAT64, c), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all count x ranks overflow", "overflows"},
        {tutti_alltoall(b, b + 1, 1, TUTTI_FLOAT32, c), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all partial overlap", "overlap"},
        {tutti_ialltoall(a, b, 1, TUTTI_FLOAT32, c, NULL), TUTTI_ERR_INVALID_ARGUMENT, "all-to-all NULL request", "req is NULL"},
        {tutti_iallreduce(a, b, 4, TUTTI_FLOAT32, TUTTI_SUM, c, NULL), TUTTI_ERR_INVALID_ARGUMENT, "NULL request", "req is NULL"},
        {tutti_comm_rank(c, NULL), TUTTI_ERR_INVALID_ARGUMENT, "NULL rank pointer", "rank is NULL"},
        {tutti_comm_split(c, 0, 0, NULL), TUTTI_ERR_INVALID_ARGUMENT, "NULL newcomm", "newcomm is NULL"},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        const char *msg = tutti_comm_last_error(c);
        if (k[i].got != k[i].want) FAIL(j, rank, "%s: got %s", k[i].what, tutti_result_name(k[i].got));
        (void)msg;
    }
    /* alltoallv: each refusal names what is wrong */
    {
        size_t one[64], dsp[64], two[64], big[64], zero[64];
        int P = j->p < 64 ? j->p : 64;
        for (int q = 0; q < 64; q++) {
            one[q] = 1;
            dsp[q] = (size_t)q;
            two[q] = 2 * (size_t)q;
            big[q] = SIZE_MAX / 4;
            zero[q] = 0;
        }
        size_t self2[64];
        memcpy(self2, one, sizeof(self2));
        self2[rank] = 2;
        float sb[64], rb[128];
        struct { tutti_result_t got; const char *what, *needle; } v[] = {
            {tutti_alltoallv(sb, one, dsp, rb, NULL, dsp, TUTTI_FLOAT32, c), "NULL recvcounts", "recvcounts or rdispls is NULL"},
            {tutti_alltoallv(sb, one, NULL, rb, one, dsp, TUTTI_FLOAT32, c), "NULL sdispls", "sendcounts or sdispls is NULL"},
            {tutti_alltoallv(sb, one, dsp, rb, one, dsp, (tutti_datatype_t)42, c), "datatype 42", "invalid datatype 42"},
            {tutti_alltoallv(sb, big, dsp, rb, one, dsp, TUTTI_FLOAT64, c), "count overflow", "overflows"},
            {tutti_alltoallv(sb, one, big, rb, one, dsp, TUTTI_FLOAT64, c), "displacement overflow", "overflows"},
            {tutti_alltoallv(sb, one, dsp, rb, self2, two, TUTTI_FLOAT32, c), "own block sizes differ", "sends itself 1"},
            {tutti_alltoallv(NULL, one, dsp, rb, one, dsp, TUTTI_FLOAT32, c), "NULL sendbuf", "sendbuf is NULL"},
            {tutti_alltoallv(sb, one, dsp, NULL, one, dsp, TUTTI_FLOAT32, c), "NULL recvbuf", "recvbuf is NULL"},
            {tutti_alltoallv(rb + 1, one, dsp, rb, one, dsp, TUTTI_FLOAT32, c), "receive block over a send block", "overlaps"},
            {tutti_alltoallv(rb, one, dsp, rb, one, two, TUTTI_FLOAT32, c), "in place, another send layout", "must be the receive layout"},
            {P > 1 ? tutti_alltoallv(sb, one, dsp, rb, one, zero, TUTTI_FLOAT32, c) : TUTTI_ERR_INVALID_ARGUMENT,
             "two receive blocks at one place", P > 1 ? "overlaps receive block" : ""},
            {tutti_ialltoallv(sb, one, dsp, rb, one, dsp, TUTTI_FLOAT32, c, NULL), "NULL request", "req is NULL"},
        };
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            if (v[i].got != TUTTI_ERR_INVALID_ARGUMENT)
                FAIL(j, rank, "alltoallv %s: got %s", v[i].what, tutti_result_name(v[i].got));
        }
        /* the detail of the last refusal of each kind: re-issue and read it */
        for (size_t i = 0; i + 1 < sizeof(v) / sizeof(v[0]); i++) {
            switch (i) {
            case 0: tutti_alltoallv(sb, one, dsp, rb, NULL, dsp, TUTTI_FLOAT32, c); break;
            case 1: tutti_alltoallv(sb, one, NULL, rb, one, dsp, TUTTI_FLOAT32, c); break;
            case 2: tutti_alltoallv(sb, one, dsp, rb, one, dsp, (tutti_datatype_t)42, c); break;
            case 3: tutti_alltoallv(sb, big, dsp, rb, one, dsp, TUTTI_FLOAT64, c); break;
            case 4: tutti_alltoallv(sb, one, big, rb, one, dsp, TUTTI_FLOAT64, c); break;
            case 5: tutti_alltoallv(sb, one, dsp, rb, self2, two, TUTTI_FLOAT32, c); break;
            case 6: tutti_alltoallv(NULL, one, dsp, rb, one, dsp, TUTTI_FLOAT32, c); break;
            case 7: tutti_alltoallv(sb, one, dsp, NULL, one, dsp, TUTTI_FLOAT32, c); break;
            case 8: tutti_alltoallv(rb + 1, one, dsp, rb, one, dsp, TUTTI_FLOAT32, c); break;
            case 9: tutti_alltoallv(rb, one, dsp, rb, one, two, TUTTI_FLOAT32, c); break;
            default: if (P > 1) tutti_alltoallv(sb, one, dsp, rb, one, zero, TUTTI_FLOAT32, c); break;
            }
            if (!strstr(tutti_comm_last_error(c), "tutti_alltoallv: ") || !strstr(tutti_comm_last_error(c), v[i].needle))
                FAIL(j, rank, "alltoallv %s: message '%s' lacks '%s'", v[i].what, tutti_comm_last_error(c), v[i].needle);
        }
        /* a rank with nothing to move still takes part (NULL buffers are fine then) */
        for (int q = 0; q < P; q++) sb[q] = (float)(rank * 100 + q);
        size_t cnt[64], rc[64];
        for (int q = 0; q < 64; q++) cnt[q] = rc[q] = (q == 0 || rank == 0) ? 0 : 1;
        memset(rb, 0, sizeof(rb));
        tutti_result_t r = tutti_alltoallv(rank == 0 ? NULL : sb, cnt, dsp, rank == 0 ? NULL : rb, rc, dsp,
                                           TUTTI_FLOAT32, c);
        if (r != TUTTI_SUCCESS) FAIL(j, rank, "alltoallv where rank 0 moves nothing: %s", tutti_comm_last_error(c));
        for (int q = 1; q < P && rank != 0 && r == TUTTI_SUCCESS; q++)
            if (rb[q] != (float)(q * 100 + rank)) FAIL(j, rank, "alltoallv: block from %d is %g", q, (double)rb[q]);
    }
    /* messages: re-issue one and check its detail */
    tutti_allreduce(a, b, 4, (tutti_datatype_t)42, TUTTI_SUM, c);
    if (!strstr(tutti_comm_last_error(c), "tutti_allreduce: invalid datatype 42")) FAIL(j, rank, "message: %s", tutti_comm_last_error(c));
    /* count 0 with NULL buffers is fine */
    if (tutti_allreduce(NULL, NULL, 0, TUTTI_FLOAT32, TUTTI_SUM, c) != TUTTI_SUCCESS) FAIL(j, rank, "count 0 with NULL buffers refused");
    if (tutti_iallreduce(NULL, NULL, 0, TUTTI_FLOAT32, TUTTI_SUM, c, &req) != TUTTI_SUCCESS || tutti_wait(req) != TUTTI_SUCCESS)
        FAIL(j, rank, "nonblocking count 0 failed");
    /* broadcast: non-roots may pass NULL sendbuf; reduce: non-roots NULL recvbuf */
    if (tutti_broadcast(rank == 0 ? a : NULL, b, 4, TUTTI_FLOAT32, 0, c) != TUTTI_SUCCESS || b[3] != 4)
        FAIL(j, rank, "broadcast with NULL sendbuf on non-roots");
    if (tutti_reduce(a, rank == 0 ? b : NULL, 4, TUTTI_FLOAT32, TUTTI_SUM, 0, c) != TUTTI_SUCCESS ||
        (rank == 0 && b[1] != 2.0f * (float)j->p))
        FAIL(j, rank, "reduce with NULL recvbuf on non-roots");
    /* after all the rejected calls the communicator still works, and the
     * rejected calls touched nothing */
    float in[5] = {1, 1, 1, 1, 1}, out[5] = {9, 9, 9, 9, 9};
    tutti_allreduce(in, out, 4, TUTTI_INT8 + 100, TUTTI_SUM, c);
    if (out[0] != 9) FAIL(j, rank, "a rejected call wrote recvbuf");
    if (tutti_allreduce(in, out, 4, TUTTI_FLOAT32, TUTTI_SUM, c) != TUTTI_SUCCESS || out[3] != (float)j->p || out[4] != 9)
        FAIL(j, rank, "communicator unusable after rejected calls");
}

static void test_handles(void)
{
    float a = 1, b;
    tap_ok(tutti_allreduce(&a, &b, 1, TUTTI_FLOAT32, TUTTI_SUM, NULL) == TUTTI_ERR_INVALID_ARGUMENT &&
               strstr(tutti_comm_last_error(NULL), "communicator is NULL"),
           "NULL communicator: INVALID_ARGUMENT, detail on the thread (%s)", tutti_comm_last_error(NULL));
    job_t j;
    job_new(&j, 1);
    tutti_comm_t c = j.comm[0];
    tap_ok(tutti_comm_destroy(c) == TUTTI_SUCCESS, "destroy");
    tap_ok(tutti_allreduce(&a, &b, 1, TUTTI_FLOAT32, TUTTI_SUM, c) == TUTTI_ERR_INVALID_ARGUMENT &&
               strstr(tutti_comm_last_error(NULL), "destroyed"),
           "destroyed communicator: INVALID_ARGUMENT naming it (%s)", tutti_comm_last_error(NULL));
    tap_ok(tutti_comm_destroy(c) == TUTTI_ERR_INVALID_ARGUMENT, "destroying twice is refused");
    tap_ok(tutti_comm_abort(c) == TUTTI_ERR_INVALID_ARGUMENT, "aborting a destroyed communicator is refused");
    tap_ok(tutti_wait(NULL) == TUTTI_ERR_INVALID_ARGUMENT, "tutti_wait(NULL) refused");
    tutti_unique_id_t bad;
    memset(&bad, 7, sizeof(bad));
    tutti_comm_t x = (tutti_comm_t)0x1;
    tap_ok(tutti_comm_init_rank(&x, 2, bad, 0) == TUTTI_ERR_INVALID_ARGUMENT && x == (tutti_comm_t)0x1 &&
               strstr(tutti_comm_last_error(NULL), "unique id"),
           "init with a forged unique id is refused, *comm untouched");
    tap_ok(tutti_comm_init_rank(&x, 2, j.id, 2) == TUTTI_ERR_INVALID_ARGUMENT, "init with rank >= nranks refused");
    tap_ok(tutti_comm_init_rank(&x, 0, j.id, 0) == TUTTI_ERR_INVALID_ARGUMENT, "init with nranks 0 refused");
    tap_ok(tutti_comm_init_rank(NULL, 1, j.id, 0) == TUTTI_ERR_INVALID_ARGUMENT, "init with comm NULL refused");
}

/* ---- timeout, mismatch ------------------------------------------------------ */

static void timeout_rank(job_t *j, int rank)
{
    blocked_t *b = j->ctx;
    if (rank == 1) return; /* never calls */
    j->comm[0]->timeout = 0.5;
    float x[4] = {0}, y[4];
    double t0 = tutti_time_now();
    b->res = tutti_allreduce(x, y, 4, TUTTI_FLOAT32, TUTTI_SUM, j->comm[0]);
    b->took = tutti_time_now() - t0;
    snprintf(b->msg, sizeof(b->msg), "%s", tutti_comm_last_error(j->comm[0]));
    if (tutti_allreduce(x, y, 4, TUTTI_FLOAT32, TUTTI_SUM, j->comm[0]) != TUTTI_ERR_INVALID_USAGE)
        FAIL(j, rank, "a timed-out communicator should refuse further collectives");
}

static void test_timeout(void)
{
    job_t j;
    blocked_t b;
    memset(&b, 0, sizeof(b));
    job_new(&j, 2);
    j.ctx = &b;
    int ok = job_run(&j, timeout_rank);
    tap_ok(ok && b.res == TUTTI_ERR_TIMEOUT && b.took >= 0.45 && b.took < 3,
           "a peer that never calls: TIMEOUT after the 0.5 s deadline (%.2f s)", b.took);
    tap_ok(strstr(b.msg, "rank 1") && strstr(b.msg, "tutti_allreduce #1"), "the error names the operation and the peer: %s", b.msg);
    job_destroy(&j);
}

static void mismatch_rank(job_t *j, int rank)
{
    tutti_result_t *res = j->ctx;
    j->comm[rank]->timeout = 2;
    float x[200] = {0}, y[200];
    res[rank] = tutti_allreduce(x, y, rank == 0 ? 100 : 200, TUTTI_FLOAT32, TUTTI_SUM, j->comm[rank]);
}

static void test_mismatch(void)
{
    job_t j;
    tutti_result_t res[2] = {0, 0};
    job_new(&j, 2);
    j.ctx = res;
    job_run(&j, mismatch_rank);
    tap_ok(res[0] == TUTTI_ERR_MISMATCH && res[1] == TUTTI_ERR_MISMATCH,
           "all-reduce with counts 100 and 200: both ranks get MISMATCH (%s, %s) instead of a hang or corrupt data",
           tutti_result_name(res[0]), tutti_result_name(res[1]));
    job_destroy(&j);
}

/* Rank 1 is a forked process that joins, completes one all-reduce and then
 * SIGKILLs itself; rank 0's next all-reduce must fail with REMOTE naming
 * it, long before the 10 s deadline. */
static void test_dead_peer(void)
{
    /* the child makes the id: the parent must not fork while a helper
     * thread runs (that can deadlock the child's allocator) */
    tutti_unique_id_t id;
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        close(fds[0]);
        tutti_comm_t c;
        if (tutti_get_unique_id(&id) != TUTTI_SUCCESS || write(fds[1], &id, sizeof(id)) != (ssize_t)sizeof(id)) _exit(2);
        close(fds[1]);
        if (tutti_comm_init_rank(&c, 2, id, 1) != TUTTI_SUCCESS) _exit(3);
        float x = 1, y;
        tutti_allreduce(&x, &y, 1, TUTTI_FLOAT32, TUTTI_SUM, c);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    close(fds[1]);
    if (read(fds[0], &id, sizeof(id)) != (ssize_t)sizeof(id)) memset(&id, 0, sizeof(id));
    close(fds[0]);
    tutti_comm_t c = NULL;
    tutti_result_t r = tutti_comm_init_rank(&c, 2, id, 0);
    float x[4096] = {0}, y[4096];
    int first_ok = r == TUTTI_SUCCESS && tutti_allreduce(x, y, 1, TUTTI_FLOAT32, TUTTI_SUM, c) == TUTTI_SUCCESS;
    if (c) tutti_comm_set_timeout(c, 10);
    double t0 = tutti_time_now();
    r = c ? tutti_allreduce(x, y, 4096, TUTTI_FLOAT32, TUTTI_SUM, c) : TUTTI_ERR_INTERNAL;
    double took = tutti_time_now() - t0;
    char msg[700];
    snprintf(msg, sizeof(msg), "%s", c ? tutti_comm_last_error(c) : "no communicator");
    int st;
    waitpid(pid, &st, 0);
    tap_ok(first_ok && r == TUTTI_ERR_REMOTE && took < 2, "a peer killed with SIGKILL: the survivor gets REMOTE after %.2f s "
           "(deadline 10 s)", took);
    tap_ok(strstr(msg, "rank 1") && strstr(msg, "exited"), "the error names the dead rank: %s", msg);
    if (c) tutti_comm_destroy(c);
}

int main(void)
{
    test_handles();
    test_dead_peer();
    for (int p = 1; p <= 4; p++) test_matrix(p);
    test_overlap(3);
    job_t j;
    job_new(&j, 5);
    tap_ok(job_run(&j, split_rank), "split 5 ranks by parity with reversed keys; NOCOLOR gives NULL");
    job_destroy(&j);
    job_new(&j, 3);
    tap_ok(job_run(&j, badinput_rank), "bad input: 31 kinds refused with the documented error (6 of all-to-all, 12 of alltoallv, messages checked), a rank with nothing to move takes part, nothing written, "
                                       "communicator still usable");
    job_destroy(&j);
    test_abort();
    test_abort_requests();
    test_config();
    test_timeout();
    test_mismatch();
    tap_ok(count_shm_files() == 0, "/dev/shm holds no tutti segment at the end");
    return tap_done();
}
