/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti-info: what this build of tutti is and how it is configured.
 *   tutti-info            version, transports, topology, every parameter
 *   tutti-info -p         parameters only
 *   tutti-info -a         also algorithms per collective
 *   tutti-info --tune --nodes N --ppn P [--topo FILE.xml]
 *                         the algorithm table a job of N nodes x P ranks
 *                         would use (with this environment's TUTTI_ALGO and
 *                         TUTTI_SMALL_MSG_SIZE), and why, without running one
 */
#include "coll.h"
#include "core/comm.h"
#include "core/transports.h"
#include "topo/topo.h"
#include "tutti.h"
#include "util/param.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tutti_info_type(tutti_param_type_t t)
{
    switch (t) {
    case TUTTI_PARAM_INT: return "int";
    case TUTTI_PARAM_SIZE: return "size";
    case TUTTI_PARAM_BOOL: return "bool";
    case TUTTI_PARAM_SECONDS: return "seconds";
    case TUTTI_PARAM_STRING: return "string";
    }
    return "?";
}

static void tutti_info_params(void)
{
    printf("# Parameters (environment variables)\n");
    for (int k = 0; k < TUTTI_P_COUNT; k++) {
        const tutti_param_desc_t *d = tutti_param_desc((tutti_param_id_t)k);
        int from_env = 0;
        const char *raw = tutti_param_raw((tutti_param_id_t)k, &from_env);
        if (k == TUTTI_P_SECRET && from_env) raw = "<set, hidden>";
        printf("%-22s = %-12s (%s, %s; default '%s')\n", d->name, raw[0] ? raw : "''", tutti_info_type(d->type),
               from_env ? "from environment" : "default", d->def);
        printf("    %s\n", d->doc);
    }
    const char *err = tutti_param_error();
    if (err) printf("# ERROR: %s\n", err);
}

static void tutti_info_algos(void)
{
    printf("# Algorithms (TUTTI_ALGO names)\n");
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        printf("%-15s", tutti_coll_name((tutti_coll_t)c));
        for (int a = 0; a < TUTTI_NUM_ALGOS; a++)
            if (tutti_coll_builder((tutti_coll_t)c, (tutti_algo_t)a)) printf(" %s", tutti_algo_name((tutti_algo_t)a));
        printf("\n");
    }
}

/* "139 us", "1.23e+05 us"; "-" for a negative time (not applicable). */
static const char *tutti_info_us(double t, char *buf, size_t len)
{
    if (t < 0) snprintf(buf, len, "-");
    else snprintf(buf, len, "%.4g", t * 1e6);
    return buf;
}

/* One explained line: the algorithm, the model's time for it (at the
 * slice it would use), the collective's alpha-beta lower bound for the
 * size (tutti_model_bound) and their ratio, then why. */
static void tutti_info_why(const tutti_algo_config_t *cfg, tutti_coll_t c, size_t b, int p, int nodes)
{
    char why[256], tp[24], tb[24], ratio[24] = "-";
    size_t chunk = 0;
    tutti_algo_t a = tutti_algo_decide(cfg, c, b, p, nodes, &chunk, why, sizeof(why));
    double t = tutti_model_time_chunk(&cfg->model, (int)c, (int)a, b, p, nodes, chunk);
    double lb = tutti_model_bound(&cfg->model, (int)c, b, p, nodes);
    if (t >= 0 && lb > 0) snprintf(ratio, sizeof(ratio), "%.2f", t / lb);
    printf("%-15s %11zu B  %-13s %10s us >= %10s us %7s  %s\n", tutti_coll_name(c), b, tutti_algo_name(a),
           tutti_info_us(t, tp, sizeof(tp)), tutti_info_us(lb, tb, sizeof(tb)), ratio, why);
}

/* The decision table of a job shape, then one explained line per
 * collective and power-of-16 size. */
static int tutti_info_tune(int nodes, int ppn, const char *topo, const char *net)
{
    int sockets = 1;
    tutti_algo_config_t cfg;
    char err[512], table[4096];
    if (topo) {
        tutti_topo_local_t t;
        char line[320];
        if (tutti_topo_load_from(&t, topo, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "tutti-info: %s\n", err);
            return 1;
        }
        tutti_topo_format(&t, line, sizeof(line));
        /* ranks spread over the node: they span its sockets once there are
         * as many ranks as sockets */
        sockets = t.packages < ppn ? t.packages : ppn;
        printf("# Node: %s\n", line);
        for (int g = 0; g < t.gpus; g++) printf("#   GPU %d: NUMA node %d, PCIe switch %d\n", g, t.gpu_numa[g], t.gpu_switch[g]);
        for (int n = 0; n < t.nics; n++) printf("#   NIC %d: NUMA node %d, PCIe switch %d\n", n, t.nic_numa[n], t.nic_switch[n]);
    }
    if (tutti_algo_config_load(&cfg, tutti_param_str(TUTTI_P_ALGO), tutti_param_size(TUTTI_P_SMALL_MSG_SIZE),
                               tutti_param_size(TUTTI_P_CHUNK_SIZE),
                               tutti_param_str(TUTTI_P_TUNE_FILE), err,
                                sizeof(err)) != 0) {
        fprintf(stderr, "tutti-info: %s\n", err);
        return 1;
    }
    int p = nodes * ppn, from_env = 0;
    /* the slice every rank would agree on: the smallest slot of the
     * transports the job uses (shm inside nodes, net between them) */
    size_t slot = 0, netslot = strcmp(net, "ucx") == 0     ? tutti_param_size(TUTTI_P_UCX_SLOT_SIZE)
                              : strcmp(net, "verbs") == 0 ? tutti_param_size(TUTTI_P_IB_SLOT_SIZE)
                                                          : tutti_param_size(TUTTI_P_TCP_SLOT_SIZE);
    if (ppn > 1) slot = tutti_param_size(TUTTI_P_SHM_SLOT_SIZE);
    if (nodes > 1 && (!slot || netslot < slot)) slot = netslot;
    tutti_model_defaults(&cfg.model, net, ppn, sockets, 1.0, slot);
    /* one node of several ranks: shm windows, as a communicator would map */
    if (nodes == 1 && ppn > 1 && tutti_param_size(TUTTI_P_SHM_WIN_SIZE) >= 64) {
        cfg.model.win = 1;
        cfg.model.win_bytes = tutti_param_size(TUTTI_P_SHM_WIN_SIZE);
        cfg.model.win_oneshot = tutti_param_size(TUTTI_P_SHM_WIN_ONESHOT);
    }
    (void)tutti_param_raw(TUTTI_P_SMALL_MSG_SIZE, &from_env);
    if (from_env) cfg.model.on = 0;
    printf("# Algorithms for %d node(s) x %d rank(s) = %d ranks, %d socket(s) per node, %s between nodes "
           "(TUTTI_ALGO='%s', %s)\n",
           nodes, ppn, p, sockets, net, tutti_param_str(TUTTI_P_ALGO),
           cfg.model.on ? "cost model" : "TUTTI_SMALL_MSG_SIZE threshold");
    if (cfg.model.on) {
        static const char *const hop[] = {"same socket", "other socket", "other node"};
        for (int h = 0; h < TUTTI_NUM_HOPS; h++)
            printf("#   %-12s alpha %6.2f us  %6.2f GB/s\n", hop[h], cfg.model.hop[h].alpha * 1e6,
                   1e-9 / cfg.model.hop[h].beta);
        printf("#   reduction   %6.2f GB/s; pipelining slices up to %zu B (the slot; \"ring/16K\": 16 KiB slices)\n",
               1e-9 / cfg.model.gamma, cfg.model.chunk);
    }
    tutti_algo_table(&cfg, p, nodes, table, sizeof(table));
    printf("%s\n# Why, by call size: the algorithm, its model time >= the alpha-beta lower bound of the "
           "collective (ratio: model / bound), and why\n",
           table);
    printf("# %-13s %11s    %-13s %13s    %13s %7s  %s\n", "collective", "size", "algo", "model", "lower bound",
           "ratio", "why");
    for (int c = 0; c < TUTTI_NUM_COLLS; c++) {
        if (c == TUTTI_COLL_BARRIER) {
            tutti_info_why(&cfg, (tutti_coll_t)c, 0, p, nodes);
            continue;
        }
        for (size_t b = 8; b <= ((size_t)1 << 30); b *= 16) tutti_info_why(&cfg, (tutti_coll_t)c, b, p, nodes);
    }
    return 0;
}

static int tutti_info_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-p] [-a] | --tune --nodes N --ppn P [--topo FILE.xml] [--net tcp|ucx|verbs]\n", argv0);
    return 2;
}

/* Every transport registered: where it came from, its version, and why
 * one was left out (a library or plugin that does not load, a table that
 * fails the checks). */
static void tutti_info_transports(const tutti_tp_entry_t *tps, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        const tutti_tp_entry_t *e = &tps[t];
        char from[300];
        if (e->origin == TUTTI_TP_BUILTIN) snprintf(from, sizeof(from), "built in");
        else snprintf(from, sizeof(from), "plugin %s", e->path[0] ? e->path : "(not found)");
        char why[256] = "";
        if (e->tp && (e->tp->caps & TUTTI_TP_CAP_PROBE) && e->tp->probe(0, why, sizeof(why)) != TUTTI_SUCCESS)
            printf("  %-8s %-8s %s, interface v%u%s%s; not chosen here: %s\n", e->name, "loaded", from,
                   e->tp->api_version, e->version[0] ? ", " : "", e->version, why);
        else if (e->tp)
            printf("  %-8s %-8s %s, interface v%u%s%s\n", e->name, "usable", from, e->tp->api_version,
                   e->version[0] ? ", " : "", e->version);
        else
            printf("  %-8s %-8s %s: %s\n", e->name, "left out", from, e->why);
    }
}

int main(int argc, char **argv)
{
    int params_only = 0, algos = 0, tune = 0, nodes = 1, ppn = 1;
    const char *topo_file = NULL, *net = "tcp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0) params_only = 1;
        else if (strcmp(argv[i], "-a") == 0) algos = 1;
        else if (strcmp(argv[i], "--tune") == 0) tune = 1;
        else if (strcmp(argv[i], "--topo") == 0 && i + 1 < argc) topo_file = argv[++i];
        else if (strcmp(argv[i], "--net") == 0 && i + 1 < argc) {
            net = argv[++i];
            if (strcmp(net, "tcp") && strcmp(net, "ucx") && strcmp(net, "verbs")) {
                fprintf(stderr, "tutti-info: --net takes tcp, ucx or verbs, not '%s'\n", net);
                return 2;
            }
        }
        else if ((strcmp(argv[i], "--nodes") == 0 || strcmp(argv[i], "--ppn") == 0) && i + 1 < argc) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 1 || v > (1 << 20)) {
                fprintf(stderr, "tutti-info: %s wants a count from 1 to %d, not '%s'\n", argv[i], 1 << 20, argv[i + 1]);
                return 2;
            }
            if (argv[i][2] == 'n') nodes = (int)v;
            else ppn = (int)v;
            i++;
        } else {
            return tutti_info_usage(argv[0]);
        }
    }
    if (tune) return tutti_info_tune(nodes, ppn, topo_file, net);
    if (!params_only) {
        char topo[256];
        size_t n;
        const tutti_tp_entry_t *tps = tutti_transports_list(&n);
        tutti_rank_info_t me;
        tutti_comm_local_info(&me);
        printf("# tutti %s (transport interface version %d)\n", tutti_version_string(), TUTTI_TRANSPORT_API_VERSION);
        printf("transports:  ");
        for (size_t t = 0, k = 0; t < n; t++)
            if (tps[t].tp) printf("%s%s", k++ ? ", " : "", tps[t].name);
        printf("\n");
        tutti_info_transports(tps, n);
        tutti_topo_summary(topo, sizeof(topo));
        printf("topology:    %s\n", topo);
        printf("node:        host %s, id %016llx\n", me.host, (unsigned long long)me.hostid);
        if (algos) tutti_info_algos();
    }
    tutti_info_params();
    return tutti_param_error() ? 1 : 0;
}
