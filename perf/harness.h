/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TUTTI_PERF_HARNESS_H
#define TUTTI_PERF_HARNESS_H

#include "perf_math.h"

/* The whole benchmark: parses nccl-tests' flags, runs, prints. */
int perf_main(int argc, char **argv, perf_coll_t coll, const char *name);

#endif
