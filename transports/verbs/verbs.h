/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ibverbs transport: RC queue pairs, send/receive slot rings, credits.
 *
 * Per communicator: one device port (TUTTI_IB_HCA), one protection domain,
 * one completion queue, one registered control area; per (peer, channel)
 * one RC QP that carries both directions, and one registered buffer holding
 * that connection's send ring and receive ring (nslots x slot each).
 *
 *   rank a                                                   rank b
 *   ------                                                   ------
 *   send_acquire: slot s_head % n, if
 *     s_head - s_done < n   (the slot's last send completed)
 *     s_head < credit + n   (b has a receive posted for it)
 *   send_commit:  SEND_WITH_IMM(slot, imm = tag) ---------> recv WR r % n fills
 *                                                           rbuf slot r % n;
 *                                                           wc.byte_len, imm
 *   send_commit_ref: the same SEND from the user's buffer   recv_acquire/_read
 *     (registered through the rcache)                      recv_release:
 *                                                           repost recv WR,
 *   ctrl[b].released[c]  <--- RDMA WRITE (8 bytes) ------   r_tail++; credits go
 *     (a's own memory: the credit)                          back when half the
 *                                                           ring is released or
 *                                                           progress() finds
 *                                                           the engine stalled
 *
 * The control area of a rank has one record per peer (tutti_verbs_inbox_t),
 * written by that peer with RDMA WRITEs and read locally without any call
 * on the peer: the credits of each channel, the peer's call (seq << 32 |
 * fingerprint, publish_state), a failure report (announce_failure: body
 * first, then a nonzero generation word in a second WRITE on the same QP,
 * which RC places after the body), and a word keepalive writes land in.
 *
 * Set-up (collective): open the port, PD, CQ, control area; per (peer,
 * channel) a QP taken to INIT with its receives posted; one allgather of
 * every rank's record (LID, GID, MTU, control area address and rkey, and the
 * QPN of each of its QPs by peer and channel); INIT -> RTR -> RTS; one
 * allgather of the status (everyone up, or everyone fails naming the rank).
 *
 * Failures: a completion with an error status fails every connection to
 * that peer with a message naming it, the QP, ibv_wc_status_str and what to
 * check.  A rank that only waits to receive learns of a dead peer because
 * peer_check (called by the core while it waits on that peer) posts an
 * 8-byte keepalive WRITE at most every TUTTI_VERBS_PING_S seconds: a dead
 * peer turns it into a retry-exceeded completion.
 */
#ifndef TUTTI_VERBS_H
#define TUTTI_VERBS_H

#include "tutti/transport.h"

#include <infiniband/verbs.h>
#include <stddef.h>
#include <stdint.h>

extern const tutti_transport_t tutti_verbs_transport;
/* its entry point (include/tutti/transport.h), the registry's way in */
tutti_result_t tutti_verbs_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen);

/* ---- libibverbs, loaded at run time (verbs_lib.c) ----------------------- */

typedef struct {
    __typeof__(&ibv_get_device_list) get_device_list;
    __typeof__(&ibv_free_device_list) free_device_list;
    __typeof__(&ibv_get_device_name) get_device_name;
    __typeof__(&ibv_open_device) open_device;
    __typeof__(&ibv_close_device) close_device;
    __typeof__(&ibv_query_device) query_device;
    int (*query_port_compat)(struct ibv_context *, uint8_t, struct _compat_ibv_port_attr *);
    __typeof__(&ibv_query_gid) query_gid;
    __typeof__(&_ibv_query_gid_ex) query_gid_ex;
    __typeof__(&ibv_alloc_pd) alloc_pd;
    __typeof__(&ibv_dealloc_pd) dealloc_pd;
    struct ibv_mr *(*reg_mr)(struct ibv_pd *, void *, size_t, int);
    __typeof__(&ibv_dereg_mr) dereg_mr;
    __typeof__(&ibv_create_cq) create_cq;
    __typeof__(&ibv_destroy_cq) destroy_cq;
    __typeof__(&ibv_create_qp) create_qp;
    __typeof__(&ibv_modify_qp) modify_qp;
    __typeof__(&ibv_destroy_qp) destroy_qp;
    __typeof__(&ibv_port_state_str) port_state_str;
    __typeof__(&ibv_wc_status_str) wc_status_str;
} tutti_verbs_lib_t;
extern tutti_verbs_lib_t tutti_verbs_lib;

/* Opens libibverbs.so.1 once per process: TUTTI_SUCCESS, or
 * TUTTI_ERR_UNSUPPORTED with the reason in why.  Every ibv_* call below
 * needs it first. */
tutti_result_t tutti_verbs_lib_load(char *why, size_t whylen);
int tutti_verbs_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr);

/* the transport's code keeps libibverbs' names */
#undef ibv_query_port
#undef ibv_reg_mr
#define ibv_get_device_list(n) (tutti_verbs_lib.get_device_list(n))
#define ibv_free_device_list(l) (tutti_verbs_lib.free_device_list(l))
#define ibv_get_device_name(d) (tutti_verbs_lib.get_device_name(d))
#define ibv_open_device(d) (tutti_verbs_lib.open_device(d))
#define ibv_close_device(c) (tutti_verbs_lib.close_device(c))
#define ibv_query_device(c, a) (tutti_verbs_lib.query_device(c, a))
#define ibv_query_port(c, p, a) tutti_verbs_query_port(c, p, a)
#define ibv_query_gid(c, p, i, g) (tutti_verbs_lib.query_gid(c, p, i, g))
#define ibv_query_gid_ex(c, p, i, e, f) (tutti_verbs_lib.query_gid_ex(c, p, i, e, f, sizeof(*(e))))
#define ibv_alloc_pd(c) (tutti_verbs_lib.alloc_pd(c))
#define ibv_dealloc_pd(p) (tutti_verbs_lib.dealloc_pd(p))
#define ibv_reg_mr(p, a, l, f) (tutti_verbs_lib.reg_mr(p, a, l, f))
#define ibv_dereg_mr(m) (tutti_verbs_lib.dereg_mr(m))
#define ibv_create_cq(c, n, x, ch, v) (tutti_verbs_lib.create_cq(c, n, x, ch, v))
#define ibv_destroy_cq(c) (tutti_verbs_lib.destroy_cq(c))
#define ibv_create_qp(p, a) (tutti_verbs_lib.create_qp(p, a))
#define ibv_modify_qp(q, a, m) (tutti_verbs_lib.modify_qp(q, a, m))
#define ibv_destroy_qp(q) (tutti_verbs_lib.destroy_qp(q))
#define ibv_port_state_str(s) (tutti_verbs_lib.port_state_str(s))
#define ibv_wc_status_str(s) (tutti_verbs_lib.wc_status_str(s))

#define TUTTI_VERBS_MAX_CHAN 8
#define TUTTI_VERBS_PING_S 0.15    /* keepalive WRITE period of peer_check */
#define TUTTI_VERBS_CQ_BATCH 32    /* completions per ibv_poll_cq */
#define TUTTI_VERBS_SQ_EXTRA 16    /* send queue entries for control WRITEs */
#define TUTTI_VERBS_WHY 176

/* ---- device and port choice (verbs_dev.c) ------------------------------ */

/* TUTTI_IB_HCA, parsed: NCCL's grammar.  "mlx5_0:1,mlx5_1" (prefixes, an
 * optional port), "=mlx5_0" exact names, "^mlx5_1" all but these; "^=" both. */
#define TUTTI_VERBS_HCA_MAX 16
typedef struct {
    int exclude, exact, n;
    struct {
        char name[64];
        int port; /* 0: any */
    } ent[TUTTI_VERBS_HCA_MAX];
} tutti_verbs_hca_t;

/* 0, or -1 with a message (an empty entry, a bad port, too many entries). */
int tutti_verbs_hca_parse(const char *spec, tutti_verbs_hca_t *f, char *err, size_t errlen);
/* May device `dev`, port `port` be used? */
int tutti_verbs_hca_match(const tutti_verbs_hca_t *f, const char *dev, int port);
/* Is this GID an IPv4-mapped address (::ffff:a.b.c.d)? */
int tutti_verbs_gid_is_ipv4(const uint8_t raw[16]);

typedef struct {
    struct ibv_context *ctx; /* opened */
    char name[64];
    int port;
    int gid_index;           /* -1 on InfiniBand (the LID is used) */
    union ibv_gid gid;
    uint16_t lid;
    int link_layer;          /* IBV_LINK_LAYER_* */
    enum ibv_mtu mtu;        /* min(active, 4096) */
    uint32_t vendor_id;      /* 0xffffff: soft-RoCE (rxe) */
} tutti_verbs_port_t;

/* Which of n candidate ports a rank uses: those on the rank's NUMA node
 * (dev_numa[k] == my_numa; all of them when none is, or either is unknown,
 * -1), dealt over the node's ranks by local_rank, as NCCL gives each GPU
 * its nearest NIC.  Pure; returns an index, or -1 for n < 1. */
int tutti_verbs_port_choose(int n, const int *dev_numa, int my_numa, int local_rank);

/* Finds the port TUTTI_IB_HCA picks: among the active ports that match,
 * the one tutti_verbs_port_choose gives this rank (local_rank < 0: the
 * first); with open != 0 opens it and chooses the GID.  TUTTI_SUCCESS, or
 * TUTTI_ERR_UNSUPPORTED with the devices found and their port states in
 * why.  *chosen (may be NULL) says which and why. */
tutti_result_t tutti_verbs_port_find(int open, int local_rank, tutti_verbs_port_t *p, char *chosen, size_t chosenlen,
                                     char *why, size_t whylen);
const char *tutti_verbs_gid_str(const union ibv_gid *gid, char *buf, size_t len);

/* ---- registration cache (verbs_rcache.c) ------------------------------- */

typedef struct tutti_verbs_rentry {
    uintptr_t start, end; /* page-aligned */
    struct ibv_mr *mr;
    int refs;
    uint64_t used; /* LRU clock */
} tutti_verbs_rentry_t;

typedef struct {
    struct ibv_pd *pd;
    int enabled;
    int n, max;
    size_t bytes, max_bytes;
    uint64_t clock;
    tutti_verbs_rentry_t *ent; /* [max] */
    uint64_t hits, misses, evictions;
} tutti_verbs_rcache_t;

tutti_result_t tutti_verbs_rcache_init(tutti_verbs_rcache_t *rc, struct ibv_pd *pd, int enabled, int max,
                                       size_t max_bytes);
/* A registration covering [buf, buf + len), referenced until _put. */
tutti_result_t tutti_verbs_rcache_get(tutti_verbs_rcache_t *rc, const void *buf, size_t len, tutti_memtype_t mt,
                                      tutti_verbs_rentry_t **out, char *why, size_t whylen);
void tutti_verbs_rcache_put(tutti_verbs_rcache_t *rc, tutti_verbs_rentry_t *e);
void tutti_verbs_rcache_destroy(tutti_verbs_rcache_t *rc);

/* ---- communicator state ------------------------------------------------ */

/* What a peer writes into this rank's memory (one per peer). */
typedef struct {
    int32_t code; /* the peer's failure */
    uint32_t len;
    char why[TUTTI_VERBS_WHY];
} tutti_verbs_fail_t;

typedef struct {
    volatile uint64_t released[TUTTI_VERBS_MAX_CHAN]; /* my messages the peer released, per channel */
    volatile uint64_t state;                          /* the peer's call: seq << 32 | fingerprint */
    volatile uint64_t ping;                           /* keepalive WRITEs land here */
    volatile uint64_t fail_gen;                       /* nonzero: fail is complete */
    uint64_t pad;
    tutti_verbs_fail_t fail;
} __attribute__((aligned(64))) tutti_verbs_inbox_t;

/* The sources of this rank's control WRITEs (registered with the inbox). */
typedef struct {
    volatile uint64_t state;
    uint64_t ping;
    uint64_t fail_gen;
    uint64_t pad;
    tutti_verbs_fail_t fail;
} __attribute__((aligned(64))) tutti_verbs_outbox_t;

/* Kinds of work requests, in the low bits of wr_id (the rest: pc index). */
enum { TUTTI_VERBS_WR_SEND = 0, TUTTI_VERBS_WR_RECV = 1, TUTTI_VERBS_WR_CTRL = 2, TUTTI_VERBS_WR_PING = 3 };

struct tutti_verbs_comm;

/* One peer and channel: its QP and both directions' rings. */
typedef struct tutti_verbs_pc {
    struct tutti_verbs_comm *vc;
    int peer, chan, idx;
    struct ibv_qp *qp;
    uint32_t nslots;
    size_t slot;
    char *buf; /* sbuf | rbuf | credit source word */
    struct ibv_mr *mr;
    char *sbuf, *rbuf;
    volatile uint64_t *credit_src; /* r_tail as last written to the peer */
    /* send side */
    uint64_t s_head;  /* committed */
    uint64_t s_done;  /* completed (in order: RC) */
    tutti_verbs_rentry_t **sref; /* [nslots]: the registration a ref send holds */
    int ctrl_out, sq_max; /* control WRITEs posted, not completed (every WR is
                           * signaled; data sends are s_head - s_done) */
    int ping_out, pinged;
    /* receive side */
    uint64_t r_head, r_tail, r_credited; /* arrived / released / told the peer */
    uint32_t *rlen, *rtag;
    double last_ping; /* when the outstanding keepalive was posted */
    int failed; /* every call fails with failed_code, why */
    tutti_result_t failed_code;
    char why[240];
} tutti_verbs_pc_t;

typedef struct tutti_verbs_comm {
    int rank, nranks, nchan;
    tutti_verbs_port_t port;
    struct ibv_pd *pd;
    struct ibv_cq *cq;
    int cq_size;
    void *ctrl; /* inbox[nranks] | outbox, registered */
    size_t ctrl_bytes;
    struct ibv_mr *ctrl_mr;
    tutti_verbs_inbox_t *inbox;
    tutti_verbs_outbox_t *outbox;
    uint64_t *peer_ctrl_addr; /* [nranks]: the peer's inbox array */
    uint32_t *peer_ctrl_rkey;
    tutti_verbs_pc_t **pcs;    /* [nranks * nchan], NULL where unused */
    tutti_verbs_pc_t **active; /* every pc */
    int nactive;
    int credit_batch;
    int credits_pending; /* some pc released slots it has not told its peer */
    size_t max_payload;
    int announced;
    int ref_warned;
    tutti_verbs_rcache_t rcache;
} tutti_verbs_comm_t;

static inline tutti_verbs_pc_t *tutti_verbs_pc(const tutti_verbs_comm_t *vc, int peer, int chan)
{
    return vc->pcs[(size_t)peer * (size_t)vc->nchan + (size_t)chan];
}

/* verbs_setup.c */
tutti_result_t tutti_verbs_comm_create(const tutti_tp_setup_t *setup, void **out);
tutti_result_t tutti_verbs_comm_destroy(void *tpcomm);
uint32_t tutti_verbs_psn(uint32_t qpn);
int tutti_verbs_retry_cnt(const tutti_verbs_comm_t *vc);

/* verbs_component.c */
tutti_result_t tutti_verbs_poll(tutti_verbs_comm_t *vc);
/* Fails every connection to the peer (the first reason stays), logged as a
 * warning, or (quiet) at INFO: a control WRITE to a peer that already left
 * after the last collective is no news. */
void tutti_verbs_peer_fail(tutti_verbs_comm_t *vc, int peer, tutti_result_t code, int quiet, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
