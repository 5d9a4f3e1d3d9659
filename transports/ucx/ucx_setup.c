/* SPDX-License-Identifier: BSD-3-Clause */
/* The UCX transport's set-up and teardown: context, worker, endpoints. */
#include "ucx/ucx.h"

#include "util/log.h"
#include "util/param.h"
#include "util/time.h"

#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An RDMA device here?  (/sys/class/infiniband: mlx5_0, rxe0, ...) */
static int tutti_ucx_rdma_device(char *name, size_t len)
{
    DIR *d = opendir("/sys/class/infiniband");
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(name, len, "%.63s", e->d_name);
            found = 1;
            break;
        }
    closedir(d);
    return found;
}

/* By default UCX serves only where it brings RDMA (as Open MPI's pml ucx
 * does): over plain Ethernet and shared memory tutti's own tcp and shm are
 * the better paths.  Named in TUTTI_TRANSPORTS, it serves anywhere. */
tutti_result_t tutti_ucx_probe(int requested, char *why, size_t whylen)
{
    unsigned major, minor, release;
    if (tutti_ucx_lib_load(why, whylen) != TUTTI_SUCCESS) return TUTTI_ERR_UNSUPPORTED;
    ucp_get_version(&major, &minor, &release);
    if (major < 1 || (major == 1 && minor < 10)) {
        snprintf(why, whylen, "UCX %u.%u.%u is too old (1.10 or later needed)", major, minor, release);
        return TUTTI_ERR_UNSUPPORTED;
    }
    char dev[64];
    if (!requested && !tutti_ucx_rdma_device(dev, sizeof(dev))) {
        snprintf(why, whylen, "no RDMA device (/sys/class/infiniband is empty): tcp and shm serve instead; name ucx "
                              "in TUTTI_TRANSPORTS to use it anyway");
        return TUTTI_ERR_UNSUPPORTED;
    }
    return TUTTI_SUCCESS;
}

void tutti_ucx_peer_fail(tutti_ucx_comm_t *uc, int peer, tutti_result_t code, const char *fmt, ...)
{
    tutti_ucx_peer_t *p = &uc->peers[peer];
    if (p->failed) return; /* the first reason is the root cause */
    p->failed = 1;
    p->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
    va_end(ap);
    TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, uc->rank, "ucx: rank %d: %s", peer, p->why);
}

static void tutti_ucx_ep_error(void *arg, ucp_ep_h ep, ucs_status_t status)
{
    tutti_ucx_comm_t *uc = arg;
    for (int q = 0; q < uc->nranks; q++)
        if (uc->peers[q].ep == ep)
            tutti_ucx_peer_fail(uc, q, TUTTI_ERR_REMOTE, "UCX: the connection to rank %d failed: %s (is it alive? "
                                "UCX_TLS=%s)", q, ucs_status_string(status), uc->tls[0] ? uc->tls : "default");
}

static ucs_status_t tutti_ucx_am_cb(void *arg, const void *header, size_t header_length, void *data, size_t length,
                                    const ucp_am_recv_param_t *param)
{
    (void)data;
    (void)length;
    (void)param;
    tutti_ucx_ctl_t m;
    if (header_length != sizeof(m)) return UCS_OK; /* not ours */
    memcpy(&m, header, sizeof(m));
    tutti_ucx_ctl_arrived(arg, &m);
    return UCS_OK;
}

static void tutti_ucx_recv_cb(void *request, ucs_status_t status, const ucp_tag_recv_info_t *info, void *user_data)
{
    tutti_ucx_ud_t *ud = user_data;
    tutti_ucx_conn_t *c = ud->c;
    (void)request;
    if (status == UCS_ERR_CANCELED) return;
    if (status != UCS_OK) {
        tutti_ucx_peer_fail(c->uc, c->peer, TUTTI_ERR_REMOTE, "UCX: a receive from rank %d failed: %s", c->peer,
                            ucs_status_string(status));
        return;
    }
    c->rlen[ud->idx] = (uint32_t)info->length;
    c->rtag[ud->idx] = (uint32_t)info->sender_tag;
    c->rdone[ud->idx] = 1;
}

/* Posts a receive into every free slot of c's ring, in order. */
void tutti_ucx_post_recvs(tutti_ucx_conn_t *c)
{
    tutti_ucx_comm_t *uc = c->uc;
    while (c->r_post - c->r_tail < c->nslots) {
        uint32_t i = (uint32_t)(c->r_post % c->nslots);
        ucp_request_param_t prm = {
            /* always by callback: an immediate completion of UCX 1.13 was
             * seen to leave recv_info unset */
            .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMH |
                            UCP_OP_ATTR_FLAG_NO_IMM_CMPL,
            .cb.recv = tutti_ucx_recv_cb,
            .user_data = &c->rud[i],
            .memh = uc->memh,
        };
        c->rdone[i] = 0;
        void *req = ucp_tag_recv_nbx(uc->worker, c->rbuf + (size_t)i * c->slot, c->slot,
                                     tutti_ucx_tag(TUTTI_UCX_KIND_DATA, c->chan, c->peer, 0), TUTTI_UCX_TAG_MASK, &prm);
        if (UCS_PTR_IS_ERR(req)) {
            tutti_ucx_peer_fail(uc, c->peer, TUTTI_ERR_INTERNAL, "UCX: posting a receive from rank %d failed: %s",
                                c->peer, ucs_status_string(UCS_PTR_STATUS(req)));
            return;
        }
        c->rreq[i] = req;
        c->r_post++;
    }
}

/* Progresses the worker until *done or the deadline; 0 on time. */
static int tutti_ucx_wait(tutti_ucx_comm_t *uc, const int *done, double deadline)
{
    int spins = 0;
    while (!*done) {
        if (ucp_worker_progress(uc->worker) == 0 && ++spins > 64) {
            spins = 0;
            sched_yield();
        }
        if (tutti_time_now() > deadline) return -1;
    }
    return 0;
}

static void tutti_ucx_hello_cb(void *request, ucs_status_t status, const ucp_tag_recv_info_t *info, void *user_data)
{
    (void)request;
    (void)info;
    int *flag = user_data;
    *flag = status == UCS_OK ? 1 : -1;
}

static void tutti_ucx_send_hello_cb(void *request, ucs_status_t status, void *user_data)
{
    (void)request;
    int *flag = user_data;
    *flag = status == UCS_OK ? 1 : -1;
}

/* A hello each way with every peer: wires the endpoints up now, so a peer
 * that cannot be reached fails init (named) instead of the first
 * collective. */
static tutti_result_t tutti_ucx_hellos(tutti_ucx_comm_t *uc, const uint8_t *use, double deadline, char *err,
                                       size_t errlen)
{
    int n = uc->nranks;
    tutti_result_t r = TUTTI_SUCCESS;
    int *rflag = calloc((size_t)n, sizeof(int)), *sflag = calloc((size_t)n, sizeof(int));
    void **rreq = calloc((size_t)n, sizeof(void *)), **sreq = calloc((size_t)n, sizeof(void *));
    uint64_t *rbuf = calloc((size_t)n, sizeof(uint64_t));
    uint64_t me = (uint64_t)uc->rank;
    if (!rflag || !sflag || !rreq || !sreq || !rbuf) {
        snprintf(err, errlen, "out of memory for %d peers", n);
        r = TUTTI_ERR_NO_MEMORY;
        goto out;
    }
    for (int q = 0; q < n; q++) {
        if (!use[q]) continue;
        ucp_request_param_t rp = {.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA,
                                  .cb.recv = tutti_ucx_hello_cb,
                                  .user_data = &rflag[q]};
        rreq[q] = ucp_tag_recv_nbx(uc->worker, &rbuf[q], sizeof(uint64_t), tutti_ucx_tag(TUTTI_UCX_KIND_HELLO, 0, q, 0),
                                   ~0ull, &rp);
        if (rreq[q] == NULL) rflag[q] = 1;
        ucp_request_param_t sp = {.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA,
                                  .cb.send = tutti_ucx_send_hello_cb,
                                  .user_data = &sflag[q]};
        sreq[q] = ucp_tag_send_nbx(uc->peers[q].ep, &me, sizeof(me),
                                   tutti_ucx_tag(TUTTI_UCX_KIND_HELLO, 0, uc->rank, 0), &sp);
        if (sreq[q] == NULL) sflag[q] = 1;
        if (UCS_PTR_IS_ERR(rreq[q]) || UCS_PTR_IS_ERR(sreq[q])) {
            snprintf(err, errlen, "UCX: rank %d cannot exchange a hello with rank %d: %s", uc->rank, q,
                     ucs_status_string(UCS_PTR_STATUS(UCS_PTR_IS_ERR(rreq[q]) ? rreq[q] : sreq[q])));
            if (UCS_PTR_IS_ERR(rreq[q])) rreq[q] = NULL;
            if (UCS_PTR_IS_ERR(sreq[q])) sreq[q] = NULL;
            r = TUTTI_ERR_REMOTE;
            goto out;
        }
    }
    for (int q = 0; q < n; q++) {
        if (!use[q]) continue;
        int ok = tutti_ucx_wait(uc, &rflag[q], deadline) == 0 && tutti_ucx_wait(uc, &sflag[q], deadline) == 0;
        if (!ok || rflag[q] < 0 || sflag[q] < 0 || uc->peers[q].failed) {
            snprintf(err, errlen, "UCX: rank %d could not reach rank %d within the init timeout%s%s (UCX_TLS=%s)",
                     uc->rank, q, uc->peers[q].failed ? ": " : "", uc->peers[q].failed ? uc->peers[q].why : "",
                     uc->tls[0] ? uc->tls : "default");
            r = TUTTI_ERR_TIMEOUT;
            goto out;
        }
        if (rbuf[q] != (uint64_t)q) {
            snprintf(err, errlen, "UCX: rank %d got a hello from rank %llu on rank %d's tag", uc->rank,
                     (unsigned long long)rbuf[q], q);
            r = TUTTI_ERR_INTERNAL;
            goto out;
        }
    }
out:
    for (int q = 0; rreq && q < n; q++) {
        if (rreq[q] && !UCS_PTR_IS_ERR(rreq[q])) {
            if (!rflag[q]) ucp_request_cancel(uc->worker, rreq[q]);
            ucp_request_free(rreq[q]);
        }
        if (sreq[q] && !UCS_PTR_IS_ERR(sreq[q])) ucp_request_free(sreq[q]);
    }
    free(rflag);
    free(sflag);
    free(rreq);
    free(sreq);
    free(rbuf);
    return r;
}

static tutti_result_t tutti_ucx_conn_init(tutti_ucx_comm_t *uc, tutti_ucx_conn_t *c, int peer, int chan, char *base,
                                          uint32_t nslots, size_t slot)
{
    c->uc = uc;
    c->peer = peer;
    c->chan = chan;
    c->nslots = nslots;
    c->slot = slot;
    c->sbuf = base;
    c->rbuf = base + (size_t)nslots * slot;
    c->sreq = calloc(nslots, sizeof(void *));
    c->rreq = calloc(nslots, sizeof(void *));
    c->sdone = calloc(nslots, 1);
    c->rdone = calloc(nslots, 1);
    c->rlen = calloc(nslots, sizeof(uint32_t));
    c->rtag = calloc(nslots, sizeof(uint32_t));
    c->sud = calloc(nslots, sizeof(tutti_ucx_ud_t));
    c->rud = calloc(nslots, sizeof(tutti_ucx_ud_t));
    if (!c->sreq || !c->rreq || !c->sdone || !c->rdone || !c->rlen || !c->rtag || !c->sud || !c->rud)
        return TUTTI_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < nslots; i++) {
        c->sud[i] = (tutti_ucx_ud_t){c, i};
        c->rud[i] = (tutti_ucx_ud_t){c, i};
    }
    return TUTTI_SUCCESS;
}

/* The progress thread: sleeps on the worker's event fd; when UCX has work
 * and the owner has not called in for a while (it is computing, or in
 * another library), progresses the worker for it. */
static void *tutti_ucx_thread(void *arg)
{
    tutti_ucx_comm_t *uc = arg;
    const long idle_ns = 1000000; /* the owner progresses itself while it calls in */
    uint64_t seen = __atomic_load_n(&uc->calls, __ATOMIC_RELAXED) - 1;
    while (!__atomic_load_n(&uc->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = __atomic_load_n(&uc->calls, __ATOMIC_RELAXED);
        if (now != seen) { /* it called in during the last period */
            seen = now;
            struct timespec ts = {0, idle_ns};
            nanosleep(&ts, NULL);
            continue;
        }
        pthread_mutex_lock(&uc->mu);
        for (int k = 0; k < 64 && ucp_worker_progress(uc->worker); k++) {
        }
        for (int a = 0; a < uc->nactive; a++)
            if (tutti_ucx_sender_starved(uc->active[a])) tutti_ucx_credit(uc->active[a]);
        int armed = ucp_worker_arm(uc->worker) == UCS_OK;
        pthread_mutex_unlock(&uc->mu);
        if (armed) {
            struct pollfd pfd = {.fd = uc->efd, .events = POLLIN};
            (void)poll(&pfd, 1, 100);
        }
    }
    return NULL;
}

tutti_result_t tutti_ucx_comm_create(const tutti_tp_setup_t *setup, void **tpcomm)
{
    tutti_result_t r = TUTTI_SUCCESS;
    char *err = setup->err;
    size_t errlen = setup->errlen;
    int n = setup->nranks, me = setup->rank, nchan = setup->nchannels;
    ucp_config_t *config = NULL;
    ucp_address_t *addr = NULL;
    size_t addrlen = 0;
    uint64_t *lens = NULL;
    char *blobs = NULL;
    double deadline = tutti_time_now() + setup->timeout;
    tutti_ucx_comm_t *uc = calloc(1, sizeof(*uc));
    if (!uc) {
        snprintf(err, errlen, "out of memory");
        return TUTTI_ERR_NO_MEMORY;
    }
    uc->rank = me;
    uc->nranks = n;
    uc->nchan = nchan;
    uc->efd = -1;
    if (pthread_mutex_init(&uc->mu, NULL) != 0) {
        free(uc);
        snprintf(err, errlen, "UCX: cannot create a mutex");
        return TUTTI_ERR_INTERNAL;
    }
    uc->mu_ok = 1;
    uc->peers = calloc((size_t)n, sizeof(*uc->peers));
    uc->conns = calloc((size_t)n * (size_t)nchan, sizeof(*uc->conns));
    uc->active = calloc((size_t)n * (size_t)nchan, sizeof(*uc->active));
    if (!uc->peers || !uc->conns || !uc->active) {
        snprintf(err, errlen, "out of memory for %d peers", n);
        r = TUTTI_ERR_NO_MEMORY;
        goto fail;
    }
    int any = 0;
    for (int q = 0; q < n; q++) any |= setup->use[q];
    size_t slot = tutti_param_size(TUTTI_P_UCX_SLOT_SIZE);
    uint32_t nslots = (uint32_t)tutti_param_int(TUTTI_P_UCX_NSLOTS);

    /* the context: UCX_* from the environment as UCX reads them, then
     * tutti's own choices on this context only */
    ucs_status_t st = ucp_config_read(NULL, NULL, &config);
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: reading its configuration (UCX_* variables) failed: %s", ucs_status_string(st));
        r = TUTTI_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    const char *tls = tutti_param_str(TUTTI_P_UCX_TLS);
    if (tls[0]) {
        st = ucp_config_modify(config, "TLS", tls);
        if (st != UCS_OK) {
            snprintf(err, errlen, "TUTTI_UCX_TLS='%s': UCX refuses it: %s", tls, ucs_status_string(st));
            r = TUTTI_ERR_INVALID_ARGUMENT;
            goto fail;
        }
        snprintf(uc->tls, sizeof(uc->tls), "%s", tls);
    } else if (getenv("UCX_TLS")) {
        snprintf(uc->tls, sizeof(uc->tls), "%s", getenv("UCX_TLS"));
    }
    /* a peer that dies without closing its connections (shared memory) is
     * found by UCX's keepalive; its default period is long for a job that
     * must fail within its deadline */
    /* every message finds a posted receive (credits): eager is one trip
     * where a rendezvous takes a handshake per slot (measured over UCX's
     * tcp: 64 KiB-2 MiB all-reduce 1.5-3x faster) */
    if (!getenv("UCX_RNDV_THRESH")) (void)ucp_config_modify(config, "RNDV_THRESH", "inf");
    if (!getenv("UCX_KEEPALIVE_INTERVAL")) (void)ucp_config_modify(config, "KEEPALIVE_INTERVAL", "1s");
    ucp_params_t params = {
        .field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_ESTIMATED_NUM_EPS,
        .features = UCP_FEATURE_TAG | UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
        .estimated_num_eps = (size_t)n,
    };
    st = ucp_init(&params, config, &uc->ctx);
    ucp_config_release(config);
    config = NULL;
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: ucp_init failed: %s (UCX_TLS=%s)", ucs_status_string(st),
                 uc->tls[0] ? uc->tls : "default");
        r = TUTTI_ERR_UNSUPPORTED;
        goto fail;
    }
    ucp_worker_params_t wp = {
        .field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
        .thread_mode = UCS_THREAD_MODE_SERIALIZED, /* the communicator's lock serialises calls */
    };
    st = ucp_worker_create(uc->ctx, &wp, &uc->worker);
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: creating a worker failed: %s", ucs_status_string(st));
        r = TUTTI_ERR_UNSUPPORTED;
        goto fail;
    }
    if (ucp_worker_get_efd(uc->worker, &uc->efd) != UCS_OK) uc->efd = -1;
    ucp_am_handler_param_t ah = {
        .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
        .id = TUTTI_UCX_AM_CTL,
        .cb = tutti_ucx_am_cb,
        .arg = uc,
    };
    st = ucp_worker_set_am_recv_handler(uc->worker, &ah);
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: setting the control message handler failed: %s", ucs_status_string(st));
        r = TUTTI_ERR_INTERNAL;
        goto fail;
    }

    /* addresses through the bootstrap: lengths, then blobs of the longest */
    st = ucp_worker_get_address(uc->worker, &addr, &addrlen);
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: no worker address: %s", ucs_status_string(st));
        r = TUTTI_ERR_INTERNAL;
        goto fail;
    }
    /* address length, pid and pid namespace: a peer's process is checked
     * for life only where this rank can see it */
    lens = calloc((size_t)n, 3 * sizeof(uint64_t));
    struct stat ns;
    uint64_t mylen[3] = {addrlen, (uint64_t)getpid(), stat("/proc/self/ns/pid", &ns) == 0 ? (uint64_t)ns.st_ino : 0};
    if (!lens) {
        r = TUTTI_ERR_NO_MEMORY;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r = setup->boot->allgather(setup->boot->ctx, mylen, lens, sizeof(mylen));
    if (r != TUTTI_SUCCESS) {
        snprintf(err, errlen, "UCX: allgather of address lengths failed (%s)", tutti_result_name(r));
        goto fail;
    }
    size_t maxlen = 0;
    for (int q = 0; q < n; q++) {
        if (lens[3 * q] > maxlen) maxlen = lens[3 * q];
        if (setup->node_of_rank[q] == setup->node_of_rank[me] && mylen[2] && lens[3 * q + 2] == mylen[2])
            uc->peers[q].pid = (int)lens[3 * q + 1];
    }
    if (maxlen == 0 || maxlen > (1u << 20)) {
        snprintf(err, errlen, "UCX: worker addresses of %zu bytes exchanged: not plausible", maxlen);
        r = TUTTI_ERR_INTERNAL;
        goto fail;
    }
    char *mine = calloc(1, maxlen);
    blobs = calloc((size_t)n, maxlen);
    if (!mine || !blobs) {
        free(mine);
        r = TUTTI_ERR_NO_MEMORY;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memcpy(mine, addr, addrlen);
    r = setup->boot->allgather(setup->boot->ctx, mine, blobs, maxlen);
    free(mine);
    ucp_worker_release_address(uc->worker, addr);
    addr = NULL;
    if (r != TUTTI_SUCCESS) {
        snprintf(err, errlen, "UCX: allgather of worker addresses failed (%s)", tutti_result_name(r));
        goto fail;
    }
    if (!any) goto done;

    /* slot rings: one registered region for every peer and channel */
    int npeers = 0;
    for (int q = 0; q < n; q++) npeers += setup->use[q] != 0;
    uc->slot = slot;
    uc->memlen = (size_t)npeers * (size_t)nchan * 2 * nslots * slot;
    ucp_mem_map_params_t mp = {
        .field_mask = UCP_MEM_MAP_PARAM_FIELD_LENGTH | UCP_MEM_MAP_PARAM_FIELD_FLAGS,
        .length = uc->memlen,
        .flags = UCP_MEM_MAP_ALLOCATE,
    };
    st = ucp_mem_map(uc->ctx, &mp, &uc->memh);
    if (st != UCS_OK) {
        snprintf(err, errlen, "UCX: registering %zu bytes of slots failed: %s", uc->memlen, ucs_status_string(st));
        r = TUTTI_ERR_NO_MEMORY;
        goto fail;
    }
    ucp_mem_attr_t ma = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS};
    ucp_mem_query(uc->memh, &ma);
    uc->mem = ma.address;

    int k = 0;
    for (int q = 0; q < n; q++) {
        if (!setup->use[q]) continue;
        ucp_ep_params_t ep = {
            .field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                          UCP_EP_PARAM_FIELD_ERR_HANDLER,
            .address = (const ucp_address_t *)(blobs + (size_t)q * maxlen),
            .err_mode = UCP_ERR_HANDLING_MODE_PEER,
            .err_handler = {.cb = tutti_ucx_ep_error, .arg = uc},
        };
        st = ucp_ep_create(uc->worker, &ep, &uc->peers[q].ep);
        uc->peers[q].peer_mode = st == UCS_OK;
        if (st == UCS_ERR_UNREACHABLE) {
            /* the allowed UCX transports cannot report a peer's failure
             * (posix, sysv): without it, tutti's own checks (the process's
             * life on this node, the deadline) find dead peers */
            ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
            ep.field_mask &= ~(uint64_t)UCP_EP_PARAM_FIELD_ERR_HANDLER;
            st = ucp_ep_create(uc->worker, &ep, &uc->peers[q].ep);
            if (st == UCS_OK)
                TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, me, "ucx: rank %d over UCX transports without peer failure "
                           "reports (UCX_TLS=%s): tutti checks it itself", q, uc->tls[0] ? uc->tls : "default");
        }
        if (st != UCS_OK) {
            snprintf(err, errlen, "UCX: rank %d cannot create an endpoint to rank %d: %s (UCX_TLS=%s)", me, q,
                     ucs_status_string(st), uc->tls[0] ? uc->tls : "default");
            uc->peers[q].ep = NULL;
            r = TUTTI_ERR_REMOTE;
            goto fail;
        }
        for (int c = 0; c < nchan; c++, k++) {
            tutti_ucx_conn_t *cn = calloc(1, sizeof(*cn));
            if (cn) {
                uc->conns[(size_t)q * (size_t)nchan + (size_t)c] = cn;
                uc->active[uc->nactive++] = cn;
            }
            if (!cn || tutti_ucx_conn_init(uc, cn, q, c, uc->mem + (size_t)k * 2 * nslots * slot, nslots, slot) !=
                           TUTTI_SUCCESS) {
                snprintf(err, errlen, "out of memory for the slot rings");
                r = TUTTI_ERR_NO_MEMORY;
                goto fail;
            }
        }
    }
    r = tutti_ucx_hellos(uc, setup->use, deadline, err, errlen);
    if (r != TUTTI_SUCCESS) goto fail;
    for (int a = 0; a < uc->nactive; a++) tutti_ucx_post_recvs(uc->active[a]);
    if (uc->efd >= 0) {
        if (pthread_create(&uc->thread, NULL, tutti_ucx_thread, uc) != 0) {
            snprintf(err, errlen, "UCX: cannot start the progress thread");
            r = TUTTI_ERR_INTERNAL;
            goto fail;
        }
        uc->thread_on = 1;
    } else {
        TUTTI_WARN(TUTTI_SUBSYS_TRANSPORT, me, "ucx: the worker has no event fd (UCX_TLS=%s): no progress while this "
                   "rank is outside tutti", uc->tls[0] ? uc->tls : "default");
    }
done:
    {
        ucp_context_attr_t ca = {.field_mask = UCP_ATTR_FIELD_NAME};
        ucp_context_query(uc->ctx, &ca);
        TUTTI_INFO(TUTTI_SUBSYS_TRANSPORT, me, "ucx: context %s, UCX_TLS=%s, %d connection(s), slots %u x %zu",
                   ca.name, uc->tls[0] ? uc->tls : "default", uc->nactive, nslots, slot);
    }
    free(lens);
    free(blobs);
    *tpcomm = uc;
    return TUTTI_SUCCESS;
fail:
    if (config) ucp_config_release(config);
    if (addr) ucp_worker_release_address(uc->worker, addr);
    free(lens);
    free(blobs);
    tutti_ucx_comm_destroy(uc);
    return r;
}

/* ucp_request_free: no callback runs for a request after it (a send
 * still in flight completes inside UCX). */
static void tutti_ucx_conn_free(tutti_ucx_comm_t *uc, tutti_ucx_conn_t *c)
{
    for (uint32_t i = 0; i < c->nslots; i++) {
        if (c->rreq && c->rreq[i]) {
            if (!c->rdone[i]) ucp_request_cancel(uc->worker, c->rreq[i]);
            ucp_request_free(c->rreq[i]);
        }
        if (c->sreq && c->sreq[i]) ucp_request_free(c->sreq[i]);
    }
    if (c->creq) ucp_request_free(c->creq);
    free(c->sreq);
    free(c->rreq);
    free(c->sdone);
    free(c->rdone);
    free(c->rlen);
    free(c->rtag);
    free(c->sud);
    free(c->rud);
    free(c);
}

tutti_result_t tutti_ucx_comm_destroy(void *tpcomm)
{
    tutti_ucx_comm_t *uc = tpcomm;
    if (!uc) return TUTTI_SUCCESS;
    if (uc->thread_on) {
        __atomic_store_n(&uc->stop, 1, __ATOMIC_RELEASE);
        pthread_join(uc->thread, NULL);
        uc->thread_on = 0;
    }
    for (int a = 0; a < uc->nactive; a++) tutti_ucx_conn_free(uc, uc->active[a]);
    uc->nactive = 0;
    /* control messages still arriving while the endpoints close find no
     * connection */
    if (uc->conns) memset(uc->conns, 0, (size_t)uc->nranks * (size_t)uc->nchan * sizeof(*uc->conns));
    for (int q = 0; uc->peers && q < uc->nranks; q++)
        if (uc->peers[q].out_req) ucp_request_free(uc->peers[q].out_req);
    if (uc->worker && uc->peers) {
        /* the endpoints close politely (what was sent is delivered), within
         * a deadline; a failed peer's by force */
        double deadline = tutti_time_now() + 2.0;
        for (int q = 0; q < uc->nranks; q++) {
            if (!uc->peers[q].ep) continue;
            ucp_request_param_t cp = {.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS,
                                      .flags = uc->peers[q].failed ? UCP_EP_CLOSE_FLAG_FORCE : 0};
            void *req = ucp_ep_close_nbx(uc->peers[q].ep, &cp);
            if (!req || UCS_PTR_IS_ERR(req)) continue;
            while (ucp_request_check_status(req) == UCS_INPROGRESS && tutti_time_now() < deadline)
                if (ucp_worker_progress(uc->worker) == 0) sched_yield();
            ucp_request_free(req);
        }
    }
    if (uc->memh) ucp_mem_unmap(uc->ctx, uc->memh);
    if (uc->worker) ucp_worker_destroy(uc->worker);
    if (uc->ctx) ucp_cleanup(uc->ctx);
    free(uc->peers);
    free(uc->conns);
    free(uc->active);
    if (uc->mu_ok) pthread_mutex_destroy(&uc->mu);
    free(uc);
    return TUTTI_SUCCESS;
}
