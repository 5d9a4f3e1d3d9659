/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TUTTI_TESTS_SCHED_SCALE_H
#define TUTTI_TESTS_SCHED_SCALE_H

/* The large-job groups of test_sched (sched_scale.c): one TAP line per job
 * size and shape. */
void sched_scale_tests(void);

#endif
