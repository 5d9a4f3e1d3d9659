/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which algorithms exist, which one a call gets, and TUTTI_ALGO.
 *
 * Grammar (issue #5 extends it with size ranges):
 *     spec   := entry (';' entry)*
 *     entry  := [coll ':'] ['^'] algo (',' algo)*
 * An entry without a collective applies to every collective that has at
 * least one of the named algorithms; '^' removes the named algorithms
 * instead of restricting to them.  Unknown names, an algorithm a named
 * collective does not have, or a collective left with no algorithm are
 * errors that name the token.
 */
#include "coll.h"

#include <stdio.h>
#include <string.h>
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
                              [TUTTI_ALGO_HIER] = tutti_coll_allreduce_hier},
    [TUTTI_COLL_BROADCAST] = {[TUTTI_ALGO_RING] = tutti_coll_broadcast_ring,
                              [TUTTI_ALGO_TREE] = tutti_coll_broadcast_tree,
                              [TUTTI_ALGO_HIER] = tutti_coll_broadcast_hier},
    [TUTTI_COLL_ALLGATHER] = {[TUTTI_ALGO_RING] = tutti_coll_allgather_ring,
                              [TUTTI_ALGO_RD] = tutti_coll_allgather_rd,
                              [TUTTI_ALGO_HIER] = tutti_coll_allgather_hier},
    [TUTTI_COLL_REDUCE_SCATTER] = {[TUTTI_ALGO_RING] = tutti_coll_reduce_scatter_ring},
    [TUTTI_COLL_REDUCE] = {[TUTTI_ALGO_RING] = tutti_coll_reduce_ring,
                           [TUTTI_ALGO_TREE] = tutti_coll_reduce_tree},
    [TUTTI_COLL_BARRIER] = {[TUTTI_ALGO_DISSEMINATION] = tutti_coll_barrier_dissemination},
};

/* Default choice per collective: [0] for small messages, [1] for large. */
static const tutti_algo_t tutti_defaults[TUTTI_NUM_COLLS][2] = {
    [TUTTI_COLL_ALLREDUCE] = {TUTTI_ALGO_RD, TUTTI_ALGO_RING},
    [TUTTI_COLL_BROADCAST] = {TUTTI_ALGO_TREE, TUTTI_ALGO_RING},
    [TUTTI_COLL_ALLGATHER] = {TUTTI_ALGO_RD, TUTTI_ALGO_RING},
    [TUTTI_COLL_REDUCE_SCATTER] = {TUTTI_ALGO_RING, TUTTI_ALGO_RING},
    [TUTTI_COLL_REDUCE] = {TUTTI_ALGO_TREE, TUTTI_ALGO_RING},
    [TUTTI_COLL_BARRIER] = {TUTTI_ALGO_DISSEMINATION, TUTTI_ALGO_DISSEMINATION},
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
    if (a->coll == TUTTI_COLL_ALLGATHER || a->coll == TUTTI_COLL_REDUCE_SCATTER) b *= (size_t)a->nranks;
    return b;
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
                     "allgather, reduce_scatter, reduce, barrier)",
                     name, (int)elen, e);
            return -1;
        }
        list = colon + 1;
        llen = elen - n - 1;
    }
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
            snprintf(err, errlen, "TUTTI_ALGO: unknown algorithm '%.*s' in '%.*s' (algorithms: ring, tree, rd, dissemination, hier)",
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

tutti_algo_t tutti_algo_select(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t bytes,
                               int nranks, int nnodes)
{
    uint32_t allowed = cfg->allowed[c];
    tutti_algo_t pref = tutti_defaults[c][bytes <= cfg->small_msg ? 0 : 1];
    /* several nodes, some with several ranks: keep the network traffic to
     * one rank per node (unless TUTTI_ALGO says otherwise).  Not for
     * all-gather: its gather and full-buffer broadcast inside the node cost
     * more than they save (measured 1.1-3x slower than ring or rd on 2
     * simulated hosts x 2 ranks, perf/README.md); it stays selectable. */
    if (nnodes > 1 && nnodes < nranks && (allowed & (1u << TUTTI_ALGO_HIER)) && c != TUTTI_COLL_ALLGATHER)
        return TUTTI_ALGO_HIER;
    /* otherwise hierarchical only when it is all TUTTI_ALGO leaves */
    if (allowed & ~(1u << TUTTI_ALGO_HIER)) allowed &= ~(1u << TUTTI_ALGO_HIER);
    /* a binomial reduce needs one receive per child in one step */
    if (c == TUTTI_COLL_REDUCE && nranks > (1 << TUTTI_MAX_FAN)) allowed &= ~(1u << TUTTI_ALGO_TREE);
    if (allowed & (1u << pref)) return pref;
    tutti_algo_t other = tutti_defaults[c][bytes <= cfg->small_msg ? 1 : 0];
    if (allowed & (1u << other)) return other;
    for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
        if (allowed & (1u << a)) return (tutti_algo_t)a;
    return tutti_defaults[c][1];
}
