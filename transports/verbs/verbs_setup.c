/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ibverbs transport's set-up and teardown.
 *
 *   every rank with verbs peers: open the port, PD, CQ, control area; per
 *                 (peer, channel) an RC QP in INIT with nslots receives posted
 *   allgather:    one record per rank: LID, GID, MTU, control area address and
 *                 rkey, the QPN of each of its QPs by (peer, channel); ranks
 *                 without verbs peers send an empty record
 *   every rank:   its QPs to RTR (the peer's QPN, LID or GID, PSN) and RTS
 *   allgather:    "all my QPs are up": everyone fails, or nobody
 *
 * The records travel through the bootstrap, which authenticates its members
 * with the communicator's secret, so QPs only ever connect to this job.
 */
#include "verbs/verbs.h"

#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The record every rank contributes (followed by qpn[nranks * nchan]). */
typedef struct {
    uint32_t ok; /* 1: has a port and QPs */
    uint16_t lid;
    uint8_t link_layer, mtu;
    uint8_t gid[16];
    uint64_t ctrl_addr;
    uint32_t ctrl_rkey;
    uint32_t nslots;
} tutti_verbs_rec_t;

/* A QP's first PSN: both sides compute it from the QPN they exchanged. */
uint32_t tutti_verbs_psn(uint32_t qpn)
{
    return (qpn * 2654435761u) & 0xffffffu;
}

static void tutti_verbs_pc_free(tutti_verbs_comm_t *vc, tutti_verbs_pc_t *pc)
{
    if (!pc) return;
    if (pc->qp) ibv_destroy_qp(pc->qp);
    if (pc->mr) ibv_dereg_mr(pc->mr);
    if (pc->sref)
        for (uint32_t i = 0; i < pc->nslots; i++) tutti_verbs_rcache_put(&vc->rcache, pc->sref[i]);
    free(pc->buf);
    free(pc->sref);
    free(pc->rlen);
    free(pc->rtag);
    free(pc);
}

tutti_result_t tutti_verbs_comm_destroy(void *tpcomm)
{
    tutti_verbs_comm_t *vc = tpcomm;
    if (!vc) return TUTTI_SUCCESS;
    if (vc->pcs)
        for (size_t k = 0; k < (size_t)vc->nranks * (size_t)vc->nchan; k++) tutti_verbs_pc_free(vc, vc->pcs[k]);
    tutti_verbs_rcache_destroy(&vc->rcache);
    if (vc->ctrl_mr) ibv_dereg_mr(vc->ctrl_mr);
    free(vc->ctrl);
    if (vc->cq) ibv_destroy_cq(vc->cq);
    if (vc->pd) ibv_dealloc_pd(vc->pd);
    if (vc->port.ctx) ibv_close_device(vc->port.ctx);
    free(vc->pcs);
    free(vc->active);
    free(vc->peer_ctrl_addr);
    free(vc->peer_ctrl_rkey);
    free(vc);
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_verbs_post_recv(tutti_verbs_pc_t *pc, uint32_t i)
{
    struct ibv_sge sge = {(uintptr_t)(pc->rbuf + (size_t)i * pc->slot), (uint32_t)pc->slot, pc->mr->lkey};
    struct ibv_recv_wr wr, *bad;
    memset(&wr, 0, sizeof(wr));
    wr.wr_id = (uint64_t)pc->idx << 8 | TUTTI_VERBS_WR_RECV;
    wr.sg_list = &sge;
    wr.num_sge = 1;
    return ibv_post_recv(pc->qp, &wr, &bad) == 0 ? TUTTI_SUCCESS : TUTTI_ERR_SYSTEM;
}

/* Ring buffers, their registration, the QP in INIT with every receive
 * posted. */
static tutti_result_t tutti_verbs_pc_new(tutti_verbs_comm_t *vc, int peer, int chan, uint32_t nslots, size_t slot,
                                         char *err, size_t errlen)
{
    tutti_verbs_pc_t *pc = calloc(1, sizeof(*pc));
    if (!pc) goto nomem;
    vc->pcs[(size_t)peer * (size_t)vc->nchan + (size_t)chan] = pc;
    pc->vc = vc;
    pc->peer = peer;
    pc->chan = chan;
    pc->idx = vc->nactive;
    vc->active[vc->nactive++] = pc;
    pc->nslots = nslots;
    pc->slot = slot;
    size_t ring = (size_t)nslots * slot;
    if (posix_memalign((void **)&pc->buf, 4096, 2 * ring + 64) != 0) {
        pc->buf = NULL;
        goto nomem;
    }
    memset(pc->buf, 0, 2 * ring + 64); /* fault the rings in now */
    pc->sbuf = pc->buf;
    pc->rbuf = pc->buf + ring;
    pc->credit_src = (volatile uint64_t *)(pc->buf + 2 * ring);
    pc->sref = calloc(nslots, sizeof(*pc->sref));
    pc->rlen = calloc(nslots, sizeof(uint32_t));
    pc->rtag = calloc(nslots, sizeof(uint32_t));
    if (!pc->sref || !pc->rlen || !pc->rtag) goto nomem;
    pc->mr = ibv_reg_mr(vc->pd, pc->buf, 2 * ring + 64, IBV_ACCESS_LOCAL_WRITE);
    if (!pc->mr) {
        snprintf(err, errlen, "verbs: rank %d: ibv_reg_mr of %zu bytes (the rings for rank %d) failed: %s%s", vc->rank,
                 2 * ring + 64, peer, strerror(errno),
                 errno == ENOMEM || errno == EPERM ? " (raise the locked-memory limit: ulimit -l unlimited, or "
                                                     "lower TUTTI_IB_NSLOTS/TUTTI_IB_SLOT_SIZE)"
                                                   : "");
        return TUTTI_ERR_SYSTEM;
    }
    pc->sq_max = (int)nslots + TUTTI_VERBS_SQ_EXTRA;
    struct ibv_qp_init_attr qa;
    memset(&qa, 0, sizeof(qa));
    qa.send_cq = vc->cq;
    qa.recv_cq = vc->cq;
    qa.qp_type = IBV_QPT_RC;
    qa.cap.max_send_wr = (uint32_t)pc->sq_max;
    qa.cap.max_recv_wr = nslots;
    qa.cap.max_send_sge = 1;
    qa.cap.max_recv_sge = 1;
    pc->qp = ibv_create_qp(vc->pd, &qa);
    if (!pc->qp) {
        snprintf(err, errlen, "verbs: rank %d: ibv_create_qp (RC, %d send / %u receive entries) on %s failed: %s",
                 vc->rank, pc->sq_max, nslots, vc->port.name, strerror(errno));
        return TUTTI_ERR_SYSTEM;
    }
    struct ibv_qp_attr a;
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_INIT;
    a.pkey_index = 0;
    a.port_num = (uint8_t)vc->port.port;
    a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_LOCAL_WRITE;
    if (ibv_modify_qp(pc->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS) != 0) {
        snprintf(err, errlen, "verbs: rank %d: QP %u to INIT failed: %s", vc->rank, pc->qp->qp_num, strerror(errno));
        return TUTTI_ERR_SYSTEM;
    }
    for (uint32_t i = 0; i < nslots; i++) {
        if (tutti_verbs_post_recv(pc, i) != TUTTI_SUCCESS) {
            snprintf(err, errlen, "verbs: rank %d: ibv_post_recv on QP %u failed", vc->rank, pc->qp->qp_num);
            return TUTTI_ERR_SYSTEM;
        }
    }
    return TUTTI_SUCCESS;
nomem:
    snprintf(err, errlen, "verbs: rank %d: out of memory for the rings of rank %d (%u x %zu bytes)", vc->rank, peer,
             nslots, slot);
    return TUTTI_ERR_NO_MEMORY;
}

/* TUTTI_IB_RETRY_CNT; soft-RoCE (rxe) treats 7 as "retry forever" (unlike
 * the spec, where only rnr_retry 7 is), so a dead peer would never be
 * noticed there: 6 instead. */
int tutti_verbs_retry_cnt(const tutti_verbs_comm_t *vc)
{
    int n = (int)tutti_param_int(TUTTI_P_IB_RETRY_CNT);
    return n == 7 && vc->port.vendor_id == 0xffffffu ? 6 : n;
}

/* INIT -> RTR -> RTS towards the peer's QP. */
static tutti_result_t tutti_verbs_pc_connect(tutti_verbs_comm_t *vc, tutti_verbs_pc_t *pc,
                                             const tutti_verbs_rec_t *peer, uint32_t peer_qpn, char *err,
                                             size_t errlen)
{
    struct ibv_qp_attr a;
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = (enum ibv_mtu)(peer->mtu < vc->port.mtu ? peer->mtu : vc->port.mtu);
    a.dest_qp_num = peer_qpn;
    a.rq_psn = tutti_verbs_psn(peer_qpn);
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer = 12; /* 0.64 ms */
    a.ah_attr.port_num = (uint8_t)vc->port.port;
    if (vc->port.link_layer == IBV_LINK_LAYER_INFINIBAND) {
        a.ah_attr.dlid = peer->lid;
    } else {
        a.ah_attr.is_global = 1;
        memcpy(a.ah_attr.grh.dgid.raw, peer->gid, 16);
        a.ah_attr.grh.sgid_index = (uint8_t)vc->port.gid_index;
        a.ah_attr.grh.hop_limit = 64;
    }
    if (ibv_modify_qp(pc->qp, &a,
                      IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                          IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER) != 0) {
        char g[64];
        union ibv_gid dg;
        memcpy(dg.raw, peer->gid, 16);
        snprintf(err, errlen, "verbs: rank %d: QP %u to RTR towards rank %d (QP %u, LID %u, GID %s) failed: %s "
                              "(same fabric and GID type on both sides? TUTTI_IB_GID_INDEX)",
                 vc->rank, pc->qp->qp_num, pc->peer, peer_qpn, peer->lid, tutti_verbs_gid_str(&dg, g, sizeof(g)),
                 strerror(errno));
        return TUTTI_ERR_SYSTEM;
    }
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTS;
    a.timeout = (uint8_t)tutti_param_int(TUTTI_P_IB_TIMEOUT);
    a.retry_cnt = (uint8_t)tutti_verbs_retry_cnt(vc);
    a.rnr_retry = 7; /* forever: credits make RNR rare, and it is never fatal */
    a.sq_psn = tutti_verbs_psn(pc->qp->qp_num);
    a.max_rd_atomic = 1;
    if (ibv_modify_qp(pc->qp, &a,
                      IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                          IBV_QP_MAX_QP_RD_ATOMIC) != 0) {
        snprintf(err, errlen, "verbs: rank %d: QP %u to RTS towards rank %d failed: %s", vc->rank, pc->qp->qp_num,
                 pc->peer, strerror(errno));
        return TUTTI_ERR_SYSTEM;
    }
    return TUTTI_SUCCESS;
}

/* Every rank's status to every rank: *r becomes the first failure on all. */
static int tutti_verbs_agree(const tutti_tp_setup_t *setup, tutti_result_t *r)
{
    int32_t st = (int32_t)*r;
    int32_t *status = calloc((size_t)setup->nranks, sizeof(*status));
    if (!status) {
        if (*r == TUTTI_SUCCESS) snprintf(setup->err, setup->errlen, "verbs: out of memory");
        *r = TUTTI_ERR_NO_MEMORY; /* the others hang until their deadline: nothing better to do */
        return -1;
    }
    tutti_result_t r2 = setup->boot->allgather(setup->boot->ctx, &st, status, sizeof(st));
    if (r2 != TUTTI_SUCCESS) {
        if (*r == TUTTI_SUCCESS) {
            snprintf(setup->err, setup->errlen, "verbs: exchanging set-up status failed");
            *r = r2;
        }
        free(status);
        return -1;
    }
    for (int q = 0; *r == TUTTI_SUCCESS && q < setup->nranks; q++) {
        if (status[q] != 0) {
            snprintf(setup->err, setup->errlen, "verbs: rank %d could not set up its queue pairs (%s); see its log", q,
                     tutti_result_name((tutti_result_t)status[q]));
            *r = TUTTI_ERR_REMOTE;
        }
    }
    free(status);
    return 0;
}

tutti_result_t tutti_verbs_comm_create(const tutti_tp_setup_t *setup, void **out)
{
    tutti_result_t r = TUTTI_SUCCESS, r2;
    char *err = setup->err;
    size_t errlen = setup->errlen;
    char *all = NULL, *mine = NULL;
    tutti_verbs_comm_t *vc = calloc(1, sizeof(*vc));
    if (!vc) {
        snprintf(err, errlen, "verbs: out of memory");
        return TUTTI_ERR_NO_MEMORY;
    }
    vc->rank = setup->rank;
    vc->nranks = setup->nranks;
    vc->nchan = setup->nchannels;
    size_t slot = tutti_param_size(TUTTI_P_IB_SLOT_SIZE) & ~(size_t)63;
    uint32_t nslots = (uint32_t)tutti_param_int(TUTTI_P_IB_NSLOTS);
    vc->max_payload = slot;
    /* credits go back when half the ring is released (and whenever the
     * engine stalls: progress) */
    vc->credit_batch = nslots >= 4 ? (int)nslots / 2 : 1;
    int any = 0, npc = 0;
    for (int q = 0; q < vc->nranks; q++)
        if (setup->use[q]) {
            any = 1;
            npc += vc->nchan;
        }
    size_t nq = (size_t)vc->nranks * (size_t)vc->nchan;
    size_t rec_bytes = sizeof(tutti_verbs_rec_t) + nq * sizeof(uint32_t);
    mine = calloc(1, rec_bytes);
    all = calloc((size_t)vc->nranks, rec_bytes);
    vc->pcs = calloc(nq, sizeof(*vc->pcs));
    vc->active = calloc(nq, sizeof(*vc->active));
    vc->peer_ctrl_addr = calloc((size_t)vc->nranks, sizeof(uint64_t));
    vc->peer_ctrl_rkey = calloc((size_t)vc->nranks, sizeof(uint32_t));
    if (!mine || !all || !vc->pcs || !vc->active || !vc->peer_ctrl_addr || !vc->peer_ctrl_rkey) {
        snprintf(err, errlen, "verbs: out of memory for %d ranks", vc->nranks);
        r = TUTTI_ERR_NO_MEMORY;
    }
    if (r == TUTTI_SUCCESS && vc->nchan > TUTTI_VERBS_MAX_CHAN) {
        snprintf(err, errlen, "verbs: %d channels, at most %d supported", vc->nchan, TUTTI_VERBS_MAX_CHAN);
        r = TUTTI_ERR_INTERNAL;
    }
    tutti_verbs_rec_t *rec = (tutti_verbs_rec_t *)mine;
    if (r == TUTTI_SUCCESS && any) {
        char why[200] = "", chosen[200] = "";
        int local_rank = 0;
        for (int q = 0; q < setup->rank; q++)
            local_rank += !setup->node_of_rank || setup->node_of_rank[q] == setup->node_of_rank[setup->rank];
        r = tutti_verbs_port_find(1, local_rank, &vc->port, chosen, sizeof(chosen), why, sizeof(why));
        if (r != TUTTI_SUCCESS) snprintf(err, errlen, "verbs: rank %d: %s", vc->rank, why);
        else if (chosen[0]) TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, vc->rank, "verbs: %s", chosen);
    }
    if (r == TUTTI_SUCCESS && any) {
        vc->pd = ibv_alloc_pd(vc->port.ctx);
        vc->cq_size = npc * (int)(2 * nslots + TUTTI_VERBS_SQ_EXTRA);
        if (vc->pd) vc->cq = ibv_create_cq(vc->port.ctx, vc->cq_size, NULL, NULL, 0);
        vc->ctrl_bytes = (size_t)vc->nranks * sizeof(tutti_verbs_inbox_t) + sizeof(tutti_verbs_outbox_t);
        if (posix_memalign(&vc->ctrl, 4096, vc->ctrl_bytes) != 0) vc->ctrl = NULL;
        if (vc->ctrl) memset(vc->ctrl, 0, vc->ctrl_bytes);
        if (vc->pd && vc->ctrl)
            vc->ctrl_mr = ibv_reg_mr(vc->pd, vc->ctrl, vc->ctrl_bytes,
                                     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
        if (!vc->pd || !vc->cq || !vc->ctrl_mr) {
            snprintf(err, errlen, "verbs: rank %d: %s on %s failed: %s%s", vc->rank,
                     !vc->pd ? "ibv_alloc_pd" : !vc->cq ? "ibv_create_cq" : "registering the control area",
                     vc->port.name, strerror(errno), errno == ENOMEM ? " (ulimit -l?)" : "");
            r = TUTTI_ERR_SYSTEM;
        } else {
            vc->inbox = vc->ctrl;
            vc->outbox = (tutti_verbs_outbox_t *)((char *)vc->ctrl + (size_t)vc->nranks * sizeof(tutti_verbs_inbox_t));
        }
    }
    if (r == TUTTI_SUCCESS && any)
        r = tutti_verbs_rcache_init(&vc->rcache, vc->pd, (int)tutti_param_int(TUTTI_P_IB_RCACHE), 64,
                                    tutti_param_size(TUTTI_P_IB_RCACHE_SIZE));
    for (int q = 0; r == TUTTI_SUCCESS && q < vc->nranks; q++) {
        if (!setup->use[q]) continue;
        for (int c = 0; r == TUTTI_SUCCESS && c < vc->nchan; c++) r = tutti_verbs_pc_new(vc, q, c, nslots, slot, err, errlen);
    }
    if (r == TUTTI_SUCCESS && any) {
        rec->ok = 1;
        rec->lid = vc->port.lid;
        rec->link_layer = (uint8_t)vc->port.link_layer;
        rec->mtu = (uint8_t)vc->port.mtu;
        memcpy(rec->gid, vc->port.gid.raw, 16);
        rec->ctrl_addr = (uintptr_t)vc->inbox;
        rec->ctrl_rkey = vc->ctrl_mr->rkey;
        rec->nslots = nslots;
        uint32_t *qpn = (uint32_t *)(rec + 1);
        for (int a = 0; a < vc->nactive; a++)
            qpn[(size_t)vc->active[a]->peer * (size_t)vc->nchan + (size_t)vc->active[a]->chan] =
                vc->active[a]->qp->qp_num;
        char g[64];
        TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, vc->rank, "verbs: %s port %d (%s, LID %u, GID index %d %s, MTU %d), %d "
                   "QPs, %u slots of %zu bytes each way",
                   vc->port.name, vc->port.port,
                   vc->port.link_layer == IBV_LINK_LAYER_INFINIBAND ? "InfiniBand" : "RoCE", vc->port.lid,
                   vc->port.gid_index, tutti_verbs_gid_str(&vc->port.gid, g, sizeof(g)), 128 << vc->port.mtu,
                   vc->nactive, nslots, slot);
    }
    /* every rank takes part, also after a local failure (the status
     * allgather below tells the others) */
    if (!mine || !all) goto out; /* cannot take part: the others time out naming this rank */
    r2 = setup->boot->allgather(setup->boot->ctx, mine, all, rec_bytes);
    if (r2 != TUTTI_SUCCESS) {
        if (r == TUTTI_SUCCESS) snprintf(err, errlen, "verbs: exchanging queue pair numbers failed");
        r = r2;
        goto out; /* the bootstrap is broken: no further collective step */
    }
    int missing = -1;
    for (int a = 0; r == TUTTI_SUCCESS && a < vc->nactive; a++) {
        tutti_verbs_pc_t *pc = vc->active[a];
        const tutti_verbs_rec_t *pr = (const tutti_verbs_rec_t *)(all + (size_t)pc->peer * rec_bytes);
        if (!pr->ok) { /* failed there: its status below says why */
            missing = pc->peer;
            continue;
        }
        if (pr->nslots != nslots || pr->link_layer != vc->port.link_layer) {
            snprintf(err, errlen, "verbs: rank %d and rank %d differ in %s", vc->rank, pc->peer,
                     pr->nslots != nslots ? "TUTTI_IB_NSLOTS (set it alike everywhere)"
                                          : "link layer (InfiniBand against RoCE)");
            r = TUTTI_ERR_INVALID_USAGE;
            break;
        }
        vc->peer_ctrl_addr[pc->peer] = pr->ctrl_addr;
        vc->peer_ctrl_rkey[pc->peer] = pr->ctrl_rkey;
        uint32_t qpn = ((const uint32_t *)(pr + 1))[(size_t)vc->rank * (size_t)vc->nchan + (size_t)pc->chan];
        r = tutti_verbs_pc_connect(vc, pc, pr, qpn, err, errlen);
    }
    if (r != TUTTI_SUCCESS) TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, vc->rank, "%s", err);
    /* everyone up, or everyone fails */
    if (tutti_verbs_agree(setup, &r) == 0 && r == TUTTI_SUCCESS && missing >= 0) {
        snprintf(err, errlen, "verbs: rank %d has no verbs queue pairs for rank %d", missing, vc->rank);
        r = TUTTI_ERR_INTERNAL;
    }
out:
    free(mine);
    free(all);
    if (r != TUTTI_SUCCESS) {
        tutti_verbs_comm_destroy(vc);
        return r;
    }
    *out = vc;
    return TUTTI_SUCCESS;
}
