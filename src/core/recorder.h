/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Flight recorder: the last TUTTI_RECORDER_SIZE operations of a
 * communicator with their state (posted, running: which slice, waiting on
 * whom since when; done or failed, how long).  It is what a timeout error
 * quotes, what TUTTI_DUMP_ON_TIMEOUT and SIGUSR1 (TUTTI_DUMP_SIGNAL) write to
 * the log, and what tutti_comm_flight_record returns: enough to see which
 * rank never arrived.
 */
#ifndef TUTTI_CORE_RECORDER_H
#define TUTTI_CORE_RECORDER_H

#include "tutti.h"

#include <stddef.h>
#include <stdint.h>

#define TUTTI_RECORDER_SIZE 64

enum { TUTTI_FR_POSTED = 1, TUTTI_FR_RUNNING, TUTTI_FR_DONE, TUTTI_FR_FAILED };

typedef struct {
    uint64_t id;  /* position among the recorded operations */
    uint64_t seq; /* the call number (collectives) */
    uint8_t coll, algo, dtype, op, state, p2p, vcounts;
    int32_t nsend, nrecv; /* point-to-point */
    int8_t dir, chan;
    int32_t root, peer, result;
    size_t count;
    double t_post, t_start, t_end, t_blocked; /* t_blocked: waiting since */
    uint64_t slices;
} tutti_fr_entry_t;

typedef struct {
    tutti_fr_entry_t e[TUTTI_RECORDER_SIZE];
    uint64_t n; /* operations recorded so far */
} tutti_recorder_t;

struct tutti_request;

/* Records a posted operation; returns its id (req->fr_id). */
uint64_t tutti_recorder_post(tutti_recorder_t *fr, const struct tutti_request *req);
void tutti_recorder_update(tutti_recorder_t *fr, const struct tutti_request *req, int state);
/* Up to `last` entries (oldest first), one per line. */
size_t tutti_recorder_format(const tutti_recorder_t *fr, int rank, int last, char *buf, size_t len);

/* Writes the whole recorder to the log at WARN, one line per operation. */
void tutti_recorder_log(const tutti_recorder_t *fr, int rank, const char *reason);

/* SIGUSR1 requests (TUTTI_DUMP_SIGNAL=1): a process-wide counter bumped by
 * the handler; each communicator dumps once per new value when it polls. */
void tutti_recorder_install_signal(void);
unsigned tutti_recorder_dump_requests(void);

#endif
