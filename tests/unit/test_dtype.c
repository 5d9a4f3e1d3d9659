/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reduction kernels against an independent scalar reference, for every
 * datatype, op, input count and aliasing; float16/bfloat16 conversions
 * exhaustively and at their edge cases (NaN, inf, subnormals, ties).
 */
#include "dtype/dtype.h"
#include "dtype/half.h"
#include "tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f)
{
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
static int have_f16c(void) { return __builtin_cpu_supports("f16c"); }
#else
static uint16_t hw_f32_to_f16(float f) { return 0; }
static float hw_f16_to_f32(uint16_t h) { return 0; }
static int have_f16c(void) { return 0; }
#endif

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int f16_isnan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }
static int bf16_isnan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f); }

static void test_conversions(void)
{
    /* f16 -> f32 -> f16 is the identity (NaNs stay NaN and become quiet) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = tutti_f16_to_f32((uint16_t)h);
        uint16_t back = tutti_f32_to_f16(f);
        if (f16_isnan((uint16_t)h) ? !(f16_isnan(back) && (back & 0x200)) : back != h) bad++;
    }
    tap_ok(bad == 0, "float16 -> float32 -> float16 round trip, all 65536 patterns (%d wrong)", bad);

    if (have_f16c()) {
        int bad1 = 0, bad2 = 0;
        for (uint32_t h = 0; h < 65536; h++) {
            float a = tutti_f16_to_f32((uint16_t)h), b = hw_f16_to_f32((uint16_t)h);
            if (!(isnan(a) && isnan(b)) && memcmp(&a, &b, 4) != 0) bad1++;
        }
        /* every float bit pattern with a stride, plus the neighbourhood of
         * every half-way point between halves (the rounding ties) */
        for (uint64_t u = 0; u < (1ULL << 32); u += 997) {
            float f = tutti_bits_f32((uint32_t)u);
            uint16_t s = tutti_f32_to_f16(f), hw = hw_f32_to_f16(f);
            if (!(isnan(f) && f16_isnan(s) && f16_isnan(hw)) && s != hw) bad2++;
        }
        for (uint32_t h = 0; h < 0x7c00; h++) {
            float lo = tutti_f16_to_f32((uint16_t)h), hi = tutti_f16_to_f32((uint16_t)(h + 1));
            float mid = (lo + hi) / 2; /* exact in float */
            for (int d = -2; d <= 2; d++) {
                uint32_t u = tutti_f32_bits(mid) + (uint32_t)d;
                float f = tutti_bits_f32(u);
                for (int sgn = 0; sgn < 2; sgn++) {
                    float g = sgn ? -f : f;
                    if (tutti_f32_to_f16(g) != hw_f32_to_f16(g)) bad2++;
                }
            }
        }
        tap_ok(bad1 == 0, "float16 -> float32 matches F16C on all patterns (%d wrong)", bad1);
        tap_ok(bad2 == 0, "float32 -> float16 matches F16C on 4.3M floats and every tie (%d wrong)", bad2);
    } else {
        tap_skip("no F16C on this CPU: hardware cross-check of float16 conversion");
        tap_skip("no F16C on this CPU: hardware cross-check of float32 -> float16");
    }

    /* hand-picked float16 cases */
    struct { float f; uint16_t h; const char *what; } cases[] = {
        {65504.0f, 0x7bff, "largest half"},
        {65519.99f, 0x7bff, "just below the overflow tie"},
        {65520.0f, 0x7c00, "overflow tie rounds to inf"},
        {INFINITY, 0x7c00, "inf"},
        {-INFINITY, 0xfc00, "-inf"},
        {5.9604645e-8f, 0x0001, "smallest subnormal 2^-24"},
        {2.9802322e-8f, 0x0000, "2^-25 ties to even (zero)"},
        {4.4703484e-8f, 0x0001, "3*2^-26 rounds up to 2^-24"},
        {6.1035156e-5f, 0x0400, "smallest normal 2^-14"},
        {-0.0f, 0x8000, "negative zero"},
        {1.0009765625f, 0x3c01, "1 + 2^-10"},
        {1.00048828125f, 0x3c00, "1 + 2^-11 ties to even (down)"},
        {1.00146484375f, 0x3c02, "1 + 3*2^-11 ties to even (up)"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        tap_ok(tutti_f32_to_f16(cases[k].f) == cases[k].h, "float16: %s -> 0x%04x (got 0x%04x)", cases[k].what,
               cases[k].h, tutti_f32_to_f16(cases[k].f));
    tap_ok(f16_isnan(tutti_f32_to_f16(NAN)), "float16: NaN stays NaN");

    /* bfloat16 */
    struct { uint32_t f; uint16_t h; const char *what; } bc[] = {
        {0x3f808000u, 0x3f80, "tie to even (down)"},
        {0x3f818000u, 0x3f82, "tie to even (up)"},
        {0x3f808001u, 0x3f81, "above the tie"},
        {0x7f7fffffu, 0x7f80, "largest float rounds to inf"},
        {0x7f800000u, 0x7f80, "inf"},
        {0x00000001u, 0x0000, "smallest float subnormal rounds to zero"},
        {0x00010000u, 0x0001, "bfloat16 subnormal kept"},
        {0x80000000u, 0x8000, "negative zero"},
    };
    for (size_t k = 0; k < sizeof(bc) / sizeof(bc[0]); k++)
        tap_ok(tutti_f32_to_bf16(tutti_bits_f32(bc[k].f)) == bc[k].h, "bfloat16: %s", bc[k].what);
    uint16_t bn = tutti_f32_to_bf16(tutti_bits_f32(0x7f800001u)); /* signalling NaN, payload in low bits */
    tap_ok(bf16_isnan(bn), "bfloat16: a NaN whose payload is only in the low bits stays NaN (0x%04x)", bn);
    bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint16_t back = tutti_f32_to_bf16(tutti_bf16_to_f32((uint16_t)h));
        if (bf16_isnan((uint16_t)h) ? !bf16_isnan(back) : back != h) bad++;
    }
    tap_ok(bad == 0, "bfloat16 -> float32 -> bfloat16 round trip, all patterns (%d wrong)", bad);
}

/* ---- kernels against a scalar reference ---------------------------------- */

static double rand_float_special(void)
{
    uint64_t r = next_rand() % 64;
    switch (r) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return -0.0;
    case 4: return 1e-40; /* float subnormal */
    case 5: return 3e-8;  /* half subnormal range */
    default: return ((double)(int64_t)(next_rand() % 2001) - 1000.0) / 8.0;
    }
}

static void fill_input(void *buf, size_t n, tutti_datatype_t dt)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_rand();
        switch (dt) {
        case TUTTI_INT8: case TUTTI_UINT8: ((uint8_t *)buf)[i] = (uint8_t)r; break;
        case TUTTI_INT16: case TUTTI_UINT16: ((uint16_t *)buf)[i] = (uint16_t)r; break;
        case TUTTI_INT32: case TUTTI_UINT32: ((uint32_t *)buf)[i] = (uint32_t)r; break;
        case TUTTI_INT64: case TUTTI_UINT64: ((uint64_t *)buf)[i] = r; break;
        case TUTTI_FLOAT16: ((uint16_t *)buf)[i] = tutti_f32_to_f16((float)rand_float_special()); break;
        case TUTTI_BFLOAT16: ((uint16_t *)buf)[i] = tutti_f32_to_bf16((float)rand_float_special()); break;
        case TUTTI_FLOAT32: ((float *)buf)[i] = (float)rand_float_special(); break;
        case TUTTI_FLOAT64: ((double *)buf)[i] = rand_float_special(); break;
        default: break;
        }
    }
}

static double fop(double a, double b, tutti_op_t op)
{
    switch (op) {
    case TUTTI_SUM: case TUTTI_AVG: return a + b;
    case TUTTI_PROD: return a * b;
    case TUTTI_MIN: return isnan(a) ? a : isnan(b) ? b : (b < a ? b : a);
    case TUTTI_MAX: return isnan(a) ? a : isnan(b) ? b : (b > a ? b : a);
    default: return 0;
    }
}

static float fopf(float a, float b, tutti_op_t op)
{
    switch (op) {
    case TUTTI_SUM: case TUTTI_AVG: return a + b;
    case TUTTI_PROD: return a * b;
    case TUTTI_MIN: return isnan(a) ? a : isnan(b) ? b : (b < a ? b : a);
    case TUTTI_MAX: return isnan(a) ? a : isnan(b) ? b : (b > a ? b : a);
    default: return 0;
    }
}

/* Reference for element i: independent of the kernels' code. */
static void ref_elem(void *out, const void *const *in, int n, size_t i, tutti_datatype_t dt, tutti_op_t op, int div)
{
    int is_signed = dt == TUTTI_INT8 || dt == TUTTI_INT16 || dt == TUTTI_INT32 || dt == TUTTI_INT64;
    if (dt == TUTTI_FLOAT32 || dt == TUTTI_FLOAT16 || dt == TUTTI_BFLOAT16) {
        float acc = 0;
        for (int k = 0; k < n; k++) {
            float v = dt == TUTTI_FLOAT32 ? ((const float *)in[k])[i]
                      : dt == TUTTI_FLOAT16 ? tutti_f16_to_f32(((const uint16_t *)in[k])[i])
                                            : tutti_bf16_to_f32(((const uint16_t *)in[k])[i]);
            acc = k == 0 ? v : fopf(acc, v, op);
        }
        if (div > 1) acc = acc / (float)div;
        if (dt == TUTTI_FLOAT32) ((float *)out)[i] = acc;
        else if (dt == TUTTI_FLOAT16) ((uint16_t *)out)[i] = tutti_f32_to_f16(acc);
        else ((uint16_t *)out)[i] = tutti_f32_to_bf16(acc);
        return;
    }
    if (dt == TUTTI_FLOAT64) {
        double acc = 0;
        for (int k = 0; k < n; k++) acc = k == 0 ? ((const double *)in[k])[i] : fop(acc, ((const double *)in[k])[i], op);
        if (div > 1) acc /= div;
        ((double *)out)[i] = acc;
        return;
    }
    /* integers: exact 64-bit two's complement, then truncate to the width */
    size_t es = tutti_dtype_size(dt);
    uint64_t mask = es == 8 ? ~0ULL : ((1ULL << (8 * es)) - 1);
    int64_t acc = 0;
    for (int k = 0; k < n; k++) {
        uint64_t raw = 0;
        memcpy(&raw, (const char *)in[k] + i * es, es);
        int64_t v = (int64_t)raw;
        if (is_signed && es < 8 && (raw >> (8 * es - 1)) & 1) v = (int64_t)(raw | ~mask); /* sign extend */
        if (k == 0) { acc = v; continue; }
        switch (op) {
        case TUTTI_SUM: case TUTTI_AVG: acc = (int64_t)((uint64_t)acc + (uint64_t)v); break;
        case TUTTI_PROD: acc = (int64_t)((uint64_t)acc * (uint64_t)v); break;
        case TUTTI_MIN: acc = is_signed ? (v < acc ? v : acc) : ((uint64_t)v & mask) < ((uint64_t)acc & mask) ? v : acc; break;
        case TUTTI_MAX: acc = is_signed ? (v > acc ? v : acc) : ((uint64_t)v & mask) > ((uint64_t)acc & mask) ? v : acc; break;
        case TUTTI_BAND: acc = (int64_t)((uint64_t)acc & (uint64_t)v); break;
        case TUTTI_BOR: acc = (int64_t)((uint64_t)acc | (uint64_t)v); break;
        case TUTTI_BXOR: acc = (int64_t)((uint64_t)acc ^ (uint64_t)v); break;
        default: break;
        }
        /* keep the wrapped value of the type at every step */
        uint64_t w = (uint64_t)acc & mask;
        acc = (int64_t)w;
        if (is_signed && es < 8 && (w >> (8 * es - 1)) & 1) acc = (int64_t)(w | ~mask);
    }
    if (div > 1) {
        if (is_signed) acc = acc / div;
        else acc = (int64_t)(((uint64_t)acc & mask) / (uint64_t)div);
    }
    uint64_t w = (uint64_t)acc & mask;
    memcpy((char *)out + i * es, &w, es);
}

static int same_elem(const void *a, const void *b, size_t i, tutti_datatype_t dt)
{
    size_t es = tutti_dtype_size(dt);
    const char *x = (const char *)a + i * es, *y = (const char *)b + i * es;
    if (memcmp(x, y, es) == 0) return 1;
    if (dt == TUTTI_FLOAT32) { float p, q; memcpy(&p, x, 4); memcpy(&q, y, 4); return isnan(p) && isnan(q); }
    if (dt == TUTTI_FLOAT64) { double p, q; memcpy(&p, x, 8); memcpy(&q, y, 8); return isnan(p) && isnan(q); }
    if (dt == TUTTI_FLOAT16) { uint16_t p, q; memcpy(&p, x, 2); memcpy(&q, y, 2); return f16_isnan(p) && f16_isnan(q); }
    if (dt == TUTTI_BFLOAT16) { uint16_t p, q; memcpy(&p, x, 2); memcpy(&q, y, 2); return bf16_isnan(p) && bf16_isnan(q); }
    return 0;
}

static void test_kernels(void)
{
    static const size_t counts[] = {0, 1, 7, 33, 1000, 4099};
    for (int dt = 0; dt < TUTTI_NUM_DATATYPES; dt++) {
        for (int op = 0; op < TUTTI_NUM_OPS; op++) {
            if (!tutti_op_fits((tutti_op_t)op, (tutti_datatype_t)dt)) continue; /* (bitwise: integers only) */
            int cases = 0, bad = 0;
            char first[200] = "";
            for (int n = 1; n <= 4; n++) {
                for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
                    for (int alias = 0; alias < 2; alias++) {
                        size_t cnt = counts[ci], es = tutti_dtype_size((tutti_datatype_t)dt);
                        void *bufs[4], *dst = malloc(cnt * es + 8), *want = malloc(cnt * es + 8);
                        const void *in[4];
                        for (int k = 0; k < n; k++) {
                            bufs[k] = malloc(cnt * es + 8);
                            fill_input(bufs[k], cnt, (tutti_datatype_t)dt);
                            in[k] = bufs[k];
                        }
                        int div = op == TUTTI_AVG ? n : 0;
                        for (size_t i = 0; i < cnt; i++) ref_elem(want, in, n, i, (tutti_datatype_t)dt, (tutti_op_t)op, div);
                        void *out = alias ? bufs[0] : dst;
                        tutti_dtype_reduce(out, in, n, cnt, (tutti_datatype_t)dt, (tutti_op_t)op, div);
                        for (size_t i = 0; i < cnt; i++)
                            if (!same_elem(out, want, i, (tutti_datatype_t)dt)) {
                                if (!bad)
                                    snprintf(first, sizeof(first), "n=%d count=%zu alias=%d element %zu", n, cnt, alias, i);
                                bad++;
                                break;
                            }
                        cases++;
                        for (int k = 0; k < n; k++) free(bufs[k]);
                        free(dst);
                        free(want);
                    }
                }
            }
            if (!tap_ok(bad == 0, "kernel %s %s: %d cases (1-4 inputs, aliasing, specials)",
                        tutti_dtype_name((tutti_datatype_t)dt), tutti_dtype_op_name((tutti_op_t)op), cases))
                tap_diag("first mismatch: %s", first);
        }
    }
}

int main(void)
{
    test_conversions();
    test_kernels();
    return tap_done();
}
