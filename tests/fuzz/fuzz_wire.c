/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for every parser of bytes that reach tutti from outside:
 * bootstrap and TCP transport hellos, frame headers, the root's address table, unique ids
 * (all from the network), and the grammars of TUTTI_ALGO, TUTTI_TUNE_FILE,
 * sizes and durations (from the environment).  The first byte picks the parser.
 * Hellos and tables are also tried after the harness signs them with the
 * harness's secret, so the fuzzer reaches the checks behind the MAC.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (see Makefile.am)
 *   tests/fuzz/fuzz_wire -max_total_time=60 tests/fuzz/corpus
 */
#include "coll.h"
#include "core/bootstrap.h"
#include "util/param.h"
#include "util/siphash.h"
#include "tcp/tcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t nonce[16] = {0xaa};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    switch (sel % 8) {
    case 0:
    case 1: { /* a hello, raw or signed by us */
        tutti_hello_t h;
        memset(&h, 0, sizeof(h));
        memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
        if (sel % 8 == 1) tutti_hello_sign(&h, secret);
        (void)tutti_hello_check(&h, TUTTI_HELLO_ROOT, h.comm_id, secret, -1, -1);
        (void)tutti_hello_check(&h, TUTTI_HELLO_PEER, h.comm_id, secret, h.to, h.nranks);
        (void)tutti_hello_check(&h, TUTTI_HELLO_PEER, 42, secret, 0, 8);
        { /* the TCP transport's accept check, with the hello's own claims */
            static const uint8_t use[8] = {1, 1, 1, 0, 1, 1, 1, 1};
            int c, i;
            (void)tutti_tcp_hello_accept(&h, secret, h.comm_id, 7, 8, use, 2, 2, &c, &i);
        }
        break;
    }
    case 2: { /* a frame header */
        tutti_frame_t f;
        memset(&f, 0, sizeof(f));
        memcpy(&f, data, size < sizeof(f) ? size : sizeof(f));
        (void)tutti_frame_check(&f, 0xffffffffu, TUTTI_FRAME_MAX_LEN);
        (void)tutti_frame_check(&f, 1u << TUTTI_FRAME_DATA, 64);
        break;
    }
    case 3:
    case 4: { /* the root's table, raw or with a valid MAC */
        if (size < 1) return 0;
        int nranks = 1 + data[0] % 64;
        uint8_t *p = malloc(size);
        memcpy(p, data + 1, size - 1);
        size_t len = size - 1;
        if (sel % 8 == 4 && len >= sizeof(tutti_root_table_t) && len <= 16 * 1024) {
            uint8_t *buf = malloc(16 + len);
            memcpy(buf, nonce, 16);
            memcpy(buf + 16, p, len);
            memset(buf + 16 + offsetof(tutti_root_table_t, mac), 0, 16);
            uint8_t mac[16];
            tutti_siphash_mac(secret, buf, 16 + len, mac);
            memcpy(p + offsetof(tutti_root_table_t, mac), mac, 16);
            free(buf);
        }
        tutti_sockaddr_t *addrs = calloc((size_t)nranks, sizeof(*addrs));
        (void)tutti_root_table_parse(p, len, nonce, secret, nranks, 0, addrs);
        free(addrs);
        free(p);
        break;
    }
    case 5: { /* a unique id */
        tutti_unique_id_t id;
        tutti_id_info_t info;
        memset(&id, 0, sizeof(id));
        memcpy(id.internal, data, size < sizeof(id) ? size : sizeof(id));
        (void)tutti_id_decode(&id, &info);
        break;
    }
    default: { /* text: TUTTI_ALGO, sizes, durations */
        char *t = malloc(size + 1);
        memcpy(t, data, size);
        t[size] = '\0';
        tutti_algo_config_t cfg;
        char err[512];
        if (tutti_algo_config_parse(&cfg, t, 32768, err, sizeof(err)) == 0) {
            for (int c = 0; c < TUTTI_NUM_COLLS; c++) (void)tutti_algo_select(&cfg, (tutti_coll_t)c, size, 4, 1);
        }
        /* the same bytes as a TUTTI_TUNE_FILE (not NUL-terminated: the
         * parser must respect the length) */
        tutti_algo_config_parse(&cfg, "", 32768, err, sizeof(err));
        if (tutti_rules_parse(&cfg, (const char *)data, size, err, sizeof(err)) == 0) {
            char table[2048];
            (void)tutti_algo_table(&cfg, 8, 2, table, sizeof(table));
        }
        uint64_t u;
        double d;
        (void)tutti_param_parse_size(t, &u);
        (void)tutti_param_parse_seconds(t, &d);
        free(t);
        break;
    }
    }
    return 0;
}
