/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A self-contained ibverbs check, meant for soft-RoCE in tests/rxe/vm.sh:
 * two RC queue pairs in this one process, on one port of one device
 * (rxe0, or the first device), connected to each other, bounce messages
 * back and forth:
 *   - SEND WITH IMM into posted receives,
 *   - RDMA WRITE WITH IMM into the peer's registered buffer,
 *   - both again over sizes from 0 bytes to several MTUs;
 * every payload byte and every immediate value is checked, and every wait
 * has a deadline.  Prints TAP (plan first; each case always reported).
 *
 * pingpong [-d DEVICE] [-g GID_INDEX] [-n ITERATIONS] [-s BYTES]
 *   -d  device name (default: rxe0 if present, else the first device; a
 *       named device that is missing fails, no device at all skips)
 *   -g  GID index for RoCE (default: the first IPv4-mapped GID, else the
 *       first non-zero one)
 *   -n  ping-pong round trips per phase (default 200)
 *   -s  message size of the fixed-size phases (default 4096)
 */
#include <infiniband/verbs.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PLAN 6
#define WAIT_SECONDS 20.0 /* per completion: TCG on a loaded machine is slow */
#define IMM_MAGIC 0x7a770000u

/* one side of the pair */
typedef struct {
    const char *name;
    struct ibv_qp *qp;
    struct ibv_cq *scq, *rcq;
    unsigned char *sbuf, *rbuf; /* send from sbuf; receive / be written into rbuf */
    struct ibv_mr *smr, *rmr;
} side_t;

static struct {
    struct ibv_context *ctx;
    struct ibv_pd *pd;
    struct ibv_port_attr port;
    uint8_t port_num;
    int gid_index; /* -1: no GRH (InfiniBand) */
    union ibv_gid gid;
    size_t cap; /* buffer size of each sbuf/rbuf */
    side_t s[2];
} g;

static int tap_n, tap_failed;
static char why[512]; /* the reason of the last failure */

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
}

static void verdict(int ok, const char *fmt, ...)
{
    char desc[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    tap_n++;
    if (ok) {
        printf("ok %d - %s\n", tap_n, desc);
    } else {
        tap_failed++;
        printf("not ok %d - %s\n# %s\n", tap_n, desc, why[0] ? why : "(no reason recorded)");
    }
    why[0] = '\0';
    fflush(stdout);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the byte at offset k of message i sent by side s */
static unsigned char pattern(int s, unsigned i, size_t k)
{
    return (unsigned char)(i * 31u + k * 7u + (unsigned)s * 101u + 1u);
}

static uint32_t imm_of(int s, unsigned i)
{
    return IMM_MAGIC ^ ((uint32_t)s << 15) ^ i;
}

/* waits for exactly one completion on cq; 0 and *wc filled, or -1 */
static int wait_one(struct ibv_cq *cq, struct ibv_wc *wc, const char *what)
{
    double deadline = now() + WAIT_SECONDS;
    for (;;) {
        int n = ibv_poll_cq(cq, 1, wc);
        if (n < 0) {
            fail("%s: ibv_poll_cq failed (%d)", what, n);
            return -1;
        }
        if (n == 1) {
            if (wc->status != IBV_WC_SUCCESS) {
                fail("%s: completion status %s (%d), vendor error 0x%x", what, ibv_wc_status_str(wc->status),
                     (int)wc->status, wc->vendor_err);
                return -1;
            }
            return 0;
        }
        if (now() > deadline) {
            fail("%s: no completion within %.0f s", what, WAIT_SECONDS);
            return -1;
        }
        sched_yield();
    }
}

static int post_recv(side_t *s, size_t len, uint64_t id)
{
    struct ibv_sge sge = {.addr = (uintptr_t)s->rbuf, .length = (uint32_t)len, .lkey = s->rmr->lkey};
    struct ibv_recv_wr wr = {.wr_id = id, .sg_list = &sge, .num_sge = len ? 1 : 0}, *bad;
    int rc = ibv_post_recv(s->qp, &wr, &bad);
    if (rc) fail("%s: ibv_post_recv: %s", s->name, strerror(rc));
    return rc ? -1 : 0;
}

/* from side `from` to the other: SEND WITH IMM, or RDMA WRITE WITH IMM into
 * the start of the other side's rbuf */
static int post_send(int from, int write, size_t len, unsigned i)
{
    side_t *s = &g.s[from], *peer = &g.s[1 - from];
    struct ibv_sge sge = {.addr = (uintptr_t)s->sbuf, .length = (uint32_t)len, .lkey = s->smr->lkey};
    struct ibv_send_wr wr = {.wr_id = i, .sg_list = &sge, .num_sge = len ? 1 : 0, .send_flags = IBV_SEND_SIGNALED}, *bad;
    wr.imm_data = htonl(imm_of(from, i));
    if (write) {
        wr.opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
        wr.wr.rdma.remote_addr = (uintptr_t)peer->rbuf;
        wr.wr.rdma.rkey = peer->rmr->rkey;
    } else {
        wr.opcode = IBV_WR_SEND_WITH_IMM;
    }
    int rc = ibv_post_send(s->qp, &wr, &bad);
    if (rc) fail("%s: ibv_post_send: %s", s->name, strerror(rc));
    return rc ? -1 : 0;
}

/* one message from side `from` to the other, with every check on it */
static int exchange(int from, int write, size_t len, unsigned i)
{
    side_t *s = &g.s[from], *peer = &g.s[1 - from];
    const char *kind = write ? "RDMA WRITE WITH IMM" : "SEND WITH IMM";
    struct ibv_wc rwc, swc;
    for (size_t k = 0; k < len; k++) s->sbuf[k] = pattern(from, i, k);
    memset(peer->rbuf, 0xee, len + 1 < g.cap ? len + 1 : g.cap);
    /* the receive for a write carries no buffer: it only consumes the imm */
    if (post_recv(peer, write ? 0 : len, i) || post_send(from, write, len, i)) return -1;
    if (wait_one(peer->rcq, &rwc, "receive") || wait_one(s->scq, &swc, "send completion")) return -1;
    enum ibv_wc_opcode want_r = write ? IBV_WC_RECV_RDMA_WITH_IMM : IBV_WC_RECV;
    enum ibv_wc_opcode want_s = write ? IBV_WC_RDMA_WRITE : IBV_WC_SEND;
    if (rwc.opcode != want_r || !(rwc.wc_flags & IBV_WC_WITH_IMM)) {
        fail("%s %u (%zu bytes) %s->%s: receive completion opcode %d flags 0x%x, expected opcode %d with imm", kind, i,
             len, s->name, peer->name, (int)rwc.opcode, rwc.wc_flags, (int)want_r);
        return -1;
    }
    if (swc.opcode != want_s || swc.wr_id != i) {
        fail("%s %u: send completion opcode %d wr_id %" PRIu64 ", expected opcode %d wr_id %u", kind, i,
             (int)swc.opcode, (uint64_t)swc.wr_id, (int)want_s, i);
        return -1;
    }
    if (rwc.wr_id != i || rwc.byte_len != len || rwc.qp_num != peer->qp->qp_num) {
        fail("%s %u: receive completion wr_id %" PRIu64 " byte_len %u qp %u, expected %u, %zu, %u", kind, i,
             (uint64_t)rwc.wr_id, rwc.byte_len, rwc.qp_num, i, len, peer->qp->qp_num);
        return -1;
    }
    if (ntohl(rwc.imm_data) != imm_of(from, i)) {
        fail("%s %u (%zu bytes) %s->%s: imm 0x%08x, expected 0x%08x", kind, i, len, s->name, peer->name,
             ntohl(rwc.imm_data), imm_of(from, i));
        return -1;
    }
    for (size_t k = 0; k < len; k++) {
        if (peer->rbuf[k] != pattern(from, i, k)) {
            fail("%s %u (%zu bytes) %s->%s: byte %zu is 0x%02x, expected 0x%02x", kind, i, len, s->name, peer->name, k,
                 peer->rbuf[k], pattern(from, i, k));
            return -1;
        }
    }
    if (len < g.cap && peer->rbuf[len] != 0xee) {
        fail("%s %u (%zu bytes) %s->%s: the byte after the message was overwritten", kind, i, len, s->name,
             peer->name);
        return -1;
    }
    return 0;
}

/* n round trips of len bytes: a->b then b->a; returns 0 or -1 */
static int pingpong(int write, size_t len, unsigned n, double *usec_per_rt)
{
    double t0 = now();
    for (unsigned i = 0; i < n; i++)
        if (exchange(0, write, len, i) || exchange(1, write, len, i)) return -1;
    if (usec_per_rt) *usec_per_rt = (now() - t0) * 1e6 / (n ? n : 1);
    return 0;
}

static int pick_device(const char *want, struct ibv_device **list, int ndev)
{
    if (want) {
        for (int i = 0; i < ndev; i++)
            if (strcmp(ibv_get_device_name(list[i]), want) == 0) return i;
        return -1;
    }
    for (int i = 0; i < ndev; i++)
        if (strcmp(ibv_get_device_name(list[i]), "rxe0") == 0) return i;
    return 0;
}

/* the first active port; its GID for RoCE.  0 or -1 */
static int open_port(int gid_wanted)
{
    struct ibv_device_attr da;
    if (ibv_query_device(g.ctx, &da)) {
        fail("ibv_query_device: %s", strerror(errno));
        return -1;
    }
    for (uint8_t p = 1; p <= da.phys_port_cnt; p++) {
        if (ibv_query_port(g.ctx, p, &g.port) == 0 && g.port.state == IBV_PORT_ACTIVE) {
            g.port_num = p;
            break;
        }
    }
    if (!g.port_num) {
        fail("no active port among %u", da.phys_port_cnt);
        return -1;
    }
    g.gid_index = -1;
    if (g.port.link_layer != IBV_LINK_LAYER_ETHERNET && gid_wanted < 0) return 0; /* IB: LIDs */
    if (gid_wanted >= 0) {
        if (ibv_query_gid(g.ctx, g.port_num, gid_wanted, &g.gid)) {
            fail("ibv_query_gid(index %d): %s", gid_wanted, strerror(errno));
            return -1;
        }
        g.gid_index = gid_wanted;
        return 0;
    }
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    int first_nonzero = -1;
    for (int i = 0; i < g.port.gid_tbl_len; i++) {
        union ibv_gid gid;
        static const union ibv_gid zero;
        if (ibv_query_gid(g.ctx, g.port_num, i, &gid) || memcmp(&gid, &zero, sizeof(gid)) == 0) continue;
        if (memcmp(gid.raw, v4mapped, sizeof(v4mapped)) == 0) {
            g.gid_index = i;
            g.gid = gid;
            return 0;
        }
        if (first_nonzero < 0) {
            first_nonzero = i;
            g.gid = gid;
        }
    }
    if (first_nonzero < 0) {
        fail("RoCE port %u has no usable GID (does its netdev have an address?)", g.port_num);
        return -1;
    }
    g.gid_index = first_nonzero;
    return 0;
}

static int make_side(side_t *s, const char *name)
{
    s->name = name;
    s->scq = ibv_create_cq(g.ctx, 16, NULL, NULL, 0);
    s->rcq = ibv_create_cq(g.ctx, 16, NULL, NULL, 0);
    if (!s->scq || !s->rcq) {
        fail("%s: ibv_create_cq: %s", name, strerror(errno));
        return -1;
    }
    s->sbuf = malloc(g.cap);
    s->rbuf = malloc(g.cap);
    if (!s->sbuf || !s->rbuf) {
        fail("out of memory");
        return -1;
    }
    s->smr = ibv_reg_mr(g.pd, s->sbuf, g.cap, IBV_ACCESS_LOCAL_WRITE);
    s->rmr = ibv_reg_mr(g.pd, s->rbuf, g.cap, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
    if (!s->smr || !s->rmr) {
        fail("%s: ibv_reg_mr: %s (memlock limit? ulimit -l)", name, strerror(errno));
        return -1;
    }
    struct ibv_qp_init_attr qa = {
        .send_cq = s->scq,
        .recv_cq = s->rcq,
        .cap = {.max_send_wr = 8, .max_recv_wr = 8, .max_send_sge = 1, .max_recv_sge = 1},
        .qp_type = IBV_QPT_RC,
        .sq_sig_all = 0,
    };
    s->qp = ibv_create_qp(g.pd, &qa);
    if (!s->qp) {
        fail("%s: ibv_create_qp(RC): %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* RESET -> INIT -> RTR -> RTS, aimed at the other side's QP */
static int connect_qp(side_t *s, const side_t *peer, uint32_t my_psn, uint32_t peer_psn)
{
    struct ibv_qp_attr a = {
        .qp_state = IBV_QPS_INIT,
        .pkey_index = 0,
        .port_num = g.port_num,
        .qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
    };
    if (ibv_modify_qp(s->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS)) {
        fail("%s: modify QP to INIT: %s", s->name, strerror(errno));
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTR;
    a.path_mtu = g.port.active_mtu;
    a.dest_qp_num = peer->qp->qp_num;
    a.rq_psn = peer_psn;
    a.max_dest_rd_atomic = 1;
    a.min_rnr_timer = 12;
    a.ah_attr.port_num = g.port_num;
    a.ah_attr.dlid = g.port.lid; /* same port: loopback */
    if (g.gid_index >= 0) {
        a.ah_attr.is_global = 1;
        a.ah_attr.grh.dgid = g.gid;
        a.ah_attr.grh.sgid_index = (uint8_t)g.gid_index;
        a.ah_attr.grh.hop_limit = 1;
    }
    if (ibv_modify_qp(s->qp, &a,
                      IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
                          IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)) {
        fail("%s: modify QP to RTR: %s (GID index %d)", s->name, strerror(errno), g.gid_index);
        return -1;
    }
    memset(&a, 0, sizeof(a));
    a.qp_state = IBV_QPS_RTS;
    a.timeout = 14;
    a.retry_cnt = 7;
    a.rnr_retry = 7;
    a.sq_psn = my_psn;
    a.max_rd_atomic = 1;
    if (ibv_modify_qp(s->qp, &a,
                      IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
                          IBV_QP_MAX_QP_RD_ATOMIC)) {
        fail("%s: modify QP to RTS: %s", s->name, strerror(errno));
        return -1;
    }
    return 0;
}

static int fail_rc(const char *what, const char *who)
{
    fail("%s%s%s: %s", who, *who ? ": " : "", what, strerror(errno));
    return 1;
}

/* destroys everything; 0 when every call succeeded */
static int teardown(void)
{
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        side_t *s = &g.s[i];
        if (s->qp && ibv_destroy_qp(s->qp)) bad = fail_rc("destroy QP", s->name);
        if (s->smr && ibv_dereg_mr(s->smr)) bad = fail_rc("deregister MR", s->name);
        if (s->rmr && ibv_dereg_mr(s->rmr)) bad = fail_rc("deregister MR", s->name);
        if (s->scq && ibv_destroy_cq(s->scq)) bad = fail_rc("destroy CQ", s->name);
        if (s->rcq && ibv_destroy_cq(s->rcq)) bad = fail_rc("destroy CQ", s->name);
        free(s->sbuf);
        free(s->rbuf);
    }
    if (g.pd && ibv_dealloc_pd(g.pd)) bad = fail_rc("deallocate PD", "");
    if (g.ctx && ibv_close_device(g.ctx)) bad = fail_rc("close device", "");
    return bad ? -1 : 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-d DEVICE] [-g GID_INDEX] [-n ITERATIONS] [-s BYTES]\n", argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *want = NULL;
    int gid_wanted = -1, opt;
    unsigned iters = 200;
    size_t size = 4096;
    while ((opt = getopt(argc, argv, "d:g:n:s:")) != -1) {
        char *end;
        switch (opt) {
        case 'd': want = optarg; break;
        case 'g': gid_wanted = (int)strtol(optarg, &end, 10); if (*end || gid_wanted < 0) usage(argv[0]); break;
        case 'n': iters = (unsigned)strtoul(optarg, &end, 10); if (*end || !iters) usage(argv[0]); break;
        case 's': size = strtoul(optarg, &end, 10); if (*end || size > (1u << 30)) usage(argv[0]); break;
        default: usage(argv[0]);
        }
    }
    if (optind != argc) usage(argv[0]);
    /* sizes of the last phase: around the MTU and the byte, up to 64 KiB */
    static const size_t sizes[] = {0, 1, 3, 63, 64, 1023, 1024, 1025, 4095, 4096, 4097, 65536};
    const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    g.cap = size > sizes[nsizes - 1] ? size + 1 : sizes[nsizes - 1] + 1;

    int ndev = 0;
    struct ibv_device **list = ibv_get_device_list(&ndev);
    if ((!list || ndev == 0) && !want) {
        printf("1..0 # SKIP no RDMA device here (tests/rxe/vm.sh makes one)\n");
        if (list) ibv_free_device_list(list);
        return 0;
    }
    printf("1..%d\n", PLAN);
    int up = 0, connected = 0;

    /* 1: device, port, GID */
    int d = list ? pick_device(want, list, ndev) : -1;
    if (d < 0) {
        fail("no device named %s (%d device(s) found)", want, ndev);
    } else if (!(g.ctx = ibv_open_device(list[d]))) {
        fail("ibv_open_device(%s): %s", ibv_get_device_name(list[d]), strerror(errno));
    } else if (!(g.pd = ibv_alloc_pd(g.ctx))) {
        fail("ibv_alloc_pd: %s", strerror(errno));
    } else if (open_port(gid_wanted) == 0) {
        up = 1;
    }
    const char *dev = d >= 0 ? ibv_get_device_name(list[d]) : (want ? want : "?");
    if (up) {
        char gid[INET6_ADDRSTRLEN] = "-";
        if (g.gid_index >= 0) inet_ntop(AF_INET6, g.gid.raw, gid, sizeof(gid));
        printf("# %s port %u: %s, MTU %d, LID %u, GID index %d = %s\n", dev, g.port_num,
               g.port.link_layer == IBV_LINK_LAYER_ETHERNET ? "Ethernet (RoCE)" : "InfiniBand",
               128 << g.port.active_mtu, g.port.lid, g.gid_index, gid);
    }
    verdict(up, "device %s opened, an active port, a usable address", dev);

    /* 2: two RC QPs, connected to each other */
    if (up) {
        srand48((long)time(NULL));
        uint32_t psn0 = (uint32_t)lrand48() & 0xffffff, psn1 = (uint32_t)lrand48() & 0xffffff;
        connected = make_side(&g.s[0], "qp A") == 0 && make_side(&g.s[1], "qp B") == 0 &&
                    connect_qp(&g.s[0], &g.s[1], psn0, psn1) == 0 && connect_qp(&g.s[1], &g.s[0], psn1, psn0) == 0;
    } else {
        fail("not run: no device");
    }
    verdict(connected, "two RC QPs created and connected to each other (INIT, RTR, RTS)");

    /* 3-5: the traffic */
    double us = 0;
    int ok = connected && pingpong(0, size, iters, &us) == 0;
    if (!connected) fail("not run: no connected QPs");
    if (ok) printf("# SEND WITH IMM: %.1f us per round trip of %zu bytes\n", us, size);
    verdict(ok, "%u round trips of SEND WITH IMM, %zu bytes: data and imm intact", iters, size);

    ok = connected && pingpong(1, size, iters, &us) == 0;
    if (!connected) fail("not run: no connected QPs");
    if (ok) printf("# RDMA WRITE WITH IMM: %.1f us per round trip of %zu bytes\n", us, size);
    verdict(ok, "%u round trips of RDMA WRITE WITH IMM, %zu bytes: data and imm intact", iters, size);

    ok = connected;
    if (!connected) fail("not run: no connected QPs");
    for (size_t k = 0; ok && k < nsizes; k++)
        ok = pingpong(0, sizes[k], 3, NULL) == 0 && pingpong(1, sizes[k], 3, NULL) == 0;
    verdict(ok, "both kinds over sizes 0 to 65536 bytes (around the MTU): data, imm and bounds intact");

    /* 6: nothing left over, clean teardown */
    struct ibv_wc wc;
    int stray = 0;
    for (int i = 0; i < 2 && connected; i++)
        stray += ibv_poll_cq(g.s[i].scq, 1, &wc) + ibv_poll_cq(g.s[i].rcq, 1, &wc);
    if (stray) fail("%d unexpected completion(s) left in the CQs", stray);
    ok = teardown() == 0 && stray == 0 && up;
    if (!up && !why[0]) fail("not run: no device");
    if (list) ibv_free_device_list(list);
    verdict(ok, "no stray completions; QPs, MRs, CQs, PD and device closed cleanly");
    return tap_failed ? 1 : 0;
}
