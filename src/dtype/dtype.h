/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datatypes and reduction kernels.
 *
 * tutti_dtype_reduce() combines n >= 1 inputs element-wise into dst:
 *   dst[i] = in[0][i] op in[1][i] op ... op in[n-1][i]     (left to right)
 * then, when div > 1 (the final step of an AVG), divides by div.
 * dst may alias in[0] exactly (in-place accumulate); no other overlap.
 * float16/bfloat16 accumulate all n inputs in float32 and round once.
 */
#ifndef TUTTI_DTYPE_DTYPE_H
#define TUTTI_DTYPE_DTYPE_H

#include "tutti.h"

#include <stddef.h>

static inline size_t tutti_dtype_size(tutti_datatype_t dt)
{
    static const unsigned char sizes[TUTTI_NUM_DATATYPES] = {1, 1, 4, 4, 8, 8, 2, 2, 4, 8, 2, 2};
    return ((unsigned)dt < TUTTI_NUM_DATATYPES) ? sizes[dt] : 0;
}

static inline int tutti_dtype_valid(tutti_datatype_t dt)
{
    return (unsigned)dt < TUTTI_NUM_DATATYPES;
}

static inline int tutti_op_valid(tutti_op_t op)
{
    return (unsigned)op < TUTTI_NUM_OPS;
}

static inline int tutti_dtype_is_float(tutti_datatype_t dt)
{
    return dt == TUTTI_FLOAT16 || dt == TUTTI_BFLOAT16 || dt == TUTTI_FLOAT32 || dt == TUTTI_FLOAT64;
}

static inline int tutti_op_is_bitwise(tutti_op_t op)
{
    return op == TUTTI_BAND || op == TUTTI_BOR || op == TUTTI_BXOR;
}

/* Whether op can reduce dt: the bitwise ops need an integer type. */
static inline int tutti_op_fits(tutti_op_t op, tutti_datatype_t dt)
{
    return !tutti_op_is_bitwise(op) || !tutti_dtype_is_float(dt);
}

const char *tutti_dtype_name(tutti_datatype_t dt);
const char *tutti_dtype_op_name(tutti_op_t op);

#define TUTTI_REDUCE_MAX_INPUTS 16

void tutti_dtype_reduce(void *dst, const void *const *in, int n, size_t count,
                        tutti_datatype_t dt, tutti_op_t op, int div);

#endif
