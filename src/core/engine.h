/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine runs schedules over links.  It knows nothing of communicators:
 * the unit-test simulator drives the same code with in-memory links.
 */
#ifndef TUTTI_CORE_ENGINE_H
#define TUTTI_CORE_ENGINE_H

#include "core/sched.h"
#include "tutti.h"
#include "tutti/transport.h"

#include <stdint.h>

/* One peer and channel: where to send and where to receive. */
typedef struct tutti_link {
    const tutti_transport_t *tp;
    void *sconn, *rconn;
    uint64_t *bytes_sent; /* per-transport counter of the owner */
    uint8_t can_ref;      /* transport offers send_commit_ref */
    size_t ref_min;       /* send stable data by reference from this size; 0: never */
    uint8_t flush;        /* wait for send_flushed before an operation completes */
} tutti_link_t;

typedef struct tutti_engine {
    int rank, nranks, nchan;
    tutti_link_t *links; /* links[peer * nchan + chan] */
    int any_flush;       /* some link has flush set */
    /* the node's shared windows (window steps), NULL: none; win_next: the
     * number of this rank's next window chunk (from 1, never reused) */
    const tutti_tp_window_t *win;
    uint64_t win_next;
} tutti_engine_t;

static inline tutti_link_t *tutti_engine_link(const tutti_engine_t *e, int peer, int chan)
{
    return &e->links[(size_t)peer * (size_t)e->nchan + (size_t)chan];
}

/* A schedule being executed, with its cursor. */
typedef struct tutti_exec {
    tutti_sched_t sched;
    uint32_t phase;
    uint32_t done_streams; /* bit per finished stream of the current phase */
    uint32_t step[TUTTI_MAX_STREAMS];
    uint64_t iter[TUTTI_MAX_STREAMS];
    tutti_datatype_t dtype;
    tutti_op_t op;
    int div; /* AVG: number of ranks */
    uint32_t tag;      /* fingerprint carried by every message */
    int check_tag;     /* compare incoming tags (TUTTI_FINGERPRINT) */
    uint64_t steps_done; /* grows whenever a slice completes */
    uint32_t polls;      /* progress calls that found nothing to do */
    int refs_sent;       /* some message went by reference: flush before done */
    uint32_t flush_step; /* progress of that flush */
    /* the window step being run: its first chunk number (0: not begun),
     * the chunk it is on, the stage of that chunk, the next member to wait for */
    uint64_t wg0, wk;
    uint32_t wstage, wpeer;
    /* when blocked: on whom, which way (0 send, 1 receive), which channel */
    int blocked_peer, blocked_dir, blocked_chan;
} tutti_exec_t;

/* Resets the cursor (the schedule must be finished); tag is the call's
 * fingerprint, checked on every incoming message when check_tag is set. */
void tutti_exec_start(tutti_exec_t *x, tutti_datatype_t dt, tutti_op_t op, int div, uint32_t tag, int check_tag);

/* Runs as far as possible without blocking.  TUTTI_SUCCESS when the
 * schedule is complete, TUTTI_INPROGRESS when a slot is not available
 * (blocked_* says which), or an error: TUTTI_ERR_MISMATCH when a peer sent a
 * message of another length (detail in err), or what a transport returned. */
tutti_result_t tutti_exec_run(tutti_engine_t *e, tutti_exec_t *x, char *err, size_t errlen);

/* Runs a window step (TUTTI_STEP_WIN, core/window.c) as far as it can:
 * TUTTI_SUCCESS when done, TUTTI_INPROGRESS when a member has not got as
 * far (blocked_* names it), or an error with words in err. */
tutti_result_t tutti_win_run(tutti_engine_t *e, tutti_exec_t *x, const tutti_step_t *st, char *err, size_t errlen);

#endif
