/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests and progress.  Operations on a communicator run in the order
 * they were posted (every rank posts its collectives in the same order, so
 * every connection carries them in the same order); waiting on any request
 * drives the queue from its head.  The one exception: point-to-point
 * operations queued behind a point-to-point head run alongside it, each as
 * soon as no earlier queued operation uses one of its connections
 * (tutti_comm_run_ahead).  Every wait has a deadline: when the operation
 * at the head makes no progress for `timeout` seconds it fails with
 * TUTTI_ERR_TIMEOUT naming the peer it waits for, and a peer found dead
 * fails it at once with TUTTI_ERR_REMOTE.
 */
#include "core/comm.h"

#include "dtype/dtype.h"
#include "util/log.h"
#include "util/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUTTI_PEER_CHECK_INTERVAL 0.1

struct tutti_request *tutti_request_get(tutti_comm_t comm)
{
    struct tutti_request *req = comm->free_reqs;
    if (req) {
        comm->free_reqs = req->next;
    } else {
        req = calloc(1, sizeof(*req));
        if (!req) return NULL;
        req->pairs = calloc(tutti_pairs_words(comm->nranks), sizeof(uint64_t));
        if (!req->pairs) {
            free(req);
            return NULL;
        }
        tutti_sched_init(&req->x.sched, comm->slice_max, 1, TUTTI_NCHANNELS);
        req->all_next = comm->all_reqs;
        comm->all_reqs = req;
    }
    req->comm = comm;
    req->next = NULL;
    req->state = TUTTI_REQ_FREE;
    return req;
}

void tutti_request_put(struct tutti_request *req)
{
    tutti_comm_t comm = req->comm;
    req->state = TUTTI_REQ_FREE;
    req->next = comm->free_reqs;
    comm->free_reqs = req;
}

/* req becomes the operation this rank is in: recorded, and published to the
 * peers so that ranks stuck in different calls can tell. */
static void tutti_comm_start(tutti_comm_t comm, struct tutti_request *req)
{
    tutti_recorder_update(&comm->fr, req, TUTTI_FR_RUNNING);
    if (req->p2p) return; /* no call number: the published collective stays */
    for (int t = 0; t < comm->ntps; t++) comm->tps[t].tp->publish_state(comm->tps[t].tpcomm, req->seq, req->x.tag);
}

void tutti_comm_enqueue(tutti_comm_t comm, struct tutti_request *req)
{
    if (!comm->head) tutti_comm_start(comm, req);
    req->state = TUTTI_REQ_QUEUED;
    req->next = NULL;
    req->started = 0;
    req->last_progress = 0;
    req->last_steps = 0;
    req->last_peer_check = 0;
    req->wait_root = -1;
    if (comm->tail) comm->tail->next = req;
    else comm->head = req;
    comm->tail = req;
}

static void tutti_request_describe(const struct tutti_request *req, char *buf, size_t len)
{
    if (req->p2p) {
        snprintf(buf, len, "point-to-point (%d send(s), %d receive(s))", req->nsend, req->nrecv);
        return;
    }
    int n = snprintf(buf, len, "tutti_%s%s #%llu", tutti_coll_name(req->coll), req->alltoallv ? "v" : "",
                     (unsigned long long)req->seq);
    if (req->coll == TUTTI_COLL_BARRIER || n < 0 || (size_t)n >= len) return;
    char root[24] = "";
    if (tutti_coll_has_root(req->coll)) snprintf(root, sizeof(root), " root %d", req->root);
    snprintf(buf + n, len - (size_t)n, " (%scount %zu %s%s%s%s, %s)", req->alltoallv ? "largest block " : "",
             req->count, tutti_dtype_name(req->dtype),
             tutti_coll_has_op(req->coll) ? " " : "", tutti_coll_has_op(req->coll) ? tutti_dtype_op_name(req->op) : "",
             root, tutti_algo_name(req->algo));
}

/* Operation `failed` (the head, or one run ahead of it) failed: record
 * why, break the communicator, tell the peers, fail the rest. */
static void tutti_comm_fail_queue(tutti_comm_t comm, const struct tutti_request *failed, tutti_result_t r)
{
    if (!comm->broken) {
        comm->broken = r;
        if (r != TUTTI_ERR_ABORTED) {
            /* pass on the root cause, not a chain of "rank x reported" */
            const char *cause = comm->last_error, *p;
            while ((p = strstr(cause, "it reported: "))) cause = p + 13;
            char why[160];
            if (cause != comm->last_error) snprintf(why, sizeof(why), "%.150s", cause);
            else if (comm->cause[0]) snprintf(why, sizeof(why), "%s", comm->cause);
            else snprintf(why, sizeof(why), "rank %d failed: %.130s", comm->rank, comm->last_error);
            tutti_comm_announce(comm, r, why);
        }
    }
    for (struct tutti_request *q = comm->head; q; q = q->next) {
        q->state = TUTTI_REQ_DONE;
        /* what was running (the head, operations run ahead) failed with
         * it; what had not started is refused as after any failure */
        q->result = (q == failed || q == comm->head || q->started || r == TUTTI_ERR_ABORTED) ? r
                                                                                              : TUTTI_ERR_INVALID_USAGE;
        tutti_recorder_update(&comm->fr, q, TUTTI_FR_FAILED);
    }
    comm->head = comm->tail = NULL;
}

/* Where the chain of waits that starts at `peer` ends, as far as the
 * peer's published wait state tells: the peer itself when it published
 * nothing (or waits for this rank: a cycle). */
static int tutti_comm_wait_root(tutti_comm_t comm, const struct tutti_request *req, int peer)
{
    tutti_link_t *l = tutti_engine_link(&comm->engine, peer, 0);
    if (req->p2p || !l->tp || !(l->tp->caps & TUTTI_TP_CAP_WAIT_STATE)) return peer;
    uint64_t seq;
    int on, root;
    if (l->tp->peer_wait(l->rconn, &seq, &on, &root) != TUTTI_SUCCESS) return peer;
    /* a state from an earlier call is stale; the peer may be one call ahead */
    if (seq + 1 < req->seq || on < 0 || root < 0 || root >= comm->nranks || root == comm->rank) return peer;
    return root;
}

static tutti_result_t tutti_comm_check_stall(tutti_comm_t comm, struct tutti_request *req)
{
    double now = tutti_time_coarse();
    char what[192];
    /* operations run ahead of the head moving count as progress: the head
     * may wait for an answer that only comes after they finish */
    if (req->x.steps_done != req->last_steps || comm->ahead_steps != req->last_ahead || req->last_progress == 0) {
        req->last_steps = req->x.steps_done;
        req->last_ahead = comm->ahead_steps;
        req->last_progress = now;
        return TUTTI_INPROGRESS;
    }
    int peer = req->x.blocked_peer;
    if (peer >= 0 && now - req->last_peer_check > TUTTI_PEER_CHECK_INTERVAL) {
        req->last_peer_check = now;
        tutti_link_t *l = tutti_engine_link(&comm->engine, peer, req->x.blocked_chan < 0 ? 0 : req->x.blocked_chan);
        char why[256];
        tutti_result_t pr = l->tp ? l->tp->peer_check(req->x.blocked_dir == 0 ? l->sconn : l->rconn, req->seq,
                                                      req->x.tag, why, sizeof(why))
                                  : TUTTI_SUCCESS;
        if (pr != TUTTI_SUCCESS) {
            tutti_request_describe(req, what, sizeof(what));
            if (pr == TUTTI_ERR_MISMATCH && strncmp(why, "is in ", 6) == 0)
                tutti_comm_error(comm, pr, "%s: rank %d waits for rank %d (%s), which %s: the ranks called different "
                                 "collectives (or with different arguments)",
                                 what, comm->rank, peer, comm->info[peer].host, why);
            else if (pr == TUTTI_ERR_MISMATCH)
                tutti_comm_error(comm, pr, "%s: peer rank %d (%s) detected mismatched collectives: %s", what, peer,
                                 comm->info[peer].host, why);
            else
                tutti_comm_error(comm, pr, "%s: rank %d lost its peer rank %d (%s): %s", what, comm->rank, peer,
                                 comm->info[peer].host, why);
            return pr;
        }
    }
    tutti_recorder_update(&comm->fr, req, TUTTI_FR_RUNNING);
    /* stuck for half the deadline: tell the peers whom this rank waits for
     * and where the chain of waits ends, so that whoever times out names
     * the rank (host, link) that really stopped */
    int root = peer;
    if (peer >= 0 && now - req->last_progress > comm->timeout / 2) {
        root = tutti_comm_wait_root(comm, req, peer);
        if (root != req->wait_root && !req->p2p) {
            req->wait_root = root;
            for (int t = 0; t < comm->ntps; t++)
                if (comm->tps[t].tp->caps & TUTTI_TP_CAP_WAIT_STATE)
                    comm->tps[t].tp->publish_wait(comm->tps[t].tpcomm, req->seq, req->x.tag, peer, root);
        }
    }
    if (now - req->last_progress > comm->timeout) {
        char recent[700];
        tutti_recorder_format(&comm->fr, comm->rank, 4, recent, sizeof(recent));
        if (comm->dump_on_timeout) tutti_recorder_log(&comm->fr, comm->rank, "timeout");
        tutti_request_describe(req, what, sizeof(what));
        char callno[40] = "a point-to-point operation";
        if (!req->p2p) snprintf(callno, sizeof(callno), "#%llu", (unsigned long long)req->seq);
        if (peer >= 0)
            snprintf(comm->cause, sizeof(comm->cause), "rank %d timed out (%.1f s) in %s waiting for rank %d; the "
                     "waits end at rank %d (host %.40s)",
                     comm->rank, comm->timeout, callno, peer, root, comm->info[root].host);
        if (peer >= 0 && root != peer && root >= 0 && root < comm->nranks)
            tutti_comm_error(comm, TUTTI_ERR_TIMEOUT,
                             "%s: rank %d made no progress for %.1f s waiting to %s rank %d (host %s, channel %d), "
                             "which itself waits, and the chain of waits ends at rank %d (host %s): that rank is "
                             "stuck, or its host or the network to it is down. Recent operations:\n%s",
                             what, comm->rank, comm->timeout, req->x.blocked_dir == 0 ? "send to" : "receive from",
                             peer, comm->info[peer].host, req->x.blocked_chan, root, comm->info[root].host, recent);
        else if (peer >= 0)
            tutti_comm_error(comm, TUTTI_ERR_TIMEOUT,
                             "%s: rank %d made no progress for %.1f s waiting to %s rank %d (host %s, channel %d); "
                             "that rank may be stuck in another call%s, or the ranks called different collectives. "
                             "Recent operations:\n%s",
                             what, comm->rank, comm->timeout, req->x.blocked_dir == 0 ? "send to" : "receive from",
                             peer, comm->info[peer].host, req->x.blocked_chan,
                             comm->node_of_rank[peer] != comm->node_of_rank[comm->rank]
                                 ? ", the network between the two hosts may be down"
                                 : "",
                             recent);
        else
            tutti_comm_error(comm, TUTTI_ERR_TIMEOUT, "%s: rank %d made no progress for %.1f s", what,
                             comm->rank, comm->timeout);
        return TUTTI_ERR_TIMEOUT;
    }
    return TUTTI_INPROGRESS;
}

/* req failed with r (err: the engine's words, recorded: check_stall wrote
 * them): name what failed and why, then fail the queue. */
static tutti_result_t tutti_comm_fail_req(tutti_comm_t comm, struct tutti_request *req, tutti_result_t r,
                                          const char *err, int recorded)
{
    if (err[0]) {
        char what[192];
        tutti_request_describe(req, what, sizeof(what));
        tutti_comm_error(comm, r, "%s: %s", what, err);
    } else if (!recorded) {
        char what[192], why[256] = "";
        tutti_request_describe(req, what, sizeof(what));
        int peer = req->x.blocked_peer;
        if (peer >= 0 && peer < comm->nranks) {
            /* the transport knows why: a closed connection, a report */
            tutti_link_t *l = tutti_engine_link(&comm->engine, peer, req->x.blocked_chan < 0 ? 0 : req->x.blocked_chan);
            tutti_result_t pr = TUTTI_SUCCESS;
            if (l->tp)
                pr = l->tp->peer_check(req->x.blocked_dir == 0 ? l->sconn : l->rconn, req->seq, req->x.tag, why,
                                       sizeof(why));
            /* a peer that reported a mismatch and closed: the mismatch is the cause */
            if (pr == TUTTI_ERR_MISMATCH) r = pr;
            if (r == TUTTI_ERR_MISMATCH)
                tutti_comm_error(comm, r, "%s: peer rank %d (%s) detected mismatched collectives: %s", what, peer,
                                 comm->info[peer].host, why[0] ? why : "(no detail)");
            else
                tutti_comm_error(comm, r, "%s: rank %d lost its peer rank %d (%s): %s", what, comm->rank, peer,
                                 comm->info[peer].host, why[0] ? why : "transport failure");
        } else {
            tutti_comm_error(comm, r, "%s: transport failure (%s)", what, tutti_result_name(r));
        }
    }
    tutti_comm_fail_queue(comm, req, r);
    return r;
}

static void tutti_comm_done(tutti_comm_t comm, struct tutti_request *req)
{
    req->state = TUTTI_REQ_DONE;
    req->result = TUTTI_SUCCESS;
    tutti_recorder_update(&comm->fr, req, TUTTI_FR_DONE);
}

/* Point-to-point operations queued right behind a point-to-point head run
 * alongside it, each once no earlier operation still queued moves messages
 * over one of its connections (same peer, same direction):
 *
 *   queue:  irecv from 1 | isend to 1 | isend to 1    | allreduce
 *           head           runs         waits: 2nd      waits: collectives
 *                                       send to 1       run at the head only
 *
 * so messages between two ranks still match in posting order, and both
 * sides of an exchange that post irecv then isend (or isend then irecv)
 * move at once.  A started operation stays runnable: earlier ones only
 * leave the queue.  Those that finish leave it out of order.  Returns the
 * first failure, its request in *failed; else TUTTI_SUCCESS. */
static tutti_result_t tutti_comm_run_ahead(tutti_comm_t comm, char *err, size_t errlen,
                                           struct tutti_request **failed)
{
    struct tutti_request *prev = comm->head, *q = prev->next;
    if (!q || !q->p2p) return TUTTI_SUCCESS;
    size_t nw = tutti_pairs_words(comm->nranks);
    if (!comm->busy_pairs) {
        comm->busy_pairs = malloc(nw * sizeof(uint64_t));
        if (!comm->busy_pairs) return TUTTI_SUCCESS; /* no run-ahead: posting order, as before */
    }
    uint64_t *busy = comm->busy_pairs;
    memcpy(busy, prev->pairs, nw * sizeof(uint64_t));
    while (q && q->p2p) {
        struct tutti_request *next = q->next;
        int clash = 0;
        for (size_t w = 0; w < nw && !clash; w++) clash = (busy[w] & q->pairs[w]) != 0;
        if (!clash) {
            if (!q->started) {
                q->started = 1;
                tutti_recorder_update(&comm->fr, q, TUTTI_FR_RUNNING);
            }
            uint64_t before = q->x.steps_done;
            err[0] = '\0';
            tutti_result_t r = tutti_exec_run(&comm->engine, &q->x, err, errlen);
            comm->ahead_steps += q->x.steps_done - before;
            if (r == TUTTI_SUCCESS) {
                tutti_comm_done(comm, q);
                prev->next = next;
                if (comm->tail == q) comm->tail = prev;
                q = next;
                continue;
            }
            if (r != TUTTI_INPROGRESS) {
                *failed = q;
                return r;
            }
        }
        for (size_t w = 0; w < nw; w++) busy[w] |= q->pairs[w];
        prev = q;
        q = next;
    }
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_comm_progress(tutti_comm_t comm)
{
    char err[TUTTI_ERRLEN];
    while (comm->head) {
        struct tutti_request *req = comm->head;
        int recorded = 0;
        if (__atomic_load_n(&comm->aborted, __ATOMIC_ACQUIRE)) {
            tutti_comm_fail_queue(comm, NULL, TUTTI_ERR_ABORTED);
            return TUTTI_ERR_ABORTED;
        }
        err[0] = '\0';
        tutti_result_t r = tutti_exec_run(&comm->engine, &req->x, err, sizeof(err));
        if (r == TUTTI_INPROGRESS && req->p2p) {
            struct tutti_request *failed = NULL;
            tutti_result_t ar = tutti_comm_run_ahead(comm, err, sizeof(err), &failed);
            if (ar != TUTTI_SUCCESS) return tutti_comm_fail_req(comm, failed, ar, err, 0);
        }
        if (r == TUTTI_INPROGRESS) {
            for (int t = 0; t < comm->ntps; t++) {
                if (!(comm->tps[t].tp->caps & TUTTI_TP_CAP_NEEDS_PROGRESS)) continue;
                tutti_result_t pr = comm->tps[t].tp->progress(comm->tps[t].tpcomm);
                if (pr < 0) {
                    r = pr;
                    break;
                }
            }
            if (r == TUTTI_INPROGRESS) {
                if ((++req->x.polls & 255) != 0) return TUTTI_INPROGRESS;
                r = tutti_comm_check_stall(comm, req);
                if (r == TUTTI_INPROGRESS) return r;
                recorded = 1; /* check_stall wrote the detail */
            }
        }
        if (r == TUTTI_SUCCESS) {
            tutti_comm_done(comm, req);
            comm->head = req->next;
            if (!comm->head) comm->tail = NULL;
            else tutti_comm_start(comm, comm->head);
            continue;
        }
        return tutti_comm_fail_req(comm, req, r, err, recorded);
    }
    return TUTTI_SUCCESS;
}

/* Done spinning and waiting on a peer behind a transport the kernel can
 * wake (TCP): sleep in the kernel for up to a millisecond instead of
 * polling, so that ranks sharing the CPUs get them.  1 if it slept. */
static int tutti_comm_block(tutti_comm_t comm)
{
    struct tutti_request *h = comm->head;
    if (!h || h->x.blocked_peer < 0 || h->x.blocked_peer >= comm->nranks) return 0;
    tutti_link_t *l = tutti_engine_link(&comm->engine, h->x.blocked_peer, h->x.blocked_chan < 0 ? 0 : h->x.blocked_chan);
    if (!l->tp || !(l->tp->caps & TUTTI_TP_CAP_BLOCK)) return 0;
    /* operations run ahead (point-to-point) that wait elsewhere: poll */
    for (struct tutti_request *q = h->next; q && q->p2p; q = q->next) {
        if (!q->started) continue;
        int p = q->x.blocked_peer;
        if (p < 0 || p >= comm->nranks) return 0;
        if (tutti_engine_link(&comm->engine, p, q->x.blocked_chan < 0 ? 0 : q->x.blocked_chan)->tp != l->tp) return 0;
    }
    for (int t = 0; t < comm->ntps; t++)
        if (comm->tps[t].tp == l->tp) return l->tp->block(comm->tps[t].tpcomm, 1) == TUTTI_SUCCESS;
    return 0;
}

tutti_result_t tutti_comm_wait(tutti_comm_t comm, struct tutti_request *req)
{
    tutti_backoff_t bo;
    tutti_backoff_init(&bo, comm->spin, comm->spin_s);
    for (;;) {
        pthread_mutex_lock(&comm->lock);
        if (req->state != TUTTI_REQ_DONE) {
            uint64_t before = (comm->head ? comm->head->x.steps_done : 0) + comm->ahead_steps;
            tutti_comm_progress(comm);
            if ((comm->head ? comm->head->x.steps_done : 0) + comm->ahead_steps != before) tutti_backoff_reset(&bo);
        }
        if (req->state == TUTTI_REQ_DONE) {
            tutti_result_t r = req->result;
            tutti_request_put(req);
            pthread_mutex_unlock(&comm->lock);
            return r;
        }
        /* a SIGUSR1 asked for the flight recorders (TUTTI_DUMP_SIGNAL) */
        unsigned want = tutti_recorder_dump_requests();
        if (want != comm->dumped) {
            comm->dumped = want;
            tutti_recorder_log(&comm->fr, comm->rank, "SIGUSR1");
        }
        int slept = tutti_backoff_spun(&bo) && tutti_comm_block(comm);
        pthread_mutex_unlock(&comm->lock);
        if (!slept) tutti_backoff_wait(&bo);
    }
}
