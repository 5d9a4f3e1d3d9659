/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-memory simulator: p ranks in one process, each with a real engine,
 * linked by FIFOs that behave like a transport (bounded slots, ordered,
 * idempotent acquire, messages that arrive late).  Runs every rank's schedule round-robin in a shuffled
 * order and reports deadlocks (a full round in which no rank moved) and
 * leftover messages (schedules that do not match).
 */
#ifndef TUTTI_TESTS_SIM_H
#define TUTTI_TESTS_SIM_H

#include "core/engine.h"

typedef struct sim_world sim_world_t;

sim_world_t *sim_create(int p, int nchan, unsigned nslots, size_t slot_size, unsigned seed);
void sim_destroy(sim_world_t *w);
size_t sim_slot_size(const sim_world_t *w);

/* Runs xs[0..p-1] (started) to completion.  0 on success; -1 deadlock,
 * -2 an engine error, -3 messages left in FIFOs; err says what. */
int sim_run(sim_world_t *w, tutti_exec_t *const *xs, char *err, size_t errlen);

#endif
