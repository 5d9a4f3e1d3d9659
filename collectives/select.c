/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which algorithms exist, which one a call gets, and TUTTI_ALGO.
 *
 * Grammar:
 *     spec   := entry (';' entry)*
 *     entry  := [coll ':'] ['^'] algo (',' algo)*          a set
 *             | [coll ':'] algo ['/' slice] '@' range (',' ...)*   by size
 *     range  := size '-' (size | 'max')        lo <= bytes < hi
 *     slice  := size       pipelining slice (power of two >= 4K) for the range
 * A set entry without a collective applies to every collective that has
 * at least one of the named algorithms; '^' removes the named algorithms
 * instead of restricting to them.  A size entry picks the algorithm for
 * the sizes it covers (later entries win) and leaves the rest to the
 * default rule.  Unknown names, an algorithm a named collective does not
 * have, a collective left with no algorithm, malformed or overlapping
 * ranges are errors that name the token.
 */
#include "coll.h"

#include "util/param.h"

#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

static const char *const tutti_coll_names[TUTTI_NUM_COLLS] = {
#define TUTTI_COLL_NAME_(UP, low) #low,
    TUTTI_COLL_MAP(TUTTI_COLL_NAME_)
#undef TUTTI_COLL_NAME_
};

static const char *const tutti_algo_names[TUTTI_NUM_ALGOS] = {
#define TUTTI_ALGO_NAME_(UP, low) #low,
    TUTTI_ALGO_MAP(TUTTI_ALGO_NAME_)
#undef TUTTI_ALGO_NAME_
};

static const tutti_coll_build_fn tutti_builders[TUTTI_NUM_COLLS][TUTTI_NUM_ALGOS] = {
    [TUTTI_COLL_ALLREDUCE] = {[TUTTI_ALGO_RING] = tutti_coll_allreduce_ring,
                              [TUTTI_ALGO_TREE] = tutti_coll_allreduce_tree,
                              [TUTTI_ALGO_RD] = tutti_coll_allreduce_rd,
                              [TUTTI_ALGO_HIER] = tutti_coll_allreduce_hier,
                              [TUTTI_ALGO_WINDOW] = tutti_coll_allreduce_window},
    [TUTTI_COLL_BROADCAST] = {[TUTTI_ALGO_RING] = tutti_coll_broadcast_ring,
                              [TUTTI_ALGO_TREE] = tutti_coll_broadcast_tree,
                              [TUTTI_ALGO_HIER] = tutti_coll_broadcast_hier,
                              [TUTTI_ALGO_WINDOW] = tutti_coll_broadcast_window},
    [TUTTI_COLL_ALLGATHER] = {[TUTTI_ALGO_RING] = tutti_coll_allgather_ring,
                              [TUTTI_ALGO_RD] = tutti_coll_allgather_rd,
                              [TUTTI_ALGO_HIER] = tutti_coll_allgather_hier,
                              [TUTTI_ALGO_WINDOW] = tutti_coll_allgather_window},
    [TUTTI_COLL_REDUCE_SCATTER] = {[TUTTI_ALGO_RING] = tutti_coll_reduce_scatter_ring,
                                   [TUTTI_ALGO_WINDOW] = tutti_coll_reduce_scatter_window},
    [TUTTI_COLL_REDUCE] = {[TUTTI_ALGO_RING] = tutti_coll_reduce_ring,
                           [TUTTI_ALGO_TREE] = tutti_coll_reduce_tree,
                           [TUTTI_ALGO_WINDOW] = tutti_coll_reduce_window},
    [TUTTI_COLL_BARRIER] = {[TUTTI_ALGO_DISSEMINATION] = tutti_coll_barrier_dissemination},
    [TUTTI_COLL_ALLTOALL] = {[TUTTI_ALGO_PAIRWISE] = tutti_coll_alltoall_pairwise},
};

/* Default choice per collective: [0] for small messages, [1] for large. */
static const tutti_algo_t tutti_defaults[TUTTI_NUM_COLLS][2] = {
    [TUTTI_COLL_ALLREDUCE] = {TUTTI_ALGO_RD, TUTTI_ALGO_RING},
    [TUTTI_COLL_BROADCAST] = {TUTTI_ALGO_TREE, TUTTI_ALGO_RING},
    [TUTTI_COLL_ALLGATHER] = {TUTTI_ALGO_RD, TUTTI_ALGO_RING},
    [TUTTI_COLL_REDUCE_SCATTER] = {TUTTI_ALGO_RING, TUTTI_ALGO_RING},
    [TUTTI_COLL_REDUCE] = {TUTTI_ALGO_TREE, TUTTI_ALGO_RING},
    [TUTTI_COLL_BARRIER] = {TUTTI_ALGO_DISSEMINATION, TUTTI_ALGO_DISSEMINATION},
    [TUTTI_COLL_ALLTOALL] = {TUTTI_ALGO_PAIRWISE, TUTTI_ALGO_PAIRWISE},
};

const char *tutti_coll_name(tutti_coll_t c)
{
    return (unsigned)c < TUTTI_NUM_COLLS ? tutti_coll_names[c] : "invalid";
}

const char *tutti_algo_name(tutti_algo_t a)
{
    return (unsigned)a < TUTTI_NUM_ALGOS ? tutti_algo_names[a] : "invalid";
}

int tutti_coll_from_name(const char *name)
{
    for (int c = 0; c < TUTTI_NUM_COLLS; c++)
        if (strcasecmp(name, tutti_coll_names[c]) == 0) return c;
    return -1;
}

static int tutti_algo_from_name(const char *name, size_t len)
{
    for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
        if (strlen(tutti_algo_names[a]) == len && strncasecmp(name, tutti_algo_names[a], len) == 0)
            return a;
    return -1;
}

tutti_coll_build_fn tutti_coll_builder(tutti_coll_t c, tutti_algo_t a)
{
    if ((unsigned)c >= TUTTI_NUM_COLLS || (unsigned)a >= TUTTI_NUM_ALGOS) return NULL;
    return tutti_builders[c][a];
}

size_t tutti_coll_bytes(const tutti_coll_args_t *a)
{
    size_t b = a->count * a->esize;
    if (a->coll == TUTTI_COLL_ALLGATHER || a->coll == TUTTI_COLL_REDUCE_SCATTER || a->coll == TUTTI_COLL_ALLTOALL)
        b *= (size_t)a->nranks;
    return b;
}

tutti_result_t tutti_coll_run_on_group(tutti_sched_t *s, tutti_coll_build_fn build, tutti_coll_args_t sub,
                                       const int *group, int keep_final)
{
    uint32_t first = s->nsteps;
    sub.node_of_rank = NULL; /* flat inside the group */
    sub.nnodes = 1;
    sub.ring_order = sub.ring_pos = NULL;
    tutti_result_t r = build(s, &sub);
    if (r != TUTTI_SUCCESS || s->oom) return r;
    for (uint32_t i = first; i < s->nsteps; i++) {
        tutti_step_t *st = &s->steps[i];
        for (int k = 0; k < st->nrecv; k++) st->recv[k] = group[st->recv[k]];
        for (int k = 0; k < st->nsend; k++) st->send[k] = group[st->send[k]];
        if (!keep_final) st->flags &= (uint16_t)~TUTTI_STEP_FINAL;
    }
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_coll_build(tutti_sched_t *s, const tutti_coll_args_t *a, tutti_algo_t algo)
{
    tutti_coll_build_fn build = tutti_coll_builder(a->coll, algo);
    if (!build) return TUTTI_ERR_INTERNAL;
    /* rings and trees run over the topology order (node, socket, NUMA):
     * a ring crosses each boundary once; a tree over contiguous positions
     * keeps most subtrees inside a node, so its inter-node edges are few and
     * spread over the nodes (tests/unit/test_sched counts them) */
    int reorder = a->ring_order && a->ring_pos && (algo == TUTTI_ALGO_RING || algo == TUTTI_ALGO_TREE) &&
                  (a->coll == TUTTI_COLL_ALLREDUCE || a->coll == TUTTI_COLL_BROADCAST || a->coll == TUTTI_COLL_REDUCE);
    if (!reorder) return build(s, a);
    tutti_coll_args_t sub = *a;
    sub.rank = a->ring_pos[a->rank];
    sub.root = a->ring_pos[a->root];
    return tutti_coll_run_on_group(s, build, sub, a->ring_order, 1);
}

void tutti_coll_local_copy(tutti_sched_t *s, const void *src, void *dst, size_t bytes, int final)
{
    tutti_sched_phase(s, 0);
    tutti_step_t *st = tutti_sched_step(s);
    st->src = src;
    st->dst = dst;
    st->bytes = bytes;
    st->flags = final ? TUTTI_STEP_FINAL : 0;
}

static uint32_t tutti_algo_available(tutti_coll_t c)
{
    uint32_t m = 0;
    for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
        if (tutti_builders[c][a]) m |= 1u << a;
    return m;
}

/* Parses "size" or "max" (for hi); 0 on success. */
static int tutti_algo_size(const char *p, size_t n, int allow_max, size_t *out)
{
    char tok[32];
    if (n == 0 || n >= sizeof(tok)) return -1;
    memcpy(tok, p, n);
    tok[n] = '\0';
    if (allow_max && strcasecmp(tok, "max") == 0) {
        *out = SIZE_MAX;
        return 0;
    }
    uint64_t v;
    if (tutti_param_parse_size(tok, &v) != 0) return -1;
    *out = (size_t)v;
    return 0;
}

/* "tree@0-64K,ring@64K-max" for collective coll (-1: every collective
 * that has the algorithm). */
static int tutti_algo_range_entry(tutti_algo_config_t *cfg, int coll, const char *list, size_t llen, const char *e,
                                  size_t elen, char *err, size_t errlen)
{
    tutti_algo_range_t got[TUTTI_ALGO_MAX_RANGES];
    int n = 0;
    const char *p = list, *end = list + llen;
    if (llen > 0 && list[0] == '^') {
        snprintf(err, errlen, "TUTTI_ALGO: '^' cannot be combined with size ranges in '%.*s'", (int)elen, e);
        return -1;
    }
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t tl = comma ? (size_t)(comma - p) : (size_t)(end - p);
        const char *at = memchr(p, '@', tl);
        const char *dash = at ? memchr(at, '-', (size_t)(p + tl - at)) : NULL;
        if (!at || !dash) {
            snprintf(err, errlen, "TUTTI_ALGO: '%.*s' in '%.*s' is not algo@lo-hi (give every algorithm of a "
                                  "size entry a range, e.g. ring@64K-max)",
                     (int)tl, p, (int)elen, e);
            return -1;
        }
        const char *slash = memchr(p, '/', (size_t)(at - p));
        const char *aend = slash ? slash : at;
        size_t ck = 0;
        if (slash && (tutti_algo_size(slash + 1, (size_t)(at - slash - 1), 0, &ck) != 0 ||
                      ck < TUTTI_MODEL_MIN_CHUNK || (ck & (ck - 1)) != 0)) {
            snprintf(err, errlen, "TUTTI_ALGO: bad slice '%.*s' in '%.*s' (a power of two of at least 4K, e.g. "
                                  "ring/64K@1M-max)",
                     (int)(at - slash - 1), slash + 1, (int)elen, e);
            return -1;
        }
        int a = tutti_algo_from_name(p, (size_t)(aend - p));
        if (a < 0) {
            snprintf(err, errlen, "TUTTI_ALGO: unknown algorithm '%.*s' in '%.*s' (algorithms: ring, tree, rd, "
                                  "dissemination, hier, pairwise, window)",
                     (int)(aend - p), p, (int)elen, e);
            return -1;
        }
        if (coll >= 0 && !tutti_builders[coll][a]) {
            snprintf(err, errlen, "TUTTI_ALGO: %s has no algorithm '%.*s' (in '%.*s')", tutti_coll_names[coll],
                     (int)(aend - p), p, (int)elen, e);
            return -1;
        }
        size_t lo, hi;
        if (tutti_algo_size(at + 1, (size_t)(dash - at - 1), 0, &lo) != 0 ||
            tutti_algo_size(dash + 1, (size_t)(p + tl - dash - 1), 1, &hi) != 0 || lo >= hi) {
            snprintf(err, errlen, "TUTTI_ALGO: bad size range '%.*s' in '%.*s' (want lo-hi with lo < hi, sizes "
                                  "like 0, 4096, 64K, 1M, or max)",
                     (int)(p + tl - at - 1), at + 1, (int)elen, e);
            return -1;
        }
        for (int k = 0; k < n; k++) {
            if (lo < got[k].hi && got[k].lo < hi) {
                snprintf(err, errlen, "TUTTI_ALGO: ranges overlap in '%.*s' ('%.*s' and an earlier one)", (int)elen,
                         e, (int)tl, p);
                return -1;
            }
        }
        if (n == TUTTI_ALGO_MAX_RANGES) {
            snprintf(err, errlen, "TUTTI_ALGO: more than %d ranges in '%.*s'", TUTTI_ALGO_MAX_RANGES, (int)elen, e);
            return -1;
        }
        got[n].algo = (uint8_t)a;
        got[n].chunk = ck;
        got[n].lo = lo;
        got[n].hi = hi;
        n++;
        p += tl + (comma ? 1 : 0);
    }
    int applied = 0;
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        if (coll >= 0 && c != coll) continue;
        for (int k = 0; k < n; k++) {
            if (!tutti_builders[c][got[k].algo]) continue;
            if (cfg->nranges[c] == TUTTI_ALGO_MAX_RANGES) {
                snprintf(err, errlen, "TUTTI_ALGO: more than %d size ranges for %s", TUTTI_ALGO_MAX_RANGES,
                         tutti_coll_names[c]);
                return -1;
            }
            cfg->ranges[c][cfg->nranges[c]++] = got[k];
            applied = 1;
        }
    }
    if (!applied) {
        snprintf(err, errlen, "TUTTI_ALGO: '%.*s' matches no collective", (int)elen, e);
        return -1;
    }
    return 0;
}

/* Applies one entry ("allreduce:^tree,rd" or "ring") to cfg. */
static int tutti_algo_entry(tutti_algo_config_t *cfg, const char *e, size_t elen, char *err,
                            size_t errlen)
{
    const char *colon = memchr(e, ':', elen);
    int coll = -1;
    const char *list = e;
    size_t llen = elen;
    if (colon) {
        char name[32];
        size_t n = (size_t)(colon - e);
        if (n == 0 || n >= sizeof(name)) {
            snprintf(err, errlen, "TUTTI_ALGO: empty or overlong collective name in '%.*s'", (int)elen, e);
            return -1;
        }
        memcpy(name, e, n);
        name[n] = '\0';
        coll = tutti_coll_from_name(name);
        if (coll < 0) {
            snprintf(err, errlen,
                     "TUTTI_ALGO: unknown collective '%s' in '%.*s' (collectives: allreduce, broadcast, "
                     "allgather, reduce_scatter, reduce, barrier, alltoall)",
                     name, (int)elen, e);
            return -1;
        }
        list = colon + 1;
        llen = elen - n - 1;
    }
    if (memchr(list, '@', llen)) return tutti_algo_range_entry(cfg, coll, list, llen, e, elen, err, errlen);
    int neg = 0;
    if (llen > 0 && list[0] == '^') {
        neg = 1;
        list++;
        llen--;
    }
    uint32_t named = 0;
    const char *p = list, *end = list + llen;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
        int a = tutti_algo_from_name(p, n);
        if (a < 0) {
            snprintf(err, errlen, "TUTTI_ALGO: unknown algorithm '%.*s' in '%.*s' (algorithms: ring, tree, rd, dissemination, hier, pairwise, window)",
                     (int)n, p, (int)elen, e);
            return -1;
        }
        if (coll >= 0 && !tutti_builders[coll][a]) {
            snprintf(err, errlen, "TUTTI_ALGO: %s has no algorithm '%.*s' (in '%.*s')", tutti_coll_names[coll],
                     (int)n, p, (int)elen, e);
            return -1;
        }
        named |= 1u << a;
        p += n + (comma ? 1 : 0);
    }
    if (!named) {
        snprintf(err, errlen, "TUTTI_ALGO: no algorithm named in '%.*s'", (int)elen, e);
        return -1;
    }
    int applied = 0;
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        if (coll >= 0 && c != coll) continue;
        uint32_t avail = tutti_algo_available((tutti_coll_t)c);
        if (!(avail & named)) continue;
        uint32_t now = neg ? (cfg->allowed[c] & ~named) : (avail & named);
        if (!now) {
            snprintf(err, errlen, "TUTTI_ALGO: '%.*s' leaves %s without any algorithm", (int)elen, e,
                     tutti_coll_names[c]);
            return -1;
        }
        cfg->allowed[c] = now;
        cfg->forced |= 1u << c;
        applied = 1;
    }
    if (!applied) {
        snprintf(err, errlen, "TUTTI_ALGO: '%.*s' matches no collective", (int)elen, e);
        return -1;
    }
    return 0;
}

int tutti_algo_config_parse(tutti_algo_config_t *cfg, const char *spec, size_t small_msg,
                            char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->small_msg = small_msg;
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) cfg->allowed[c] = tutti_algo_available((tutti_coll_t)c);
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ' || *p == ';') p++;
        if (!*p) break;
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ') n--;
        if (tutti_algo_entry(cfg, p, n, err, errlen) != 0) return -1;
        p += n;
    }
    return 0;
}

static void tutti_algo_size_str(size_t v, char *buf, size_t len)
{
    /* "32K+1": the first size above an inclusive threshold */
    if (v > 1024 && v != SIZE_MAX && (v - 1) % 1024 == 0) {
        tutti_algo_size_str(v - 1, buf, len);
        size_t n = strlen(buf);
        if (n + 3 <= len) memcpy(buf + n, "+1", 3);
        return;
    }
    if (v == SIZE_MAX) snprintf(buf, len, "max");
    else if (v >= (1u << 30) && v % (1u << 30) == 0) snprintf(buf, len, "%zuG", v >> 30);
    else if (v >= (1u << 20) && v % (1u << 20) == 0) snprintf(buf, len, "%zuM", v >> 20);
    else if (v >= 1024 && v % 1024 == 0) snprintf(buf, len, "%zuK", v >> 10);
    else snprintf(buf, len, "%zu", v);
}

#define TUTTI_WHY(...)                                                         \
    do {                                                                       \
        if (why) snprintf(why, whylen, __VA_ARGS__);                           \
    } while (0)

/* The size class of a call: the largest power of two <= bytes (0: 0). */
static size_t tutti_algo_class_floor(size_t bytes)
{
    return bytes ? (size_t)1 << (63 - __builtin_clzll((unsigned long long)bytes)) : 0;
}

/* The algorithm, and why; *fixed: the slice the TUTTI_ALGO range or
 * rules-file rule that chose it gives (0: none). */
static tutti_algo_t tutti_algo_pick(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks,
                                    int nnodes, size_t *fixed, char *why, size_t whylen)
{
    char lo[24], hi[24], sm[24];
    *fixed = 0;
    /* the window algorithm exists only on one node with shared windows */
    int nowin = !cfg->model.win || nnodes > 1;
    /* 1: a size range of TUTTI_ALGO (the last one that covers the size) */
    for (int k = cfg->nranges[c] - 1; k >= 0; k--) {
        const tutti_algo_range_t *rg = &cfg->ranges[c][k];
        if (nowin && rg->algo == TUTTI_ALGO_WINDOW) continue;
        if (bytes >= rg->lo && bytes < rg->hi) {
            tutti_algo_size_str(rg->lo, lo, sizeof(lo));
            tutti_algo_size_str(rg->hi, hi, sizeof(hi));
            TUTTI_WHY("TUTTI_ALGO gives %s@%s-%s", tutti_algo_names[rg->algo], lo, hi);
            *fixed = rg->chunk;
            return (tutti_algo_t)rg->algo;
        }
    }
    uint32_t allowed = cfg->allowed[c];
    if (nowin && (allowed & (1u << TUTTI_ALGO_WINDOW))) {
        allowed &= ~(1u << TUTTI_ALGO_WINDOW);
        if (!allowed) {
            TUTTI_WHY("window is all TUTTI_ALGO allows, but it needs every rank on one node with shared-memory "
                      "windows (TUTTI_SHM_WIN_SIZE > 0, shm among them): the default instead");
            return tutti_defaults[c][bytes <= cfg->small_msg ? 0 : 1];
        }
    }
    /* a binomial reduce needs one receive per child in one step */
    if (c == TUTTI_COLL_REDUCE && nranks > (1 << TUTTI_MAX_FAN)) allowed &= ~(1u << TUTTI_ALGO_TREE);
    /* 2: the site's rules file (first rule that applies; not against TUTTI_ALGO) */
    for (int k = 0; k < cfg->nrules; k++) {
        const tutti_tune_rule_t *ru = &cfg->rules[k];
        if (ru->coll != c || bytes < ru->lo || bytes >= ru->hi || nnodes < ru->min_nodes || nnodes > ru->max_nodes ||
            nranks < ru->min_ranks || nranks > ru->max_ranks || !(allowed & (1u << ru->algo)))
            continue;
        tutti_algo_size_str(ru->lo, lo, sizeof(lo));
        tutti_algo_size_str(ru->hi, hi, sizeof(hi));
        TUTTI_WHY("TUTTI_TUNE_FILE rule %d gives %s for %s-%s", k + 1, tutti_algo_names[ru->algo], lo, hi);
        *fixed = ru->chunk;
        return (tutti_algo_t)ru->algo;
    }
    /* 3: the cost model, among the algorithms allowed (hierarchical where
     * the job has several nodes with several ranks on some) */
    if (cfg->model.on) {
        double t[TUTTI_NUM_ALGOS];
        int best = -1;
        /* hierarchical all-gather only when TUTTI_ALGO asks for it: its
         * gather and full-buffer broadcast inside the node cost more than
         * the model says (measured 1.1-3.8x slower than ring or rd on 2
         * simulated hosts x 2 ranks, perf/README.md) */
        uint32_t cand = allowed;
        if (c == TUTTI_COLL_ALLGATHER && !(cfg->forced & (1u << c))) cand &= ~(1u << TUTTI_ALGO_HIER);
        /* one decision per size class (powers of two), as the table says */
        size_t cls = tutti_algo_class_floor(bytes);
        for (int a = 0; a < TUTTI_NUM_ALGOS; a++) {
            t[a] = -1;
            /* each algorithm at its best pipelining slice */
            if (cand & (1u << a)) (void)tutti_model_best_chunk(&cfg->model, c, a, cls, nranks, nnodes, &t[a]);
            if (t[a] >= 0 && (best < 0 || t[a] < t[best])) best = a;
        }
        /* within 5% the model cannot tell them apart: take the ring, whose
         * neighbour-only traffic suffers least from what it leaves out
         * (contention, links that are not the slowest); not against the
         * window algorithm, which has no links (one node's memory) */
        if (best >= 0 && best != TUTTI_ALGO_RING && best != TUTTI_ALGO_WINDOW && t[TUTTI_ALGO_RING] >= 0 &&
            t[TUTTI_ALGO_RING] <= 1.05 * t[best])
            best = TUTTI_ALGO_RING;
        if (best >= 0) {
            if (why) {
                size_t w = 0;
                int k = snprintf(why, whylen, "model (%s):", cfg->model.source);
                for (int a = 0; a < TUTTI_NUM_ALGOS && k >= 0 && (w += (size_t)k) < whylen; a++)
                    k = t[a] >= 0 ? snprintf(why + w, whylen - w, " %s%s %.3g us", a == best ? "*" : "",
                                             tutti_algo_names[a], t[a] * 1e6)
                                  : 0;
                if (cfg->forced & (1u << c) && w < whylen)
                    snprintf(why + w, whylen - w, " (among those TUTTI_ALGO allows)");
            }
            return (tutti_algo_t)best;
        }
    }
    int small = bytes <= cfg->small_msg;
    tutti_algo_size_str(cfg->small_msg, sm, sizeof(sm));
    /* without the model (TUTTI_SMALL_MSG_SIZE given):
     * 4: the job's shape: several nodes, some with several ranks: keep the
     * network traffic to one rank per node.  Not for all-gather: its gather
     * and full-buffer broadcast inside the node cost more than they save
     * (measured 1.1-3x slower than ring or rd on 2 simulated hosts x 2
     * ranks, perf/README.md); it stays selectable. */
    if (nnodes > 1 && nnodes < nranks && (allowed & (1u << TUTTI_ALGO_HIER)) && c != TUTTI_COLL_ALLGATHER) {
        TUTTI_WHY("%d ranks on %d nodes, some with several: hierarchical (shm inside a node, one leader per node "
                  "on the network)",
                  nranks, nnodes);
        return TUTTI_ALGO_HIER;
    }
    /* otherwise hierarchical only when it is all TUTTI_ALGO leaves */
    if (allowed & ~(1u << TUTTI_ALGO_HIER)) allowed &= ~(1u << TUTTI_ALGO_HIER);
    /* 5: the size threshold */
    tutti_algo_t pref = tutti_defaults[c][small ? 0 : 1];
    const char *forced = (cfg->forced & (1u << c)) ? " among those TUTTI_ALGO allows" : "";
    if (allowed & (1u << pref)) {
        if (tutti_defaults[c][0] == tutti_defaults[c][1])
            TUTTI_WHY("the only default for %s%s", tutti_coll_names[c], forced);
        else
            TUTTI_WHY("%zu B %s TUTTI_SMALL_MSG_SIZE (%s): the %s algorithm%s", bytes, small ? "<=" : ">", sm,
                      small ? "latency" : "bandwidth", forced);
        return pref;
    }
    tutti_algo_t other = tutti_defaults[c][small ? 1 : 0];
    if (allowed & (1u << other)) {
        TUTTI_WHY("TUTTI_ALGO excludes %s, the default for %zu B; next choice", tutti_algo_names[pref], bytes);
        return other;
    }
    for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
        if (allowed & (1u << a)) {
            TUTTI_WHY("TUTTI_ALGO allows %s", tutti_algo_names[a]);
            return (tutti_algo_t)a;
        }
    TUTTI_WHY("default");
    return tutti_defaults[c][1];
}

tutti_algo_t tutti_algo_decide(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks, int nnodes,
                               size_t *chunk, char *why, size_t whylen)
{
    size_t fixed;
    tutti_algo_t a = tutti_algo_pick(cfg, c, bytes, nranks, nnodes, &fixed, why, whylen);
    size_t ck = 0;
    const char *from = "";
    size_t cls = tutti_algo_class_floor(bytes);
    if (tutti_model_pipelined(c, a)) {
        if (fixed) {
            ck = fixed;
            from = "given with the algorithm";
        } else if (cfg->chunk) {
            ck = cfg->chunk;
            from = "TUTTI_CHUNK_SIZE";
        } else if (cfg->model.on) {
            ck = tutti_model_best_chunk(&cfg->model, c, a, cls, nranks, nnodes, NULL);
            from = cfg->model.oversub > 1 && nnodes <= 1 ? "model: ranks share CPUs, so whole slots" : "model";
        }
        /* the slot every rank agreed on caps it (core/sched.c cuts so) */
        if (ck && cfg->model.chunk && ck > cfg->model.chunk) ck = cfg->model.chunk;
        /* a slice above the class (so at least twice its floor) holds every
         * call of it whole: nothing to choose */
        if (ck > cls) ck = 0;
    }
    if (chunk) *chunk = ck;
    if (why && ck) {
        char cs[24];
        size_t w = strlen(why);
        tutti_algo_size_str(ck, cs, sizeof(cs));
        if (w < whylen) snprintf(why + w, whylen - w, "; slices of %s (%s)", cs, from);
    }
    return a;
}

void tutti_algo_memo_clear(tutti_algo_config_t *cfg)
{
    memset(cfg->memo, 0, sizeof(cfg->memo));
}

/* Whether every call of the size class of `bytes` gets the same decision:
 * no TUTTI_ALGO range, rule or threshold edge falls inside the class (the
 * model and the slice decide per class already). */
static int tutti_algo_class_uniform(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes)
{
    size_t lo = tutti_algo_class_floor(bytes), hi = lo ? 2 * lo - 1 : 0; /* the class: lo..hi */
#define TUTTI_CUTS(e) ((e) > lo && (e) <= hi)
    if (!cfg->model.on && TUTTI_CUTS(cfg->small_msg + 1)) return 0;
    for (int k = 0; k < cfg->nranges[c]; k++)
        if (TUTTI_CUTS(cfg->ranges[c][k].lo) || TUTTI_CUTS(cfg->ranges[c][k].hi)) return 0;
    for (int k = 0; k < cfg->nrules; k++)
        if (cfg->rules[k].coll == c && (TUTTI_CUTS(cfg->rules[k].lo) || TUTTI_CUTS(cfg->rules[k].hi))) return 0;
#undef TUTTI_CUTS
    return 1;
}

tutti_algo_t tutti_algo_decide_memo(tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks, int nnodes,
                                    size_t *chunk)
{
    int k = bytes ? 64 - __builtin_clzll((unsigned long long)bytes) : 0;
    if (cfg->memo[c][k].valid) {
        *chunk = cfg->memo[c][k].chunk;
        return (tutti_algo_t)cfg->memo[c][k].algo;
    }
    tutti_algo_t a = tutti_algo_decide(cfg, c, bytes, nranks, nnodes, chunk, NULL, 0);
    if (tutti_algo_class_uniform(cfg, c, bytes)) {
        cfg->memo[c][k].algo = (uint8_t)a;
        cfg->memo[c][k].chunk = *chunk;
        cfg->memo[c][k].valid = 1;
    }
    return a;
}

tutti_algo_t tutti_algo_explain(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks,
                                int nnodes, char *why, size_t whylen)
{
    return tutti_algo_decide(cfg, c, bytes, nranks, nnodes, NULL, why, whylen);
}

tutti_algo_t tutti_algo_select(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes, int nranks, int nnodes)
{
    return tutti_algo_decide(cfg, c, bytes, nranks, nnodes, NULL, NULL, 0);
}

size_t tutti_algo_table(const tutti_algo_config_t *cfg, int nranks, int nnodes, char *buf, size_t len)
{
    size_t n = 0;
    if (len) buf[0] = '\0';
#define TUTTI_PUT(...)                                                         \
    do {                                                                       \
        int w_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__);         \
        if (w_ > 0) n += (size_t)w_;                                           \
    } while (0)
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        TUTTI_PUT("%s%s:", c ? "\n" : "", tutti_coll_names[c]);
        /* scan 0, then 1 B .. 1 TiB by powers of two, and every range edge */
        size_t edges[64 + 2 * TUTTI_ALGO_MAX_RANGES + 2 * TUTTI_TUNE_MAX_RULES + 2];
        int ne = 0;
        edges[ne++] = 0;
        for (int b = 0; b <= 40; b++) edges[ne++] = (size_t)1 << b;
        if (!cfg->model.on) edges[ne++] = cfg->small_msg + 1;
        for (int k = 0; k < cfg->nranges[c]; k++) {
            edges[ne++] = cfg->ranges[c][k].lo;
            if (cfg->ranges[c][k].hi != SIZE_MAX) edges[ne++] = cfg->ranges[c][k].hi;
        }
        for (int k = 0; k < cfg->nrules && ne < (int)(sizeof(edges) / sizeof(edges[0])) - 1; k++) {
            if (cfg->rules[k].coll != c) continue;
            edges[ne++] = cfg->rules[k].lo;
            if (cfg->rules[k].hi != SIZE_MAX) edges[ne++] = cfg->rules[k].hi;
        }
        for (int i = 1; i < ne; i++) /* sort */
            for (int j = i; j > 0 && edges[j] < edges[j - 1]; j--) {
                size_t t = edges[j];
                edges[j] = edges[j - 1];
                edges[j - 1] = t;
            }
        int cur = -1;
        size_t from = 0, curck = 0;
        for (int i = 0; i <= ne; i++) {
            size_t ck = 0;
            int a = i < ne ? (int)tutti_algo_decide(cfg, (tutti_coll_t)c, edges[i], nranks, nnodes, &ck, NULL, 0) : -2;
            if (i < ne && a == cur && ck == curck) continue;
            if (cur >= 0) {
                char f[24], t[24], cs[24] = "";
                tutti_algo_size_str(from, f, sizeof(f));
                tutti_algo_size_str(i < ne ? edges[i] : SIZE_MAX, t, sizeof(t));
                if (curck) {
                    cs[0] = '/';
                    tutti_algo_size_str(curck, cs + 1, sizeof(cs) - 1);
                }
                TUTTI_PUT(" %s-%s %s%s%s", f, t, tutti_algo_names[cur], cs, i < ne ? "," : "");
            }
            if (i < ne) {
                cur = a;
                curck = ck;
                from = edges[i];
            }
        }
    }
#undef TUTTI_PUT
    return n;
}
