/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost model: a latency + bytes/bandwidth (alpha-beta-gamma) time for
 * every (collective, algorithm) on a job shape, from the cost of one
 * message on each class of hop:
 *
 *   hop:     same socket (shm) | other socket (shm) | other node (tcp, ucx, verbs)
 *   message: alpha + bytes * beta          reduction: bytes * gamma
 *
 * Flat algorithms are timed on their slowest hop (every step waits for it);
 * hierarchical ones on the hops of each phase.  Constants come per
 * transport (defaults below, docs/ENVIRONMENT.md), scaled for ranks that
 * share CPUs, or from a short calibration at init (TUTTI_TUNE_PROBE=1,
 * src/core/tunemodel.c, calibrated by src/api/tuneprobe.c) whose numbers every rank agrees on.  Pure
 * functions: every rank computes the same table from the same numbers.
 */
#ifndef TUTTI_TUNE_MODEL_H
#define TUTTI_TUNE_MODEL_H

#include <stddef.h>

typedef enum { TUTTI_HOP_SOCKET, TUTTI_HOP_SOCKETS, TUTTI_HOP_NODES, TUTTI_NUM_HOPS } tutti_hop_t;

typedef struct {
    double alpha; /* seconds per message */
    double beta;  /* seconds per byte */
} tutti_hop_cost_t;

typedef struct tutti_model {
    int on;                               /* 0: the size threshold decides */
    tutti_hop_cost_t hop[TUTTI_NUM_HOPS];
    double gamma;                         /* seconds per byte reduced */
    size_t chunk;                         /* largest pipelining slice (the slot every rank agreed on) */
    int ppn;                              /* ranks on the fullest node */
    int sockets;                          /* sockets one node's ranks span (1 or more) */
    double oversub;                       /* ranks per CPU at worst (1: a CPU each) */
    int win;                              /* one node with shared windows: the window algorithm exists */
    size_t win_bytes, win_oneshot;        /* their buffer size and one-shot limit */
    char source[96];                      /* where the numbers came from, for explanations */
} tutti_model_t;

/* Defaults: hops inside a node over `intra` (shm), between nodes over
 * `net` (tcp, ucx, verbs; NULL: tcp); oversub > 1 scales latencies for
 * ranks that share CPUs. */
void tutti_model_defaults(tutti_model_t *m, const char *net, int ppn, int sockets, double oversub, size_t chunk);
/* Hops inside a node over another transport than shm (TUTTI_TRANSPORTS
 * without shm): they cost what that transport costs. */
void tutti_model_intra(tutti_model_t *m, const char *intra, double oversub);
/* The smallest pipelining slice the tuner considers. */
#define TUTTI_MODEL_MIN_CHUNK 4096

/* Seconds one call of `bytes` takes with algorithm a (collective c) on
 * nranks ranks over nnodes nodes, pipelined in slices of m->chunk (the
 * _chunk form: of `chunk`); a negative value: not applicable. */
double tutti_model_time(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes);
double tutti_model_time_chunk(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes, size_t chunk);
/* Whether algorithm a of collective c pipelines in slices (the chunk
 * size changes its time). */
int tutti_model_pipelined(int c, int a);
/* The pipelining slice (a power of two from TUTTI_MODEL_MIN_CHUNK to
 * m->chunk) the model finds fastest for this call, and its time in *t
 * (may be NULL).  m->chunk for algorithms that do not pipeline, and on one
 * node whose ranks share CPUs (its pipeline stages cannot run at once). */
size_t tutti_model_best_chunk(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes, double *t);
/* The alpha-beta lower bound of collective c for a call of `bytes` on
 * nranks ranks over nnodes nodes, from the model's own hop constants:
 * what no algorithm can beat under the model's assumptions (model.c says
 * how); every tutti_model_time is at least this.  0 on one rank. */
double tutti_model_bound(const tutti_model_t *m, int c, size_t bytes, int nranks, int nnodes);
/* The hop class flat algorithms are timed on. */
tutti_hop_t tutti_model_flat_hop(const tutti_model_t *m, int nnodes);
/* Replaces the flat hop's constants with calibrated ones (probe). */
void tutti_model_calibrate(tutti_model_t *m, int nnodes, double alpha, double beta, const char *source);

#endif
