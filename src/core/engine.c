/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/engine.h"

#include "dtype/copy.h"
#include "core/fingerprint.h"
#include "dtype/dtype.h"

#include <stdio.h>
#include <string.h>

void tutti_exec_start(tutti_exec_t *x, tutti_datatype_t dt, tutti_op_t op, int div, uint32_t tag, int check_tag)
{
    x->tag = tag;
    x->check_tag = check_tag;
    x->phase = 0;
    x->done_streams = 0;
    memset(x->step, 0, sizeof(x->step));
    memset(x->iter, 0, sizeof(x->iter));
    x->dtype = dt;
    x->op = op;
    x->div = (op == TUTTI_AVG) ? div : 0;
    x->steps_done = 0;
    x->polls = 0;
    x->refs_sent = 0;
    x->flush_step = 0;
    x->blocked_peer = -1;
    x->blocked_dir = -1;
    x->blocked_chan = -1;
    x->wg0 = x->wk = 0;
    x->wstage = x->wpeer = 0;
}

static tutti_result_t tutti_exec_blocked(tutti_exec_t *x, int peer, int dir, int chan)
{
    x->blocked_peer = peer;
    x->blocked_dir = dir;
    x->blocked_chan = chan;
    return TUTTI_INPROGRESS;
}

/* A message from `peer` that belongs to another call. */
static tutti_result_t tutti_exec_tag_mismatch(tutti_engine_t *e, tutti_exec_t *x, int peer, uint32_t got,
                                              uint32_t mine, char *err, size_t errlen)
{
    char theirs[160];
    tutti_fingerprint_describe(got, mine, theirs, sizeof(theirs));
    snprintf(err, errlen, "rank %d received from rank %d a message of %s: the ranks called different collectives "
                          "(or with different arguments)",
             e->rank, peer, theirs);
    x->blocked_peer = peer;
    x->blocked_dir = 1;
    return TUTTI_ERR_MISMATCH;
}

/* One step on one slice: take every send slot, then the input(s), compute,
 * hand the slots on.  Acquisition is idempotent, so a step that cannot
 * complete is retried from the top; the only call that consumes anything,
 * recv_read, comes after every send slot is held, so a retry never repeats
 * it.
 *
 * A step that is a pure copy from one peer into dst receives straight into
 * dst (recv_read: a transport holding a reference reads it in one copy).
 * A stable step sends by reference when the link can and the slice is at
 * least ref_min bytes.  Large calls (stream_out) take the streaming-store
 * path instead. */
static tutti_result_t tutti_exec_slice(tutti_engine_t *e, tutti_exec_t *x, const tutti_step_t *st,
                                       size_t off, size_t len, char *err, size_t errlen)
{
    const void *in[1 + TUTTI_MAX_FAN];
    void *out[1 + TUTTI_MAX_FAN];
    void *sslot[TUTTI_MAX_FAN];
    int nin = 0, nout = 0;
    tutti_result_t r;
    int stream = x->sched.stream_out && st->dst;
    int div = (st->flags & TUTTI_STEP_FINAL) ? x->div : 0;
    int reduce = (st->flags & TUTTI_STEP_REDUCE) && (st->nrecv + (st->src ? 1 : 0)) > 1;
    int direct = !reduce && !stream && st->nrecv == 1 && !st->src && st->dst && div <= 1;
    int stable = (st->flags & TUTTI_STEP_STABLE) != 0;
    uint32_t tag = st->tag ? st->tag : x->tag;
    if (st->flags & TUTTI_STEP_SIZED) tag = tutti_fingerprint_sized(x->tag, st->bytes);

    for (int k = 0; k < st->nsend; k++) {
        tutti_link_t *l = tutti_engine_link(e, st->send[k], st->chan);
        r = l->tp->send_acquire(l->sconn, len, &sslot[k]);
        if (r == TUTTI_INPROGRESS) return tutti_exec_blocked(x, st->send[k], 0, st->chan);
        if (r != TUTTI_SUCCESS) {
            x->blocked_peer = st->send[k];
            x->blocked_dir = 0;
            x->blocked_chan = st->chan;
            return r;
        }
    }
    if (direct) {
        tutti_link_t *l = tutti_engine_link(e, st->recv[0], st->chan);
        size_t got = len;
        uint32_t got_tag = tag;
        r = l->tp->recv_read(l->rconn, st->dst + off, len, x->check_tag ? tag : TUTTI_TAG_ANY, &got, &got_tag);
        if (r == TUTTI_INPROGRESS) return tutti_exec_blocked(x, st->recv[0], 1, st->chan);
        if (r != TUTTI_SUCCESS) {
            x->blocked_peer = st->recv[0];
            x->blocked_dir = 1;
            x->blocked_chan = st->chan;
            if (r == TUTTI_ERR_MISMATCH && x->check_tag && got_tag != tag)
                return tutti_exec_tag_mismatch(e, x, st->recv[0], got_tag, tag, err, errlen);
            /* (a mismatch the peer reported leaves got alone: the caller
             * asks peer_check for its words) */
            if (r == TUTTI_ERR_MISMATCH && got != len)
                snprintf(err, errlen,
                         "rank %d expected a %zu-byte message from rank %d but got %zu bytes: the ranks called "
                         "collectives (or sends and receives) with different counts, datatypes or algorithms",
                         e->rank, len, st->recv[0], got);
            return r;
        }
        in[nin++] = st->dst + off;
    } else {
        if (st->src) in[nin++] = st->src + off;
        for (int k = 0; k < st->nrecv; k++) {
            tutti_link_t *l = tutti_engine_link(e, st->recv[k], st->chan);
            const void *slot;
            size_t got;
            uint32_t got_tag;
            r = l->tp->recv_acquire(l->rconn, &slot, &got, &got_tag);
            if (r == TUTTI_INPROGRESS) return tutti_exec_blocked(x, st->recv[k], 1, st->chan);
            if (r != TUTTI_SUCCESS) {
                x->blocked_peer = st->recv[k];
                x->blocked_dir = 1;
                x->blocked_chan = st->chan;
                return r;
            }
            if (x->check_tag && got_tag != tag) return tutti_exec_tag_mismatch(e, x, st->recv[k], got_tag, tag, err, errlen);
            if (got != len) {
                snprintf(err, errlen,
                         "rank %d expected a %zu-byte message from rank %d but got %zu bytes: the ranks called "
                         "collectives (or sends and receives) with different counts, datatypes or algorithms",
                         e->rank, len, st->recv[k], got);
                x->blocked_peer = st->recv[k];
                return TUTTI_ERR_MISMATCH;
            }
            in[nin++] = slot;
        }
    }

    /* the buffer a by-reference send points at: dst once written, else src */
    const char *ref = st->dst ? st->dst + off : (st->src ? st->src + off : NULL);
    if (st->dst) out[nout++] = st->dst + off;
    int nref = 0;
    uint32_t refmask = 0; /* bit k: send k goes by reference */
    for (int k = 0; k < st->nsend; k++) {
        tutti_link_t *l = tutti_engine_link(e, st->send[k], st->chan);
        /* a reader in another process (shm) must not race streaming
         * stores; a socket write by this thread may follow them */
        if (stable && ref && l->can_ref && l->ref_min && len >= l->ref_min && (!stream || l->flush)) {
            nref++;
            refmask |= 1u << k;
        } else {
            out[nout++] = sslot[k];
        }
    }

    size_t esize = tutti_dtype_size(x->dtype);
    if (reduce) {
        /* large results: compute in the (cached) send slot, stream to dst */
        int t = (stream && nout > 1) ? 1 : 0;
        tutti_dtype_reduce(out[t], in, nin, len / esize, x->dtype, x->op, div);
        for (int o = 0; o < nout; o++) {
            if (o == t) continue;
            if (o == 0 && stream) tutti_copy_stream(out[0], out[t], len);
            else tutti_copy(out[o], out[t], len);
        }
    } else if (nin >= 1) {
        if (div > 1) {
            for (int o = 0; o < nout; o++) tutti_dtype_reduce(out[o], in, 1, len / esize, x->dtype, x->op, div);
        } else {
            for (int o = 0; o < nout; o++) {
                if (out[o] == in[0]) continue;
                if (o == 0 && stream) tutti_copy_stream(out[0], in[0], len);
                else tutti_copy(out[o], in[0], len);
            }
        }
    }

    if (nref && stream) tutti_copy_fence();
    for (int k = 0; k < st->nsend; k++) {
        tutti_link_t *l = tutti_engine_link(e, st->send[k], st->chan);
        if (refmask & (1u << k)) {
            r = l->tp->send_commit_ref(l->sconn, ref, len, tag);
            x->refs_sent = 1;
        } else {
            r = l->tp->send_commit(l->sconn, len, tag);
        }
        if (r != TUTTI_SUCCESS) {
            x->blocked_peer = st->send[k]; /* so the failure names the peer */
            x->blocked_dir = 0;
            x->blocked_chan = st->chan;
            return r;
        }
        if (l->bytes_sent) *l->bytes_sent += len;
    }
    for (int k = 0; !direct && k < st->nrecv; k++) {
        tutti_link_t *l = tutti_engine_link(e, st->recv[k], st->chan);
        r = l->tp->recv_release(l->rconn);
        if (r != TUTTI_SUCCESS) return r;
    }
    (void)nref;
    x->steps_done++;
    return TUTTI_SUCCESS;
}

/* After messages went by reference: the operation may complete only when
 * every peer has read them, since the user may then reuse the buffers. */
static tutti_result_t tutti_exec_flush(tutti_engine_t *e, tutti_exec_t *x)
{
    const tutti_sched_t *s = &x->sched;
    for (; x->flush_step < s->nsteps; x->flush_step++) {
        const tutti_step_t *st = &s->steps[x->flush_step];
        for (int k = 0; k < st->nsend; k++) {
            tutti_link_t *l = tutti_engine_link(e, st->send[k], st->chan);
            if (!l->can_ref && !l->flush) continue;
            tutti_result_t r = l->tp->send_flushed(l->sconn);
            if (r == TUTTI_INPROGRESS) return tutti_exec_blocked(x, st->send[k], 0, st->chan);
            if (r != TUTTI_SUCCESS) {
                x->blocked_peer = st->send[k];
                x->blocked_dir = 0;
                x->blocked_chan = st->chan;
                return r;
            }
        }
    }
    return TUTTI_SUCCESS;
}

/* Runs one stream of a phase until it is blocked or done. */
static tutti_result_t tutti_exec_stream(tutti_engine_t *e, tutti_exec_t *x, const tutti_phase_t *ph, uint32_t sid,
                                        char *err, size_t errlen)
{
    const tutti_step_t *steps = &x->sched.steps[ph->first];
    size_t slice = ph->slice;
    uint64_t niters = ph->niters[sid];
    while (x->iter[sid] < niters) {
        uint64_t j = x->iter[sid];
        while (x->step[sid] < ph->nsteps) {
            const tutti_step_t *st = &steps[x->step[sid]];
            if (st->stream == sid && (st->flags & TUTTI_STEP_WIN)) {
                if (j == 0) {
                    tutti_result_t r = tutti_win_run(e, x, st, err, errlen);
                    if (r != TUTTI_SUCCESS) return r;
                }
            } else if (st->stream == sid && (j * slice < st->bytes || (j == 0 && (st->flags & TUTTI_STEP_EMPTY)))) {
                size_t off = (size_t)j * slice;
                size_t len = st->bytes - off < slice ? st->bytes - off : slice;
                tutti_result_t r = tutti_exec_slice(e, x, st, off, len, err, errlen);
                if (r != TUTTI_SUCCESS) return r;
            }
            x->step[sid]++;
        }
        x->step[sid] = 0;
        x->iter[sid]++;
    }
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_exec_run(tutti_engine_t *e, tutti_exec_t *x, char *err, size_t errlen)
{
    const tutti_sched_t *s = &x->sched;
    while (x->phase < s->nphases) {
        const tutti_phase_t *ph = &s->phases[x->phase];
        tutti_result_t blocked = TUTTI_SUCCESS;
        for (uint32_t sid = 0; sid < ph->nstreams; sid++) {
            if (x->done_streams & (1u << sid)) continue;
            tutti_result_t r = tutti_exec_stream(e, x, ph, sid, err, errlen);
            if (r == TUTTI_SUCCESS) {
                x->done_streams |= 1u << sid;
            } else if (r == TUTTI_INPROGRESS) {
                blocked = r; /* let the other streams move */
            } else {
                return r;
            }
        }
        if (blocked != TUTTI_SUCCESS) return blocked;
        if (x->phase + 1 == s->nphases && (x->refs_sent || e->any_flush)) {
            tutti_result_t r = tutti_exec_flush(e, x);
            if (r != TUTTI_SUCCESS) return r;
        }
        x->phase++;
        if (x->phase == s->nphases && s->stream_out) tutti_copy_fence();
        x->done_streams = 0;
        memset(x->step, 0, sizeof(x->step));
        memset(x->iter, 0, sizeof(x->iter));
    }
    return TUTTI_SUCCESS;
}
