/* SPDX-License-Identifier: BSD-3-Clause */
/* SipHash vectors, unique-id encoding, result strings, address parsing. */
#include "core/bootstrap.h"
#include "core/fingerprint.h"
#include "tap.h"
#include "tutti.h"
#include "util/siphash.h"
#include "util/socket.h"

#include <arpa/inet.h>
#include <string.h>

static void test_siphash(void)
{
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
    /* reference values from the SipHash paper's test vectors (2-4, 64-bit) */
    tap_ok(tutti_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL, "SipHash-2-4 of the empty message");
    tap_ok(tutti_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL, "SipHash-2-4 of 15 bytes (paper's example)");
    tap_ok(tutti_siphash(key, msg, 8) == 0x93f5f5799a932462ULL, "SipHash-2-4 of 8 bytes");
    uint8_t m1[16], m2[16];
    tutti_siphash_mac(key, msg, 10, m1);
    tutti_siphash_mac(key, msg, 10, m2);
    tap_ok(tutti_mac_equal(m1, m2, 16) && memcmp(m1, m1 + 8, 8) != 0, "MAC is deterministic, halves differ");
    msg[3] ^= 1;
    tutti_siphash_mac(key, msg, 10, m2);
    tap_ok(!tutti_mac_equal(m1, m2, 16), "MAC changes with the message");
}

static void test_id(void)
{
    tutti_id_info_t a, b;
    tutti_unique_id_t id;
    memset(&a, 0, sizeof(a));
    a.comm_id = 0x1234567890abcdefULL;
    for (int i = 0; i < 16; i++) a.secret[i] = (uint8_t)(i * 7);
    tutti_sockaddr_parse("127.0.0.1:4242", &a.root, (char[64]){0}, 64);
    tutti_id_encode(&a, &id);
    tap_ok(tutti_id_decode(&id, &b) == TUTTI_SUCCESS && b.comm_id == a.comm_id && memcmp(b.secret, a.secret, 16) == 0 &&
               b.root.port == a.root.port,
           "unique id round trip");
    int caught = 1;
    for (int k = 0; k < 128; k++) {
        tutti_unique_id_t bad = id;
        bad.internal[k] ^= 0x10;
        if (tutti_id_decode(&bad, &b) == TUTTI_SUCCESS) caught = 0;
    }
    tap_ok(caught, "any single corrupted byte of the id is detected");
    tutti_unique_id_t zero;
    memset(&zero, 0, sizeof(zero));
    tap_ok(tutti_id_decode(&zero, &b) == TUTTI_ERR_INVALID_ARGUMENT, "an all-zero id is rejected");
}

static void test_results(void)
{
    const tutti_result_t all[] = {TUTTI_SUCCESS, TUTTI_INPROGRESS, TUTTI_ERR_INVALID_ARGUMENT, TUTTI_ERR_INVALID_USAGE,
                                  TUTTI_ERR_SYSTEM, TUTTI_ERR_INTERNAL, TUTTI_ERR_REMOTE, TUTTI_ERR_TIMEOUT,
                                  TUTTI_ERR_ABORTED, TUTTI_ERR_UNSUPPORTED, TUTTI_ERR_NO_MEMORY, TUTTI_ERR_MISMATCH};
    int ok = 1;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (!tutti_strerror(all[i]) || !tutti_result_name(all[i]) || strncmp(tutti_result_name(all[i]), "TUTTI_", 6)) ok = 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(tutti_strerror(all[i]), tutti_strerror(all[j]))) ok = 0;
        if (i >= 2 && all[i] >= 0) ok = 0;
    }
    tap_ok(ok, "every result has a distinct description and a TUTTI_ name; errors are negative");
    tap_ok(strcmp(tutti_result_name((tutti_result_t)-999), "TUTTI_UNKNOWN") == 0 && tutti_strerror((tutti_result_t)-999),
           "unknown result codes are named, not NULL");
    tap_ok(tutti_datatype_size(TUTTI_FLOAT16) == 2 && tutti_datatype_size((tutti_datatype_t)99) == 0 &&
               !strcmp(tutti_datatype_name(TUTTI_BFLOAT16), "bfloat16") && !strcmp(tutti_op_name(TUTTI_AVG), "avg") &&
               !strcmp(tutti_op_name((tutti_op_t)-1), "invalid"),
           "datatype and op introspection");
    tap_ok(tutti_version() == TUTTI_VERSION_CODE && strcmp(tutti_version_string(), "0.1.0") == 0, "version");
}

static void test_addr(void)
{
    tutti_sockaddr_t a;
    char err[256], buf[80];
    tap_ok(tutti_sockaddr_parse("127.0.0.1:1234", &a, err, sizeof(err)) == 0 && a.family == AF_INET &&
               ntohs(a.port) == 1234 && !strcmp(tutti_sockaddr_str(&a, buf, sizeof(buf)), "127.0.0.1:1234"),
           "parse IPv4 host:port");
    tap_ok(tutti_sockaddr_parse("[::1]:80", &a, err, sizeof(err)) == 0 && a.family == AF_INET6 &&
               !strcmp(tutti_sockaddr_str(&a, buf, sizeof(buf)), "[::1]:80"),
           "parse [IPv6]:port");
    tap_ok(tutti_sockaddr_parse("localhost:5", &a, err, sizeof(err)) == 0, "parse a host name");
    const char *bad[] = {"x", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:70000", ":80", "[::1:80", "no.such.host.invalid:80"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        tap_ok(tutti_sockaddr_parse(bad[k], &a, err, sizeof(err)) != 0 && err[0], "address '%s' rejected: %s", bad[k], err);
}

/* Every collective and algorithm survives the trip through a fingerprint:
 * the description names both, and two algorithms never share one. */
static void test_fingerprint(void)
{
    int named = 0, pairs = 0, distinct = 0;
    char want[128], got[256];
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        for (int a = 0; a < TUTTI_NUM_ALGOS; a++) {
            uint32_t fa = tutti_fingerprint((tutti_coll_t)c, TUTTI_FLOAT32, TUTTI_SUM, (tutti_algo_t)a, 7, 100, 0, 0);
            tutti_fingerprint_describe(fa, fa, got, sizeof(got));
            snprintf(want, sizeof(want), "tutti_%s (", tutti_coll_name((tutti_coll_t)c));
            char alg[64];
            snprintf(alg, sizeof(alg), "algorithm %s;", tutti_algo_name((tutti_algo_t)a));
            if (strstr(got, want) == got && strstr(got, alg)) named++;
            else tap_diag("%s/%s described as: %s", tutti_coll_name((tutti_coll_t)c), tutti_algo_name((tutti_algo_t)a), got);
            for (int b = a + 1; b < TUTTI_NUM_ALGOS; b++) {
                pairs++;
                if (tutti_fingerprint((tutti_coll_t)c, TUTTI_FLOAT32, TUTTI_SUM, (tutti_algo_t)b, 7, 100, 0, 0) != fa) distinct++;
            }
        }
    }
    tap_ok(named == TUTTI_NUM_COLLS * TUTTI_NUM_ALGOS, "fingerprints name their collective and algorithm (%d of %d)", named,
           TUTTI_NUM_COLLS * TUTTI_NUM_ALGOS);
    tap_ok(distinct == pairs, "two algorithms never share a fingerprint (%d of %d pairs differ)", distinct, pairs);
}

int main(void)
{
    test_fingerprint();
    test_siphash();
    test_id();
    test_results();
    test_addr();
    return tap_done();
}
