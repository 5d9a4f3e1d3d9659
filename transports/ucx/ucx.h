/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UCX transport: one UCP context and worker per communicator, one endpoint
 * per peer, tagged messages into slot rings.
 *
 *   sender:   engine fills slot k (acquire/commit) -> ucp_tag_send_nbx(slot k, tag)
 *   receiver: ucp_tag_recv_nbx posted ahead into every free slot, in order
 *             -> completes -> engine reads slot k -> release -> posted again
 *
 *   UCP tag (64 bits):  kind:4 | channel:4 | source rank:24 | fingerprint:32
 *
 * Receives match (kind, channel, source) and take any fingerprint: the
 * engine checks it.  UCP matches the messages of one sender endpoint in the
 * order they were sent, so message k lands in the k-th posted receive;
 * completions may come out of order, so a slot is handed to the engine only
 * when every earlier one is.  Flow control is tutti's: a sender has at most
 * nslots messages the receiver has not released (credits: the receiver
 * tells its release count by an active message every half ring, and at
 * once when the engine stalls), so every message finds a posted receive,
 * UCX never buffers unexpected data, and messages go eager (one trip, no
 * rendezvous handshake: UCX_RNDV_THRESH is set to inf on tutti's context
 * unless the user sets it).  The
 * slot rings are registered once (ucp_mem_map) and their handles given with
 * every operation; user buffers sent by reference (TUTTI_UCX_ZCOPY_MIN) go
 * through UCX's own registration cache.
 *
 * UCX moves bytes only inside its progress calls; so that a rank that leaves
 * for a long computation (or into MPI) never holds a peer back, a thread
 * progresses the worker while the rank is away (sleeping on the worker's
 * event fd).  "Sent" (send_flushed) is then: every send request completed.
 *
 * Set-up (collective): worker addresses allgathered through the bootstrap,
 * endpoints created with peer error handling, then a hello each way so a
 * peer that cannot be reached fails init, named.  Failures: the endpoint's
 * error callback or a failed request fails that peer ("UCX: connection to
 * rank 3 failed: Connection reset by remote peer"); control messages (active
 * messages) carry failure announcements and wait states.
 */
#ifndef TUTTI_UCX_H
#define TUTTI_UCX_H

#include "tutti/transport.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <ucp/api/ucp.h>

extern const tutti_transport_t tutti_ucx_transport;
/* its entry point (include/tutti/transport.h), the registry's way in */
tutti_result_t tutti_ucx_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen);

/* ---- libucp, loaded at run time (ucx_lib.c) ---------------------------- */

typedef struct {
    __typeof__(&ucp_am_send_nbx) am_send_nbx;
    __typeof__(&ucp_cleanup) cleanup;
    __typeof__(&ucp_config_modify) config_modify;
    __typeof__(&ucp_config_read) config_read;
    __typeof__(&ucp_config_release) config_release;
    __typeof__(&ucp_context_query) context_query;
    __typeof__(&ucp_ep_close_nbx) ep_close_nbx;
    __typeof__(&ucp_ep_create) ep_create;
    __typeof__(&ucp_get_version) get_version;
    __typeof__(&ucp_init_version) init_version;
    __typeof__(&ucp_mem_map) mem_map;
    __typeof__(&ucp_mem_query) mem_query;
    __typeof__(&ucp_mem_unmap) mem_unmap;
    __typeof__(&ucp_request_cancel) request_cancel;
    __typeof__(&ucp_request_check_status) request_check_status;
    __typeof__(&ucp_request_free) request_free;
    __typeof__(&ucp_tag_recv_nbx) tag_recv_nbx;
    __typeof__(&ucp_tag_send_nbx) tag_send_nbx;
    __typeof__(&ucp_worker_arm) worker_arm;
    __typeof__(&ucp_worker_create) worker_create;
    __typeof__(&ucp_worker_destroy) worker_destroy;
    __typeof__(&ucp_worker_get_address) worker_get_address;
    __typeof__(&ucp_worker_get_efd) worker_get_efd;
    __typeof__(&ucp_worker_progress) worker_progress;
    __typeof__(&ucp_worker_release_address) worker_release_address;
    __typeof__(&ucp_worker_set_am_recv_handler) worker_set_am_recv_handler;
    __typeof__(&ucs_status_string) status_string;
} tutti_ucx_lib_t;
extern tutti_ucx_lib_t tutti_ucx_lib;

/* Opens libucp.so.0 once per process: TUTTI_SUCCESS, or
 * TUTTI_ERR_UNSUPPORTED with the reason in why.  Every ucp_* call below
 * needs it first. */
tutti_result_t tutti_ucx_lib_load(char *why, size_t whylen);

/* the transport's code keeps UCX's names (ucp_init is ucp.h's inline over
 * ucp_init_version) */
#define ucp_am_send_nbx (tutti_ucx_lib.am_send_nbx)
#define ucp_cleanup (tutti_ucx_lib.cleanup)
#define ucp_config_modify (tutti_ucx_lib.config_modify)
#define ucp_config_read (tutti_ucx_lib.config_read)
#define ucp_config_release (tutti_ucx_lib.config_release)
#define ucp_context_query (tutti_ucx_lib.context_query)
#define ucp_ep_close_nbx (tutti_ucx_lib.ep_close_nbx)
#define ucp_ep_create (tutti_ucx_lib.ep_create)
#define ucp_get_version (tutti_ucx_lib.get_version)
#define ucp_mem_map (tutti_ucx_lib.mem_map)
#define ucp_mem_query (tutti_ucx_lib.mem_query)
#define ucp_mem_unmap (tutti_ucx_lib.mem_unmap)
#define ucp_request_cancel (tutti_ucx_lib.request_cancel)
#define ucp_request_check_status (tutti_ucx_lib.request_check_status)
#define ucp_request_free (tutti_ucx_lib.request_free)
#define ucp_tag_recv_nbx (tutti_ucx_lib.tag_recv_nbx)
#define ucp_tag_send_nbx (tutti_ucx_lib.tag_send_nbx)
#define ucp_worker_arm (tutti_ucx_lib.worker_arm)
#define ucp_worker_create (tutti_ucx_lib.worker_create)
#define ucp_worker_destroy (tutti_ucx_lib.worker_destroy)
#define ucp_worker_get_address (tutti_ucx_lib.worker_get_address)
#define ucp_worker_get_efd (tutti_ucx_lib.worker_get_efd)
#define ucp_worker_progress (tutti_ucx_lib.worker_progress)
#define ucp_worker_release_address (tutti_ucx_lib.worker_release_address)
#define ucp_worker_set_am_recv_handler (tutti_ucx_lib.worker_set_am_recv_handler)
#define ucs_status_string (tutti_ucx_lib.status_string)
#define ucp_init(p, c, x) (tutti_ucx_lib.init_version(UCP_API_MAJOR, UCP_API_MINOR, p, c, x))

#define TUTTI_UCX_KIND_DATA 1u
#define TUTTI_UCX_KIND_HELLO 2u
#define TUTTI_UCX_AM_CTL 7 /* active message id of control messages */
#define TUTTI_UCX_CTL_ERROR 1u
#define TUTTI_UCX_CTL_WAIT 2u
#define TUTTI_UCX_CTL_CREDIT 3u /* seq: messages released on channel `tag` */

static inline uint64_t tutti_ucx_tag(uint32_t kind, int chan, int src, uint32_t fp)
{
    return ((uint64_t)kind << 60) | ((uint64_t)(chan & 0xf) << 56) | ((uint64_t)(src & 0xffffff) << 32) | fp;
}
#define TUTTI_UCX_TAG_MASK 0xffffffff00000000ull

/* Control message (active message header). */
typedef struct {
    uint32_t type;
    int32_t src;
    int32_t code; /* TUTTI_UCX_CTL_ERROR: the sender's result */
    uint32_t tag;
    uint64_t seq;
    int32_t waiting_on, root;
    char text[160];
} tutti_ucx_ctl_t;

struct tutti_ucx_conn;

/* What a request's callback needs: its connection and slot. */
typedef struct {
    struct tutti_ucx_conn *c;
    uint32_t idx;
} tutti_ucx_ud_t;

struct tutti_ucx_comm;

/* One peer and channel: both directions' slot rings. */
typedef struct tutti_ucx_conn {
    struct tutti_ucx_comm *uc;
    int peer, chan;
    uint32_t nslots;
    size_t slot;
    /* send ring: s_head committed, s_tail oldest not completed */
    char *sbuf;
    void **sreq;
    uint8_t *sdone;
    tutti_ucx_ud_t *sud;
    uint64_t s_head, s_tail;
    uint64_t credit; /* messages the peer has released: s_head < credit + nslots */
    /* receive ring: r_post posted, r_head completed in order, r_tail released */
    char *rbuf;
    void **rreq;
    uint8_t *rdone;
    uint32_t *rlen, *rtag;
    tutti_ucx_ud_t *rud;
    uint64_t r_post, r_head, r_tail;
    uint64_t credited; /* r_tail last told to the sender */
    tutti_ucx_ctl_t cout; /* the credit message on its way, and its request */
    void *creq;
} tutti_ucx_conn_t;

/* What this rank knows about a peer. */
typedef struct {
    ucp_ep_h ep;
    int pid;       /* its process, when on this node: checked for life */
    int peer_mode; /* UCX reports its failures (else: tutti's checks only) */
    int failed;
    tutti_result_t code;
    char why[220];
    tutti_ucx_ctl_t out; /* the control message going to it */
    void *out_req;
    int has_wait;
    uint64_t wseq;
    uint32_t wtag;
    int waiting_on, root;
} tutti_ucx_peer_t;

typedef struct tutti_ucx_comm {
    int rank, nranks, nchan;
    ucp_context_h ctx;
    ucp_worker_h worker;
    int efd; /* the worker's wakeup fd, -1 without */
    ucp_mem_h memh;
    char *mem;
    size_t memlen;
    tutti_ucx_peer_t *peers;   /* [nranks] */
    tutti_ucx_conn_t **conns;  /* [nranks * nchan], NULL where unused */
    tutti_ucx_conn_t **active; /* every conn */
    int nactive;
    int announced;
    size_t slot;
    /* UCX moves bytes only inside its progress calls: while the rank is
     * elsewhere (computing, in MPI) a thread progresses the worker, so
     * peers never wait for this rank to call in again.  mu serialises every
     * use of the worker; calls (counted on entry) tells the thread whether
     * the owner called in during its last sleep, i.e. progresses itself. */
    pthread_mutex_t mu;
    int mu_ok;
    pthread_t thread;
    int thread_on, stop;
    uint64_t calls;
    char tls[96]; /* the UCX transports asked for, for messages */
} tutti_ucx_comm_t;

static inline void tutti_ucx_enter(tutti_ucx_comm_t *uc)
{
    pthread_mutex_lock(&uc->mu);
    __atomic_store_n(&uc->calls, uc->calls + 1, __ATOMIC_RELAXED); /* only here, under mu */
}

static inline void tutti_ucx_leave(tutti_ucx_comm_t *uc)
{
    pthread_mutex_unlock(&uc->mu);
}

/* ucx_setup.c */
tutti_result_t tutti_ucx_comm_create(const tutti_tp_setup_t *setup, void **tpcomm);
tutti_result_t tutti_ucx_comm_destroy(void *tpcomm);
tutti_result_t tutti_ucx_probe(int requested, char *why, size_t whylen);
void tutti_ucx_peer_fail(tutti_ucx_comm_t *uc, int peer, tutti_result_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tutti_ucx_post_recvs(tutti_ucx_conn_t *c);
/* ucx_component.c */
void tutti_ucx_credit(tutti_ucx_conn_t *c);
int tutti_ucx_sender_starved(const tutti_ucx_conn_t *c);
void tutti_ucx_ctl_arrived(tutti_ucx_comm_t *uc, const tutti_ucx_ctl_t *m);

#endif
