/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TCP transport's hello, as an accepting rank checks it: only a
 * connection signed with this communicator's key, from a lower rank that
 * uses TCP with it, for an existing channel and socket, gets in.  (The
 * transport itself runs in tests/mpi over loopback and in tests/cluster
 * between namespace hosts.)
 */
#include "tap.h"
#include "tcp/tcp.h"

#include <string.h>

static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static tutti_hello_t hello(const uint8_t key[16], uint64_t comm_id, int from, int to, int nranks, int chan, int idx)
{
    tutti_hello_t h;
    memset(&h, 0, sizeof(h));
    h.magic = TUTTI_HELLO_MAGIC;
    h.version = TUTTI_WIRE_VERSION;
    h.kind = TUTTI_HELLO_TCP;
    h.comm_id = comm_id;
    h.from = from;
    h.to = to;
    h.nranks = nranks;
    h.pad = (uint32_t)chan << 8 | (uint32_t)idx;
    h.addr.family = AF_INET;
    h.addr.port = 4242;
    tutti_hello_sign(&h, key);
    return h;
}

static int refused(const tutti_hello_t *h, const uint8_t key[16], const char *needle)
{
    static const uint8_t use[4] = {1, 1, 0, 1};
    int c = -1, i = -1;
    const char *bad = tutti_tcp_hello_accept(h, key, 77, 3, 4, use, 2, 2, &c, &i);
    if (!bad || !strstr(bad, needle)) {
        tap_diag("expected a refusal mentioning '%s', got %s", needle, bad ? bad : "acceptance");
        return 0;
    }
    return 1;
}

int main(void)
{
    uint8_t key[16], other[16], key2[16];
    static const uint8_t use[4] = {1, 1, 0, 1};
    tutti_tcp_derive_key(secret, 77, key);
    tutti_tcp_derive_key(secret, 78, key2);
    uint8_t secret2[16];
    memcpy(secret2, secret, 16);
    secret2[0] ^= 1;
    tutti_tcp_derive_key(secret2, 77, other);
    tap_ok(memcmp(key, key2, 16) != 0 && memcmp(key, other, 16) != 0 && memcmp(key, secret, 16) != 0,
           "the key depends on the secret and the communicator id, and is not the secret");

    tutti_hello_t h = hello(key, 77, 1, 3, 4, 1, 1);
    int c = -1, i = -1;
    const char *bad = tutti_tcp_hello_accept(&h, key, 77, 3, 4, use, 2, 2, &c, &i);
    tap_ok(!bad && c == 1 && i == 1, "a good hello gets in, with its channel and socket (%s)", bad ? bad : "ok");

    h = hello(other, 77, 1, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "authentication"), "signed with another job's secret: refused");
    h = hello(key2, 78, 1, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "authentication"), "from another communicator of the same job: refused");
    h = hello(key, 77, 1, 3, 4, 0, 0);
    h.pad = 1u << 8; /* moved to channel 1 after signing */
    tap_ok(refused(&h, key, "authentication"), "a hello altered after signing: refused");
    h = hello(key, 77, 1, 3, 4, 0, 0);
    h.kind = TUTTI_HELLO_PEER;
    tutti_hello_sign(&h, key);
    tap_ok(refused(&h, key, "not a tutti hello"), "a bootstrap hello replayed to the transport: refused");
    h = hello(key, 77, 1, 2, 4, 0, 0);
    tap_ok(refused(&h, key, "another rank"), "addressed to another rank: refused");
    h = hello(key, 77, 1, 3, 5, 0, 0);
    tap_ok(refused(&h, key, "size"), "for a communicator of another size: refused");
    h = hello(key, 77, 2, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "does not connect here"), "from a rank this one reaches over shm: refused");
    h = hello(key, 77, 3, 3, 4, 0, 0);
    tap_ok(refused(&h, key, "does not connect here"), "from itself or a higher rank (they accept, not connect): refused");
    h = hello(key, 77, 0, 3, 4, 2, 0);
    tap_ok(refused(&h, key, "channel"), "channel out of range: refused");
    h = hello(key, 77, 0, 3, 4, 0, 2);
    tap_ok(refused(&h, key, "TUTTI_TCP_NSOCKS"), "socket index out of range names TUTTI_TCP_NSOCKS: refused");
    h = hello(key, 77, 0, 3, 4, 0, 0);
    h.magic ^= 1;
    tap_ok(refused(&h, key, "not a tutti hello"), "garbage: refused");
    return tap_done();
}
