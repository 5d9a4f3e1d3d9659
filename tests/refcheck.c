/* SPDX-License-Identifier: BSD-3-Clause */
#include "refcheck.h"

#include "dtype/dtype.h"
#include "dtype/half.h"

#include <math.h>
#include <string.h>

static int64_t ref_value(tutti_datatype_t dt, tutti_op_t op, int rank, size_t i, uint32_t seed)
{
    uint32_t h = seed * 2654435761u ^ (uint32_t)rank * 40503u ^ (uint32_t)i * 2246822519u;
    h ^= h >> 13;
    h *= 3266489917u;
    h ^= h >> 16;
    int uns = dt == TUTTI_UINT8 || dt == TUTTI_UINT16 || dt == TUTTI_UINT32 || dt == TUTTI_UINT64;
    if (tutti_op_is_bitwise(op)) {
        /* dense ones for and, sparse ones for or, so results are not all 0 or all 1 */
        uint32_t b = op == TUTTI_BAND ? (h | h >> 7 | h >> 13) : op == TUTTI_BOR ? (h & h >> 7 & h >> 13) : h;
        return uns ? (int64_t)(b & 0xffffu) : (int64_t)(int16_t)(uint16_t)b;
    }
    if (op == TUTTI_PROD) return uns ? ((h % 8 == 0 && rank < 5) ? 2 : 1) : ((h & 1) ? -1 : 1);
    return uns ? (int64_t)(h % 5) : (int64_t)(h % 5) - 2;
}

static void ref_store(void *buf, size_t k, tutti_datatype_t dt, double v, int64_t iv)
{
    switch (dt) {
    case TUTTI_INT8: ((int8_t *)buf)[k] = (int8_t)(uint8_t)(uint64_t)iv; break;
    case TUTTI_UINT8: ((uint8_t *)buf)[k] = (uint8_t)(uint64_t)iv; break;
    case TUTTI_INT16: ((int16_t *)buf)[k] = (int16_t)(uint16_t)(uint64_t)iv; break;
    case TUTTI_UINT16: ((uint16_t *)buf)[k] = (uint16_t)(uint64_t)iv; break;
    case TUTTI_INT32: ((int32_t *)buf)[k] = (int32_t)(uint32_t)(uint64_t)iv; break;
    case TUTTI_UINT32: ((uint32_t *)buf)[k] = (uint32_t)(uint64_t)iv; break;
    case TUTTI_INT64: ((int64_t *)buf)[k] = iv; break;
    case TUTTI_UINT64: ((uint64_t *)buf)[k] = (uint64_t)iv; break;
    case TUTTI_FLOAT16: ((uint16_t *)buf)[k] = tutti_f32_to_f16((float)v); break;
    case TUTTI_BFLOAT16: ((uint16_t *)buf)[k] = tutti_f32_to_bf16((float)v); break;
    case TUTTI_FLOAT32: ((float *)buf)[k] = (float)v; break;
    case TUTTI_FLOAT64: ((double *)buf)[k] = v; break;
    default: break;
    }
}

void ref_fill(void *buf, size_t count, tutti_datatype_t dt, tutti_op_t op, int rank, size_t first, uint32_t seed)
{
    for (size_t k = 0; k < count; k++) {
        int64_t v = ref_value(dt, op, rank, first + k, seed);
        ref_store(buf, k, dt, (double)v, v);
    }
}

/* Wraps an exact integer result to the width of dt (two's complement). */
static int64_t ref_wrap(tutti_datatype_t dt, int64_t v)
{
    switch (dt) {
    case TUTTI_INT8: return (int8_t)(uint8_t)(uint64_t)v;
    case TUTTI_UINT8: return (uint8_t)(uint64_t)v;
    case TUTTI_INT16: return (int16_t)(uint16_t)(uint64_t)v;
    case TUTTI_UINT16: return (uint16_t)(uint64_t)v;
    case TUTTI_INT32: return (int32_t)(uint32_t)(uint64_t)v;
    case TUTTI_UINT32: return (uint32_t)(uint64_t)v;
    default: return v;
    }
}

void ref_reduce(void *out, size_t count, tutti_datatype_t dt, tutti_op_t op, int p, size_t first, uint32_t seed)
{
    int isfloat = tutti_dtype_is_float(dt);
    int uns = dt == TUTTI_UINT8 || dt == TUTTI_UINT16 || dt == TUTTI_UINT32 || dt == TUTTI_UINT64;
    for (size_t k = 0; k < count; k++) {
        int64_t acc = ref_value(dt, op, 0, first + k, seed);
        for (int r = 1; r < p; r++) {
            int64_t v = ref_value(dt, op, r, first + k, seed);
            switch (op) {
            case TUTTI_SUM:
            case TUTTI_AVG: acc += v; break;
            case TUTTI_PROD: acc *= v; break;
            case TUTTI_MIN: acc = v < acc ? v : acc; break;
            case TUTTI_MAX: acc = v > acc ? v : acc; break;
            case TUTTI_BAND: acc &= v; break;
            case TUTTI_BOR: acc |= v; break;
            case TUTTI_BXOR: acc ^= v; break;
            default: break;
            }
        }
        if (op == TUTTI_AVG) {
            if (isfloat) {
                double d;
                if (dt == TUTTI_FLOAT64) d = (double)acc / (double)p;
                else d = (double)((float)acc / (float)p);
                ref_store(out, k, dt, d, 0);
            } else {
                int64_t w = ref_wrap(dt, acc);
                int64_t a = uns ? (int64_t)((uint64_t)w / (uint64_t)p) : w / p;
                ref_store(out, k, dt, 0, a);
            }
        } else {
            ref_store(out, k, dt, (double)acc, acc);
        }
    }
}

size_t ref_mismatches(const void *got, const void *want, size_t count, tutti_datatype_t dt, size_t *first_bad)
{
    size_t es = tutti_datatype_size(dt), bad = 0;
    if (count == 0 || memcmp(got, want, count * es) == 0) return 0; /* the common case, at once */
    for (size_t k = 0; k < count; k++) {
        const char *g = (const char *)got + k * es, *w = (const char *)want + k * es;
        if (memcmp(g, w, es) == 0) continue;
        if (dt == TUTTI_FLOAT32) {
            float a, b;
            memcpy(&a, g, 4);
            memcpy(&b, w, 4);
            if (isnan(a) && isnan(b)) continue;
        } else if (dt == TUTTI_FLOAT64) {
            double a, b;
            memcpy(&a, g, 8);
            memcpy(&b, w, 8);
            if (isnan(a) && isnan(b)) continue;
        }
        if (bad == 0 && first_bad) *first_bad = k;
        bad++;
    }
    return bad;
}

tutti_op_t ref_op_for(tutti_datatype_t dt, unsigned k)
{
    tutti_op_t op = (tutti_op_t)(k % TUTTI_NUM_OPS);
    /* floating point has no bitwise ops: the arithmetic one at the same turn */
    return tutti_op_fits(op, dt) ? op : (tutti_op_t)(k % TUTTI_BAND);
}

int ref_op_fits(tutti_op_t op, tutti_datatype_t dt) { return tutti_op_fits(op, dt); }
