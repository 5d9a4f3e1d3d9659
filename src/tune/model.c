/* SPDX-License-Identifier: BSD-3-Clause */
/* The alpha-beta-gamma cost model (model.h). */
#include "tune/model.h"

#include "coll.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* One message's cost per transport, for a rank with a CPU of its own.
 * shm: an engine step through a FIFO slot (0.4-0.6 us measured for 8 B
 * between 2 ranks, ~5 GB/s copies); tcp: loopback/Ethernet as measured
 * between namespace hosts (14.5 us, 1.1-1.5 GB/s); ucx and verbs: typical
 * of InfiniBand EDR/HDR (2-3 us, 10-12 GB/s), not measured here. */
static const struct {
    const char *name;
    tutti_hop_cost_t cost;
} tutti_model_net[] = {
    {"tcp", {15e-6, 1.0 / 1.2e9}},
    {"ucx", {3e-6, 1.0 / 10e9}},
    {"verbs", {2.5e-6, 1.0 / 11e9}},
};
static const tutti_hop_cost_t tutti_model_shm = {0.5e-6, 1.0 / 5e9};
static const tutti_hop_cost_t tutti_model_shm_x = {0.8e-6, 1.0 / 3.5e9}; /* across sockets */
static const double tutti_model_gamma = 1.0 / 3e9;                      /* float32 sum, one core */

void tutti_model_defaults(tutti_model_t *m, const char *net, int ppn, int sockets, double oversub, size_t chunk)
{
    memset(m, 0, sizeof(*m));
    m->on = 1;
    m->hop[TUTTI_HOP_SOCKET] = tutti_model_shm;
    m->hop[TUTTI_HOP_SOCKETS] = tutti_model_shm_x;
    m->hop[TUTTI_HOP_NODES] = tutti_model_net[0].cost;
    if (!net) net = "tcp";
    for (size_t k = 0; k < sizeof(tutti_model_net) / sizeof(tutti_model_net[0]); k++)
        if (strcmp(net, tutti_model_net[k].name) == 0) m->hop[TUTTI_HOP_NODES] = tutti_model_net[k].cost;
    /* ranks that share CPUs wait for each other's time slices */
    if (oversub > 1)
        for (int h = 0; h < TUTTI_NUM_HOPS; h++) m->hop[h].alpha *= oversub;
    m->gamma = tutti_model_gamma;
    m->oversub = oversub > 1 ? oversub : 1;
    m->ppn = ppn > 0 ? ppn : 1;
    m->sockets = sockets > 0 ? sockets : 1;
    m->chunk = chunk ? chunk : 64 * 1024;
    snprintf(m->source, sizeof(m->source), "defaults for shm and %s%s", net, oversub > 1 ? ", CPUs shared" : "");
}

void tutti_model_intra(tutti_model_t *m, const char *intra, double oversub)
{
    if (!intra || strcmp(intra, "shm") == 0) return;
    for (size_t k = 0; k < sizeof(tutti_model_net) / sizeof(tutti_model_net[0]); k++)
        if (strcmp(intra, tutti_model_net[k].name) == 0) {
            tutti_hop_cost_t c = tutti_model_net[k].cost;
            if (oversub > 1) c.alpha *= oversub;
            m->hop[TUTTI_HOP_SOCKET] = m->hop[TUTTI_HOP_SOCKETS] = c;
            size_t l = strlen(m->source);
            snprintf(m->source + l, sizeof(m->source) - l, ", %s inside nodes", intra);
        }
}

tutti_hop_t tutti_model_flat_hop(const tutti_model_t *m, int nnodes)
{
    if (nnodes > 1) return TUTTI_HOP_NODES;
    return m->sockets > 1 ? TUTTI_HOP_SOCKETS : TUTTI_HOP_SOCKET;
}

void tutti_model_calibrate(tutti_model_t *m, int nnodes, double alpha, double beta, const char *source)
{
    tutti_hop_t h = tutti_model_flat_hop(m, nnodes);
    if (alpha > 0) m->hop[h].alpha = alpha;
    if (beta > 0) m->hop[h].beta = beta;
    snprintf(m->source, sizeof(m->source), "%s", source);
}

/* Window steps: a wait on a counter costs less than a FIFO message (no
 * slot, no tail to hand back; waits on several ranks overlap), and bytes
 * move at in-cache copy speed with no chain of hand-offs between them
 * (measured 15-19 GB/s bus bandwidth at 128 KiB-2 MiB on 2 ranks, and
 * the fastest at every size on 4 ranks sharing 2 CPUs: perf/README.md,
 * "Node-local collectives"). */
static const double tutti_model_win_beta = 1.0 / 20e9;
static const double tutti_model_win_sync = 0.75; /* of the hop's alpha */

/* The window algorithm (collectives/window/window.c, core/window.c): per
 * chunk of the window's size a fixed number of synchronisations (three for
 * a two-shot all-reduce or reduce, two for the others), and each rank's
 * own share of the copies and reductions. */
static double tutti_model_window(const tutti_model_t *m, int c, double n, int p, double al)
{
    /* its reductions run over 16 KiB blocks that stay in L1 through all p
     * inputs: about twice the ring's per-byte rate measured (one-shot on 4
     * ranks: 8 KiB in 7.6 us, where gamma alone would say 8 us) */
    double be = tutti_model_win_beta, ga = m->gamma * 0.5, w = (double)(m->win_bytes ? m->win_bytes : 1 << 20);
    al *= tutti_model_win_sync;
    double f = (double)(p - 1) / p;
    switch (c) {
    case TUTTI_COLL_ALLREDUCE:
        if (n * (p - 1) < (double)m->win_oneshot) return 2 * al + n * be + (p - 1) * n * (be + ga);
        return 3 * al * ceil(n / w) + f * n * be + f * n * (be + ga) + n * be;
    case TUTTI_COLL_REDUCE:
        return 3 * al * ceil(n / w) + f * n * be + f * n * (be + ga) + n / p * be;
    case TUTTI_COLL_REDUCE_SCATTER: /* n: the whole input; a slot per block */
        return 2 * al * ceil(n / w) + f * n * be + f * n * (be + ga);
    case TUTTI_COLL_ALLGATHER: /* n: the whole result */
        return 2 * al * ceil(n / p / w) + n / p * be + f * n * be;
    case TUTTI_COLL_BROADCAST:
        /* the root's copy-in overlaps the readers' copy-out; but the root
         * may run only two chunks ahead of its slowest reader, and back to
         * back small broadcasts then wait for every reader in turn, where a
         * tree's FIFOs let the root run eight messages ahead (measured on
         * 4 ranks over 2 CPUs: 1.8 us against Open MPI's 0.13-0.24 at 8-128
         * B; perf/README.md) */
        return (2 + (p - 1) / m->oversub) * al / tutti_model_win_sync * ceil(n / w) + n * be + (n < w ? n : w) * be;
    }
    return -1;
}

static double tutti_log2c(int p)
{
    int d = 0;
    while ((1 << d) < p) d++;
    return d;
}

/* Flat algorithms on p ranks over one hop class, pipelined in slices of
 * `chunk` bytes where the algorithm pipelines (tutti_model_pipelined). */
static double tutti_model_flat(const tutti_model_t *m, int c, int a, double n, int p, tutti_hop_cost_t h, double chunk)
{
    double al = h.alpha, be = h.beta, ga = m->gamma, lg = tutti_log2c(p);
    double s = n < chunk ? n : chunk;        /* a pipelined slice */
    double k = n > 0 ? ceil(n / chunk) : 1; /* slices */
    int pow2 = (p & (p - 1)) == 0;
    if (p <= 1) return 0;
    if (a == TUTTI_ALGO_WINDOW) return m->win ? tutti_model_window(m, c, n, p, al) : -1;
    switch (c) {
    case TUTTI_COLL_ALLREDUCE:
        /* ring: reduce-scatter + all-gather, 2(p-1) steps of n/p */
        if (a == TUTTI_ALGO_RING) return 2 * (p - 1) * al + 2.0 * (p - 1) / p * n * be + (double)(p - 1) / p * n * ga;
        /* recursive doubling: log p exchanges of everything (+2 folding steps) */
        if (a == TUTTI_ALGO_RD) return (lg + (pow2 ? 0 : 2)) * (al + n * be) + lg * n * ga;
        /* double binary tree, each tree half the data, up and down at once:
         * 2 (depth + slices - 1) slice times; per slice an inner rank sends
         * one up and two down in its tree and one up in the other */
        if (a == TUTTI_ALGO_TREE) {
            double hn = n / 2, hs = hn < chunk ? hn : chunk, hk = hn > 0 ? ceil(hn / chunk) : 1;
            return 2 * (lg + hk - 1) * (al + 2 * hs * be) + n * ga;
        }
        break;
    case TUTTI_COLL_BROADCAST:
        /* chain, pipelined: p-2+k slice times */
        if (a == TUTTI_ALGO_RING) return (p - 2 + k) * (al + s * be);
        /* binomial tree: the root sends every slice to its log p children */
        if (a == TUTTI_ALGO_TREE) return lg * (k * al + n * be);
        break;
    case TUTTI_COLL_ALLGATHER: /* n: the whole result */
        if (a == TUTTI_ALGO_RING) return (p - 1) * (al + n / p * be);
        if (a == TUTTI_ALGO_RD) return (lg + (pow2 ? 0 : 2)) * al + (double)(p - 1) / p * n * be;
        break;
    case TUTTI_COLL_REDUCE_SCATTER: /* n: the whole input */
        if (a == TUTTI_ALGO_RING) return (p - 1) * (al + n / p * (be + ga));
        break;
    case TUTTI_COLL_REDUCE:
        /* chain toward the root, pipelined, each rank adding its slice */
        if (a == TUTTI_ALGO_RING) return (p - 2 + k) * (al + s * (be + ga));
        /* binomial tree: the root takes every slice from its log p children,
         * and the last slice climbs the tree after it */
        if (a == TUTTI_ALGO_TREE) return lg * (k * al + n * (be + ga)) + (lg - 1) * (al + s * (be + ga));
        break;
    case TUTTI_COLL_BARRIER:
        if (a == TUTTI_ALGO_DISSEMINATION) return lg * al;
        break;
    case TUTTI_COLL_ALLTOALL: /* n: the whole send buffer; p-1 exchanges of a block */
        if (a == TUTTI_ALGO_PAIRWISE) return (p - 1) * (al + n / p * be);
        break;
    }
    return -1;
}

/* The best flat time of collective c among the algorithms that build it. */
static double tutti_model_best_flat(const tutti_model_t *m, int c, double n, int p, tutti_hop_cost_t h, double chunk)
{
    double best = -1;
    for (int a = 0; a < TUTTI_NUM_ALGOS; a++) {
        if (a == TUTTI_ALGO_HIER || a == TUTTI_ALGO_WINDOW) continue;
        double t = tutti_model_flat(m, c, a, n, p, h, chunk);
        if (t >= 0 && (best < 0 || t < best)) best = t;
    }
    return best < 0 ? 0 : best;
}

int tutti_model_pipelined(int c, int a)
{
    switch (c) {
    case TUTTI_COLL_ALLREDUCE: return a == TUTTI_ALGO_TREE || a == TUTTI_ALGO_HIER;
    case TUTTI_COLL_BROADCAST: return a == TUTTI_ALGO_RING || a == TUTTI_ALGO_TREE || a == TUTTI_ALGO_HIER;
    case TUTTI_COLL_REDUCE: return a == TUTTI_ALGO_RING || a == TUTTI_ALGO_TREE;
    }
    return 0;
}

double tutti_model_time_chunk(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes, size_t chunk)
{
    double n = bytes ? (double)bytes : 1; /* an empty call still sends its messages */
    double ck = (double)(chunk ? chunk : m->chunk);
    if (ck < 1) ck = 1;
    if (nnodes < 1) nnodes = 1;
    if (a == TUTTI_ALGO_WINDOW && (!m->win || nnodes > 1)) return -1;
    if (a != TUTTI_ALGO_HIER) return tutti_model_flat(m, c, a, n, nranks, m->hop[tutti_model_flat_hop(m, nnodes)], ck);
    /* hierarchical: inside each node (its own hops), then one leader per
     * node over the network, then inside the node again */
    if (nnodes <= 1 || nnodes >= nranks) return -1;
    int ppn = (nranks + nnodes - 1) / nnodes;
    tutti_hop_cost_t in = m->hop[m->sockets > 1 ? TUTTI_HOP_SOCKETS : TUTTI_HOP_SOCKET], net = m->hop[TUTTI_HOP_NODES];
    switch (c) {
    case TUTTI_COLL_ALLREDUCE:
        return tutti_model_best_flat(m, TUTTI_COLL_REDUCE, n, ppn, in, ck) +
               tutti_model_best_flat(m, TUTTI_COLL_ALLREDUCE, n, nnodes, net, ck) +
               tutti_model_best_flat(m, TUTTI_COLL_BROADCAST, n, ppn, in, ck);
    case TUTTI_COLL_BROADCAST:
        return tutti_model_best_flat(m, TUTTI_COLL_BROADCAST, n, nnodes, net, ck) +
               tutti_model_best_flat(m, TUTTI_COLL_BROADCAST, n, ppn, in, ck);
    case TUTTI_COLL_ALLGATHER: /* gather to the leader, all-gather of node blocks, broadcast of everything */
        return (ppn - 1) * (in.alpha + n / nranks * in.beta) +
               tutti_model_best_flat(m, TUTTI_COLL_ALLGATHER, n, nnodes, net, ck) +
               tutti_model_best_flat(m, TUTTI_COLL_BROADCAST, n, ppn, in, ck);
    }
    return -1;
}

/* The share of the n bytes a rank must at least send or receive over p
 * ranks (Patarasuk and Yuan's bandwidth bound for all-reduce): all-reduce
 * 2(p-1)/p (each rank's n bytes must be combined with the others' and the
 * result come back); broadcast and reduce 1 (the root's n bytes leave it,
 * or arrive); all-gather, reduce-scatter, all-to-all (p-1)/p of the whole
 * buffer (all but the own block); barrier nothing. */
static double tutti_model_share(int c, int p)
{
    double f = (double)(p - 1) / p;
    switch (c) {
    case TUTTI_COLL_ALLREDUCE: return 2 * f;
    case TUTTI_COLL_BROADCAST:
    case TUTTI_COLL_REDUCE: return 1;
    case TUTTI_COLL_BARRIER: return 0;
    default: return f;
    }
}

/* Lower bound, the larger of two levels:
 *
 *   ranks  all p ranks at the cheapest hop of the model (a, b its alpha and
 *          beta): ceil(log2 p) a + share(p) n b.  Latency: a rank knows of
 *          at most 2^k ranks after k rounds of one-port messages, and every
 *          collective but broadcast and reduce needs all p (those two: the
 *          root's data must reach all, or all reach the root: the same);
 *          bandwidth: share(), above.  Over shared windows (one node) a
 *          step is no one-port message: every rank reads every window after
 *          one synchronisation, so ranks a_w + share(p) n b_w with the
 *          window's wait (0.75 alpha) and copy speed.
 *   nodes  the nnodes nodes as endpoints of one network port each:
 *          ceil(log2 nnodes) a_net + share(nnodes) n b_net.
 *
 * Every formula of tutti_model_time is at least this: flat ones pay the
 * slowest hop at least ceil(log2 p) times and move at least share(p) n;
 * hierarchical ones pay ceil(log2 ppn) + ceil(log2 nodes) >= ceil(log2 p)
 * latencies and move the bytes both over the network and inside nodes. */
double tutti_model_bound(const tutti_model_t *m, int c, size_t bytes, int nranks, int nnodes)
{
    double n = bytes ? (double)bytes : 1, al = m->hop[0].alpha, be = m->hop[0].beta;
    if (nranks <= 1) return 0;
    for (int h = 1; h < TUTTI_NUM_HOPS; h++) {
        if (m->hop[h].alpha < al) al = m->hop[h].alpha;
        if (m->hop[h].beta < be) be = m->hop[h].beta;
    }
    double lat = tutti_log2c(nranks);
    if (m->win && nnodes <= 1) {
        al *= tutti_model_win_sync;
        if (tutti_model_win_beta < be) be = tutti_model_win_beta;
        lat = 1;
    }
    double t = lat * al + tutti_model_share(c, nranks) * n * be;
    if (nnodes > 1) {
        const tutti_hop_cost_t *net = &m->hop[TUTTI_HOP_NODES];
        double tn = tutti_log2c(nnodes) * net->alpha + tutti_model_share(c, nnodes) * n * net->beta;
        if (tn > t) t = tn;
    }
    return t;
}

double tutti_model_time(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes)
{
    return tutti_model_time_chunk(m, c, a, bytes, nranks, nnodes, m->chunk);
}

/* Pipelining trades a latency per slice against the time a slice takes to
 * fill the pipeline: for a chain, (p-2+n/s)(alpha + s beta) is least near
 * s = sqrt(n alpha / ((p-2) beta)).  Rather than each formula's optimum,
 * every power of two from TUTTI_MODEL_MIN_CHUNK to the slot is tried.
 * Not inside a node whose ranks share CPUs: there every byte is moved by a
 * rank's CPU, so the stages of a pipeline take turns on the CPUs instead
 * of running at once, and every extra slice only adds its per-message
 * cost (measured on 4 ranks over 2 cores, shm: the slot within noise of
 * the fastest at every size, smaller slices chosen by the formula 1.2-1.4x
 * slower; between namespace hosts on the same cores, where the kernel
 * moves the bytes, 32K-64K slices did help: perf/results/slices). */
size_t tutti_model_best_chunk(const tutti_model_t *m, int c, int a, size_t bytes, int nranks, int nnodes, double *t)
{
    size_t best = m->chunk;
    double tb = tutti_model_time_chunk(m, c, a, bytes, nranks, nnodes, best);
    int shared = m->oversub > 1 && tutti_model_flat_hop(m, nnodes) != TUTTI_HOP_NODES;
    if (tutti_model_pipelined(c, a) && tb >= 0 && !shared)
        for (size_t ck = m->chunk / 2; ck >= TUTTI_MODEL_MIN_CHUNK; ck /= 2) {
            double tc = tutti_model_time_chunk(m, c, a, bytes, nranks, nnodes, ck);
            if (tc >= 0 && tc < tb * 0.999) { /* ties to the larger slice: fewer messages */
                tb = tc;
                best = ck;
            }
        }
    if (t) *t = tb;
    return best;
}
