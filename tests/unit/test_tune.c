/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost model (src/tune/model.c) and the decisions it drives
 * (collectives/select.c): constants per transport and oversubscription,
 * formulas that grow with size and rank count, the tables of job shapes
 * (latency algorithms for small calls, ring for large ones, trees on many
 * nodes, hierarchical on nodes with several ranks), overrides that still
 * win, explanations with every candidate's time, calibration, and the
 * same table on every rank.
 */
#include "coll.h"
#include "tap.h"
#include "tune/model.h"

#include <string.h>

static void config(tutti_algo_config_t *cfg, const char *algo, const char *net, int ppn, int sockets, double oversub)
{
    char err[256];
    tutti_algo_config_parse(cfg, algo, 32768, err, sizeof(err));
    tutti_model_defaults(&cfg->model, net, ppn, sockets, oversub, 65536);
}

static void test_constants(void)
{
    tutti_model_t a, b, c;
    tutti_model_defaults(&a, "tcp", 1, 1, 1, 0);
    tutti_model_defaults(&b, "verbs", 1, 1, 1, 0);
    tutti_model_defaults(&c, "tcp", 4, 1, 2.0, 0);
    tap_ok(a.on && a.hop[TUTTI_HOP_NODES].alpha > b.hop[TUTTI_HOP_NODES].alpha &&
               a.hop[TUTTI_HOP_NODES].beta > b.hop[TUTTI_HOP_NODES].beta,
           "verbs between nodes is modelled faster than tcp (latency and bandwidth)");
    tap_ok(a.hop[TUTTI_HOP_SOCKET].alpha < a.hop[TUTTI_HOP_SOCKETS].alpha &&
               a.hop[TUTTI_HOP_SOCKETS].alpha < a.hop[TUTTI_HOP_NODES].alpha,
           "hops cost more as they leave the socket, then the node");
    tap_ok(c.hop[TUTTI_HOP_SOCKET].alpha > 1.99 * a.hop[TUTTI_HOP_SOCKET].alpha &&
               c.hop[TUTTI_HOP_SOCKET].beta == a.hop[TUTTI_HOP_SOCKET].beta,
           "2 ranks per CPU double the latencies, not the bandwidths");
    tap_ok(a.chunk == 65536 && strstr(a.source, "tcp") != NULL, "chunk default and source named");
    tap_ok(tutti_model_flat_hop(&a, 1) == TUTTI_HOP_SOCKET && tutti_model_flat_hop(&a, 3) == TUTTI_HOP_NODES,
           "flat algorithms are timed on the slowest hop");
    tutti_model_calibrate(&a, 3, 40e-6, 1.0 / 0.5e9, "probed");
    tap_ok(a.hop[TUTTI_HOP_NODES].alpha == 40e-6 && a.hop[TUTTI_HOP_SOCKET].alpha == 0.5e-6 &&
               strcmp(a.source, "probed") == 0,
           "calibration replaces the slowest hop's constants only");
}

static void test_formulas(void)
{
    tutti_model_t m;
    tutti_model_defaults(&m, "tcp", 8, 1, 1, 65536);
    m.win = 1; /* one node with windows, as a communicator of one node has */
    m.win_bytes = 1 << 20;
    m.win_oneshot = 16384;
    int ok = 1;
    for (int c = 0; c < TUTTI_NUM_COLLS; c++)
        for (int a = 0; a < TUTTI_NUM_ALGOS; a++) {
            if (!tutti_coll_builder((tutti_coll_t)c, (tutti_algo_t)a)) continue;
            double prev = -1;
            for (size_t b = 1; b <= ((size_t)1 << 30); b *= 4) {
                double t = tutti_model_time(&m, c, a, b, 16, a == TUTTI_ALGO_HIER ? 2 : 1);
                /* the window all-reduce has two forms: its time may drop
                 * once where the two-shot form takes over from the one-shot */
                int form_change = a == TUTTI_ALGO_WINDOW && c == TUTTI_COLL_ALLREDUCE && (double)b * 15 >= 16384 &&
                                  (double)b / 4 * 15 < 16384;
                if (t < 0 || (t < prev && !form_change)) ok = 0;
                prev = t;
            }
        }
    tap_ok(ok, "every algorithm has a time, and it never falls as calls grow");
    m.win = 0;
    tap_ok(tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_WINDOW, 1 << 20, 4, 1) < 0,
           "the window algorithm has no time where the communicator has no windows");
    tap_ok(tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_RING, 1 << 20, 16, 1) >
               tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_RING, 1 << 20, 4, 1),
           "a ring of 16 ranks takes longer than one of 4");
    tap_ok(tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_HIER, 8, 8, 1) < 0 &&
               tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_HIER, 8, 8, 8) < 0 &&
               tutti_model_time(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_HIER, 8, 8, 2) > 0,
           "hierarchical applies only to several nodes with several ranks on some");
    tap_ok(tutti_model_time(&m, TUTTI_COLL_BARRIER, TUTTI_ALGO_RING, 8, 8, 1) < 0,
           "an algorithm a collective does not have has no time");
}

static void table(tutti_algo_config_t *cfg, int p, int nodes, char *buf, size_t len)
{
    tutti_algo_table(cfg, p, nodes, buf, len);
}

static void test_tables(void)
{
    tutti_algo_config_t cfg;
    char t[2048], why[512];
    config(&cfg, "", "tcp", 4, 1, 1);
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 64 << 20, 4, 1) == TUTTI_ALGO_RING,
           "one node, 4 ranks: recursive doubling for 8 B, ring for 64 MiB");
    config(&cfg, "", "verbs", 1, 1, 1);
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_BROADCAST, 8, 64, 64) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&cfg, TUTTI_COLL_BROADCAST, 256 << 20, 64, 64) == TUTTI_ALGO_RING,
           "64 nodes: tree broadcast for small calls, ring (pipelined chain) for large");
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 64 << 10, 64, 64) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 64 << 10, 4, 4) != TUTTI_ALGO_TREE,
           "64 KiB all-reduce: tree on 64 nodes, not on 4");
    config(&cfg, "", "tcp", 8, 2, 1);
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 8, 32, 4) == TUTTI_ALGO_HIER &&
               tutti_algo_select(&cfg, TUTTI_COLL_BROADCAST, 8, 32, 4) == TUTTI_ALGO_HIER,
           "4 nodes x 8 ranks: hierarchical all-reduce and broadcast for small calls");
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 1u << 30, 32, 4) == TUTTI_ALGO_RING,
           "4 nodes x 8 ranks: ring for 1 GiB (the node's own reduce and broadcast cost more than they save)");
    tutti_algo_explain(&cfg, TUTTI_COLL_ALLREDUCE, 8, 32, 4, why, sizeof(why));
    tap_ok(strstr(why, "model (defaults for shm and tcp)") && strstr(why, "ring ") && strstr(why, "tree ") &&
               strstr(why, "rd ") && strstr(why, "*hier "),
           "the explanation lists every candidate's model time and marks the winner: %s", why);
    /* overrides still win */
    config(&cfg, "allreduce:ring,tree", "tcp", 4, 1, 1);
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 8, 4, 1) != TUTTI_ALGO_RD,
           "TUTTI_ALGO narrows the model's candidates");
    tutti_algo_explain(&cfg, TUTTI_COLL_ALLREDUCE, 8, 4, 1, why, sizeof(why));
    tap_ok(strstr(why, "among those TUTTI_ALGO allows") && !strstr(why, "rd "), "and says so: %s", why);
    config(&cfg, "allreduce:tree@0-1M,ring@1M-max", "tcp", 4, 1, 1);
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_TREE, "TUTTI_ALGO ranges beat the model");
    /* the same table on every rank: built independently from the shared job view */
    int same = 1;
    char first[2048];
    config(&cfg, "", "ucx", 8, 2, 1.5);
    table(&cfg, 64, 8, first, sizeof(first));
    for (int r = 1; r < 8; r++) {
        tutti_algo_config_t other;
        config(&other, "", "ucx", 8, 2, 1.5);
        table(&other, 64, 8, t, sizeof(t));
        same &= strcmp(t, first) == 0;
    }
    tap_ok(same, "8 ranks building the table from the same job view get the same table");
    config(&cfg, "", "tcp", 1, 1, 1);
    table(&cfg, 2, 1, t, sizeof(t));
    tutti_algo_config_t slow;
    config(&slow, "", "tcp", 1, 1, 1);
    tutti_model_calibrate(&slow.model, 1, 50e-6, 1.0 / 5e9, "probed");
    table(&slow, 2, 1, first, sizeof(first));
    tap_ok(strcmp(t, first) != 0 && tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 64 << 10, 2, 1) == TUTTI_ALGO_RING &&
               tutti_algo_select(&slow, TUTTI_COLL_ALLREDUCE, 64 << 10, 2, 1) == TUTTI_ALGO_RD,
           "a calibrated latency (50 us) moves the 2-rank all-reduce crossover above 64 KiB");
    config(&cfg, "", "tcp", 4, 1, 1);
    cfg.model.on = 0;
    tap_ok(tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 32768, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&cfg, TUTTI_COLL_ALLREDUCE, 32769, 4, 1) == TUTTI_ALGO_RING,
           "model off (TUTTI_SMALL_MSG_SIZE set): the threshold decides");
}

/* The pipelining slice: chosen per size class by the model, shown in the
 * table, overridden by TUTTI_CHUNK_SIZE and by a rule's "chunk". */
static void test_chunks(void)
{
    tutti_algo_config_t cfg;
    char t[2048], why[512], err[256];
    size_t c1 = 1, c2 = 1, c3 = 1;
    tutti_model_t m;
    tutti_model_defaults(&m, "tcp", 1, 1, 1, 262144);
    /* a chain over 8 nodes: slices grow with the message (about sqrt(n)) */
    size_t small = tutti_model_best_chunk(&m, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 512 << 10, 8, 8, NULL);
    size_t big = tutti_model_best_chunk(&m, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 256 << 20, 8, 8, NULL);
    tap_ok(small >= TUTTI_MODEL_MIN_CHUNK && small < big && big == 262144 && (small & (small - 1)) == 0,
           "chain broadcast on 8 nodes: %zu B slices for 512 KiB, the whole slot (%zu B) for 256 MiB", small, big);
    double tsmall, tslot = tutti_model_time_chunk(&m, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 512 << 10, 8, 8, 262144);
    (void)tutti_model_best_chunk(&m, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 512 << 10, 8, 8, &tsmall);
    tap_ok(tsmall < 0.8 * tslot, "and the model expects them to pay: %.0f us instead of %.0f us", tsmall * 1e6,
           tslot * 1e6);
    tutti_model_t shared;
    tutti_model_defaults(&shared, "tcp", 1, 1, 2.0, 262144);
    tap_ok(tutti_model_best_chunk(&shared, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 512 << 10, 8, 1, NULL) == 262144 &&
               tutti_model_best_chunk(&shared, TUTTI_COLL_BROADCAST, TUTTI_ALGO_RING, 512 << 10, 8, 8, NULL) < 262144,
           "ranks sharing CPUs (2 per CPU): whole slots on one node (the stages cannot overlap), slices between nodes");
    tap_ok(!tutti_model_pipelined(TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_RING) &&
               tutti_model_best_chunk(&m, TUTTI_COLL_ALLREDUCE, TUTTI_ALGO_RING, 1 << 20, 8, 8, NULL) == 262144,
           "an algorithm that does not pipeline keeps the slot");
    config(&cfg, "", "tcp", 1, 1, 1);
    cfg.model.chunk = 262144;
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 512 << 10, 8, 8, &c1, why, sizeof(why));
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, (512 << 10) + 4000, 8, 8, &c2, NULL, 0);
    tutti_algo_decide(&cfg, TUTTI_COLL_ALLREDUCE, 64 << 20, 8, 8, &c3, NULL, 0);
    tap_ok(c1 == small && c2 == c1 && c3 == 0 && strstr(why, "slices of"),
           "decide: one slice per size class, none for the ring all-reduce; %s", why);
    table(&cfg, 8, 8, t, sizeof(t));
    tap_ok(strstr(t, "ring/") != NULL && strstr(t, "ring/256K") != NULL, "the table shows the slices: %s", t);
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 100, 8, 8, &c1, NULL, 0);
    tap_ok(c1 == 0, "a call of one slice gets none");
    /* overrides */
    tap_ok(tutti_algo_config_load(&cfg, "", 32768, 16384, "", err, sizeof(err)) == 0, "TUTTI_CHUNK_SIZE=16K loads");
    tutti_model_defaults(&cfg.model, "tcp", 1, 1, 1, 262144);
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 64 << 20, 8, 8, &c1, why, sizeof(why));
    tap_ok(c1 == 16384 && strstr(why, "TUTTI_CHUNK_SIZE"), "TUTTI_CHUNK_SIZE fixes the slice and says so: %s", why);
    tap_ok(tutti_algo_config_load(&cfg, "", 32768, 12288, "", err, sizeof(err)) != 0 && strstr(err, "TUTTI_CHUNK_SIZE=12288"),
           "a slice that is not a power of two fails: %s", err);
    tap_ok(tutti_algo_config_load(&cfg, "", 32768, 1024, "", err, sizeof(err)) != 0, "so does one under 4K");
    const char *rules = "{\"version\": 1, \"rules\": [{\"collective\": \"broadcast\", \"algorithm\": \"ring\", "
                        "\"min_bytes\": \"1M\", \"chunk\": \"32K\"}]}";
    tutti_algo_config_parse(&cfg, "", 32768, err, sizeof(err));
    tutti_model_defaults(&cfg.model, "tcp", 1, 1, 1, 262144);
    tap_ok(tutti_rules_parse(&cfg, rules, strlen(rules), err, sizeof(err)) == 0 && cfg.rules[0].chunk == 32768,
           "a rule may carry \"chunk\"");
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 64 << 20, 8, 8, &c1, why, sizeof(why));
    tap_ok(c1 == 32768 && strstr(why, "given with the algorithm"), "and the rule's slice wins: %s", why);
    tap_ok(tutti_algo_config_parse(&cfg, "broadcast:tree@0-64K,ring/8K@64K-max", 32768, err, sizeof(err)) == 0,
           "TUTTI_ALGO takes a slice with a range's algorithm");
    tutti_model_defaults(&cfg.model, "tcp", 1, 1, 1, 262144);
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 64 << 20, 8, 8, &c1, why, sizeof(why));
    tutti_algo_decide(&cfg, TUTTI_COLL_BROADCAST, 8 << 10, 8, 8, &c2, NULL, 0);
    tap_ok(c1 == 8192 && c2 == 0, "and uses it for that range only: %s", why);
    tutti_algo_table(&cfg, 8, 8, t, sizeof(t));
    tap_ok(strstr(t, "broadcast: 0-64K tree, 64K-max ring/8K") != NULL, "the table shows it");
    tap_ok(tutti_algo_config_parse(&cfg, "broadcast:ring/6K@0-max", 32768, err, sizeof(err)) != 0 &&
               strstr(err, "bad slice '6K'"),
           "a bad slice names the token: %s", err);
    /* the per-communicator memo gives what tutti_algo_decide gives, also in
     * classes a range cuts in two (2500 B and 3500 B share one class) */
    tutti_algo_config_parse(&cfg, "allreduce:tree@0-3000,ring@3000-max", 32768, err, sizeof(err));
    tutti_model_defaults(&cfg.model, "tcp", 1, 1, 1, 262144);
    int memo_ok = 1;
    for (int pass = 0; pass < 2; pass++)
        for (size_t b = 0; b < (64u << 20); b = b ? b * 3 / 2 + 500 : 1)
            for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
                size_t k1 = 7, k2 = 9;
                tutti_algo_t a1 = tutti_algo_decide_memo(&cfg, (tutti_coll_t)c, b, 8, 8, &k1);
                tutti_algo_t a2 = tutti_algo_decide(&cfg, (tutti_coll_t)c, b, 8, 8, &k2, NULL, 0);
                memo_ok &= a1 == a2 && k1 == k2;
            }
    tap_ok(memo_ok && tutti_algo_decide_memo(&cfg, TUTTI_COLL_ALLREDUCE, 2500, 8, 8, &c1) == TUTTI_ALGO_TREE &&
               tutti_algo_decide_memo(&cfg, TUTTI_COLL_ALLREDUCE, 3500, 8, 8, &c1) == TUTTI_ALGO_RING,
           "the per-communicator memo decides as tutti_algo_decide does, twice over, ranges cutting a class included");
    const char *bad = "{\"version\": 1, \"rules\": [{\"collective\": \"broadcast\", \"algorithm\": \"ring\", "
                      "\"chunk\": 5000}]}";
    tap_ok(tutti_rules_parse(&cfg, bad, strlen(bad), err, sizeof(err)) != 0 && strstr(err, "power of two"),
           "a rule's bad chunk is named: %s", err);
}

int main(void)
{
    test_constants();
    test_formulas();
    test_tables();
    test_chunks();
    return tap_done();
}
