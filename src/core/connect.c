/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which transport serves which peer (TUTTI_TRANSPORTS, the node map), and
 * the collective set-up of every enabled transport.
 */
#include "core/comm.h"

#include "core/transports.h"
#include "util/log.h"
#include "util/param.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tutti_result_t tutti_comm_boot_allgather(void *ctx, const void *mine, void *all, size_t bytes)
{
    return tutti_bootstrap_allgather(ctx, mine, all, bytes);
}

static tutti_result_t tutti_comm_boot_barrier(void *ctx)
{
    return tutti_bootstrap_barrier(ctx);
}

/* TUTTI_TRANSPORTS: names in order of preference ("shm,tcp"), or
 * exclusions only ("^shm": the registry's order without them).  Fills
 * order[] with indexes into the registry: a named transport that was left
 * out is kept (the probe then fails with the reason), one only allowed by
 * default is skipped.  Returns how many, or -1 with a message. */
static int tutti_comm_transport_order(const char *spec, const tutti_tp_entry_t *reg, size_t nreg, int *order,
                                      char *err, size_t errlen)
{
    int n = 0, excl = 0, incl = 0;
    uint32_t excluded = 0;
    char tok[TUTTI_TP_NAME_MAX];
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",");
        int neg = p[0] == '^';
        const char *name = p + neg;
        size_t nl = len - (size_t)neg;
        if (nl == 0 || nl >= sizeof(tok)) {
            snprintf(err, errlen, "TUTTI_TRANSPORTS='%s': empty or overlong name at '%.*s'", spec, (int)len, p);
            return -1;
        }
        memcpy(tok, name, nl);
        tok[nl] = '\0';
        size_t t;
        for (t = 0; t < nreg; t++)
            if (strcmp(reg[t].name, tok) == 0) break;
        if (t == nreg) {
            char known[256] = "";
            for (size_t k = 0; k < nreg; k++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s%s", k ? ", " : "", reg[k].name,
                         reg[k].tp ? "" : " (left out)");
            snprintf(err, errlen, "TUTTI_TRANSPORTS='%s': unknown transport '%s' (registered here: %s; tutti-info "
                                  "lists them)",
                     spec, tok, known);
            return -1;
        }
        if (neg) {
            excluded |= 1u << t;
            excl = 1;
        } else {
            int dup = 0;
            for (int k = 0; k < n; k++) dup |= order[k] == (int)t;
            if (!dup) order[n++] = (int)t;
            incl = 1;
        }
        p += len;
        if (*p == ',') p++;
    }
    if (excl && incl) {
        snprintf(err, errlen, "TUTTI_TRANSPORTS='%s': give either names in order or exclusions (^name), not both",
                 spec);
        return -1;
    }
    if (!incl)
        for (size_t t = 0; t < nreg; t++)
            if (!(excluded & (1u << t)) && reg[t].tp) order[n++] = (int)t;
    return n;
}

/* A transport named in TUTTI_TRANSPORTS (not only allowed by default or by
 * an exclusion)? */
static int tutti_comm_transport_named(const char *spec, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (p[0] != '^' && len == nl && strncmp(p, name, nl) == 0) return 1;
        p += len;
        if (*p == ',') p++;
    }
    return 0;
}

/* Keeps in order[] the transports every rank can use (registered, and its
 * probe finds a device or a library), the same on every rank, in rank 0's
 * order: one allgather of the names each rank can use (by name, so ranks
 * whose hosts have different plugins still agree).  One the user named but
 * some rank cannot use is an error naming that rank and why; one only
 * allowed by default is dropped (INFO). */
typedef struct {
    uint32_t nok;
    char ok[TUTTI_TP_REGISTRY_MAX][TUTTI_TP_NAME_MAX];
    char why[124];
} tutti_probe_t;

static int tutti_probe_has(const tutti_probe_t *pr, const char *name)
{
    for (uint32_t k = 0; k < pr->nok && k < TUTTI_TP_REGISTRY_MAX; k++)
        if (strncmp(pr->ok[k], name, TUTTI_TP_NAME_MAX) == 0) return 1;
    return 0;
}

static tutti_result_t tutti_comm_transport_probe(tutti_comm_t comm, const tutti_tp_entry_t *reg, size_t nreg,
                                                 int *order, int *norder, char *err, size_t errlen)
{
    int p = comm->nranks;
    const char *spec = tutti_param_str(TUTTI_P_TRANSPORTS);
    tutti_probe_t mine;
    memset(&mine, 0, sizeof(mine));
    for (int k = 0; k < *norder; k++) {
        const tutti_tp_entry_t *e = &reg[order[k]];
        char why[200] = "";
        int ok;
        if (!e->tp) {
            snprintf(why, sizeof(why), "left out: %.180s", e->why);
            ok = 0;
        } else {
            ok = !(e->tp->caps & TUTTI_TP_CAP_PROBE) ||
                 e->tp->probe(tutti_comm_transport_named(spec, e->name), why, sizeof(why)) == TUTTI_SUCCESS;
        }
        if (ok) {
            snprintf(mine.ok[mine.nok++], TUTTI_TP_NAME_MAX, "%s", e->name);
        } else {
            TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, comm->rank, "transport %s not usable on this rank: %s", e->name, why);
            if (!mine.why[0]) snprintf(mine.why, sizeof(mine.why), "%s: %s", e->name, why);
        }
    }
    tutti_probe_t *all = calloc((size_t)p, sizeof(*all));
    if (!all) {
        snprintf(err, errlen, "out of memory for %d peers", p);
        return TUTTI_ERR_NO_MEMORY;
    }
    tutti_result_t r = tutti_bootstrap_allgather(comm->boot, &mine, all, sizeof(mine));
    if (r != TUTTI_SUCCESS) {
        snprintf(err, errlen, "allgather of the usable transports failed (%s)", tutti_result_name(r));
        goto out;
    }
    /* a named transport every rank must have */
    for (int k = 0; k < *norder; k++) {
        const char *name = reg[order[k]].name;
        if (!tutti_comm_transport_named(spec, name)) continue;
        for (int q = 0; q < p; q++)
            if (!tutti_probe_has(&all[q], name)) {
                snprintf(err, errlen, "TUTTI_TRANSPORTS='%s' asks for %s, but rank %d (host %s) cannot use it (%s)",
                         spec, name, q, comm->info[q].host, all[q].why[0] ? all[q].why : "probe failed");
                r = TUTTI_ERR_UNSUPPORTED;
                goto out;
            }
    }
    /* said once (rank 0): what is dropped, naming a rank that cannot use it */
    for (int k = 0; k < *norder && comm->rank == 0; k++) {
        const char *name = reg[order[k]].name;
        for (int q = 0; q < p; q++)
            if (!tutti_probe_has(&all[q], name)) {
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, comm->rank, "transport %s left out: rank %d cannot use it (%s)",
                           name, q, all[q].why);
                break;
            }
    }
    /* rank 0's order, kept where every rank has it */
    int n = 0;
    for (uint32_t k = 0; k < all[0].nok && k < TUTTI_TP_REGISTRY_MAX; k++) {
        char name[TUTTI_TP_NAME_MAX];
        snprintf(name, sizeof(name), "%.*s", TUTTI_TP_NAME_MAX - 1, all[0].ok[k]);
        int q;
        for (q = 1; q < p; q++)
            if (!tutti_probe_has(&all[q], name)) break;
        size_t t;
        for (t = 0; t < nreg; t++)
            if (reg[t].tp && strcmp(reg[t].name, name) == 0) break;
        if (q == p && t < nreg && n < TUTTI_MAX_TRANSPORTS) order[n++] = (int)t;
    }
    *norder = n;
out:
    free(all);
    return r;
}

/* Chooses a transport for every peer (the first of TUTTI_TRANSPORTS that
 * reaches it: shm only on the same node) and connects them. */
tutti_result_t tutti_comm_connect(tutti_comm_t comm, char *err, size_t errlen)
{
    int p = comm->nranks;
    tutti_result_t r = TUTTI_SUCCESS;
    size_t nreg;
    const tutti_tp_entry_t *reg = tutti_transports_list(&nreg);
    int order[TUTTI_TP_REGISTRY_MAX];
    int8_t *choice = malloc((size_t)p);
    uint8_t *use = calloc((size_t)p, 1);
    comm->engine.links = calloc((size_t)p * TUTTI_NCHANNELS, sizeof(tutti_link_t));
    if (!use || !choice || !comm->engine.links) {
        snprintf(err, errlen, "out of memory for %d peers", p);
        r = TUTTI_ERR_NO_MEMORY;
        goto out;
    }
    comm->engine.rank = comm->rank;
    comm->engine.nranks = p;
    comm->engine.nchan = TUTTI_NCHANNELS;
    /* every rank must choose alike, or connections would be one-sided */
    for (int q = 0; q < p; q++) {
        if (strcmp(comm->info[q].transports, comm->info[comm->rank].transports) != 0) {
            snprintf(err, errlen, "TUTTI_TRANSPORTS differs between ranks: rank %d has '%s', rank %d has '%s'; set "
                                  "it alike everywhere",
                     comm->rank, comm->info[comm->rank].transports, q, comm->info[q].transports);
            r = TUTTI_ERR_INVALID_USAGE;
            goto out;
        }
    }
    int norder = tutti_comm_transport_order(tutti_param_str(TUTTI_P_TRANSPORTS), reg, nreg, order, err, errlen);
    if (norder < 0) {
        r = TUTTI_ERR_INVALID_ARGUMENT;
        goto out;
    }
    r = tutti_comm_transport_probe(comm, reg, nreg, order, &norder, err, errlen);
    if (r != TUTTI_SUCCESS) goto out;
    for (int q = 0; q < p; q++) {
        choice[q] = -1;
        if (q == comm->rank) continue;
        int same = comm->node_of_rank[q] == comm->node_of_rank[comm->rank];
        for (int k = 0; k < norder && choice[q] < 0; k++) {
            uint32_t caps = reg[order[k]].tp->caps;
            if (same ? (caps & TUTTI_TP_CAP_INTRANODE) : (caps & TUTTI_TP_CAP_INTERNODE)) choice[q] = (int8_t)order[k];
        }
        if (choice[q] < 0) {
            snprintf(err, errlen, "rank %d (host %s) cannot reach rank %d (host %s, %s): no transport in "
                                  "TUTTI_TRANSPORTS='%s' connects %s",
                     comm->rank, comm->info[comm->rank].host, q, comm->info[q].host,
                     same ? "same node" : "another node", tutti_param_str(TUTTI_P_TRANSPORTS),
                     same ? "ranks of one node" : "nodes");
            r = TUTTI_ERR_INVALID_ARGUMENT;
            goto out;
        }
    }
    tutti_tp_boot_t boot = {sizeof(boot), comm->boot, tutti_comm_boot_allgather, tutti_comm_boot_barrier};
    comm->slice_max = SIZE_MAX;
    /* set-up is collective: every enabled transport, in the agreed order
     * (the same on every rank), on every rank */
    for (int k = 0; k < norder; k++) {
        int t = order[k];
        const tutti_transport_t *tp = reg[t].tp;
        int any = 0;
        for (int q = 0; q < p; q++) {
            use[q] = choice[q] == t;
            any |= use[q];
        }
        tutti_tp_setup_t setup = {
            .size = sizeof(setup),
            .comm_id = comm->comm_id,
            .rank = comm->rank,
            .nranks = p,
            .nchannels = TUTTI_NCHANNELS,
            .node_of_rank = comm->node_of_rank,
            .nnodes = comm->nnodes,
            .use = use,
            .slot_size = tutti_param_size(TUTTI_P_SHM_SLOT_SIZE),
            .nslots = (int)tutti_param_int(TUTTI_P_SHM_NSLOTS),
            .boot = &boot,
            .secret = tutti_bootstrap_secret(comm->boot),
            .timeout = tutti_param_seconds(TUTTI_P_INIT_TIMEOUT),
            .err = err,
            .errlen = errlen,
        };
        void *tpcomm = NULL;
        r = tp->comm_create(&setup, &tpcomm);
        if (r != TUTTI_SUCCESS) goto out;
        tutti_comm_tp_t *slot = &comm->tps[comm->ntps++];
        slot->tp = tp;
        slot->tpcomm = tpcomm;
        slot->bytes = 0;
        if (!any) continue;
        /* shared windows, where this transport serves every local peer */
        int all_local = 1;
        for (int q = 0; q < p; q++)
            if (q != comm->rank && comm->node_of_rank[q] == comm->node_of_rank[comm->rank] && !use[q]) all_local = 0;
        if (all_local && (tp->caps & TUTTI_TP_CAP_WINDOW) && tp->window && !comm->engine.win) {
            memset(&comm->win, 0, sizeof(comm->win));
            comm->win.size = sizeof(comm->win);
            if (tp->window(tpcomm, &comm->win) == TUTTI_SUCCESS) {
                comm->engine.win = &comm->win;
                comm->engine.win_next = 1;
            }
        }
        size_t mp = tp->max_payload(tpcomm);
        if (mp < comm->slice_max) comm->slice_max = mp;
        for (int q = 0; q < p; q++) {
            if (!use[q]) continue;
            for (int c = 0; c < TUTTI_NCHANNELS; c++) {
                tutti_link_t *l = tutti_engine_link(&comm->engine, q, c);
                l->tp = tp;
                l->sconn = tp->conn(tpcomm, q, c, 0);
                l->rconn = tp->conn(tpcomm, q, c, 1);
                l->bytes_sent = &slot->bytes;
                l->can_ref = (tp->caps & TUTTI_TP_CAP_SEND_REF) != 0;
                if (strcmp(tp->name, "shm") == 0)
                    l->ref_min = tutti_param_int(TUTTI_P_SHM_CMA) ? tutti_param_size(TUTTI_P_SHM_CMA_MIN) : 0;
                else if (strcmp(tp->name, "tcp") == 0)
                    l->ref_min = tutti_param_size(TUTTI_P_TCP_ZCOPY_MIN);
                else if (strcmp(tp->name, "ucx") == 0)
                    l->ref_min = tutti_param_size(TUTTI_P_UCX_ZCOPY_MIN);
                else if (strcmp(tp->name, "verbs") == 0)
                    l->ref_min = tutti_param_size(TUTTI_P_IB_ZCOPY_MIN);
                else
                    l->ref_min = TUTTI_PLUGIN_REF_MIN;
                /* bytes a progress-driven transport still holds must reach
                 * the kernel before an operation completes: the caller may
                 * not call in again for a long time */
                l->flush = (tp->caps & TUTTI_TP_CAP_NEEDS_PROGRESS) != 0;
                comm->engine.any_flush |= l->flush;
            }
        }
    }
    /* one slice size on every rank: a rank whose peers all sit behind one
     * transport would otherwise cut messages to its slots while its peers
     * cut them to the smallest of theirs */
    {
        uint64_t mine = comm->slice_max, *all = calloc((size_t)p, sizeof(uint64_t));
        if (!all) {
            snprintf(err, errlen, "out of memory for %d peers", p);
            r = TUTTI_ERR_NO_MEMORY;
            goto out;
        }
        r = tutti_bootstrap_allgather(comm->boot, &mine, all, sizeof(mine));
        for (int q = 0; q < p && r == TUTTI_SUCCESS; q++)
            if (all[q] < comm->slice_max) comm->slice_max = (size_t)all[q];
        free(all);
        if (r != TUTTI_SUCCESS) {
            snprintf(err, errlen, "allgather of the slice sizes failed (%s)", tutti_result_name(r));
            goto out;
        }
    }
    if (comm->slice_max == SIZE_MAX) comm->slice_max = 1u << 20; /* one rank: no transport */
    comm->slice_max &= ~(size_t)63;
out:
    free(use);
    free(choice);
    return r;
}

