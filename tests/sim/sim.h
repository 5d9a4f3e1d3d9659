/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-memory simulator: p ranks in one process, each with a real engine,
 * linked by FIFOs that behave like a transport (bounded slots, ordered,
 * idempotent acquire, messages that arrive late).  Runs every rank's
 * schedule in rounds, each in a shuffled order, and reports deadlocks (a
 * round in which no rank moved) and leftover messages (schedules that do
 * not match).
 *
 * Memory grows with the connections the schedules use, not with p^2: a
 * FIFO exists once a message goes over it, and a node's shared windows
 * once a window step needs them, so thousands of ranks fit (tests/unit/
 * sched_scale.c).
 */
#ifndef TUTTI_TESTS_SIM_H
#define TUTTI_TESTS_SIM_H

#include "core/engine.h"

#define SIM_MAX_SLOTS 4

typedef struct sim_world sim_world_t;

/* nslots: 1..SIM_MAX_SLOTS. */
sim_world_t *sim_create(int p, int nchan, unsigned nslots, size_t slot_size, unsigned seed);
void sim_destroy(sim_world_t *w);
size_t sim_slot_size(const sim_world_t *w);

/* Runs xs[0..p-1] (started) to completion.  0 on success; -1 deadlock,
 * -2 an engine error, -3 messages left in FIFOs; err says what. */
int sim_run(sim_world_t *w, tutti_exec_t *const *xs, char *err, size_t errlen);

#endif
