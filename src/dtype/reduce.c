/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reduction kernels.  Integer and float32/float64 kernels are plain loops
 * the compiler vectorises (two-input loops are the hot path: ring and tree
 * steps combine one received chunk with one local chunk).  float16 and
 * bfloat16 are converted in blocks to float32, accumulated over all inputs,
 * and rounded once; float16 uses F16C when the CPU has it.
 */
#include "dtype/dtype.h"

#include "dtype/half.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TUTTI_HAVE_X86 1
#endif

const char *tutti_dtype_name(tutti_datatype_t dt)
{
    static const char *const names[TUTTI_NUM_DATATYPES] = {
        "int8", "uint8", "int32", "uint32", "int64", "uint64",
        "float16", "bfloat16", "float32", "float64", "int16", "uint16"};
    return tutti_dtype_valid(dt) ? names[dt] : "invalid";
}

const char *tutti_dtype_op_name(tutti_op_t op)
{
    static const char *const names[TUTTI_NUM_OPS] = {"sum", "prod", "min", "max", "avg", "band", "bor", "bxor"};
    return tutti_op_valid(op) ? names[op] : "invalid";
}

/* Integer ops wrap: compute in the unsigned type of the same width. */
#define TUTTI_ISUM(U, a, b) ((U)((U)(a) + (U)(b)))
#define TUTTI_IPROD(U, a, b) ((U)((U)(a) * (U)(b)))
#define TUTTI_MIN_(a, b) ((b) < (a) ? (b) : (a))
#define TUTTI_MAX_(a, b) ((b) > (a) ? (b) : (a))
/* Floating MIN/MAX propagate NaN from either side. */
#define TUTTI_FMIN_(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : TUTTI_MIN_(a, b)))
#define TUTTI_FMAX_(a, b) (((a) != (a)) ? (a) : (((b) != (b)) ? (b) : TUTTI_MAX_(a, b)))

/* dst = a op b, element-wise, for one C type.  dst may equal a or b
 * exactly (never partially), so iterations are independent: `ivdep` lets
 * the compiler vectorise without the runtime alias check that otherwise
 * sent the hot loop to its scalar fallback.  Each kernel is compiled for
 * AVX2 and for the baseline ISA; the loader picks one (target_clones). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TUTTI_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define TUTTI_KERNEL
#endif
#define TUTTI_LOOP _Pragma("GCC ivdep") for
#define TUTTI_DEF_INT_KERNELS(name, T, U, W)                                    \
    TUTTI_KERNEL static void tutti_red2_##name(T *d, const T *a, const T *b, size_t n, tutti_op_t op) \
    {                                                                          \
        size_t i;                                                              \
        switch (op) {                                                          \
        case TUTTI_SUM:                                                        \
        case TUTTI_AVG:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = (T)TUTTI_ISUM(U, a[i], b[i]);       \
            break;                                                             \
        case TUTTI_PROD:                                                       \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = (T)TUTTI_IPROD(U, a[i], b[i]);      \
            break;                                                             \
        case TUTTI_MIN:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = TUTTI_MIN_(a[i], b[i]);             \
            break;                                                             \
        case TUTTI_MAX:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = TUTTI_MAX_(a[i], b[i]);             \
            break;                                                             \
        case TUTTI_BAND:                                                       \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = (T)(a[i] & b[i]);                   \
            break;                                                             \
        case TUTTI_BOR:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = (T)(a[i] | b[i]);                   \
            break;                                                             \
        case TUTTI_BXOR:                                                       \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = (T)(a[i] ^ b[i]);                   \
            break;                                                             \
        default:                                                               \
            break;                                                             \
        }                                                                      \
    }                                                                          \
    static void tutti_div_##name(T *d, size_t n, int div)                      \
    {                                                                          \
        for (size_t i = 0; i < n; i++) d[i] = (T)((W)d[i] / (W)div);           \
    }

#define TUTTI_DEF_FLOAT_KERNELS(name, T)                                       \
    TUTTI_KERNEL static void tutti_red2_##name(T *d, const T *a, const T *b, size_t n, tutti_op_t op) \
    {                                                                          \
        size_t i;                                                              \
        switch (op) {                                                          \
        case TUTTI_SUM:                                                        \
        case TUTTI_AVG:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = a[i] + b[i];                        \
            break;                                                             \
        case TUTTI_PROD:                                                       \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = a[i] * b[i];                        \
            break;                                                             \
        case TUTTI_MIN:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = TUTTI_FMIN_(a[i], b[i]);            \
            break;                                                             \
        case TUTTI_MAX:                                                        \
            TUTTI_LOOP (i = 0; i < n; i++) d[i] = TUTTI_FMAX_(a[i], b[i]);            \
            break;                                                             \
        default:                                                               \
            break;                                                             \
        }                                                                      \
    }                                                                          \
    static void tutti_div_##name(T *d, size_t n, int div)                      \
    {                                                                          \
        for (size_t i = 0; i < n; i++) d[i] = d[i] / (T)div;                   \
    }

/* AVG divides in a 64-bit type of the same signedness, so the rank count
 * never wraps (int8 with 200 ranks). */
TUTTI_DEF_INT_KERNELS(i8, int8_t, uint8_t, int64_t)
TUTTI_DEF_INT_KERNELS(u8, uint8_t, uint8_t, uint64_t)
TUTTI_DEF_INT_KERNELS(i16, int16_t, uint16_t, int64_t)
TUTTI_DEF_INT_KERNELS(u16, uint16_t, uint16_t, uint64_t)
TUTTI_DEF_INT_KERNELS(i32, int32_t, uint32_t, int64_t)
TUTTI_DEF_INT_KERNELS(u32, uint32_t, uint32_t, uint64_t)
TUTTI_DEF_INT_KERNELS(i64, int64_t, uint64_t, int64_t)
TUTTI_DEF_INT_KERNELS(u64, uint64_t, uint64_t, uint64_t)
TUTTI_DEF_FLOAT_KERNELS(f32, float)
TUTTI_DEF_FLOAT_KERNELS(f64, double)

/* ---- float16 / bfloat16: block conversion to float32 ------------------ */

#define TUTTI_HBLOCK 256

typedef void (*tutti_h2f_fn)(float *out, const uint16_t *in, size_t n);
typedef void (*tutti_f2h_fn)(uint16_t *out, const float *in, size_t n);

static void tutti_f16_load(float *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tutti_f16_to_f32(in[i]);
}

static void tutti_f16_store(uint16_t *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tutti_f32_to_f16(in[i]);
}

static void tutti_bf16_load(float *out, const uint16_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tutti_bf16_to_f32(in[i]);
}

static void tutti_bf16_store(uint16_t *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = tutti_f32_to_bf16(in[i]);
}

#ifdef TUTTI_HAVE_X86
__attribute__((target("avx,f16c"))) static void tutti_f16_load_f16c(float *out, const uint16_t *in,
                                                                    size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++) out[i] = tutti_f16_to_f32(in[i]);
}

__attribute__((target("avx,f16c"))) static void tutti_f16_store_f16c(uint16_t *out, const float *in,
                                                                     size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = tutti_f32_to_f16(in[i]);
}
#endif

static void tutti_f32_combine(float *acc, const float *b, size_t n, tutti_op_t op)
{
    tutti_red2_f32(acc, acc, b, n, op);
}

static void tutti_reduce_half(uint16_t *dst, const void *const *in, int nin, size_t count,
                              tutti_op_t op, int div, tutti_h2f_fn load, tutti_f2h_fn store)
{
    float acc[TUTTI_HBLOCK], tmp[TUTTI_HBLOCK];
    for (size_t off = 0; off < count; off += TUTTI_HBLOCK) {
        size_t n = count - off < TUTTI_HBLOCK ? count - off : TUTTI_HBLOCK;
        load(acc, (const uint16_t *)in[0] + off, n);
        for (int k = 1; k < nin; k++) {
            load(tmp, (const uint16_t *)in[k] + off, n);
            tutti_f32_combine(acc, tmp, n, op);
        }
        if (div > 1) tutti_div_f32(acc, n, div);
        store(dst + off, acc, n);
    }
}

/* ---- dispatch ---------------------------------------------------------- */

#define TUTTI_RED_CASE(DT, name, T)                                            \
    case DT:                                                                   \
        tutti_red2_##name((T *)dst, (const T *)in[0], (const T *)in[1], count, op); \
        for (int k = 2; k < n; k++)                                            \
            tutti_red2_##name((T *)dst, (const T *)dst, (const T *)in[k], count, op); \
        if (div > 1) tutti_div_##name((T *)dst, count, div);                   \
        break;

#define TUTTI_DIV_CASE(DT, name, T)                                            \
    case DT:                                                                   \
        tutti_div_##name((T *)dst, count, div);                                \
        break;

void tutti_dtype_reduce(void *dst, const void *const *in, int n, size_t count,
                        tutti_datatype_t dt, tutti_op_t op, int div)
{
    if (count == 0) return;
    if (op != TUTTI_AVG) div = 0;
    if (n == 1) {
        if (dst != in[0]) memcpy(dst, in[0], count * tutti_dtype_size(dt));
        if (div <= 1) return;
        if (dt == TUTTI_FLOAT16 || dt == TUTTI_BFLOAT16) {
            /* fall through to the block path for the division */
        } else {
            switch (dt) {
                TUTTI_DIV_CASE(TUTTI_INT8, i8, int8_t)
                TUTTI_DIV_CASE(TUTTI_UINT8, u8, uint8_t)
                TUTTI_DIV_CASE(TUTTI_INT16, i16, int16_t)
                TUTTI_DIV_CASE(TUTTI_UINT16, u16, uint16_t)
                TUTTI_DIV_CASE(TUTTI_INT32, i32, int32_t)
                TUTTI_DIV_CASE(TUTTI_UINT32, u32, uint32_t)
                TUTTI_DIV_CASE(TUTTI_INT64, i64, int64_t)
                TUTTI_DIV_CASE(TUTTI_UINT64, u64, uint64_t)
                TUTTI_DIV_CASE(TUTTI_FLOAT32, f32, float)
                TUTTI_DIV_CASE(TUTTI_FLOAT64, f64, double)
            default: break;
            }
            return;
        }
    }
    switch (dt) {
        TUTTI_RED_CASE(TUTTI_INT8, i8, int8_t)
        TUTTI_RED_CASE(TUTTI_UINT8, u8, uint8_t)
        TUTTI_RED_CASE(TUTTI_INT16, i16, int16_t)
        TUTTI_RED_CASE(TUTTI_UINT16, u16, uint16_t)
        TUTTI_RED_CASE(TUTTI_INT32, i32, int32_t)
        TUTTI_RED_CASE(TUTTI_UINT32, u32, uint32_t)
        TUTTI_RED_CASE(TUTTI_INT64, i64, int64_t)
        TUTTI_RED_CASE(TUTTI_UINT64, u64, uint64_t)
        TUTTI_RED_CASE(TUTTI_FLOAT32, f32, float)
        TUTTI_RED_CASE(TUTTI_FLOAT64, f64, double)
    case TUTTI_FLOAT16: {
        tutti_h2f_fn load = tutti_f16_load;
        tutti_f2h_fn store = tutti_f16_store;
#ifdef TUTTI_HAVE_X86
        if (__builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx")) {
            load = tutti_f16_load_f16c;
            store = tutti_f16_store_f16c;
        }
#endif
        tutti_reduce_half((uint16_t *)dst, in, n, count, op, div, load, store);
        break;
    }
    case TUTTI_BFLOAT16:
        tutti_reduce_half((uint16_t *)dst, in, n, count, op, div, tutti_bf16_load, tutti_bf16_store);
        break;
    default:
        break;
    }
}
