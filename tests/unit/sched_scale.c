/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Large jobs over the simulator: every collective x algorithm the builders
 * offer, hierarchical ones with and without node windows and with their
 * latency and bandwidth sub-algorithms, on job shapes of 96 to 4096 ranks
 * (nodes x ranks per node, uneven nodes, ranks dealt round-robin), every
 * rank's result checked bit for bit.  Small counts, and datatypes, ops,
 * roots, slots and in-place drawn per case, so a group stays well under a
 * second.  One TAP line per (p, shape).
 *
 * Algorithms whose schedule has O(p) steps on every rank (the flat rings of
 * all-reduce, all-gather and reduce-scatter, pairwise all-to-all) hold
 * O(p^2) steps in one process, 4 GiB at 4096 ranks: they run up to
 * SCALE_LINEAR_MAX ranks, and hierarchical all-gather (O(p) steps on each
 * leader) up to nodes x p = SCALE_LINEAR_MAX^2.  The flat window algorithm
 * (one node of p ranks) runs up to SCALE_WINDOW_MAX, the binomial reduce up
 * to 2^TUTTI_MAX_FAN ranks (its builder's limit; the selector never picks it
 * above).
 */
#define TUTTI_TAP_SHARED 1 /* one TAP count with test_sched.c */
#include "sched_scale.h"

#include "dtype/dtype.h"
#include "refcheck.h"
#include "sim/simcase.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SCALE_LINEAR_MAX = 512, SCALE_WINDOW_MAX = 512 };

typedef enum { SHAPE_BLOCK, SHAPE_ROUND_ROBIN, SHAPE_UNEVEN } scale_kind_t;

typedef struct {
    int p;
    scale_kind_t kind;
    int nodes, ppn; /* block: ranks r*ppn .. on node r (the last may be short); round-robin: rank r on r % nodes */
} scale_shape_t;

static const scale_shape_t scale_shapes[] = {
    {96, SHAPE_BLOCK, 12, 8},          {128, SHAPE_BLOCK, 2, 64},    {255, SHAPE_UNEVEN, 0, 0},
    {256, SHAPE_ROUND_ROBIN, 64, 4},   {511, SHAPE_BLOCK, 64, 8},    {512, SHAPE_BLOCK, 64, 8},
    {512, SHAPE_BLOCK, 8, 64},         {1000, SHAPE_BLOCK, 125, 8},  {1024, SHAPE_BLOCK, 1024, 1},
    {1024, SHAPE_ROUND_ROBIN, 128, 8}, {2048, SHAPE_BLOCK, 256, 8},  {4095, SHAPE_UNEVEN, 0, 0},
    {4096, SHAPE_BLOCK, 512, 8},       {4096, SHAPE_BLOCK, 1024, 4}, {4096, SHAPE_BLOCK, 8, 512},
};

/* Node of every rank; returns the node count, words for it in name. */
static int scale_nodes(const scale_shape_t *sh, int *node, char *name, size_t len)
{
    int p = sh->p, nn = 0;
    if (sh->kind == SHAPE_UNEVEN) {
        /* contiguous nodes of 1 to 16 ranks, sizes from a fixed cycle */
        static const int sizes[] = {8, 3, 16, 1, 5, 12, 8, 2, 7, 16, 4, 13};
        int lo = 16, hi = 1;
        for (int r = 0, k = 0; r < p; k++) {
            int n = sizes[k % 12];
            if (n > p - r) n = p - r;
            lo = n < lo ? n : lo;
            hi = n > hi ? n : hi;
            for (int i = 0; i < n; i++) node[r++] = nn;
            nn++;
        }
        snprintf(name, len, "%d uneven nodes of %d-%d ranks", nn, lo, hi);
        return nn;
    }
    for (int r = 0; r < p; r++) node[r] = sh->kind == SHAPE_BLOCK ? r / sh->ppn : r % sh->nodes;
    nn = sh->kind == SHAPE_BLOCK ? (p + sh->ppn - 1) / sh->ppn : sh->nodes;
    if (sh->kind == SHAPE_ROUND_ROBIN)
        snprintf(name, len, "%d nodes x %d, ranks dealt round-robin", sh->nodes, p / sh->nodes);
    else if (p % sh->ppn)
        snprintf(name, len, "%d nodes x %d, the last of %d", nn, sh->ppn, p % sh->ppn);
    else
        snprintf(name, len, "%d nodes x %d", nn, sh->ppn);
    return nn;
}

/* Steps of the whole job's schedules over p: p for those with O(p) steps
 * on every rank, the node count for hierarchical all-gather (O(p) on each
 * leader), else 1. */
static int scale_linear(tutti_coll_t c, tutti_algo_t a, int p, int nnodes)
{
    if (a == TUTTI_ALGO_PAIRWISE) return p;
    if (a == TUTTI_ALGO_RING)
        return c == TUTTI_COLL_ALLREDUCE || c == TUTTI_COLL_ALLGATHER || c == TUTTI_COLL_REDUCE_SCATTER ? p : 1;
    return a == TUTTI_ALGO_HIER && c == TUTTI_COLL_ALLGATHER ? nnodes : 1;
}

/* Why (c, a) does not run at p ranks: 0 it runs, else an index into
 * scale_why. */
static const char *const scale_why[] = {"", "O(p^2) steps in all: to p=512", "flat window: to p=512",
                                        "fan-in over TUTTI_MAX_FAN: to p=256"};
static int scale_skip(tutti_coll_t c, tutti_algo_t a, int p, int nnodes)
{
    if ((double)scale_linear(c, a, p, nnodes) * p > (double)SCALE_LINEAR_MAX * SCALE_LINEAR_MAX) return 1;
    if (a == TUTTI_ALGO_WINDOW && p > SCALE_WINDOW_MAX) return 2;
    if (c == TUTTI_COLL_REDUCE && a == TUTTI_ALGO_TREE && p > (1 << TUTTI_MAX_FAN)) return 3;
    return 0;
}

/* An op whose result is exact in dt whatever the order of the reduction:
 * sums of p values in -2..2 stay exact in float16 up to 1024 ranks, in
 * bfloat16 up to 128; beyond, min, max or product (of +-1). */
static tutti_op_t scale_op(tutti_datatype_t dt, unsigned k, int p)
{
    tutti_op_t op = ref_op_for(dt, k);
    int limit = dt == TUTTI_FLOAT16 ? 1024 : dt == TUTTI_BFLOAT16 ? 128 : 1 << 30;
    if (p > limit && (op == TUTTI_SUM || op == TUTTI_AVG)) {
        static const tutti_op_t exact[] = {TUTTI_MIN, TUTTI_MAX, TUTTI_PROD};
        op = exact[k % 3];
    }
    return op;
}

/* "allreduce/ring allgather/ring (O(p^2) steps in all: to p=512) ...":
 * what a group left out, by reason. */
static void scale_skipped(const int *skip, const uint64_t *bits, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int why = 1; why < 4; why++) {
        if (!skip[why]) continue;
        for (int k = 0; k < TUTTI_NUM_COLLS * TUTTI_NUM_ALGOS; k++) {
            if (!(bits[why] >> k & 1)) continue;
            int w = snprintf(out + n, len - n, "%s%s/%s", n ? " " : "",
                             tutti_coll_name((tutti_coll_t)(k / TUTTI_NUM_ALGOS)),
                             tutti_algo_name((tutti_algo_t)(k % TUTTI_NUM_ALGOS)));
            if (w > 0 && n + (size_t)w < len) n += (size_t)w;
        }
        int w = snprintf(out + n, len - n, " (%s)", scale_why[why]);
        if (w > 0 && n + (size_t)w < len) n += (size_t)w;
    }
}

/* Case v of (c, a) at p ranks: count, datatype, op, root, in place, FIFOs
 * drawn from the seed s; hier with node windows in about half the cases
 * and, in the second, with its bandwidth sub-algorithms (chains in the
 * nodes, rings of leaders: O(nodes) steps on a leader). */
static sim_case_t scale_case(tutti_coll_t c, tutti_algo_t a, int v, uint32_t s, int p, const int *node, int nnodes,
                             int ppn)
{
    static const size_t counts[] = {1, 2, 7, 13};
    tutti_datatype_t dt = (tutti_datatype_t)(s % TUTTI_NUM_DATATYPES);
    size_t count = counts[s % 4];
    /* p blocks each: one byte per block past 512 ranks, in slots of 256 B */
    int blocks = c == TUTTI_COLL_ALLGATHER || c == TUTTI_COLL_ALLTOALL || c == TUTTI_COLL_REDUCE_SCATTER;
    if (blocks && p > 512) {
        count = 1;
        dt = s % 2 ? TUTTI_INT8 : TUTTI_UINT8;
    }
    /* all-to-all: p^2 FIFOs, so small ones from 256 ranks on */
    int tiny = c == TUTTI_COLL_ALLTOALL && p >= 256;
    if (tiny && tutti_dtype_size(dt) > 2) dt = s % 2 ? TUTTI_INT16 : TUTTI_BFLOAT16;
    if (tiny) count = 1 + s % 2;
    int roots[] = {0, p - 1, p / 2, (int)(s * 2654435761u % (uint32_t)p)};
    sim_case_t k = {.coll = c,
                    .algo = a,
                    .p = p,
                    .count = count,
                    .dt = dt,
                    .op = tutti_coll_has_op(c) ? scale_op(dt, s / TUTTI_NUM_DATATYPES, p) : TUTTI_SUM,
                    .root = tutti_coll_has_root(c) ? roots[(s / 2) % 4] : 0,
                    .inplace = v == 2 ? (int)(s / 3 % 2) : v,
                    .nslots = tiny ? 2 : 2 + (s >> 1) % 2,
                    .slot = tiny                 ? 64
                            : blocks && p > 512  ? 256
                            : p >= 2048 || s % 2 ? 64
                                                 : 256,
                    .seed = s,
                    .node = node,
                    .nnodes = nnodes};
    if (a == TUTTI_ALGO_HIER) {
        k.node_win = v == 2 ? !((s >> 2) % 2) : (int)((s >> 2) % 2);
        if (v == 1 && nnodes <= SCALE_LINEAR_MAX && ppn <= SCALE_LINEAR_MAX) k.small_msg = 1;
    }
    return k;
}

/* Runs one group; returns the number of cases, *failed those that failed
 * (the first one in first). */
static int scale_group(int p, const int *node, int nnodes, int ppn, uint32_t *seed, int *failed, char *first,
                       size_t flen, char *skipped, size_t slen)
{
    char err[1024];
    int ncases = 0;
    /* left out, by reason: how many, and bit coll * TUTTI_NUM_ALGOS + algo */
    _Static_assert(TUTTI_NUM_COLLS * TUTTI_NUM_ALGOS <= 64, "a bit per algorithm");
    int skip[4] = {0};
    uint64_t skipbits[4] = {0};
    for (int coll = 0; coll < TUTTI_NUM_COLLS; coll++) {
        for (int algo = 0; algo < TUTTI_NUM_ALGOS; algo++) {
            tutti_coll_t c = (tutti_coll_t)coll;
            tutti_algo_t a = (tutti_algo_t)algo;
            if (!tutti_coll_builder(c, a)) continue;
            int why = scale_skip(c, a, p, nnodes);
            if (why) {
                skip[why]++;
                skipbits[why] |= 1ull << (coll * TUTTI_NUM_ALGOS + algo);
                continue;
            }
            /* fewer algorithms run past 512 ranks: a third variant each */
            int nvar = c == TUTTI_COLL_BARRIER ? 1 : p > 512 ? 3 : 2;
            for (int v = 0; v < nvar; v++, (*seed)++) {
                sim_case_t k = scale_case(c, a, v, *seed, p, node, nnodes, ppn);
                sim_world_t *w = sim_create(p, 2, k.nslots, k.slot, k.seed);
                ncases++;
                if (!sim_case_run(w, &k, err, sizeof(err))) {
                    if (!*failed) snprintf(first, flen, "%s: %s", sim_case_str(&k), err);
                    (*failed)++;
                }
                sim_destroy(w);
            }
        }
    }
    scale_skipped(skip, skipbits, skipped, slen);
    return ncases;
}

void sched_scale_tests(void)
{
    uint32_t seed = 90001;
    for (size_t g = 0; g < sizeof(scale_shapes) / sizeof(scale_shapes[0]); g++) {
        const scale_shape_t *sh = &scale_shapes[g];
        int *node = malloc(sizeof(int) * (size_t)sh->p);
        char name[96], first[1600] = "", skipped[512];
        int nnodes = scale_nodes(sh, node, name, sizeof(name)), failed = 0, ppn = 0;
        int *per = calloc((size_t)nnodes, sizeof(int));
        for (int r = 0; r < sh->p; r++)
            if (++per[node[r]] > ppn) ppn = per[node[r]];
        int n = scale_group(sh->p, node, nnodes, ppn, &seed, &failed, first, sizeof(first), skipped, sizeof(skipped));
        if (!tap_ok(failed == 0, "sim scale p=%d, %s: %d cases of every collective%s%s", sh->p, name, n,
                    skipped[0] ? "; not at this p: " : ", every algorithm", skipped))
            tap_diag("%d failed; first: %s", failed, first);
        free(per);
        free(node);
    }
}
