/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the bootstrap puts on the wire.  Every message starts with a magic
 * and a version and has a fixed or bounded length; all are validated before
 * use.  Integers are little-endian (x86/Arm hosts); a peer of the other
 * endianness fails the magic check and is dropped.
 *
 *   unique id (128 B)      magic, version, comm id, secret, root address, check
 *   hello (client->server) magic, version, kind, comm id, from, to, nranks,
 *                          nonce, listen address, MAC(secret, all of that)
 *   frame header (16 B)    magic, version, type, tag, length; then payload
 *
 * A client proves it holds the secret with the MAC in its hello; the secret
 * itself never crosses the wire.  The root's answer carries a MAC over the
 * client's nonce, so a rank knows the table came from a holder of the
 * secret too.
 */
#ifndef TUTTI_CORE_BOOTSTRAP_WIRE_H
#define TUTTI_CORE_BOOTSTRAP_WIRE_H

#include "util/socket.h"

#include <stdint.h>

#define TUTTI_ID_MAGIC 0x49545554u    /* "TUTI" */
#define TUTTI_HELLO_MAGIC 0x48545554u /* "TUTH" */
#define TUTTI_FRAME_MAGIC 0x44545554u /* "TUTD" */
#define TUTTI_WIRE_VERSION 1

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t flags;
    uint64_t comm_id;
    uint8_t secret[16];
    tutti_sockaddr_t root;
    uint8_t reserved[128 - 56 - 8];
    uint8_t check[8]; /* SipHash of the bytes above under a fixed key */
} tutti_id_wire_t;

_Static_assert(sizeof(tutti_id_wire_t) == 128, "unique id must be 128 bytes");

enum { TUTTI_HELLO_ROOT = 1, TUTTI_HELLO_PEER = 2, TUTTI_HELLO_TCP = 3 };

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t kind;
    uint64_t comm_id;
    int32_t from;
    int32_t to; /* -1 for the root */
    int32_t nranks;
    uint32_t pad;
    uint8_t nonce[16];
    tutti_sockaddr_t addr; /* sender's listening address */
    uint8_t reserved[8];
    uint8_t mac[16];
} tutti_hello_t;

_Static_assert(sizeof(tutti_hello_t) == 96, "hello layout");

enum {
    TUTTI_FRAME_DATA = 1,       /* bootstrap allgather round */
    TUTTI_FRAME_ROOT_TABLE = 2, /* root -> rank: peers' addresses */
    TUTTI_FRAME_ROOT_ERROR = 3, /* root -> rank: text of the error */
};

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t tag;
    uint32_t len;
} tutti_frame_t;

_Static_assert(sizeof(tutti_frame_t) == 16, "frame header layout");

/* Largest bootstrap payload accepted from the network. */
#define TUTTI_FRAME_MAX_LEN (256u << 20)

/* Root table payload: header, then `count` entries. */
typedef struct {
    int32_t nranks;
    int32_t count;
    uint8_t mac[16]; /* MAC(secret, client nonce || entries) */
} tutti_root_table_t;

typedef struct {
    int32_t rank;
    uint32_t pad;
    tutti_sockaddr_t addr;
} tutti_root_entry_t;

/* Largest communicator a hello may announce (keeps a forged size from
 * making the root allocate absurd tables). */
#define TUTTI_MAX_RANKS (1 << 24)

void tutti_hello_sign(tutti_hello_t *h, const uint8_t secret[16]);
/* A signed hello of `kind` with a fresh random nonce (bootstrap.c: it needs
 * the kernel's randomness, which the fuzzed validators do not).  0, or -1
 * with errno when getrandom failed. */
int tutti_hello_make(tutti_hello_t *h, int kind, uint64_t comm_id, int from, int to, int nranks, uint32_t pad,
                     const tutti_sockaddr_t *addr, const uint8_t key[16]);
int tutti_hello_verify(const tutti_hello_t *h, const uint8_t secret[16]);

/* The validators (bootstrap_wire.c): pure functions, fuzzed in tests/fuzz.
 * Each returns NULL when the input is acceptable, else a reason. */

/* A hello received by a server of `kind` (the root: to == -1, nranks == -1
 * until known; a rank: its rank and the size). */
const char *tutti_hello_check(const tutti_hello_t *h, int kind, uint64_t comm_id, const uint8_t secret[16], int to,
                              int nranks);
/* A frame header: known magic and version, type in the allowed mask (bit
 * per TUTTI_FRAME_*), length at most max_len. */
const char *tutti_frame_check(const tutti_frame_t *f, uint32_t allowed_types, uint32_t max_len);
/* The root's table for rank `self`: its MAC over (nonce, table), sizes,
 * ranks and addresses; on success the addresses go to addrs[rank]. */
const char *tutti_root_table_parse(const uint8_t *payload, size_t len, const uint8_t nonce[16],
                                   const uint8_t secret[16], int nranks, int self, tutti_sockaddr_t *addrs);

#endif
