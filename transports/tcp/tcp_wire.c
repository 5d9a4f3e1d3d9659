/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's connection hello: the key that signs it and the
 * checks an accepting rank makes.  Pure functions (tests/unit/test_tcp.c).
 */
#include "tcp/tcp.h"

#include "core/bootstrap_wire.h"
#include "util/siphash.h"

#include <string.h>

void tutti_tcp_derive_key(const uint8_t secret[16], uint64_t comm_id, uint8_t key[16])
{
    uint8_t in[9 + 8];
    memcpy(in, "tutti-tcp", 9);
    memcpy(in + 9, &comm_id, 8);
    tutti_siphash_mac(secret, in, sizeof(in), key);
}

const char *tutti_tcp_hello_accept(const tutti_hello_t *h, const uint8_t key[16], uint64_t comm_id, int rank,
                                   int nranks, const uint8_t *use, int nchan, int nsocks, int *chan, int *idx)
{
    const char *bad = tutti_hello_check(h, TUTTI_HELLO_TCP, comm_id, key, rank, nranks);
    if (bad) return bad;
    /* either end of a pair connects (whichever needs it first) */
    if (h->from == rank || !use[h->from]) return "from a rank that does not connect here";
    uint32_t c = h->pad >> 8, i = h->pad & 0xff;
    if (c >= (uint32_t)nchan) return "channel out of range";
    if (i >= (uint32_t)nsocks) return "socket index out of range (TUTTI_TCP_NSOCKS differs?)";
    *chan = (int)c;
    *idx = (int)i;
    return NULL;
}
