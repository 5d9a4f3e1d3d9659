/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every algorithm's schedule, executed by the real engine over the
 * in-memory simulator for p = 1..64, checking every rank's final buffer bit
 * for bit.  Small slots (64 B .. 4 KiB) and only 2-3 slots per FIFO force
 * many slices and expose any schedule that relies on buffering.  Then the
 * large jobs of sched_scale.c: job shapes of 96 to 4096 ranks.
 */
#define TUTTI_TAP_SHARED 1 /* one TAP count with sched_scale.c */
#include "coll.h"
#include "core/fingerprint.h"
#include "patterns/patterns.h"
#include "dtype/dtype.h"
#include "refcheck.h"
#include "sched_scale.h"
#include "sim/simcase.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int tap_count, tap_failures;

static char errbuf[1024];
static sim_world_t *worlds[SIM_MAX_SLOTS][3]; /* by nslots, slot size: reused for one p */

/* Runs one case on the world of its FIFO shape; returns 1 on success, 0
 * with errbuf set. */
static int run_case(const sim_case_t *c)
{
    int si = c->slot == 64 ? 0 : c->slot == 256 ? 1 : 2;
    if (!worlds[c->nslots][si]) worlds[c->nslots][si] = sim_create(c->p, 2, c->nslots, c->slot, c->seed);
    return sim_case_run(worlds[c->nslots][si], c, errbuf, sizeof(errbuf));
}

/* Messages of a tree collective that cross nodes, in total and from the
 * busiest node, with ranks dealt round-robin over `nn` nodes; in rank order
 * or in the topology order tutti_coll_build uses. */
static void tree_crossings(tutti_coll_t coll, int p, int nn, int topo, int *total, int *busiest)
{
    int *node = malloc(sizeof(int) * (size_t)p), *order = malloc(sizeof(int) * (size_t)p),
        *pos = malloc(sizeof(int) * (size_t)p), *per = calloc((size_t)nn, sizeof(int));
    for (int r = 0; r < p; r++) node[r] = r % nn;
    tutti_pattern_topo_order(p, node, NULL, NULL, order);
    for (int i = 0; i < p; i++) pos[order[i]] = i;
    static float buf[4096];
    *total = 0;
    for (int r = 0; r < p; r++) {
        tutti_coll_args_t a = {.coll = coll, .sendbuf = buf, .recvbuf = buf, .count = 1024, .dtype = TUTTI_FLOAT32,
                               .op = TUTTI_SUM, .root = 0, .rank = r, .nranks = p, .esize = 4,
                               .node_of_rank = node, .nnodes = nn, .ring_order = topo ? order : NULL,
                               .ring_pos = topo ? pos : NULL};
        tutti_sched_t sc;
        tutti_sched_init(&sc, 4096, 4, 2);
        if (tutti_coll_build(&sc, &a, TUTTI_ALGO_TREE) == TUTTI_SUCCESS) {
            tutti_sched_finish(&sc);
            for (uint32_t i = 0; i < sc.nsteps; i++)
                for (int k = 0; k < sc.steps[i].nsend; k++)
                    if (node[sc.steps[i].send[k]] != node[r]) {
                        (*total)++;
                        per[node[r]]++;
                    }
        }
        tutti_sched_free(&sc);
    }
    *busiest = 0;
    for (int n = 0; n < nn; n++)
        if (per[n] > *busiest) *busiest = per[n];
    free(node);
    free(order);
    free(pos);
    free(per);
}

static void test_tree_order(void)
{
    static const tutti_coll_t colls[] = {TUTTI_COLL_ALLREDUCE, TUTTI_COLL_BROADCAST, TUTTI_COLL_REDUCE};
    for (size_t k = 0; k < sizeof(colls) / sizeof(colls[0]); k++) {
        int t0, b0, t1, b1;
        tree_crossings(colls[k], 32, 4, 0, &t0, &b0);
        tree_crossings(colls[k], 32, 4, 1, &t1, &b1);
        tap_ok(t1 * 2 <= t0 && b1 < b0 && b1 * 4 <= t1 + 4 * 3,
               "%s tree, 32 ranks dealt round-robin over 4 nodes: %d messages cross nodes in topology order "
               "(busiest node %d) against %d in rank order (busiest %d)",
               tutti_coll_name(colls[k]), t1, b1, t0, b0);
    }
}

/* ---- point-to-point groups ------------------------------------------------------ */

/* Bytes rank r sends to rank q in its m-th message to q, by pattern. */
static size_t p2p_len(int pattern, int r, int q, int m, uint32_t seed)
{
    uint32_t h = (uint32_t)(r * 131 + q * 7919 + m * 104729) ^ seed * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    switch (h % 5) {
    case 0: return 0;
    case 1: return 1 + h % 7;
    case 2: return 100 + h % 300;
    default: return 1000 + h % 9000 + (pattern == 2 ? 0 : 3);
    }
}

static unsigned char p2p_byte(int r, int q, int m, size_t i)
{
    return (unsigned char)(r * 37 + q * 11 + m * 5 + (int)(i * 13 % 251));
}

/* One group per rank: pattern 0 a ring (send right, receive from left),
 * 1 everyone with everyone and itself (sizes differ per pair: alltoallv),
 * 2 three messages to the right and three from the left, interleaved.
 * Each rank posts its operations in its own shuffled order (messages only
 * keep their order per pair).  1 on success. */
static int run_p2p(int p, int pattern, unsigned nslots, size_t slot, uint32_t seed, char *err, size_t errlen)
{
    enum { MAXM = 3 };
    int maxops = 2 * p * MAXM + 2;
    tutti_p2p_op_t **ops = calloc((size_t)p, sizeof(*ops));
    int *nops = calloc((size_t)p, sizeof(int));
    unsigned char ***sb = calloc((size_t)p, sizeof(*sb)), ***rb = calloc((size_t)p, sizeof(*rb));
    tutti_exec_t *xs = calloc((size_t)p, sizeof(tutti_exec_t));
    tutti_exec_t **xp = calloc((size_t)p, sizeof(*xp));
    int ok = 1;
    unsigned rs = seed;
    for (int r = 0; r < p; r++) {
        ops[r] = calloc((size_t)maxops, sizeof(tutti_p2p_op_t));
        sb[r] = calloc((size_t)p * MAXM, sizeof(unsigned char *));
        rb[r] = calloc((size_t)p * MAXM, sizeof(unsigned char *));
        for (int q = 0; q < p; q++) {
            int to = pattern == 1 || q == (r + 1) % p, from = pattern == 1 || q == (r + p - 1) % p;
            int nm = pattern == 2 ? MAXM : 1;
            for (int m = 0; m < nm; m++) {
                if (to) {
                    size_t n = p2p_len(pattern, r, q, m, seed);
                    unsigned char *b = malloc(n + 1);
                    for (size_t i = 0; i < n; i++) b[i] = p2p_byte(r, q, m, i);
                    sb[r][q * MAXM + m] = b;
                    ops[r][nops[r]++] = (tutti_p2p_op_t){q, 1, b, NULL, n};
                }
                if (from) {
                    size_t n = p2p_len(pattern, q, r, m, seed);
                    unsigned char *b = malloc(n + 16);
                    memset(b, 0xa5, n + 16);
                    rb[r][q * MAXM + m] = b;
                    ops[r][nops[r]++] = (tutti_p2p_op_t){q, 0, NULL, b, n};
                }
            }
        }
        /* shuffle, keeping each (peer, direction)'s own order */
        for (int k = nops[r] - 1; k > 0; k--) {
            rs = rs * 1103515245u + 12345u;
            int j = (int)((rs >> 16) % (unsigned)(k + 1));
            tutti_p2p_op_t a = ops[r][k], b = ops[r][j];
            if (a.peer == b.peer && a.send == b.send) continue;
            ops[r][k] = b;
            ops[r][j] = a;
        }
        /* the shuffle may have swapped two same-pair operations through a
         * third: restore their order by their buffers' message index */
        for (int k = 0; k < nops[r]; k++)
            for (int j = k + 1; j < nops[r]; j++) {
                tutti_p2p_op_t *a = &ops[r][k], *b = &ops[r][j];
                if (a->peer != b->peer || a->send != b->send) continue;
                unsigned char **tab = a->send ? sb[r] : rb[r];
                const void *ba = a->send ? a->sbuf : a->rbuf, *bb = b->send ? b->sbuf : b->rbuf;
                int ma = 0, mb = 0;
                for (int m = 0; m < MAXM; m++) {
                    if (tab[a->peer * MAXM + m] == ba) ma = m;
                    if (tab[b->peer * MAXM + m] == bb) mb = m;
                }
                if (ma > mb) {
                    tutti_p2p_op_t t = *a;
                    *a = *b;
                    *b = t;
                }
            }
        tutti_sched_init(&xs[r].sched, slot, 1, 2);
        if (tutti_coll_p2p_group(&xs[r].sched, r, p, ops[r], nops[r]) != TUTTI_SUCCESS) {
            snprintf(err, errlen, "rank %d: builder failed", r);
            ok = 0;
        }
        tutti_sched_finish(&xs[r].sched);
        tutti_exec_start(&xs[r], TUTTI_UINT8, TUTTI_SUM, p, tutti_fingerprint_p2p(0), 1);
        xp[r] = &xs[r];
    }
    sim_world_t *w = sim_create(p, 2, nslots, slot, seed);
    if (ok && sim_run(w, xp, err, errlen) != 0) ok = 0;
    sim_destroy(w);
    for (int r = 0; ok && r < p; r++)
        for (int q = 0; ok && q < p; q++)
            for (int m = 0; ok && m < MAXM; m++) {
                unsigned char *b = rb[r][q * MAXM + m];
                if (!b) continue;
                size_t n = p2p_len(pattern, q, r, m, seed);
                for (size_t i = 0; i < n + 16 && ok; i++) {
                    unsigned char want = i < n ? p2p_byte(q, r, m, i) : 0xa5;
                    if (b[i] != want) {
                        snprintf(err, errlen, "rank %d, message %d from rank %d (%zu bytes): byte %zu is %u, not %u", r,
                                 m, q, n, i, b[i], want);
                        ok = 0;
                    }
                }
            }
    for (int r = 0; r < p; r++) {
        for (int k = 0; k < p * MAXM; k++) {
            free(sb[r][k]);
            free(rb[r][k]);
        }
        free(sb[r]);
        free(rb[r]);
        free(ops[r]);
        tutti_sched_free(&xs[r].sched);
    }
    free(sb);
    free(rb);
    free(ops);
    free(nops);
    free(xs);
    free(xp);
    return ok;
}

/* ---- all-to-all with counts per peer ----------------------------------------- */

/* Elements rank a sends rank b (0 in about a fifth of the pairs; symmetric
 * in place, where a block goes out from where the peer's lands). */
static size_t v_len(int a, int b, int inplace, uint32_t seed)
{
    if (inplace && a > b) {
        int t = a;
        a = b;
        b = t;
    }
    uint32_t h = ((uint32_t)a * 2654435761u) ^ ((uint32_t)b * 40503u) ^ (seed * 97u);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return h % 5 == 0 ? 0 : h % 5 == 1 ? 1 + h % 3 : 50 + h % 700;
}

/* Rank r's blocks laid out in a seed-shuffled order with gaps of 1-3
 * elements; which: 0 send layout, 1 receive layout (in place both are the
 * receive layout).  disp[q] for every q; returns the buffer's length. */
static size_t v_layout(int r, int p, int which, int inplace, uint32_t seed, size_t *disp)
{
    if (inplace) which = 1;
    size_t at = 0;
    for (int k = 0; k < p; k++) {
        int q = (int)(((uint32_t)k * 7u + seed + (uint32_t)r * (uint32_t)which) % (uint32_t)p);
        /* k -> q is a bijection only when gcd(7, p) == 1: fall back to rank order */
        if (p % 7 == 0) q = k;
        disp[q] = at;
        at += (which ? v_len(q, r, inplace, seed) : v_len(r, q, inplace, seed)) + 1 + (size_t)((q + seed) % 3);
    }
    return at;
}

static int run_v(int p, int inplace, unsigned nslots, size_t slot, uint32_t seed, char *err, size_t errlen)
{
    tutti_datatype_t dt = (tutti_datatype_t)(seed % TUTTI_NUM_DATATYPES);
    size_t es = tutti_dtype_size(dt);
    size_t *lay = calloc((size_t)p * (size_t)p * 4, sizeof(size_t)); /* per rank: sc, sd, rc, rd */
    char **sbuf = calloc((size_t)p, sizeof(char *)), **rbuf = calloc((size_t)p, sizeof(char *)),
         **want = calloc((size_t)p, sizeof(char *));
    size_t *rlen = calloc((size_t)p, sizeof(size_t));
    tutti_exec_t *xs = calloc((size_t)p, sizeof(tutti_exec_t));
    tutti_exec_t **xp = calloc((size_t)p, sizeof(*xp));
    int ok = 1;
#define LAY(r, k) (lay + ((size_t)(r) * 4 + (k)) * (size_t)p)
    for (int r = 0; r < p; r++) {
        for (int q = 0; q < p; q++) {
            LAY(r, 0)[q] = v_len(r, q, inplace, seed);
            LAY(r, 2)[q] = v_len(q, r, inplace, seed);
        }
        size_t sn = v_layout(r, p, 0, inplace, seed, LAY(r, 1));
        rlen[r] = v_layout(r, p, 1, inplace, seed, LAY(r, 3));
        sbuf[r] = malloc(sn * es + 16);
        rbuf[r] = malloc(rlen[r] * es + 16);
        ref_fill(sbuf[r], sn, dt, TUTTI_SUM, r, 0, seed);
        memset(rbuf[r], 0xa5, rlen[r] * es + 16);
        if (inplace) memcpy(rbuf[r], sbuf[r], sn * es);
    }
    for (int r = 0; r < p; r++) {
        want[r] = malloc(rlen[r] * es + 16);
        memcpy(want[r], rbuf[r], rlen[r] * es + 16);
        for (int q = 0; q < p; q++)
            ref_fill(want[r] + LAY(r, 3)[q] * es, LAY(r, 2)[q], dt, TUTTI_SUM, q, LAY(q, 1)[r], seed);
        size_t most = 0;
        for (int q = 0; q < p; q++)
            most = LAY(r, 0)[q] > most ? LAY(r, 0)[q] : LAY(r, 2)[q] > most ? LAY(r, 2)[q] : most;
        tutti_coll_args_t a = {.coll = TUTTI_COLL_ALLTOALL, .sendbuf = inplace ? rbuf[r] : sbuf[r], .recvbuf = rbuf[r],
                               .count = most, .dtype = dt, .op = TUTTI_SUM, .rank = r, .nranks = p, .esize = es,
                               .vcounts = 1, .scounts = LAY(r, 0), .sdispls = LAY(r, 1), .rcounts = LAY(r, 2),
                               .rdispls = LAY(r, 3)};
        tutti_sched_init(&xs[r].sched, slot, es, 2);
        if (tutti_coll_build(&xs[r].sched, &a, TUTTI_ALGO_PAIRWISE) != TUTTI_SUCCESS) {
            snprintf(err, errlen, "rank %d: builder failed", r);
            ok = 0;
        }
        tutti_sched_finish(&xs[r].sched);
        tutti_exec_start(&xs[r], dt, TUTTI_SUM, p, 0x4321u, 1);
        xp[r] = &xs[r];
    }
    sim_world_t *w = sim_create(p, 2, nslots, slot, seed);
    if (ok && sim_run(w, xp, err, errlen) != 0) ok = 0;
    sim_destroy(w);
    for (int r = 0; ok && r < p; r++) {
        size_t first = 0, bad = ref_mismatches(rbuf[r], want[r], rlen[r], dt, &first);
        if (bad || memcmp(rbuf[r] + rlen[r] * es, want[r] + rlen[r] * es, 16) != 0) {
            snprintf(err, errlen, "rank %d: %zu of %zu elements wrong (gaps included), first at %zu%s", r, bad,
                     rlen[r], first, bad ? "" : "; wrote past the end");
            ok = 0;
        }
    }
#undef LAY
    for (int r = 0; r < p; r++) {
        free(sbuf[r]);
        free(rbuf[r]);
        free(want[r]);
        tutti_sched_free(&xs[r].sched);
    }
    free(sbuf);
    free(rbuf);
    free(want);
    free(rlen);
    free(lay);
    free(xs);
    free(xp);
    return ok;
}

/* One simulator case: p ranks, a variant of the case, FIFOs of nslots
 * slots of slot bytes, a seed; 1 on success, else err says why. */
typedef int (*sim_case_fn)(int p, int variant, unsigned nslots, size_t slot, uint32_t seed, char *err, size_t errlen);

/* Runs `run` on p = 1..12 and 20 (6 seeds each, slots of 64 B, 256 B and
 * 4 KiB, FIFOs of 1-3 slots): one TAP line per p. */
static void sim_sweep(sim_case_fn run, int variant, uint32_t *seed, const char *what)
{
    static const size_t slots[] = {64, 256, 4096};
    for (int pi = 1; pi <= 13; pi++) {
        int p = pi <= 12 ? pi : 20;
        int n = 0, failed = 0;
        char err[600] = "", first[700] = "";
        for (int k = 0; k < 6; k++, (*seed)++) {
            n++;
            if (!run(p, variant, 1 + *seed % 3, slots[k % 3], *seed, err, sizeof(err))) {
                if (!failed) snprintf(first, sizeof(first), "seed %u: %s", *seed, err);
                failed++;
            }
        }
        if (!tap_ok(failed == 0, "%s, p=%d: %d cases (FIFOs of 1-3 slots)", what, p, n))
            tap_diag("%d failed; first: %s", failed, first);
    }
}

static void test_alltoallv(void)
{
    uint32_t seed = 501;
    sim_sweep(run_v, 0, &seed, "sim alltoall/pairwise with counts per peer (alltoallv), out of place, shuffled "
                               "blocks with gaps, some empty");
    sim_sweep(run_v, 1, &seed, "sim alltoall/pairwise with counts per peer (alltoallv), in place, shuffled blocks "
                               "with gaps, some empty");
}

static void test_p2p(void)
{
    static const char *const names[] = {"ring", "all pairs and self (alltoallv)", "3 messages each way to neighbours"};
    uint32_t seed = 77;
    /* p = 20: all pairs make groups of 40 operations, past the builder's
     * small-group path */
    for (int pattern = 0; pattern < 3; pattern++) {
        char what[96];
        snprintf(what, sizeof(what), "sim point-to-point group, %s", names[pattern]);
        sim_sweep(run_p2p, pattern, &seed, what);
    }
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* large jobs allocate and free hundreds of MiB of FIFOs and schedules a
     * second: kept in the heap rather than handed back to the kernel, they
     * cost no page faults the next time (3x faster on a 2-core VM) */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
#endif
    /* --scale: only the large jobs (sched_scale.c) */
    if (argc > 1 && strcmp(argv[1], "--scale") == 0) {
        sched_scale_tests();
        return tap_done();
    }
    test_tree_order();
    test_alltoallv();
    test_p2p();
    static const tutti_datatype_t all_dt[] = {TUTTI_INT8,    TUTTI_UINT8,    TUTTI_INT16,   TUTTI_UINT16,
                                              TUTTI_INT32,   TUTTI_UINT32,   TUTTI_INT64,   TUTTI_UINT64,
                                              TUTTI_FLOAT16, TUTTI_BFLOAT16, TUTTI_FLOAT32, TUTTI_FLOAT64};
    enum { NDT = sizeof(all_dt) / sizeof(all_dt[0]) };
    _Static_assert((int)NDT == (int)TUTTI_NUM_DATATYPES, "every datatype in the simulator");
    static const size_t counts[] = {0, 1, 7, 4099};
    static const size_t slots[] = {64, 256, 4096};
    uint32_t seed = 1;
    for (int p = 1; p <= 64; p++) {
        for (int a = 0; a < SIM_MAX_SLOTS; a++)
            for (int b = 0; b < 3; b++) {
                sim_destroy(worlds[a][b]);
                worlds[a][b] = NULL;
            }
        /* p <= 8: every datatype x op; larger p: datatype and op rotate
         * over the cases, so every pair is still covered across p */
        int full = p <= 8;
        for (int coll = 0; coll < TUTTI_NUM_COLLS; coll++) {
            for (int algo = 0; algo < TUTTI_NUM_ALGOS; algo++) {
                if (!tutti_coll_builder((tutti_coll_t)coll, (tutti_algo_t)algo)) continue;
                int ncases = 0, failed = 0;
                char first_fail[1400] = "";
                int has_op = tutti_coll_has_op((tutti_coll_t)coll);
                int has_root = tutti_coll_has_root((tutti_coll_t)coll);
                int nroots = has_root ? (p > 2 ? 3 : p) : 1;
                for (int ci = 0; ci < 4; ci++) {
                    if (coll == TUTTI_COLL_BARRIER && ci > 0) break;
                    size_t ndt = full ? NDT : 1;
                    for (size_t di = 0; di < ndt; di++) {
                        size_t nop = has_op && full ? TUTTI_NUM_OPS : 1;
                        for (size_t oi = 0; oi < nop; oi++) {
                            if (full && has_op && !ref_op_fits((tutti_op_t)oi, all_dt[di])) continue;
                            for (int ri = 0; ri < nroots; ri++) {
                                int root = ri == 0 ? 0 : ri == 1 ? p - 1 : p / 2;
                                for (int inplace = 0; inplace < 2; inplace++) {
                                    tutti_datatype_t dt = full ? all_dt[di] : all_dt[seed % NDT];
                                    tutti_op_t op = !has_op ? TUTTI_SUM
                                                    : full  ? (tutti_op_t)oi
                                                            : ref_op_for(dt, seed / NDT);
                                    /* all-gather, reduce-scatter and all-to-all move p blocks:
                                     * keep them small at large p */
                                    size_t count = counts[ci];
                                    if (p > 16 && count > 1000 &&
                                        (coll == TUTTI_COLL_ALLGATHER || coll == TUTTI_COLL_REDUCE_SCATTER ||
                                         coll == TUTTI_COLL_ALLTOALL))
                                        count = 257;
                                    sim_case_t c = {.coll = (tutti_coll_t)coll, .algo = (tutti_algo_t)algo, .p = p,
                                                    .count = count, .dt = dt, .op = op, .root = root,
                                                    .inplace = inplace, .nslots = 2 + ((seed >> 1) % 2),
                                                    .slot = slots[seed % 3], .seed = seed};
                                    seed++;
                                    ncases++;
                                    if (!run_case(&c)) {
                                        if (!failed)
                                            snprintf(first_fail, sizeof(first_fail), "%s: %s", sim_case_str(&c),
                                                     errbuf);
                                        failed++;
                                    }
                                }
                            }
                        }
                    }
                }
                if (!tap_ok(failed == 0, "sim %s/%s p=%d: %d cases", tutti_coll_name((tutti_coll_t)coll),
                            tutti_algo_name((tutti_algo_t)algo), p, ncases))
                    tap_diag("%d failed; first: %s", failed, first_fail);
            }
        }
    }
    for (int a = 0; a < SIM_MAX_SLOTS; a++)
        for (int b = 0; b < 3; b++) sim_destroy(worlds[a][b]);
    sched_scale_tests();
    return tap_done();
}
