/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed pseudo-random function,
 * used as a MAC to prove knowledge of a communicator's secret without
 * sending it, and to derive child secrets.  Written from the published
 * specification.
 */
#ifndef TUTTI_UTIL_SIPHASH_H
#define TUTTI_UTIL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tutti_siphash(const uint8_t key[16], const void *data, size_t len);

/* 16-byte MAC: two domain-separated SipHash outputs. */
void tutti_siphash_mac(const uint8_t key[16], const void *data, size_t len, uint8_t out[16]);

/* Constant-time comparison. */
int tutti_mac_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
