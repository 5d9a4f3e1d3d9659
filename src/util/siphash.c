/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/siphash.h"

#include <string.h>

#define TUTTI_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t tutti_load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define TUTTI_SIPROUND                                                         \
    do {                                                                       \
        v0 += v1; v1 = TUTTI_ROTL(v1, 13); v1 ^= v0; v0 = TUTTI_ROTL(v0, 32); \
        v2 += v3; v3 = TUTTI_ROTL(v3, 16); v3 ^= v2;                           \
        v0 += v3; v3 = TUTTI_ROTL(v3, 21); v3 ^= v0;                           \
        v2 += v1; v1 = TUTTI_ROTL(v1, 17); v1 ^= v2; v2 = TUTTI_ROTL(v2, 32); \
    } while (0)

uint64_t tutti_siphash(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = tutti_load64(key), k1 = tutti_load64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = tutti_load64(in + i);
        v3 ^= m;
        TUTTI_SIPROUND;
        TUTTI_SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    TUTTI_SIPROUND;
    TUTTI_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    TUTTI_SIPROUND;
    TUTTI_SIPROUND;
    TUTTI_SIPROUND;
    TUTTI_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void tutti_siphash_mac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16])
{
    uint8_t k2[16];
    memcpy(k2, key, 16);
    k2[0] ^= 0x5a; /* domain separation for the second half */
    uint64_t a = tutti_siphash(key, data, len);
    uint64_t b = tutti_siphash(k2, data, len);
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(a >> (8 * i));
        out[8 + i] = (uint8_t)(b >> (8 * i));
    }
}

int tutti_mac_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t d = 0;
    for (size_t i = 0; i < len; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}
