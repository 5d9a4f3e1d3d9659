/* SPDX-License-Identifier: BSD-3-Clause */
#include "sim/simcase.h"

#include "dtype/dtype.h"
#include "patterns/patterns.h"
#include "refcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t simcase_send_elems(const sim_case_t *c)
{
    switch (c->coll) {
    case TUTTI_COLL_REDUCE_SCATTER:
    case TUTTI_COLL_ALLTOALL:
        return c->count * (size_t)c->p;
    case TUTTI_COLL_BARRIER:
        return 0;
    default:
        return c->count;
    }
}

static size_t simcase_recv_elems(const sim_case_t *c)
{
    switch (c->coll) {
    case TUTTI_COLL_ALLGATHER:
    case TUTTI_COLL_ALLTOALL:
        return c->count * (size_t)c->p;
    case TUTTI_COLL_BARRIER:
        return 0;
    default:
        return c->count;
    }
}

/* The expected result of rank r in want (n elements; *n 0: nothing to
 * check).  What all ranks share is computed once (*ready). */
static void simcase_want(const sim_case_t *c, int r, char *want, size_t *n, int *ready)
{
    size_t es = tutti_dtype_size(c->dt);
    int p = c->p;
    switch (c->coll) {
    case TUTTI_COLL_ALLREDUCE:
    case TUTTI_COLL_REDUCE:
        if (c->coll == TUTTI_COLL_REDUCE && r != c->root)
            *n = 0;
        else if (!*ready)
            ref_reduce(want, c->count, c->dt, c->op, p, 0, c->seed);
        break;
    case TUTTI_COLL_BROADCAST:
        if (!*ready) ref_fill(want, c->count, c->dt, TUTTI_SUM, c->root, 0, c->seed);
        break;
    case TUTTI_COLL_ALLGATHER:
        if (!*ready)
            for (int q = 0; q < p; q++)
                ref_fill(want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, 0, c->seed);
        break;
    case TUTTI_COLL_REDUCE_SCATTER:
        ref_reduce(want, c->count, c->dt, c->op, p, (size_t)r * c->count, c->seed);
        *n = c->count;
        return;
    case TUTTI_COLL_ALLTOALL: /* block q: rank q's block r */
        for (int q = 0; q < p; q++)
            ref_fill(want + (size_t)q * c->count * es, c->count, c->dt, TUTTI_SUM, q, (size_t)r * c->count, c->seed);
        return;
    default:
        *n = 0;
        return;
    }
    if (*n) *ready = 1;
}

/* Checks every rank's result; 1 when all are right. */
static int simcase_check(const sim_case_t *c, char **rbuf, char *err, size_t errlen)
{
    size_t es = tutti_dtype_size(c->dt), rn = simcase_recv_elems(c);
    char *want = malloc(rn * es + 16);
    int ok = 1, ready = 0;
    for (int r = 0; ok && r < c->p; r++) {
        const char *got = rbuf[r];
        size_t n = rn, first = 0;
        simcase_want(c, r, want, &n, &ready);
        if (c->coll == TUTTI_COLL_REDUCE_SCATTER && c->inplace) got = rbuf[r] + (size_t)r * c->count * es;
        size_t bad = n ? ref_mismatches(got, want, n, c->dt, &first) : 0;
        if (bad) {
            snprintf(err, errlen, "rank %d: %zu of %zu elements wrong, first at %zu", r, bad, n, first);
            ok = 0;
        }
        /* nothing written past the end */
        const unsigned char *tailp = (const unsigned char *)rbuf[r] + rn * es;
        if (ok && !(c->coll == TUTTI_COLL_REDUCE_SCATTER && c->inplace) &&
            !(c->coll == TUTTI_COLL_REDUCE && r != c->root)) {
            for (int k = 0; k < 16; k++)
                if (tailp[k] != 0xa5) {
                    snprintf(err, errlen, "rank %d: wrote past the end of recvbuf", r);
                    ok = 0;
                    break;
                }
        }
    }
    free(want);
    return ok;
}

/* The job shape of a case: node of each rank (NULL: one node), as the
 * builders get it. */
static int *simcase_shape(const sim_case_t *c, int *nnodes, int *node_win)
{
    int p = c->p;
    if (c->node) {
        *nnodes = c->nnodes;
        *node_win = c->node_win;
        if (c->nnodes <= 1) return NULL;
        int *node = malloc(sizeof(int) * (size_t)p);
        memcpy(node, c->node, sizeof(int) * (size_t)p);
        return node;
    }
    /* one node, nodes of 2 consecutive ranks, ranks dealt round-robin over
     * 3 nodes (not contiguous), nodes of 3 (the last one smaller) */
    int shape = (c->algo == TUTTI_ALGO_HIER || c->algo == TUTTI_ALGO_RING || c->algo == TUTTI_ALGO_TREE)
                    ? (int)(c->seed % 4)
                    : 0;
    *nnodes = 1;
    /* hier inside nodes over windows in half the cases */
    *node_win = c->algo == TUTTI_ALGO_HIER && (c->seed / 4) % 2;
    if (!shape) return NULL;
    int *node = malloc(sizeof(int) * (size_t)p);
    for (int r = 0; r < p; r++) {
        node[r] = shape == 1 ? r / 2 : shape == 2 ? r % 3 : r / 3;
        if (node[r] + 1 > *nnodes) *nnodes = node[r] + 1;
    }
    return node;
}

int sim_case_run(sim_world_t *w, const sim_case_t *c, char *err, size_t errlen)
{
    int p = c->p, nnodes, node_win;
    size_t es = tutti_dtype_size(c->dt);
    size_t sn = simcase_send_elems(c), rn = simcase_recv_elems(c);
    char **sbuf = calloc((size_t)p, sizeof(char *)), **rbuf = calloc((size_t)p, sizeof(char *));
    tutti_exec_t *xs = calloc((size_t)p, sizeof(tutti_exec_t));
    tutti_exec_t **xp = calloc((size_t)p, sizeof(tutti_exec_t *));
    int *node = simcase_shape(c, &nnodes, &node_win), *order = NULL, *pos = NULL;
    int ok = 1;
    if (!tutti_coll_builder(c->coll, c->algo)) {
        snprintf(err, errlen, "no such algorithm");
        ok = 0;
        goto out;
    }
    /* rings run in the topology order of that shape (round-robin shapes
     * reorder them; all-gather and reduce-scatter keep rank order) */
    if (node) {
        order = malloc(sizeof(int) * (size_t)p);
        pos = malloc(sizeof(int) * (size_t)p);
        tutti_pattern_topo_order(p, node, NULL, NULL, order);
        for (int i = 0; i < p; i++) pos[order[i]] = i;
    }
    for (int r = 0; r < p; r++) {
        rbuf[r] = malloc(rn * es + 16);
        memset(rbuf[r], 0xa5, rn * es + 16);
        sbuf[r] = malloc(sn * es + 16);
        tutti_op_t fop = tutti_coll_has_op(c->coll) ? c->op : TUTTI_SUM;
        ref_fill(sbuf[r], sn, c->dt, fop, r, 0, c->seed);
        const void *send = sbuf[r];
        void *recv = rbuf[r];
        if (c->inplace) {
            if (c->coll == TUTTI_COLL_ALLGATHER) {
                memcpy(rbuf[r] + (size_t)r * c->count * es, sbuf[r], c->count * es);
                send = rbuf[r] + (size_t)r * c->count * es;
            } else if (c->coll == TUTTI_COLL_REDUCE_SCATTER) {
                free(rbuf[r]);
                rbuf[r] = sbuf[r];
                sbuf[r] = NULL;
                send = rbuf[r];
                recv = rbuf[r] + (size_t)r * c->count * es;
            } else {
                memcpy(rbuf[r], sbuf[r], sn * es);
                send = rbuf[r];
            }
        }
        if (c->coll == TUTTI_COLL_BROADCAST && r != c->root && !c->inplace) send = NULL;
        if (c->coll == TUTTI_COLL_REDUCE && r != c->root && !c->inplace) recv = NULL;
        tutti_coll_args_t a = {.coll = c->coll,
                               .sendbuf = send,
                               .recvbuf = recv,
                               .count = c->count,
                               .dtype = c->dt,
                               .op = c->op,
                               .root = c->root,
                               .rank = r,
                               .nranks = p,
                               .esize = es,
                               .node_of_rank = node,
                               .nnodes = nnodes,
                               .node_win = node_win,
                               .small_msg = c->small_msg,
                               .ring_order = order,
                               .ring_pos = pos};
        tutti_sched_init(&xs[r].sched, c->slot, es, 2);
        if (ok && (c->count > 0 || c->coll == TUTTI_COLL_BARRIER)) {
            tutti_result_t br = tutti_coll_build(&xs[r].sched, &a, c->algo);
            if (br != TUTTI_SUCCESS || xs[r].sched.oom) {
                snprintf(err, errlen, "rank %d: builder failed (%d)", r, (int)br);
                ok = 0;
            }
        }
        tutti_sched_finish(&xs[r].sched);
        tutti_exec_start(&xs[r], c->dt, c->op, p, 0x1234u + (uint32_t)c->coll, 1);
        xp[r] = &xs[r];
    }
    if (ok && sim_run(w, xp, err, errlen) != 0) ok = 0;
    if (ok) ok = simcase_check(c, rbuf, err, errlen);
    for (int r = 0; r < p; r++) {
        free(sbuf[r]);
        free(rbuf[r]);
        tutti_sched_free(&xs[r].sched);
    }
out:
    free(sbuf);
    free(rbuf);
    free(xs);
    free(xp);
    free(node);
    free(order);
    free(pos);
    return ok;
}

const char *sim_case_str(const sim_case_t *c)
{
    static char s[320];
    int n = snprintf(s, sizeof(s), "%s/%s p=%d count=%zu %s %s root=%d %s slots=%u x %zu B", tutti_coll_name(c->coll),
                     tutti_algo_name(c->algo), c->p, c->count, tutti_dtype_name(c->dt), tutti_dtype_op_name(c->op),
                     c->root, c->inplace ? "in-place" : "out-of-place", c->nslots, c->slot);
    if (c->node && n > 0 && (size_t)n < sizeof(s))
        snprintf(s + n, sizeof(s) - (size_t)n, " seed=%u%s%s", c->seed, c->node_win ? " node windows" : "",
                 c->small_msg ? " small_msg=1" : "");
    return s;
}
