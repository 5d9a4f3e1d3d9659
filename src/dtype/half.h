/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * float16 (IEEE binary16) and bfloat16 conversions, bit-exact, round to
 * nearest even, NaN kept quiet, subnormals handled.  Scalar and portable;
 * the reduction kernels use them for the remainder of vector loops and as
 * the reference in tests.
 */
#ifndef TUTTI_DTYPE_HALF_H
#define TUTTI_DTYPE_HALF_H

#include <stdint.h>
#include <string.h>

static inline uint32_t tutti_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float tutti_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float tutti_bf16_to_f32(uint16_t h)
{
    return tutti_bits_f32((uint32_t)h << 16);
}

static inline uint16_t tutti_f32_to_bf16(float f)
{
    uint32_t u = tutti_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float tutti_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13); /* inf or NaN (payload kept) */
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        u = sign;
    } else {
        /* subnormal: value = man * 2^-24; normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while ((man & 0x400u) == 0);
        man &= 0x3ffu;
        u = sign | ((uint32_t)(112 - e) << 23) | (man << 13);
    }
    return tutti_bits_f32(u);
}

static inline uint16_t tutti_f32_to_f16(float f)
{
    uint32_t u = tutti_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to >= 65520: inf */
    if (a >= 0x38800000u) {
        /* normal half: rebias exponent, round mantissa to nearest even */
        uint32_t r = a - 0x38000000u; /* exponent -112 */
        r += 0xfffu + ((r >> 13) & 1u);
        return (uint16_t)(sign | (r >> 13));
    }
    if (a < 0x33000000u) return (uint16_t)sign; /* below half the smallest subnormal */
    /* subnormal half: shift the full mantissa, round to nearest even */
    uint32_t e = a >> 23;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

#endif
