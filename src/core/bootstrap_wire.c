/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Validation of everything the bootstrap reads from the network, as pure
 * functions (no sockets, no state), so tests/fuzz can feed them anything.
 */
#include "core/bootstrap_wire.h"

#include "core/bootstrap.h"
#include "util/siphash.h"

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

void tutti_hello_sign(tutti_hello_t *h, const uint8_t secret[16])
{
    tutti_siphash_mac(secret, h, offsetof(tutti_hello_t, mac), h->mac);
}

int tutti_hello_verify(const tutti_hello_t *h, const uint8_t secret[16])
{
    uint8_t mac[16];
    tutti_siphash_mac(secret, h, offsetof(tutti_hello_t, mac), mac);
    return tutti_mac_equal(mac, h->mac, 16);
}

static int tutti_sockaddr_plausible(const tutti_sockaddr_t *a)
{
    return (a->family == AF_INET || a->family == AF_INET6) && a->port != 0;
}

const char *tutti_hello_check(const tutti_hello_t *h, int kind, uint64_t comm_id, const uint8_t secret[16], int to,
                              int nranks)
{
    if (h->magic != TUTTI_HELLO_MAGIC || h->version != TUTTI_WIRE_VERSION || h->kind != kind)
        return "not a tutti hello (bad magic, version or kind)";
    if (h->comm_id != comm_id || !tutti_hello_verify(h, secret))
        return "failed authentication (wrong communicator or secret)";
    if (h->nranks < 1 || h->nranks > TUTTI_MAX_RANKS || h->from < 0 || h->from >= h->nranks)
        return "rank or communicator size out of range";
    if (nranks >= 0 && h->nranks != nranks) return "addressed to a communicator of another size";
    if (h->to != to) return "addressed to another rank";
    if (!tutti_sockaddr_plausible(&h->addr)) return "no usable listening address";
    return NULL;
}

const char *tutti_frame_check(const tutti_frame_t *f, uint32_t allowed_types, uint32_t max_len)
{
    if (f->magic != TUTTI_FRAME_MAGIC || f->version != TUTTI_WIRE_VERSION) return "not a tutti frame";
    if (f->type >= 32 || !(allowed_types & (1u << f->type))) return "unexpected frame type";
    if (f->len > max_len) return "frame longer than allowed";
    return NULL;
}

const char *tutti_root_table_parse(const uint8_t *payload, size_t len, const uint8_t nonce[16],
                                   const uint8_t secret[16], int nranks, int self, tutti_sockaddr_t *addrs)
{
    tutti_root_table_t t;
    if (len < sizeof(t)) return "short table";
    memcpy(&t, payload, sizeof(t));
    if (t.nranks != nranks || t.count < 0 || t.count > 64 ||
        (size_t)t.count * sizeof(tutti_root_entry_t) + sizeof(t) != len)
        return "inconsistent table";
    /* MAC over (nonce || table with the MAC field zeroed) */
    uint8_t buf[16 + sizeof(t) + 64 * sizeof(tutti_root_entry_t)];
    memcpy(buf, nonce, 16);
    memcpy(buf + 16, payload, len);
    memset(buf + 16 + offsetof(tutti_root_table_t, mac), 0, 16);
    uint8_t mac[16];
    tutti_siphash_mac(secret, buf, 16 + len, mac);
    if (!tutti_mac_equal(mac, t.mac, 16)) return "failed authentication (not our communicator)";
    for (int i = 0; i < t.count; i++) {
        tutti_root_entry_t e;
        memcpy(&e, payload + sizeof(t) + (size_t)i * sizeof(e), sizeof(e));
        if (e.rank < 0 || e.rank >= nranks) return "bad rank in the table";
        if (!tutti_sockaddr_plausible(&e.addr)) return "bad address in the table";
    }
    for (int i = 0; i < t.count; i++) {
        tutti_root_entry_t e;
        memcpy(&e, payload + sizeof(t) + (size_t)i * sizeof(e), sizeof(e));
        if (e.rank != self) addrs[e.rank] = e.addr;
    }
    return NULL;
}

/* ---- unique ids ---------------------------------------------------------- */

static const uint8_t tutti_id_check_key[16] = {'t', 'u', 't', 't', 'i', '-', 'i', 'd',
                                               '-', 'c', 'h', 'e', 'c', 'k', '-', '1'};

tutti_result_t tutti_id_encode(const tutti_id_info_t *info, tutti_unique_id_t *id)
{
    tutti_id_wire_t w;
    memset(&w, 0, sizeof(w));
    w.magic = TUTTI_ID_MAGIC;
    w.version = TUTTI_WIRE_VERSION;
    w.comm_id = info->comm_id;
    memcpy(w.secret, info->secret, 16);
    w.root = info->root;
    uint64_t c = tutti_siphash(tutti_id_check_key, &w, offsetof(tutti_id_wire_t, check));
    memcpy(w.check, &c, 8);
    memcpy(id->internal, &w, sizeof(w));
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_id_decode(const tutti_unique_id_t *id, tutti_id_info_t *info)
{
    tutti_id_wire_t w;
    memcpy(&w, id->internal, sizeof(w));
    uint64_t c = tutti_siphash(tutti_id_check_key, &w, offsetof(tutti_id_wire_t, check));
    if (w.magic != TUTTI_ID_MAGIC || w.version != TUTTI_WIRE_VERSION || memcmp(w.check, &c, 8) != 0)
        return TUTTI_ERR_INVALID_ARGUMENT;
    if (w.root.family != AF_INET && w.root.family != AF_INET6) return TUTTI_ERR_INVALID_ARGUMENT;
    info->comm_id = w.comm_id;
    memcpy(info->secret, w.secret, 16);
    info->root = w.root;
    return TUTTI_SUCCESS;
}

