/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One collective call over the simulator: every rank's schedule built by
 * the algorithm's builder, run by the real engines (sim.h), and every
 * rank's result checked bit for bit against the reference (refcheck.h),
 * with nothing written past the end of a receive buffer.
 */
#ifndef TUTTI_TESTS_SIMCASE_H
#define TUTTI_TESTS_SIMCASE_H

#include "coll.h"
#include "sim/sim.h"

typedef struct {
    tutti_coll_t coll;
    tutti_algo_t algo;
    int p;
    size_t count;
    tutti_datatype_t dt;
    tutti_op_t op;
    int root;
    int inplace;
    unsigned nslots;
    size_t slot;
    uint32_t seed;
    /* the job shape: node of every rank, nnodes nodes, hier's node phases
     * over windows (node_win), its size threshold (small_msg, 0: default).
     * node NULL: the shape rotates with the seed for hier, ring and tree
     * (one node, pairs, round-robin over 3, threes), windows in half */
    const int *node;
    int nnodes;
    int node_win;
    size_t small_msg;
} sim_case_t;

/* Runs one case on w (p ranks, the case's FIFOs).  1 on success, else 0
 * with err saying why. */
int sim_case_run(sim_world_t *w, const sim_case_t *c, char *err, size_t errlen);

/* "allreduce/ring p=8 count=7 int32 sum root=0 in-place slots=2 x 64 B" */
const char *sim_case_str(const sim_case_t *c);

#endif
