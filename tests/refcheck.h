/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reference data for collective tests.  Every element value is a function
 * of (seed, rank, element index), chosen so that every reduction is exact
 * in every datatype (small integers; +-1 for products), which makes the
 * expected result independent of the reduction order: results are compared
 * bit for bit.  Integer overflow wraps, as the library documents.
 */
#ifndef TUTTI_TESTS_REFCHECK_H
#define TUTTI_TESTS_REFCHECK_H

#include "tutti.h"

#include <stddef.h>
#include <stdint.h>

/* buf[k] = value(seed, rank, first + k) for k < count */
void ref_fill(void *buf, size_t count, tutti_datatype_t dt, tutti_op_t op, int rank, size_t first,
              uint32_t seed);
/* out[k] = op over ranks 0..p-1 of value(seed, r, first + k) (AVG divided) */
void ref_reduce(void *out, size_t count, tutti_datatype_t dt, tutti_op_t op, int p, size_t first,
                uint32_t seed);
/* The op of turn k for dt: k mod the number of ops, bitwise ops only for
 * integer types (floating point gets an arithmetic op instead). */
tutti_op_t ref_op_for(tutti_datatype_t dt, unsigned k);
/* Whether op can reduce dt (the bitwise ops: integers only). */
int ref_op_fits(tutti_op_t op, tutti_datatype_t dt);
/* Number of elements that differ (NaN equals NaN). */
size_t ref_mismatches(const void *got, const void *want, size_t count, tutti_datatype_t dt, size_t *first_bad);

#endif
