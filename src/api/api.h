/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The entry points (src/api/): what the public calls of include/tutti.h do
 * before and after the core.  The layers, top to bottom:
 *
 *   src/api/       entry points: validate, build, queue, wait (coll.c,
 *                  p2p.c), create (init.c), query and set (comm_api.c),
 *                  calibrate with public calls (tuneprobe.c)
 *   collectives/   builders: algorithms write schedules
 *   src/core/      communicators, engine, schedules, bootstrap, progress
 *   transports/    move the bytes
 */
#ifndef TUTTI_API_API_H
#define TUTTI_API_API_H

#include "core/comm.h"

/* tuneprobe.c: calibrates comm's cost model with timed all-reduces when
 * TUTTI_TUNE_PROBE is set (collective: every rank right after creation). */
tutti_result_t tutti_comm_tune_probe(tutti_comm_t comm);

#endif
