/* SPDX-License-Identifier: BSD-3-Clause */
#include "dtype/copy.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx"))) static void tutti_copy_avx(void *dst, const void *src, size_t len)
{
    char *d = dst;
    const char *s = src;
    size_t i = 0;
    for (; i + 128 <= len; i += 128) {
        __m256 a = _mm256_loadu_ps((const float *)(s + i));
        __m256 b = _mm256_loadu_ps((const float *)(s + i + 32));
        __m256 c = _mm256_loadu_ps((const float *)(s + i + 64));
        __m256 e = _mm256_loadu_ps((const float *)(s + i + 96));
        _mm256_storeu_ps((float *)(d + i), a);
        _mm256_storeu_ps((float *)(d + i + 32), b);
        _mm256_storeu_ps((float *)(d + i + 64), c);
        _mm256_storeu_ps((float *)(d + i + 96), e);
    }
    for (; i + 32 <= len; i += 32) _mm256_storeu_ps((float *)(d + i), _mm256_loadu_ps((const float *)(s + i)));
    if (i < len) memcpy(d + i, s + i, len - i);
}

__attribute__((target("avx"))) static void tutti_copy_stream_avx(void *dst, const void *src, size_t len)
{
    char *d = dst;
    const char *s = src;
    /* align the destination to 32 bytes with a normal copy */
    size_t head = (32 - ((uintptr_t)d & 31)) & 31;
    if (head > len) head = len;
    if (head) memcpy(d, s, head);
    size_t i = head;
    for (; i + 128 <= len; i += 128) {
        __m256 a = _mm256_loadu_ps((const float *)(s + i));
        __m256 b = _mm256_loadu_ps((const float *)(s + i + 32));
        __m256 c = _mm256_loadu_ps((const float *)(s + i + 64));
        __m256 e = _mm256_loadu_ps((const float *)(s + i + 96));
        _mm256_stream_ps((float *)(d + i), a);
        _mm256_stream_ps((float *)(d + i + 32), b);
        _mm256_stream_ps((float *)(d + i + 64), c);
        _mm256_stream_ps((float *)(d + i + 96), e);
    }
    for (; i + 32 <= len; i += 32) _mm256_stream_ps((float *)(d + i), _mm256_loadu_ps((const float *)(s + i)));
    if (i < len) memcpy(d + i, s + i, len - i);
}

static int tutti_have_avx(void)
{
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx") ? 1 : 0;
    return have;
}

void tutti_copy(void *dst, const void *src, size_t len)
{
    if (len >= 256 && tutti_have_avx()) tutti_copy_avx(dst, src, len);
    else memcpy(dst, src, len);
}

void tutti_copy_stream(void *dst, const void *src, size_t len)
{
    if (len >= 4096 && tutti_have_avx()) tutti_copy_stream_avx(dst, src, len);
    else tutti_copy(dst, src, len);
}

void tutti_copy_fence(void) { _mm_sfence(); }

#else

void tutti_copy(void *dst, const void *src, size_t len) { memcpy(dst, src, len); }
void tutti_copy_stream(void *dst, const void *src, size_t len) { memcpy(dst, src, len); }
void tutti_copy_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

#endif
