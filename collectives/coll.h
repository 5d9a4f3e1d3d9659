/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Collective algorithms: each one turns the arguments of a call into a
 * schedule (core/sched.h) for one rank.  They are pure functions of
 * (arguments, rank, nranks): no I/O, so the simulator in tests/sim runs them
 * for any rank count inside one process.
 */
#ifndef TUTTI_COLL_H
#define TUTTI_COLL_H

#include "core/sched.h"
#include "tutti.h"

#include "tune/model.h"

#include <stddef.h>
#include <stdint.h>

#define TUTTI_COLL_MAP(X)                                                      \
    X(ALLREDUCE, allreduce)                                                    \
    X(BROADCAST, broadcast)                                                    \
    X(ALLGATHER, allgather)                                                    \
    X(REDUCE_SCATTER, reduce_scatter)                                          \
    X(REDUCE, reduce)                                                          \
    X(BARRIER, barrier)                                                        \
    X(ALLTOALL, alltoall)

typedef enum {
#define TUTTI_COLL_ENUM_(UP, low) TUTTI_COLL_##UP,
    TUTTI_COLL_MAP(TUTTI_COLL_ENUM_)
#undef TUTTI_COLL_ENUM_
        TUTTI_NUM_COLLS
} tutti_coll_t;

#define TUTTI_ALGO_MAP(X)                                                      \
    X(RING, ring)                                                              \
    X(TREE, tree)                                                              \
    X(RD, rd)                                                                  \
    X(DISSEMINATION, dissemination)                                            \
    X(HIER, hier)                                                              \
    X(PAIRWISE, pairwise)                                                      \
    X(WINDOW, window)

typedef enum {
#define TUTTI_ALGO_ENUM_(UP, low) TUTTI_ALGO_##UP,
    TUTTI_ALGO_MAP(TUTTI_ALGO_ENUM_)
#undef TUTTI_ALGO_ENUM_
        TUTTI_NUM_ALGOS
} tutti_algo_t;

typedef struct tutti_coll_args {
    tutti_coll_t coll;
    const void *sendbuf;
    void *recvbuf;
    size_t count; /* elements: per rank block for allgather/reduce_scatter/alltoall */
    tutti_datatype_t dtype;
    tutti_op_t op;
    int root;
    int rank, nranks;
    size_t esize;
    /* the job's shape, for hierarchical algorithms: node index of every
     * rank (NULL: one node) and the node count */
    const int *node_of_rank;
    int nnodes;
    size_t small_msg; /* latency-bound up to here (0: the default, 32 KiB) */
    /* this rank's node shares windows (every local peer over shm with
     * windows): hier's phases inside the node are window steps */
    int node_win;
    /* ring order from the topology (patterns/order.c): ring_order[i] is the
     * rank at position i, ring_pos its inverse; NULL: rank order */
    const int *ring_order, *ring_pos;
    /* pipelining slice of the algorithms that pipeline (the tuner's choice,
     * tutti_algo_decide); 0: the algorithm's own (the slot) */
    size_t chunk;
    /* all-to-all with a count per peer (tutti_alltoallv), in elements:
     * block q of sendbuf is scounts[q] at sdispls[q], block q of recvbuf
     * rcounts[q] at rdispls[q] (vcounts set); else every block is `count` */
    int vcounts;
    const size_t *scounts, *sdispls, *rcounts, *rdispls;
} tutti_coll_args_t;

typedef tutti_result_t (*tutti_coll_build_fn)(tutti_sched_t *s, const tutti_coll_args_t *a);

static inline int tutti_coll_has_op(tutti_coll_t c)
{
    return c == TUTTI_COLL_ALLREDUCE || c == TUTTI_COLL_REDUCE_SCATTER || c == TUTTI_COLL_REDUCE;
}
static inline int tutti_coll_has_root(tutti_coll_t c)
{
    return c == TUTTI_COLL_BROADCAST || c == TUTTI_COLL_REDUCE;
}

const char *tutti_coll_name(tutti_coll_t c);
const char *tutti_algo_name(tutti_algo_t a);
int tutti_coll_from_name(const char *name);

/* NULL when the collective has no such algorithm. */
tutti_coll_build_fn tutti_coll_builder(tutti_coll_t c, tutti_algo_t a);

/* Bytes the size threshold looks at (nccl-tests' "size" of the call). */
size_t tutti_coll_bytes(const tutti_coll_args_t *a);

/* ---- selection ---------------------------------------------------------- */

#define TUTTI_ALGO_MAX_RANGES 16

/* "ring@64K-max": this algorithm for calls of lo <= bytes < hi (hi
 * SIZE_MAX: no upper bound).  Later ranges win over earlier ones. */
typedef struct {
    uint8_t algo;
    size_t lo, hi;
    size_t chunk; /* "ring/16K@...": the pipelining slice; 0: not given */
} tutti_algo_range_t;

#define TUTTI_TUNE_MAX_RULES 64

/* A site rule of TUTTI_TUNE_FILE (collectives/rules.c). */
typedef struct {
    uint8_t coll, algo;
    size_t lo, hi;                /* call sizes lo <= bytes < hi */
    int32_t min_nodes, max_nodes; /* inclusive */
    int32_t min_ranks, max_ranks;
    size_t chunk;                 /* pipelining slice; 0: the model's */
} tutti_tune_rule_t;

typedef struct tutti_algo_config {
    uint32_t allowed[TUTTI_NUM_COLLS]; /* bit per algorithm */
    uint32_t forced;                   /* collectives whose set came from TUTTI_ALGO */
    size_t small_msg;                  /* latency algorithms up to this size */
    size_t chunk;                      /* TUTTI_CHUNK_SIZE: every pipelined call's slice; 0: the tuner's */
    tutti_algo_range_t ranges[TUTTI_NUM_COLLS][TUTTI_ALGO_MAX_RANGES];
    int nranges[TUTTI_NUM_COLLS];
    tutti_tune_rule_t rules[TUTTI_TUNE_MAX_RULES]; /* TUTTI_TUNE_FILE, in file order */
    int nrules;
    tutti_model_t model; /* model.on: the cost model picks (src/tune/model.h); else the threshold */
    /* decisions of one communicator by collective and size class (log2,
     * 0: empty calls), where the whole class decides alike
     * (tutti_algo_decide_memo); cleared by tutti_algo_memo_clear */
    struct {
        uint8_t valid, algo;
        size_t chunk;
    } memo[TUTTI_NUM_COLLS][65];
} tutti_algo_config_t;

/* TUTTI_TUNE_FILE: parses rules from JSON text into cfg->rules (rules.c).
 * 0, or -1 with a message giving line and column. */
int tutti_rules_parse(tutti_algo_config_t *cfg, const char *text, size_t len, char *err, size_t errlen);
/* Reads the file (empty path: no rules). */
int tutti_rules_load(tutti_algo_config_t *cfg, const char *path, char *err, size_t errlen);
/* tutti_algo_config_parse, the fixed pipelining slice (TUTTI_CHUNK_SIZE; 0
 * or a power of two >= 4K), then the rules of rules_path (may be empty). */
int tutti_algo_config_load(tutti_algo_config_t *cfg, const char *spec, size_t small_msg, size_t chunk,
                           const char *rules_path, char *err, size_t errlen);

/* Parses a TUTTI_ALGO string (see docs/ENVIRONMENT.md).  Returns 0, or -1
 * with a message pointing at the bad token. */
int tutti_algo_config_parse(tutti_algo_config_t *cfg, const char *spec, size_t small_msg,
                            char *err, size_t errlen);

/* The algorithm for a call of `bytes` bytes on `nranks` ranks spread over
 * `nnodes` nodes. */
tutti_algo_t tutti_algo_select(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes,
                               int nranks, int nnodes);
/* The same, and why, in one sentence (why may be NULL). */
tutti_algo_t tutti_algo_explain(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks,
                                int nnodes, char *why, size_t whylen);
/* The algorithm and, for algorithms that pipeline, the slice to cut the
 * message into (*chunk; 0: the algorithm's own), and why (may be NULL).
 * Slice: a rule's "chunk", else TUTTI_CHUNK_SIZE, else the model's best
 * (tutti_model_best_chunk), else 0. */
tutti_algo_t tutti_algo_decide(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks, int nnodes,
                               size_t *chunk, char *why, size_t whylen);
/* tutti_algo_decide for a communicator's calls (nranks, nnodes fixed):
 * once per collective and size class, then from cfg->memo; classes that a
 * TUTTI_ALGO range, a rule or the size threshold cuts in two are decided
 * per call.  Clear the memo whenever cfg changes. */
tutti_algo_t tutti_algo_decide_memo(tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks, int nnodes,
                                    size_t *chunk);
void tutti_algo_memo_clear(tutti_algo_config_t *cfg);
/* The decision table of a job shape, one line per collective:
 * "allreduce: 0-32K rd, 32K-max ring; broadcast: 0-2K tree, 2K-64K ring/8K,
 * ..." ("/8K": pipelined in 8 KiB slices; sizes 1 B .. 1 TiB scanned by
 * powers of two).  Returns the length written (truncated to len). */
size_t tutti_algo_table(const tutti_algo_config_t *cfg, int nranks, int nnodes, char *buf, size_t len);

/* ---- the algorithms ----------------------------------------------------- */

tutti_result_t tutti_coll_allreduce_ring(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allreduce_tree(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allreduce_rd(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_broadcast_ring(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_broadcast_tree(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allgather_ring(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allgather_rd(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_reduce_scatter_ring(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_reduce_ring(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_reduce_tree(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_alltoall_pairwise(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_barrier_dissemination(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allreduce_hier(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_broadcast_hier(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allgather_hier(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allreduce_window(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_reduce_scatter_window(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_allgather_window(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_broadcast_window(tutti_sched_t *s, const tutti_coll_args_t *a);
tutti_result_t tutti_coll_reduce_window(tutti_sched_t *s, const tutti_coll_args_t *a);
/* One window step (collectives/window/window.c) among p ranks, this one
 * at index me, the root at index root; group: their ranks (NULL: 0..p-1). */
tutti_result_t tutti_coll_window_step(tutti_sched_t *s, tutti_win_kind_t kind, const void *src, void *dst,
                                      size_t bytes, int p, int me, int root, const int *group, int final);

/* Point-to-point (collectives/p2p/group.c): one operation of a group. */
typedef struct {
    int peer;
    int send;          /* 1: send sbuf to peer; 0: receive from peer into rbuf */
    const void *sbuf;
    void *rbuf;
    size_t bytes;
} tutti_p2p_op_t;

/* The schedule of a group of sends and receives (posting order matters:
 * messages between two ranks match in it).  Self sends must pair with self
 * receives of the same size, in order (checked by the caller; else
 * TUTTI_ERR_INVALID_ARGUMENT).  Pure, like the algorithms. */
tutti_result_t tutti_coll_p2p_group(tutti_sched_t *s, int rank, int nranks, const tutti_p2p_op_t *ops, int nops);

/* Builds the schedule of algorithm `algo` for a call: the builder, run in
 * topology ring order (a->ring_order) where the algorithm is a ring whose
 * result does not depend on who sits where (all-reduce, broadcast, reduce);
 * all-gather and reduce-scatter rings keep rank order, since their blocks
 * are laid out by rank. */
tutti_result_t tutti_coll_build(tutti_sched_t *s, const tutti_coll_args_t *a, tutti_algo_t algo);

/* Runs a flat builder on a group of ranks: sub->rank and sub->nranks (and
 * sub->root) are indexes into group; the peers of the steps it appends are
 * mapped back to ranks.  AVG's division (TUTTI_STEP_FINAL) stays only where
 * keep_final says. */
tutti_result_t tutti_coll_run_on_group(tutti_sched_t *s, tutti_coll_build_fn build, tutti_coll_args_t sub,
                                       const int *group, int keep_final);

/* Shared by the algorithms: a purely local copy (one rank, or root's own
 * block), with AVG's division when final. */
void tutti_coll_local_copy(tutti_sched_t *s, const void *src, void *dst, size_t bytes, int final);

#endif
