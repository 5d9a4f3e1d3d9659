/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The collective entry points: validate (a rejected call touches nothing and
 * leaves the communicator usable), pick the algorithm, build the schedule,
 * queue it, and for blocking calls wait for it.
 */
#include "core/comm.h"

#include "core/fingerprint.h"
#include "dtype/dtype.h"
#include "util/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tutti_overlap(const void *a, size_t alen, const void *b, size_t blen)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    if (alen == 0 || blen == 0) return 0;
    return x < y + blen && y < x + alen;
}

/* Checks everything about a call before anything is started. */
static tutti_result_t tutti_validate(tutti_comm_t comm, const char *call, tutti_coll_args_t *a)
{
    tutti_coll_t c = a->coll;
    int p = comm->nranks, me = comm->rank;
    if (c == TUTTI_COLL_BARRIER) return TUTTI_SUCCESS;
    if (!tutti_dtype_valid(a->dtype))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: invalid datatype %d (valid: 0..%d)", call,
                                (int)a->dtype, TUTTI_NUM_DATATYPES - 1);
    if (tutti_coll_has_op(c) && !tutti_op_valid(a->op))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: invalid reduction op %d (valid: 0..%d)", call,
                                (int)a->op, TUTTI_NUM_OPS - 1);
    if (tutti_coll_has_op(c) && !tutti_op_fits(a->op, a->dtype))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: the bitwise op %s needs an integer datatype, "
                                "not %s", call, tutti_dtype_op_name(a->op), tutti_dtype_name(a->dtype));
    if (tutti_coll_has_root(c) && (a->root < 0 || a->root >= p))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: root %d is out of range for %d ranks", call,
                                a->root, p);
    a->esize = tutti_dtype_size(a->dtype);
    size_t mult =
        (c == TUTTI_COLL_ALLGATHER || c == TUTTI_COLL_REDUCE_SCATTER || c == TUTTI_COLL_ALLTOALL) ? (size_t)p : 1;
    if (a->count > SIZE_MAX / 2 / a->esize / mult)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: count %zu of %s (x %zu ranks) overflows the addressable size", call, a->count,
                                tutti_dtype_name(a->dtype), mult);
    if (a->count == 0) return TUTTI_SUCCESS;
    size_t blk = a->count * a->esize;
    const void *s = a->sendbuf;
    void *r = a->recvbuf;
    int need_send = !(c == TUTTI_COLL_BROADCAST && me != a->root);
    int need_recv = !(c == TUTTI_COLL_REDUCE && me != a->root);
    if (need_send && !s)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: sendbuf is NULL with count %zu", call, a->count);
    if (need_recv && !r)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: recvbuf is NULL with count %zu", call, a->count);
    if (!need_send || !need_recv) return TUTTI_SUCCESS;
    size_t slen = blk, rlen = blk;
    int inplace = (s == r);
    if (c == TUTTI_COLL_ALLGATHER) {
        rlen = blk * (size_t)p;
        inplace = ((const char *)s == (char *)r + (size_t)me * blk);
    } else if (c == TUTTI_COLL_REDUCE_SCATTER) {
        slen = blk * (size_t)p;
        inplace = ((char *)r == (const char *)s + (size_t)me * blk);
    } else if (c == TUTTI_COLL_ALLTOALL) {
        slen = rlen = blk * (size_t)p;
    }
    if (!inplace && tutti_overlap(s, slen, r, rlen))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: sendbuf [%p, +%zu) and recvbuf [%p, +%zu) overlap without being the in-place "
                                "layout",
                                call, s, slen, (void *)r, rlen);
    return TUTTI_SUCCESS;
}

typedef struct {
    uintptr_t lo, hi;
    int recv;
    int peer;
} tutti_vrange_t;

static int tutti_vrange_cmp(const void *a, const void *b)
{
    const tutti_vrange_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* tutti_alltoallv's arguments: every count and displacement addressable,
 * buffers present where something moves, the own block the same size both
 * ways, no receive block overlapping another block (of either buffer); in
 * place (sendbuf == recvbuf) the send layout is the receive layout.  Sets
 * a->count to the largest block (stream choice, descriptions). */
static tutti_result_t tutti_validate_v(tutti_comm_t comm, const char *call, tutti_coll_args_t *a)
{
    int p = comm->nranks, me = comm->rank;
    if (!tutti_dtype_valid(a->dtype))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: invalid datatype %d (valid: 0..%d)", call,
                                (int)a->dtype, TUTTI_NUM_DATATYPES - 1);
    a->esize = tutti_dtype_size(a->dtype);
    int inplace = a->sendbuf && a->sendbuf == a->recvbuf;
    if (!a->rcounts || !a->rdispls)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: recvcounts or rdispls is NULL", call);
    if (inplace) {
        /* the send layout may be left out (NULL): it is the receive layout */
        if (!a->scounts) a->scounts = a->rcounts;
        if (!a->sdispls) a->sdispls = a->rdispls;
    } else if (!a->scounts || !a->sdispls) {
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: sendcounts or sdispls is NULL", call);
    }
    const size_t lim = SIZE_MAX / 2 / a->esize;
    size_t most = 0, sany = 0, rany = 0;
    for (int q = 0; q < p; q++) {
        size_t sc = a->scounts[q], sd = a->sdispls[q], rc = a->rcounts[q], rd = a->rdispls[q];
        if (sc > lim || sd > lim - sc || rc > lim || rd > lim - rc)
            return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                    "%s: block %d (send %zu at %zu, receive %zu at %zu elements of %s) overflows the "
                                    "addressable size",
                                    call, q, sc, sd, rc, rd, tutti_dtype_name(a->dtype));
        if (inplace && (sc != rc || sd != rd))
            return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                    "%s: in place (sendbuf == recvbuf) the send layout must be the receive layout, "
                                    "but block %d is sent as %zu at %zu and received as %zu at %zu",
                                    call, q, sc, sd, rc, rd);
        sany |= sc;
        rany |= rc;
        if (sc > most) most = sc;
        if (rc > most) most = rc;
    }
    if (a->scounts[me] != a->rcounts[me])
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: this rank sends itself %zu elements but receives %zu from itself", call,
                                a->scounts[me], a->rcounts[me]);
    if (sany && !a->sendbuf)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: sendbuf is NULL with elements to send", call);
    if (rany && !a->recvbuf)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: recvbuf is NULL with elements to receive",
                                call);
    a->count = most;
    /* overlaps: sorted by start, a block overlaps an earlier one iff it
     * starts below that one's end; a receive block must overlap nothing
     * (in place: no other receive block), send blocks may share memory */
    tutti_vrange_t *rg = malloc(sizeof(*rg) * 2 * (size_t)p);
    if (!rg) return tutti_comm_error(comm, TUTTI_ERR_NO_MEMORY, "%s: out of memory checking the blocks", call);
    int m = 0;
    for (int q = 0; q < p; q++) {
        if (a->rcounts[q]) {
            uintptr_t lo = (uintptr_t)a->recvbuf + a->rdispls[q] * a->esize;
            rg[m++] = (tutti_vrange_t){lo, lo + a->rcounts[q] * a->esize, 1, q};
        }
        if (a->scounts[q] && !inplace) {
            uintptr_t lo = (uintptr_t)a->sendbuf + a->sdispls[q] * a->esize;
            rg[m++] = (tutti_vrange_t){lo, lo + a->scounts[q] * a->esize, 0, q};
        }
    }
    qsort(rg, (size_t)m, sizeof(*rg), tutti_vrange_cmp);
    tutti_result_t bad = TUTTI_SUCCESS;
    uintptr_t reach_any = 0, reach_recv = 0;
    int who_any = -1, who_recv = -1, any_recv = 0;
    for (int k = 0; k < m && bad == TUTTI_SUCCESS; k++) {
        int clash_any = rg[k].recv && k > 0 && rg[k].lo < reach_any;
        int clash_recv = !rg[k].recv && rg[k].lo < reach_recv;
        if (clash_any || clash_recv) {
            int other = clash_recv ? who_recv : who_any;
            bad = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT,
                                   "%s: %s block %d overlaps %s block %d (a receive block may overlap no other block)",
                                   call, rg[k].recv ? "receive" : "send", rg[k].peer,
                                   clash_recv || any_recv ? "receive" : "send", other);
        }
        if (rg[k].hi > reach_any) {
            reach_any = rg[k].hi;
            who_any = rg[k].peer;
            any_recv = rg[k].recv;
        }
        if (rg[k].recv && rg[k].hi > reach_recv) {
            reach_recv = rg[k].hi;
            who_recv = rg[k].peer;
        }
    }
    free(rg);
    return bad;
}

/* Builds and queues the operation (comm->lock held).  *out is the request. */
static tutti_result_t tutti_post(tutti_comm_t comm, const char *call, tutti_coll_args_t *a,
                                 struct tutti_request **out)
{
    struct tutti_request *req = tutti_request_get(comm);
    if (!req) return tutti_comm_error(comm, TUTTI_ERR_NO_MEMORY, "%s: out of memory for a request", call);
    a->rank = comm->rank;
    a->nranks = comm->nranks;
    a->node_of_rank = comm->node_of_rank;
    a->ring_order = comm->ring_order;
    a->ring_pos = comm->ring_pos;
    a->nnodes = comm->nnodes;
    a->node_win = comm->engine.win != NULL;
    a->small_msg = comm->algo.small_msg;
    if (!a->esize) a->esize = 1;
    size_t bytes;
    tutti_algo_t algo;
    if (a->vcounts) {
        /* the sizes differ between ranks, and the algorithm and slice go
         * into the fingerprint: no per-size decision, the one schedule */
        bytes = a->count * a->esize;
        algo = TUTTI_ALGO_PAIRWISE;
        a->chunk = 0;
    } else {
        bytes = tutti_coll_bytes(a);
        algo = tutti_algo_decide_memo(&comm->algo, a->coll, bytes, comm->nranks, comm->nnodes, &a->chunk);
    }
    tutti_sched_t *s = &req->x.sched;
    tutti_sched_reset(s, comm->slice_max, a->esize, TUTTI_NCHANNELS);
    /* (alltoallv with nothing here still trades an empty message with each
     * peer: a peer's count that is not 0 then fails at once) */
    if (a->coll == TUTTI_COLL_BARRIER || a->count > 0 || a->vcounts) {
        tutti_result_t r = tutti_coll_build(s, a, algo);
        if (r != TUTTI_SUCCESS) {
            tutti_request_put(req);
            return tutti_comm_error(comm, TUTTI_ERR_INTERNAL, "%s: algorithm %s cannot build this call", call,
                                    tutti_algo_name(algo));
        }
    }
    tutti_sched_finish(s);
    s->stream_out = a->count * a->esize >= comm->nt_threshold;
    if (s->oom) {
        tutti_request_put(req);
        return tutti_comm_error(comm, TUTTI_ERR_NO_MEMORY, "%s: out of memory for the schedule", call);
    }
    req->seq = ++comm->seq;
    req->coll = a->coll;
    req->algo = algo;
    req->count = a->count;
    req->dtype = a->dtype;
    req->op = a->op;
    req->root = a->root;
    req->memtype = TUTTI_MEM_HOST;
    req->alltoallv = a->vcounts;
    /* per-peer counts differ between ranks: the call's fingerprint carries
     * none (each message carries its own size, TUTTI_STEP_SIZED) */
    size_t fp_count = req->alltoallv ? SIZE_MAX : a->count;
    tutti_exec_start(&req->x, a->dtype, a->op, comm->nranks,
                     tutti_fingerprint(a->coll, a->dtype, a->op, algo, req->seq, fp_count, a->root, a->chunk),
                     comm->fingerprint);
    /* the first call of each (collective, size class): what was chosen and why */
    int cls = bytes ? 64 - __builtin_clzll((unsigned long long)bytes) : 0;
    if (cls > 63) cls = 63;
    /* (alltoallv decides nothing: always pairwise, whatever its sizes) */
    if (!a->vcounts && !(comm->logged[a->coll] & (1ULL << cls)) && tutti_log_on(TUTTI_LOG_INFO, TUTTI_SUBSYS_TUNE)) {
        comm->logged[a->coll] |= 1ULL << cls;
        char why[256], cands[96] = "";
        tutti_algo_explain(&comm->algo, a->coll, bytes, comm->nranks, comm->nnodes, why, sizeof(why));
        for (int k = 0; k < TUTTI_NUM_ALGOS; k++)
            if (comm->algo.allowed[a->coll] & (1u << k))
                snprintf(cands + strlen(cands), sizeof(cands) - strlen(cands), "%s%s", cands[0] ? "," : "",
                         tutti_algo_name((tutti_algo_t)k));
        TUTTI_INFO(TUTTI_SUBSYS_TUNE, comm->rank, "%s of %zu B: %s (candidates %s): %s", tutti_coll_name(a->coll),
                   bytes, tutti_algo_name(algo), cands, why);
    }
    TUTTI_TRACE(TUTTI_SUBSYS_COLL, comm->rank, "%s #%llu: %zu bytes -> %s, %u phases, %u steps", call,
                (unsigned long long)req->seq, bytes, tutti_algo_name(algo), s->nphases, s->nsteps);
    req->p2p = 0;
    req->fr_id = tutti_recorder_post(&comm->fr, req);
    tutti_comm_enqueue(comm, req);
    *out = req;
    return TUTTI_SUCCESS;
}

/* Common body of every collective, blocking (reqp == NULL) or not. */
static tutti_result_t tutti_collective(tutti_comm_t comm, const char *call, tutti_coll_args_t *a,
                                       tutti_request_t *reqp)
{
    tutti_result_t r = tutti_comm_enter(comm, call, 0);
    if (r != TUTTI_SUCCESS) return r;
    struct tutti_request *req = NULL;
    /* (an atomic load, not the lock: the group's thread changes it under the lock) */
    if (__atomic_load_n(&comm->group.open, __ATOMIC_ACQUIRE)) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                             "%s: a point-to-point group is open (tutti_group_start): only tutti_send and tutti_recv "
                             "may be called until tutti_group_end",
                             call);
        goto out;
    }
    r = a->vcounts ? tutti_validate_v(comm, call, a) : tutti_validate(comm, call, a);
    if (r != TUTTI_SUCCESS) goto out;
    /* nothing to move: a blocking call is done (a nonblocking one still
     * needs its request, which completes at once) */
    if (a->count == 0 && a->coll != TUTTI_COLL_BARRIER && !a->vcounts && !reqp) goto out;
    /* (alltoallv with nothing here is still a call: other ranks may have
     * blocks, and the call numbers must stay in step) */
    pthread_mutex_lock(&comm->lock);
    r = tutti_post(comm, call, a, &req);
    if (r == TUTTI_SUCCESS && reqp) tutti_comm_progress(comm);
    pthread_mutex_unlock(&comm->lock);
    if (r != TUTTI_SUCCESS) goto out;
    if (reqp) {
        *reqp = req;
    } else {
        r = tutti_comm_wait(comm, req);
    }
out:
    tutti_comm_leave(comm);
    return r;
}

#define TUTTI_ARGS(c, s, r, n, dt, o, rt)                                      \
    {.coll = (c), .sendbuf = (s), .recvbuf = (r), .count = (n), .dtype = (dt), .op = (o), .root = (rt)}

static tutti_result_t tutti_check_req(tutti_comm_t comm, const char *call, const tutti_request_t *req)
{
    if (req) return TUTTI_SUCCESS;
    /* record on the communicator if it is valid, else on the thread */
    if (tutti_comm_enter(comm, call, TUTTI_ENTER_ALLOW_BROKEN) == TUTTI_SUCCESS) {
        tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: req is NULL", call);
        tutti_comm_leave(comm);
        return TUTTI_ERR_INVALID_ARGUMENT;
    }
    return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: req is NULL", call);
}

tutti_result_t tutti_allreduce(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                               tutti_op_t op, tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLREDUCE, sendbuf, recvbuf, count, dtype, op, 0);
    return tutti_collective(comm, "tutti_allreduce", &a, NULL);
}

tutti_result_t tutti_iallreduce(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                                tutti_op_t op, tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_iallreduce", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLREDUCE, sendbuf, recvbuf, count, dtype, op, 0);
    return tutti_collective(comm, "tutti_iallreduce", &a, req);
}

tutti_result_t tutti_broadcast(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                               int root, tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_BROADCAST, sendbuf, recvbuf, count, dtype, TUTTI_SUM, root);
    return tutti_collective(comm, "tutti_broadcast", &a, NULL);
}

tutti_result_t tutti_ibroadcast(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                                int root, tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ibroadcast", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_BROADCAST, sendbuf, recvbuf, count, dtype, TUTTI_SUM, root);
    return tutti_collective(comm, "tutti_ibroadcast", &a, req);
}

tutti_result_t tutti_allgather(const void *sendbuf, void *recvbuf, size_t sendcount, tutti_datatype_t dtype,
                               tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLGATHER, sendbuf, recvbuf, sendcount, dtype, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_allgather", &a, NULL);
}

tutti_result_t tutti_iallgather(const void *sendbuf, void *recvbuf, size_t sendcount, tutti_datatype_t dtype,
                                tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_iallgather", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLGATHER, sendbuf, recvbuf, sendcount, dtype, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_iallgather", &a, req);
}

tutti_result_t tutti_alltoall(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                              tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLTOALL, sendbuf, recvbuf, count, dtype, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_alltoall", &a, NULL);
}

tutti_result_t tutti_ialltoall(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                               tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ialltoall", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLTOALL, sendbuf, recvbuf, count, dtype, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_ialltoall", &a, req);
}

/* Both alltoallv entry points (req NULL: blocking). */
static tutti_result_t tutti_alltoallv_call(const char *call, const void *sendbuf, const size_t *sendcounts,
                                           const size_t *sdispls, void *recvbuf, const size_t *recvcounts,
                                           const size_t *rdispls, tutti_datatype_t dtype, tutti_comm_t comm,
                                           tutti_request_t *req)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_ALLTOALL, sendbuf, recvbuf, 0, dtype, TUTTI_SUM, 0);
    a.vcounts = 1;
    a.scounts = sendcounts;
    a.sdispls = sdispls;
    a.rcounts = recvcounts;
    a.rdispls = rdispls;
    return tutti_collective(comm, call, &a, req);
}

tutti_result_t tutti_alltoallv(const void *sendbuf, const size_t *sendcounts, const size_t *sdispls, void *recvbuf,
                               const size_t *recvcounts, const size_t *rdispls, tutti_datatype_t dtype,
                               tutti_comm_t comm)
{
    return tutti_alltoallv_call("tutti_alltoallv", sendbuf, sendcounts, sdispls, recvbuf, recvcounts, rdispls, dtype,
                                comm, NULL);
}

tutti_result_t tutti_ialltoallv(const void *sendbuf, const size_t *sendcounts, const size_t *sdispls,
                                void *recvbuf, const size_t *recvcounts, const size_t *rdispls,
                                tutti_datatype_t dtype, tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ialltoallv", req);
    if (r != TUTTI_SUCCESS) return r;
    return tutti_alltoallv_call("tutti_ialltoallv", sendbuf, sendcounts, sdispls, recvbuf, recvcounts, rdispls, dtype,
                                comm, req);
}

tutti_result_t tutti_reduce_scatter(const void *sendbuf, void *recvbuf, size_t recvcount, tutti_datatype_t dtype,
                                    tutti_op_t op, tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_REDUCE_SCATTER, sendbuf, recvbuf, recvcount, dtype, op, 0);
    return tutti_collective(comm, "tutti_reduce_scatter", &a, NULL);
}

tutti_result_t tutti_ireduce_scatter(const void *sendbuf, void *recvbuf, size_t recvcount,
                                     tutti_datatype_t dtype, tutti_op_t op, tutti_comm_t comm,
                                     tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ireduce_scatter", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_REDUCE_SCATTER, sendbuf, recvbuf, recvcount, dtype, op, 0);
    return tutti_collective(comm, "tutti_ireduce_scatter", &a, req);
}

tutti_result_t tutti_reduce(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                            tutti_op_t op, int root, tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_REDUCE, sendbuf, recvbuf, count, dtype, op, root);
    return tutti_collective(comm, "tutti_reduce", &a, NULL);
}

tutti_result_t tutti_ireduce(const void *sendbuf, void *recvbuf, size_t count, tutti_datatype_t dtype,
                             tutti_op_t op, int root, tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ireduce", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_REDUCE, sendbuf, recvbuf, count, dtype, op, root);
    return tutti_collective(comm, "tutti_ireduce", &a, req);
}

tutti_result_t tutti_barrier(tutti_comm_t comm)
{
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_BARRIER, NULL, NULL, 0, TUTTI_UINT8, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_barrier", &a, NULL);
}

tutti_result_t tutti_ibarrier(tutti_comm_t comm, tutti_request_t *req)
{
    tutti_result_t r = tutti_check_req(comm, "tutti_ibarrier", req);
    if (r != TUTTI_SUCCESS) return r;
    tutti_coll_args_t a = TUTTI_ARGS(TUTTI_COLL_BARRIER, NULL, NULL, 0, TUTTI_UINT8, TUTTI_SUM, 0);
    return tutti_collective(comm, "tutti_ibarrier", &a, req);
}

/* ---- requests -------------------------------------------------------------- */

static tutti_result_t tutti_req_enter(tutti_request_t req, const char *call)
{
    if (!req) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: request is NULL", call);
    /* a request of a communicator that another thread aborted: its
     * operation ended with the abort (the handle stays readable, comm.c) */
    if (__atomic_load_n(&req->comm->magic, __ATOMIC_SEQ_CST) == TUTTI_COMM_ABORTED)
        return tutti_comm_error(NULL, TUTTI_ERR_ABORTED, "%s: the request's communicator was aborted", call);
    tutti_result_t r = tutti_comm_enter(req->comm, call, TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (req->state == TUTTI_REQ_FREE) {
        tutti_comm_leave(req->comm);
        return tutti_comm_error(req->comm, TUTTI_ERR_INVALID_USAGE,
                                "%s: the request was already completed and released", call);
    }
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_wait(tutti_request_t req)
{
    tutti_result_t r = tutti_req_enter(req, "tutti_wait");
    if (r != TUTTI_SUCCESS) return r;
    tutti_comm_t comm = req->comm;
    r = tutti_comm_wait(comm, req);
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_test(tutti_request_t req, int *done)
{
    if (!done) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "tutti_test: done is NULL");
    *done = 0;
    tutti_result_t r = tutti_req_enter(req, "tutti_test");
    if (r != TUTTI_SUCCESS) return r;
    tutti_comm_t comm = req->comm;
    pthread_mutex_lock(&comm->lock);
    if (req->state != TUTTI_REQ_DONE) tutti_comm_progress(comm);
    if (req->state == TUTTI_REQ_DONE) {
        *done = 1;
        r = req->result;
        tutti_request_put(req);
    }
    pthread_mutex_unlock(&comm->lock);
    tutti_comm_leave(comm);
    return r;
}

/* ---- introspection ----------------------------------------------------------- */

size_t tutti_datatype_size(tutti_datatype_t dtype) { return tutti_dtype_size(dtype); }
const char *tutti_datatype_name(tutti_datatype_t dtype) { return tutti_dtype_name(dtype); }
const char *tutti_op_name(tutti_op_t op) { return tutti_dtype_op_name(op); }

const char *tutti_comm_algorithm(tutti_comm_t comm, const char *coll, size_t bytes)
{
    if (!coll || tutti_comm_enter(comm, "tutti_comm_algorithm", TUTTI_ENTER_ALLOW_BROKEN) != TUTTI_SUCCESS) return NULL;
    int c = tutti_coll_from_name(coll);
    const char *name = c < 0 ? NULL : tutti_algo_name(tutti_algo_select(&comm->algo, (tutti_coll_t)c, bytes, comm->nranks, comm->nnodes));
    tutti_comm_leave(comm);
    return name;
}

size_t tutti_comm_algorithm_slice(tutti_comm_t comm, const char *coll, size_t bytes)
{
    if (!coll || tutti_comm_enter(comm, "tutti_comm_algorithm_slice", TUTTI_ENTER_ALLOW_BROKEN) != TUTTI_SUCCESS)
        return 0;
    int c = tutti_coll_from_name(coll);
    size_t ck = 0;
    if (c >= 0) (void)tutti_algo_decide(&comm->algo, (tutti_coll_t)c, bytes, comm->nranks, comm->nnodes, &ck, NULL, 0);
    tutti_comm_leave(comm);
    return ck;
}

uint64_t tutti_comm_transport_bytes(tutti_comm_t comm, const char *name)
{
    if (!name || tutti_comm_enter(comm, "tutti_comm_transport_bytes", TUTTI_ENTER_ALLOW_BROKEN) != TUTTI_SUCCESS) return 0;
    uint64_t b = 0;
    pthread_mutex_lock(&comm->lock);
    for (int t = 0; t < comm->ntps; t++)
        if (strcmp(comm->tps[t].tp->name, name) == 0) b += comm->tps[t].bytes;
    pthread_mutex_unlock(&comm->lock);
    tutti_comm_leave(comm);
    return b;
}

tutti_result_t tutti_comm_describe(tutti_comm_t comm, char *buf, size_t len)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_describe", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!buf || len == 0) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_describe: no buffer");
        goto out;
    }
    int n = snprintf(buf, len, "%d rank%s on %d node%s (%s%s); transports:", comm->nranks, comm->nranks == 1 ? "" : "s",
                     comm->nnodes, comm->nnodes == 1 ? "" : "s", comm->info[comm->rank].host, comm->nnodes > 1 ? ", ..." : "");
    int any = 0;
    for (int t = 0; t < comm->ntps && n > 0 && (size_t)n < len; t++) {
        int peers = 0;
        for (int q = 0; q < comm->nranks; q++)
            if (tutti_engine_link(&comm->engine, q, 0)->tp == comm->tps[t].tp) peers++;
        if (!peers) continue;
        n += snprintf(buf + n, len - (size_t)n, "%s %s (%d peer%s)", any ? "," : "", comm->tps[t].tp->name, peers,
                      peers == 1 ? "" : "s");
        any = 1;
    }
    if (!any && n > 0 && (size_t)n < len) snprintf(buf + n, len - (size_t)n, " none (single rank)");
out:
    tutti_comm_leave(comm);
    return r;
}
