/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/recorder.h"

#include "core/comm.h"
#include "dtype/dtype.h"
#include "util/log.h"
#include "util/time.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tutti_fr_entry_t *tutti_fr_slot(tutti_recorder_t *fr, uint64_t id)
{
    tutti_fr_entry_t *e = &fr->e[id % TUTTI_RECORDER_SIZE];
    return e->id == id ? e : NULL;
}

uint64_t tutti_recorder_post(tutti_recorder_t *fr, const struct tutti_request *req)
{
    uint64_t id = fr->n + 1;
    tutti_fr_entry_t *e = &fr->e[id % TUTTI_RECORDER_SIZE];
    memset(e, 0, sizeof(*e));
    e->id = id;
    e->p2p = (uint8_t)req->p2p;
    e->nsend = req->nsend;
    e->nrecv = req->nrecv;
    e->seq = req->seq;
    e->coll = (uint8_t)req->coll;
    e->vcounts = (uint8_t)req->alltoallv;
    e->algo = (uint8_t)req->algo;
    e->dtype = (uint8_t)req->dtype;
    e->op = (uint8_t)req->op;
    e->root = req->root;
    e->count = req->count;
    e->state = TUTTI_FR_POSTED;
    e->peer = -1;
    e->t_post = tutti_time_coarse();
    fr->n++;
    return id;
}

void tutti_recorder_update(tutti_recorder_t *fr, const struct tutti_request *req, int state)
{
    tutti_fr_entry_t *e = tutti_fr_slot(fr, req->fr_id);
    if (!e) return;
    double now = tutti_time_coarse();
    if (state == TUTTI_FR_RUNNING && e->state == TUTTI_FR_POSTED) e->t_start = now;
    if (state >= TUTTI_FR_DONE) {
        e->t_end = now;
        e->result = req->result;
        if (!e->t_start) e->t_start = now;
    }
    if (req->x.blocked_peer != e->peer || req->x.blocked_dir != e->dir) e->t_blocked = now;
    e->state = (uint8_t)state;
    e->slices = req->x.steps_done;
    e->peer = req->x.blocked_peer;
    e->dir = (int8_t)req->x.blocked_dir;
    e->chan = (int8_t)req->x.blocked_chan;
}

size_t tutti_recorder_format(const tutti_recorder_t *fr, int rank, int last, char *buf, size_t len)
{
    size_t o = 0;
    double now = tutti_time_coarse();
    uint64_t first = fr->n > (uint64_t)last ? fr->n - (uint64_t)last : 0;
    if (first + TUTTI_RECORDER_SIZE < fr->n) first = fr->n - TUTTI_RECORDER_SIZE;
    if (len) buf[0] = '\0';
    for (uint64_t id = first + 1; id <= fr->n && o + 1 < len; id++) {
        const tutti_fr_entry_t *e = &fr->e[id % TUTTI_RECORDER_SIZE];
        if (e->id != id) continue;
        char what[160], state[200];
        tutti_coll_t c = (tutti_coll_t)e->coll;
        if (e->p2p)
            snprintf(what, sizeof(what), "point-to-point: %d send(s), %d receive(s)", e->nsend, e->nrecv);
        else if (c == TUTTI_COLL_BARRIER)
            snprintf(what, sizeof(what), "#%llu barrier", (unsigned long long)e->seq);
        else
            snprintf(what, sizeof(what), "#%llu %s%s count %zu %s%s%s root %d, %s", (unsigned long long)e->seq,
                     tutti_coll_name(c), e->vcounts ? "v (largest block)" : "", e->count,
                     tutti_dtype_name((tutti_datatype_t)e->dtype),
                     tutti_coll_has_op(c) ? " " : "", tutti_coll_has_op(c) ? tutti_dtype_op_name((tutti_op_t)e->op) : "",
                     tutti_coll_has_root(c) ? e->root : -1, tutti_algo_name((tutti_algo_t)e->algo));
        switch (e->state) {
        case TUTTI_FR_POSTED: snprintf(state, sizeof(state), "posted %.3f s ago, not started", now - e->t_post); break;
        case TUTTI_FR_RUNNING:
            if (e->peer >= 0)
                snprintf(state, sizeof(state), "RUNNING for %.3f s, %llu slices done, waiting to %s rank %d (channel %d) "
                                               "for %.3f s",
                         now - e->t_start, (unsigned long long)e->slices, e->dir == 0 ? "send to" : "receive from",
                         e->peer, e->chan, now - e->t_blocked);
            else
                snprintf(state, sizeof(state), "RUNNING for %.3f s, %llu slices done", now - e->t_start,
                         (unsigned long long)e->slices);
            break;
        case TUTTI_FR_DONE: {
            /* times come from the coarse clock (util/time.h): below its tick
             * a duration is only "within a tick" */
            double d = e->t_end - e->t_start, tick = tutti_time_coarse_res();
            if (d < tick) snprintf(state, sizeof(state), "done in under %.0f ms", tick * 1e3 > 1 ? tick * 1e3 : 1);
            else snprintf(state, sizeof(state), "done in %.0f ms", d * 1e3);
            break;
        }
        default:
            snprintf(state, sizeof(state), "FAILED (%s) after %.3f s", tutti_result_name((tutti_result_t)e->result),
                     e->t_end - e->t_start);
        }
        int n = snprintf(buf + o, len - o, "[r%d] %s: %s\n", rank, what, state);
        if (n < 0) break;
        o += (size_t)n < len - o ? (size_t)n : len - o - 1;
    }
    return o;
}

void tutti_recorder_log(const tutti_recorder_t *fr, int rank, const char *reason)
{
    char *all = malloc(TUTTI_RECORDER_SIZE * 320);
    if (!all) return;
    tutti_recorder_format(fr, rank, TUTTI_RECORDER_SIZE, all, TUTTI_RECORDER_SIZE * 320);
    TUTTI_WARN(TUTTI_SUBSYS_ENGINE, rank, "flight recorder (%s), %llu operations so far, the last %d:", reason,
               (unsigned long long)fr->n, fr->n < TUTTI_RECORDER_SIZE ? (int)fr->n : TUTTI_RECORDER_SIZE);
    for (char *save = NULL, *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        TUTTI_WARN(TUTTI_SUBSYS_ENGINE, rank, "  %s", line);
    free(all);
}

/* ---- SIGUSR1 ------------------------------------------------------------ */

static unsigned tutti_dump_count;
static pthread_once_t tutti_dump_once = PTHREAD_ONCE_INIT;

static void tutti_recorder_on_signal(int sig)
{
    (void)sig;
    __atomic_add_fetch(&tutti_dump_count, 1, __ATOMIC_RELAXED); /* async-signal-safe */
}

static void tutti_recorder_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tutti_recorder_on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) == 0)
        TUTTI_INFO(TUTTI_SUBSYS_INIT, -1, "SIGUSR1 dumps the flight recorder of every communicator that is waiting");
}

void tutti_recorder_install_signal(void) { pthread_once(&tutti_dump_once, tutti_recorder_install); }

unsigned tutti_recorder_dump_requests(void) { return __atomic_load_n(&tutti_dump_count, __ATOMIC_RELAXED); }
