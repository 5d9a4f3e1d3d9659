/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Point-to-point: tutti_send / tutti_recv, alone or in a group.
 *
 *   tutti_group_start(comm);
 *   tutti_send(a, n, TUTTI_FLOAT32, right, comm);      recorded, not run
 *   tutti_recv(b, n, TUTTI_FLOAT32, left, comm);
 *   tutti_group_end(comm);                             one operation: every
 *                                                      send and receive at once
 *
 * Messages between two ranks match in posting order.  A send or receive
 * outside a group is an operation of its own.  Nonblocking ones queued
 * behind each other run at the same time where they use different
 * connections (progress.c's run-ahead), so irecv-then-isend (or the other
 * way round) on both sides of an exchange completes; a collective still
 * waits for every operation posted before it, and operations posted after a
 * collective wait for it.  Two ranks that both make a blocking send first
 * wait on each other once the message outgrows the transport's slots (the
 * deadline then names the peer), as in MPI: exchanges belong in a group or
 * in nonblocking calls.  Point-to-point operations take no call number (the other ranks
 * never see them), so they do not disturb the collectives' fingerprints;
 * their messages carry the point-to-point fingerprint, so a collective that
 * meets one (or a receive that meets a collective) fails with
 * TUTTI_ERR_MISMATCH.  The schedule: collectives/p2p/group.c.
 */
#include "core/comm.h"

#include "core/fingerprint.h"
#include "dtype/dtype.h"
#include "util/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUTTI_GROUP_MAX_OPS (1 << 20)

/* Checks one send or receive; fills *op.  Nothing is touched on error. */
static tutti_result_t tutti_p2p_check(tutti_comm_t comm, const char *call, int send, const void *buf, size_t count,
                                      tutti_datatype_t dtype, int peer, tutti_p2p_op_t *op)
{
    if (!tutti_dtype_valid(dtype))
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: invalid datatype %d (valid: 0..%d)", call,
                                (int)dtype, TUTTI_NUM_DATATYPES - 1);
    if (peer < 0 || peer >= comm->nranks)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: peer %d is out of range for %d ranks", call,
                                peer, comm->nranks);
    size_t es = tutti_dtype_size(dtype);
    if (count > SIZE_MAX / 2 / es)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: count %zu of %s overflows the addressable size",
                                call, count, tutti_dtype_name(dtype));
    if (count > 0 && !buf)
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: buf is NULL with count %zu", call, count);
    op->peer = peer;
    op->send = send;
    op->sbuf = send ? buf : NULL;
    op->rbuf = send ? NULL : (void *)(uintptr_t)buf;
    op->bytes = count * es;
    return TUTTI_SUCCESS;
}

typedef struct {
    uintptr_t lo, hi;
    int send;
} tutti_p2p_range_t;

static int tutti_p2p_range_cmp(const void *a, const void *b)
{
    const tutti_p2p_range_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* A group's own consistency: every self send has its self receive of the
 * same size (in order), and no receive buffer overlaps another buffer of
 * the group (their slices run in any order).  TUTTI_SUCCESS, or the error
 * with what is wrong in why. */
static tutti_result_t tutti_p2p_group_check(tutti_comm_t comm, const tutti_p2p_op_t *ops, int n, char *why,
                                            size_t whylen)
{
    int ss = 0, sr = 0;
    for (int k = 0; k < n; k++) {
        if (ops[k].peer != comm->rank) continue;
        if (ops[k].send) ss++;
        else sr++;
    }
    if (ss != sr) {
        snprintf(why, whylen, "%d send(s) to this rank itself against %d receive(s) from it", ss, sr);
        return TUTTI_ERR_INVALID_ARGUMENT;
    }
    for (int k = 0, j = 0, i = 0; k < n; k++) {
        if (ops[k].peer != comm->rank || !ops[k].send) continue;
        while (ops[j].peer != comm->rank || ops[j].send) j++;
        if (ops[j].bytes != ops[k].bytes) {
            snprintf(why, whylen, "self send %d has %zu bytes, its receive %zu", i, ops[k].bytes, ops[j].bytes);
            return TUTTI_ERR_INVALID_ARGUMENT;
        }
        j++;
        i++;
    }
    tutti_p2p_range_t *rg = malloc(sizeof(*rg) * (size_t)(n > 0 ? n : 1));
    if (!rg) {
        snprintf(why, whylen, "out of memory checking the buffers");
        return TUTTI_ERR_NO_MEMORY;
    }
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (!ops[k].bytes) continue;
        uintptr_t lo = ops[k].send ? (uintptr_t)ops[k].sbuf : (uintptr_t)ops[k].rbuf;
        rg[m++] = (tutti_p2p_range_t){lo, lo + ops[k].bytes, ops[k].send};
    }
    qsort(rg, (size_t)m, sizeof(*rg), tutti_p2p_range_cmp);
    /* sorted by start, a range overlaps an earlier one iff it starts below
     * that one's end: a receive must not overlap anything, a send no
     * receive (sends may share memory) */
    tutti_result_t bad = TUTTI_SUCCESS;
    uintptr_t reach_any = 0, reach_recv = 0;
    for (int k = 0; k < m && bad == TUTTI_SUCCESS; k++) {
        if (rg[k].lo < (rg[k].send ? reach_recv : reach_any)) {
            snprintf(why, whylen, "a receive buffer overlaps another buffer of the group (at %p)", (void *)rg[k].lo);
            bad = TUTTI_ERR_INVALID_ARGUMENT;
        }
        if (rg[k].hi > reach_any) reach_any = rg[k].hi;
        if (!rg[k].send && rg[k].hi > reach_recv) reach_recv = rg[k].hi;
    }
    free(rg);
    return bad;
}

/* Builds and queues one point-to-point operation (comm->lock held). */
static tutti_result_t tutti_p2p_post(tutti_comm_t comm, const char *call, const tutti_p2p_op_t *ops, int n,
                                     struct tutti_request **out)
{
    struct tutti_request *req = tutti_request_get(comm);
    if (!req) return tutti_comm_error(comm, TUTTI_ERR_NO_MEMORY, "%s: out of memory for a request", call);
    tutti_sched_t *s = &req->x.sched;
    tutti_sched_reset(s, comm->slice_max, 1, TUTTI_NCHANNELS);
    tutti_result_t r = tutti_coll_p2p_group(s, comm->rank, comm->nranks, ops, n);
    tutti_sched_finish(s);
    if (r != TUTTI_SUCCESS || s->oom) {
        tutti_request_put(req);
        return tutti_comm_error(comm, r == TUTTI_SUCCESS ? TUTTI_ERR_NO_MEMORY : r, "%s: cannot build the schedule",
                                call);
    }
    size_t most = 0;
    req->nsend = req->nrecv = 0;
    memset(req->pairs, 0, tutti_pairs_words(comm->nranks) * sizeof(uint64_t));
    for (int k = 0; k < n; k++) {
        if (ops[k].send) req->nsend++;
        else req->nrecv++;
        if (ops[k].bytes > most) most = ops[k].bytes;
        if (ops[k].peer != comm->rank) { /* (an empty message is a message too) */
            size_t bit = (size_t)(ops[k].send ? 0 : comm->nranks) + (size_t)ops[k].peer;
            req->pairs[bit / 64] |= 1ull << (bit % 64);
        }
    }
    s->stream_out = most >= comm->nt_threshold;
    req->seq = TUTTI_SEQ_P2P;
    req->p2p = 1;
    req->alltoallv = 0;
    req->coll = TUTTI_COLL_BARRIER; /* unused for point-to-point */
    req->algo = TUTTI_ALGO_RING;
    req->count = 0;
    req->dtype = TUTTI_UINT8;
    req->op = TUTTI_SUM;
    req->root = -1;
    req->memtype = TUTTI_MEM_HOST;
    /* every message carries its own fingerprint (the step's); the call's
     * matters only to the descriptions */
    tutti_exec_start(&req->x, TUTTI_UINT8, TUTTI_SUM, comm->nranks, tutti_fingerprint_p2p(0), comm->fingerprint);
    TUTTI_TRACE(TUTTI_SUBSYS_COLL, comm->rank, "%s: %d send(s), %d receive(s), %u phases, %u steps", call, req->nsend,
                req->nrecv, s->nphases, s->nsteps);
    req->fr_id = tutti_recorder_post(&comm->fr, req);
    tutti_comm_enqueue(comm, req);
    *out = req;
    return TUTTI_SUCCESS;
}

/* Runs ops as one operation: waits (reqp NULL) or returns its request.
 * Called with comm->lock held (ops may be the group's array, which another
 * thread may grow once the lock is released); releases it. */
static tutti_result_t tutti_p2p_run(tutti_comm_t comm, const char *call, const tutti_p2p_op_t *ops, int n,
                                    tutti_request_t *reqp)
{
    struct tutti_request *req = NULL;
    tutti_result_t r = tutti_p2p_post(comm, call, ops, n, &req);
    if (r == TUTTI_SUCCESS && reqp) tutti_comm_progress(comm);
    pthread_mutex_unlock(&comm->lock);
    if (r != TUTTI_SUCCESS) return r;
    if (reqp) {
        *reqp = req;
        return TUTTI_SUCCESS;
    }
    return tutti_comm_wait(comm, req);
}

/* Records op in the open group (comm->lock held): TUTTI_SUCCESS, or an
 * error that also fails the group (it would run with a message missing,
 * shifting every later one between the pair). */
static tutti_result_t tutti_group_add(tutti_comm_t comm, const char *call, const tutti_p2p_op_t *op)
{
    if (comm->group.n == comm->group.cap) {
        int cap = comm->group.cap ? 2 * comm->group.cap : 16;
        if (cap > TUTTI_GROUP_MAX_OPS) {
            comm->group.failed = 1;
            return tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE, "%s: a group holds at most %d operations", call,
                                    TUTTI_GROUP_MAX_OPS);
        }
        tutti_p2p_op_t *nops = realloc(comm->group.ops, sizeof(*nops) * (size_t)cap);
        if (!nops) {
            comm->group.failed = 1;
            return tutti_comm_error(comm, TUTTI_ERR_NO_MEMORY, "%s: out of memory for the group's %d operations",
                                    call, cap);
        }
        comm->group.ops = nops;
        comm->group.cap = cap;
    }
    comm->group.ops[comm->group.n++] = *op;
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_p2p_call(tutti_comm_t comm, const char *call, int send, const void *buf, size_t count,
                                     tutti_datatype_t dtype, int peer, tutti_request_t *reqp, int nonblocking)
{
    tutti_result_t r = tutti_comm_enter(comm, call, 0);
    if (r != TUTTI_SUCCESS) return r;
    tutti_p2p_op_t op;
    pthread_mutex_lock(&comm->lock);
    int in_group = comm->group.open;
    if (in_group && !pthread_equal(comm->group.owner, pthread_self())) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                             "%s: another thread has a point-to-point group open on this communicator", call);
        goto out;
    }
    if (nonblocking && !reqp) r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: req is NULL", call);
    else r = tutti_p2p_check(comm, call, send, buf, count, dtype, peer, &op);
    if (r == TUTTI_SUCCESS && in_group && nonblocking)
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                             "%s inside a group: use tutti_send / tutti_recv there (the group is the operation; "
                             "tutti_igroup_end gives its request)",
                             call);
    if (in_group) {
        /* a refused operation fails the whole group: run without it, every
         * later message between the pair would meet the wrong receive */
        if (r != TUTTI_SUCCESS) comm->group.failed = 1;
        else r = tutti_group_add(comm, call, &op);
        goto out;
    }
    if (r != TUTTI_SUCCESS) goto out;
    if (peer == comm->rank) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                             "%s: to or from this rank itself outside a group (its matching %s could never run): "
                             "put both in one tutti_group_start / tutti_group_end",
                             call, send ? "receive" : "send");
        goto out;
    }
    r = tutti_p2p_run(comm, call, &op, 1, nonblocking ? reqp : NULL);
    tutti_comm_leave(comm);
    return r;
out:
    pthread_mutex_unlock(&comm->lock);
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_send(const void *buf, size_t count, tutti_datatype_t dtype, int peer, tutti_comm_t comm)
{
    return tutti_p2p_call(comm, "tutti_send", 1, buf, count, dtype, peer, NULL, 0);
}

tutti_result_t tutti_recv(void *buf, size_t count, tutti_datatype_t dtype, int peer, tutti_comm_t comm)
{
    return tutti_p2p_call(comm, "tutti_recv", 0, buf, count, dtype, peer, NULL, 0);
}

tutti_result_t tutti_isend(const void *buf, size_t count, tutti_datatype_t dtype, int peer, tutti_comm_t comm,
                           tutti_request_t *req)
{
    return tutti_p2p_call(comm, "tutti_isend", 1, buf, count, dtype, peer, req, 1);
}

tutti_result_t tutti_irecv(void *buf, size_t count, tutti_datatype_t dtype, int peer, tutti_comm_t comm,
                           tutti_request_t *req)
{
    return tutti_p2p_call(comm, "tutti_irecv", 0, buf, count, dtype, peer, req, 1);
}

tutti_result_t tutti_group_start(tutti_comm_t comm)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_group_start", 0);
    if (r != TUTTI_SUCCESS) return r;
    pthread_mutex_lock(&comm->lock);
    if (comm->group.open) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE, "tutti_group_start: a group is already open (groups do "
                                                            "not nest)");
    } else {
        comm->group.failed = 0;
        comm->group.n = 0;
        comm->group.owner = pthread_self();
        __atomic_store_n(&comm->group.open, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&comm->lock);
    tutti_comm_leave(comm);
    return r;
}

static tutti_result_t tutti_group_finish(tutti_comm_t comm, const char *call, tutti_request_t *reqp, int nonblocking)
{
    tutti_result_t r = tutti_comm_enter(comm, call, 0);
    if (r != TUTTI_SUCCESS) return r;
    char why[200];
    int n = 0;
    pthread_mutex_lock(&comm->lock);
    /* errors before the group is touched leave it open, as it was */
    if (nonblocking && !reqp) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "%s: req is NULL", call);
        goto out;
    }
    if (!comm->group.open) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE, "%s: no group is open (tutti_group_start)", call);
        goto out;
    }
    if (!pthread_equal(comm->group.owner, pthread_self())) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE, "%s: the open group belongs to another thread", call);
        goto out;
    }
    /* the group is over whatever happens next: its operations run or are dropped */
    __atomic_store_n(&comm->group.open, 0, __ATOMIC_RELEASE);
    n = comm->group.n;
    comm->group.n = 0;
    if (comm->group.failed) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                             "%s: an operation of this group was refused (see its error); nothing was sent", call);
        goto out;
    }
    tutti_result_t cr = tutti_p2p_group_check(comm, comm->group.ops, n, why, sizeof(why));
    if (cr != TUTTI_SUCCESS) {
        r = tutti_comm_error(comm, cr, "%s: %s; nothing was sent", call, why);
        goto out;
    }
    if (n == 0 && !nonblocking) goto out;
    r = tutti_p2p_run(comm, call, comm->group.ops, n, nonblocking ? reqp : NULL);
    tutti_comm_leave(comm);
    return r;
out:
    pthread_mutex_unlock(&comm->lock);
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_group_end(tutti_comm_t comm)
{
    return tutti_group_finish(comm, "tutti_group_end", NULL, 0);
}

tutti_result_t tutti_igroup_end(tutti_comm_t comm, tutti_request_t *req)
{
    return tutti_group_finish(comm, "tutti_igroup_end", req, 1);
}
