/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Schedules: what an algorithm produces and the engine runs.
 *
 * A schedule is a list of phases.  A phase cuts every step's byte range
 * into slices of at most `slice` bytes and runs each of its streams
 * slice-major:
 *
 *     for iter in 0 .. niters-1:
 *         for step in stream.steps:
 *             if slice iter of step exists: run step on slice iter
 *
 * The streams of a phase progress independently (each has its own cursor,
 * and when one is blocked the engine moves on to the next); the phase ends
 * when all have.  A tree all-reduce runs its reduction and its broadcast as
 * separate streams, so neither waits for the other.
 * Running a step on a slice is one dataflow:
 *
 *     inputs  = [src + off]? ++ [slot received from each recv peer]
 *     result  = op-reduce(inputs)   (REDUCE)   or   the single input (copy)
 *     outputs = [dst + off]? ++ [slot sent to each send peer]   <- result
 *
 * Slice-major order is what pipelines a ring: a rank forwards slice j of
 * step k before it touches slice j+1, so every FIFO carries chunks in one
 * global order and a bounded number of slots is enough (no deadlock however
 * large the message).  Streams must not share a connection (peer,
 * channel, direction), or the order of messages on it would depend on
 * timing.  Zero-length slices are skipped on both sides, so ranks agree on
 * every message; a step flagged TUTTI_STEP_EMPTY is the exception: at 0
 * bytes it still sends (receives) one empty message, on both sides alike.
 */
#ifndef TUTTI_CORE_SCHED_H
#define TUTTI_CORE_SCHED_H

#include "tutti.h"

#include <stddef.h>
#include <stdint.h>

#define TUTTI_MAX_FAN 8
#define TUTTI_MAX_STREAMS 4

enum {
    TUTTI_STEP_REDUCE = 1u << 0, /* combine all inputs with the op */
    TUTTI_STEP_FINAL = 1u << 1,  /* result is final: apply AVG's division */
    /* The data this step sends (its src range, or its dst range once
     * written) is not written again by this operation, so it may be sent by
     * reference (single copy) when the transport can.  Algorithms set it
     * only where that holds also in place. */
    TUTTI_STEP_STABLE = 1u << 2,
    /* its messages carry the call's fingerprint with the count field
     * replaced by a hash of the message's own size (per-peer sizes:
     * all-to-all with counts per peer), so a receive of another size fails
     * at once */
    TUTTI_STEP_SIZED = 1u << 3,
    /* a step of 0 bytes still exchanges one empty message (all-to-all with
     * counts per peer, point-to-point: a 0 against a nonzero count is then
     * seen, by the size in the fingerprint, instead of a receiver waiting
     * for nothing or taking the pair's next message; a receive of 0 waits
     * for its send) */
    TUTTI_STEP_EMPTY = 1u << 4,
    /* a whole collective over the node's shared windows (wkind, below;
     * core/window.c runs it): alone in its phase, one iteration; FINAL
     * applies AVG's division to what it reduces */
    TUTTI_STEP_WIN = 1u << 5,
};

/* What a window step does (core/window.c draws each). */
typedef enum {
    TUTTI_WIN_ALLREDUCE,      /* src, dst: bytes each */
    TUTTI_WIN_REDUCE_SCATTER, /* src: wsize blocks of bytes; dst: block wme */
    TUTTI_WIN_ALLGATHER,      /* src: bytes; dst: wsize blocks of bytes */
    TUTTI_WIN_BROADCAST,      /* root's src to everyone's dst: bytes */
    TUTTI_WIN_REDUCE,         /* everyone's src reduced into root's dst: bytes */
} tutti_win_kind_t;

typedef struct tutti_step {
    uint16_t flags;
    uint8_t nrecv, nsend;
    uint8_t chan;
    uint8_t stream;
    uint32_t tag;    /* the messages' fingerprint; 0: the call's (point-to-point: per message) */
    const char *src; /* local input, or NULL */
    char *dst;       /* local output, or NULL */
    size_t bytes;    /* length of this step's range */
    /* window steps: the kind, and the group taking part: wsize ranks, this
     * one at index wme, the root at index wroot, their communicator ranks at
     * s->granks[wgroup] (or 0..wsize-1 when wgroup is TUTTI_WIN_IDENTITY) */
    uint8_t wkind;
    int32_t wsize, wme, wroot;
    uint32_t wgroup;
    int32_t recv[TUTTI_MAX_FAN];
    int32_t send[TUTTI_MAX_FAN];
} tutti_step_t;

typedef struct tutti_phase {
    size_t slice;
    uint32_t first, nsteps;
    uint32_t nstreams;
    uint64_t niters[TUTTI_MAX_STREAMS];
} tutti_phase_t;

typedef struct tutti_sched {
    tutti_step_t *steps;
    uint32_t nsteps, capsteps;
    tutti_phase_t *phases;
    uint32_t nphases, capphases;
    size_t slice_max; /* transport payload limit */
    size_t esize;     /* element size: slices are whole elements */
    int nchan;
    int oom;
    int stream_out; /* write results to user buffers with non-temporal stores */
    int32_t *granks; /* window steps' groups */
    uint32_t ngranks, capgranks;
    char token_src[8]; /* one-byte messages (barrier) */
    char token_dst[8];
} tutti_sched_t;

void tutti_sched_init(tutti_sched_t *s, size_t slice_max, size_t esize, int nchan);
void tutti_sched_reset(tutti_sched_t *s, size_t slice_max, size_t esize, int nchan);
void tutti_sched_free(tutti_sched_t *s);

/* Starts a phase; slice is clamped to slice_max and rounded down to whole
 * elements (0 means "as large as allowed"). */
void tutti_sched_phase(tutti_sched_t *s, size_t slice);

/* Appends a zeroed step to the current phase (never NULL: on allocation
 * failure a scratch step is returned and s->oom is set). */
tutti_step_t *tutti_sched_step(tutti_sched_t *s);

/* Closes the schedule: computes every phase's iteration count. */
void tutti_sched_finish(tutti_sched_t *s);

#define TUTTI_WIN_IDENTITY UINT32_MAX

/* Room for a window step's group of n ranks; its offset in *off (NULL and
 * s->oom set when out of memory). */
int32_t *tutti_sched_group(tutti_sched_t *s, int n, uint32_t *off);
/* Rank at index i of a window step's group. */
static inline int tutti_step_member(const tutti_sched_t *s, const struct tutti_step *st, int i)
{
    return st->wgroup == TUTTI_WIN_IDENTITY ? i : s->granks[st->wgroup + (uint32_t)i];
}

/* Helpers for building steps. */
static inline void tutti_step_recv(tutti_step_t *st, int peer)
{
    st->recv[st->nrecv++] = peer;
}
static inline void tutti_step_send(tutti_step_t *st, int peer)
{
    st->send[st->nsend++] = peer;
}

#endif
