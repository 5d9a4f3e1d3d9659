/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP transport.
 *
 * For every remote peer and channel, TUTTI_TCP_NSOCKS full-duplex sockets.
 * Message k of a direction travels on socket k mod n, so consecutive
 * messages stripe over the sockets (parallel streams through the kernel)
 * and the receiver, reading message k from socket k mod n, keeps their
 * order.  Each direction has a ring of slots in local memory:
 *
 *   sender:   engine fills slot (acquire/commit) -> writev(header, slot) on socket k mod n
 *   receiver: read header, then payload straight into slot k mod nslots -> engine reads it
 *
 *   header:   magic | payload length | fingerprint tag | flags (data, or error report)
 *
 * TCP's own window is the flow control: a receiver with no free slot stops
 * reading that socket, the sender's writes then return EAGAIN and its slots
 * stay full.  Sockets are nonblocking, registered with one epoll instance per
 * communicator (edge-triggered; the transport remembers which sockets still
 * have work), driven by the engine's progress calls; a commit writes at once
 * when it can, so small messages go out without waiting for a poll.
 *
 * Set-up (collective): listen on the interface TUTTI_SOCKET_IFNAME picks and
 * allgather the addresses; nothing is connected yet.  A peer and channel is
 * connected on its first use, from either end (tcp_lazy.c): a rank pays
 * sockets, slot rings and epoll entries only for the peers its schedules
 * talk to.  Every connection opens with a hello carrying a MAC keyed by a
 * key derived from the communicator's secret, answered by an accept or a
 * refusal (when both ends started at once, the lower rank's connections
 * win); strangers are dropped and logged.  Failures: a refused connect, EOF
 * or an error on a socket fails its peer ("connection to rank 3 closed");
 * announce_failure writes an error frame so peers learn the root cause.
 */
#ifndef TUTTI_TCP_H
#define TUTTI_TCP_H

#include "core/bootstrap_wire.h"
#include "tutti/transport.h"
#include "util/socket.h"

#include <stddef.h>
#include <stdint.h>

extern const tutti_transport_t tutti_tcp_transport;
/* its entry point (include/tutti/transport.h), the registry's way in */
tutti_result_t tutti_tcp_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen);

#define TUTTI_TCP_MAX_SOCKS 16
#define TUTTI_TCP_STAGE 4096 /* receive staging: a header, a small payload, what follows */
#define TUTTI_TCP_MAGIC 0x50435454u /* "TTCP" */
#define TUTTI_TCP_FLAG_ERROR 1u
#define TUTTI_TCP_FLAG_WAIT 2u /* control: the sender's wait state (not a message) */

/* Payload of a TUTTI_TCP_FLAG_WAIT frame. */
typedef struct {
    uint64_t seq;
    uint32_t tag; /* the fingerprint of call seq */
    int32_t waiting_on, root;
    uint32_t pad;
} tutti_tcp_wait_t;

typedef struct {
    uint32_t magic;
    uint32_t len;
    uint32_t tag;
    uint32_t flags;
} tutti_tcp_hdr_t;

struct tutti_tcp_pc;

/* A socket's place in the connection handshake (tcp_lazy.c). */
enum {
    TUTTI_TCP_HS_NONE = 0,   /* no socket */
    TUTTI_TCP_HS_CONNECT,    /* this end connects: connect() in progress */
    TUTTI_TCP_HS_ACK,        /* hello sent, waiting for the accept */
    TUTTI_TCP_HS_DATA,       /* accepted: messages flow */
};

/* A peer and channel's connection state. */
enum {
    TUTTI_TCP_PC_IDLE = 0,   /* never used: no socket, no ring */
    TUTTI_TCP_PC_CONNECTING, /* this end connects */
    TUTTI_TCP_PC_ACCEPTING,  /* the peer connects; its sockets arrive */
    TUTTI_TCP_PC_UP,         /* every socket accepted */
};

/* The answer to a hello: magic, then 1 (accepted), 0 (refused: the
 * peer's own connections win) or 2 (this rank's communicator failed: a
 * tutti_tcp_failed_t follows). */
#define TUTTI_TCP_ACK_MAGIC 0x4b415454u /* "TTAK" */
#define TUTTI_TCP_ACK_FAILED 2u
typedef struct {
    uint32_t magic;
    uint32_t accept;
} tutti_tcp_ack_t;

typedef struct {
    int32_t code;
    uint32_t len;
    char text[180];
} tutti_tcp_failed_t;

typedef struct tutti_tcp_sock {
    int fd;
    int idx;
    int hs; /* TUTTI_TCP_HS_* */
    size_t ack_have;
    tutti_tcp_ack_t ack;
    struct tutti_tcp_pc *pc;
    int readable, writable; /* edge-triggered: may have work left */
    int closed;             /* an error report went out: nothing more is written */
    int rclosed;            /* EOF or the peer's error report: nothing more arrives */
    /* writing message wmsg (wdone bytes of header + payload sent) */
    uint64_t wmsg;
    size_t wdone;
    tutti_tcp_hdr_t whdr;
    /* reading message rmsg */
    uint64_t rmsg;
    size_t rdone;
    tutti_tcp_hdr_t rhdr;
    char rtext[192]; /* an error report's text while it arrives */
    /* bytes read ahead (one recv brings a header, its small payload and
     * the next header); drained: the last recv found the socket empty, so
     * the next one would only say EAGAIN (cleared by every epoll event) */
    char *stage;
    size_t stage_len, stage_off;
    int drained;
    /* a control frame going out before the next message (wait state) */
    uint8_t ctl[sizeof(tutti_tcp_hdr_t) + sizeof(tutti_tcp_wait_t)];
    size_t ctl_len, ctl_done;
} tutti_tcp_sock_t;

/* One peer and channel: its sockets and both directions' slot rings. */
typedef struct tutti_tcp_pc {
    struct tutti_tcp_comm *tc;
    int peer, chan, nsocks;
    int state;        /* TUTTI_TCP_PC_* */
    int nup;          /* sockets accepted so far */
    tutti_tcp_sock_t *socks; /* [nsocks], from the first use on */
    uint32_t nslots;
    size_t slot;
    char *sbuf;
    uint32_t *slen, *stag;
    const char **sref; /* by-reference messages: the user's bytes, else NULL */
    uint64_t s_head; /* messages committed */
    char *rbuf;
    uint32_t *rlen, *rtag;
    uint8_t *rdone;
    uint64_t r_head, r_tail; /* received in order / released */
    int failed; /* unusable now: every call fails with failed_code, why */
    tutti_result_t failed_code;
    char why[200];
    /* The peer stopped (its error report, or a socket's EOF): messages that
     * arrived before still count; the pc fails when it needs one that can no
     * longer come, or must send. */
    /* the peer's last published wait state (TUTTI_TCP_FLAG_WAIT) */
    int has_wait;
    tutti_tcp_wait_t wait;
    int ended, end_reported; /* end_reported: the reason is the peer's own report */
    tutti_result_t end_code;
    char end_why[200];
} tutti_tcp_pc_t;

/* An incoming connection whose hello has not arrived yet. */
typedef struct {
    int fd;
    size_t have;
    double since;
    tutti_hello_t hello;
} tutti_tcp_pending_t;

#define TUTTI_TCP_MAX_PENDING 256

typedef struct tutti_tcp_comm {
    int rank, nranks, nchan, nsocks;
    int epfd;
    int listen_fd; /* open for the communicator's life: peers connect on first use */
    uint8_t key[16];
    uint64_t comm_id;
    uint32_t nslots;
    size_t slot;
    tutti_sockaddr_t *addrs; /* [nranks] listening addresses */
    const uint8_t *use;      /* [nranks]: peers this transport serves (copy) */
    tutti_tcp_pc_t **pcs; /* [nranks * nchan], NULL until conn() asks */
    tutti_tcp_pc_t **active; /* pcs in use (connecting or up), for progress */
    int nactive;
    tutti_tcp_pending_t pend[TUTTI_TCP_MAX_PENDING];
    int npend;
    int hs_work; /* the listener or a pending connection had an event */
    char host[64]; /* this rank's interface, for messages */
    int announced; /* a failure report went out: the first one is the root cause */
} tutti_tcp_comm_t;

/* tcp_wire.c: the hello's key (from the communicator's secret and id), and
 * an accepting rank's checks of a hello: NULL, with the channel and socket
 * index it claims, or the reason to drop the connection. */
void tutti_tcp_derive_key(const uint8_t secret[16], uint64_t comm_id, uint8_t key[16]);
const char *tutti_tcp_hello_accept(const tutti_hello_t *h, const uint8_t key[16], uint64_t comm_id, int rank,
                                   int nranks, const uint8_t *use, int nchan, int nsocks, int *chan, int *idx);

/* tcp_setup.c */
tutti_result_t tutti_tcp_comm_create(const tutti_tp_setup_t *setup, void **out);
tutti_result_t tutti_tcp_comm_destroy(void *tpcomm);
/* The pc of (peer, chan), made (without sockets or rings) on first ask;
 * NULL for a peer this transport does not serve or out of memory. */
tutti_tcp_pc_t *tutti_tcp_pc_get(tutti_tcp_comm_t *tc, int peer, int chan);
/* Sockets and slot rings for a pc about to connect; 0 or -1 (failed). */
int tutti_tcp_pc_activate(tutti_tcp_pc_t *pc);

/* tcp_lazy.c: connections on first use.  ready: TUTTI_SUCCESS once the pc
 * is up; else starts (or drives) its handshake: TUTTI_INPROGRESS, or its
 * failure.  hs_step: serves the listener and pending hellos. */
tutti_result_t tutti_tcp_ready(tutti_tcp_pc_t *pc);
void tutti_tcp_hs_step(tutti_tcp_comm_t *tc);
/* announce_failure's part for connections not up: every hello waiting in
 * the listen queue is answered with the failure, the listener closed (later
 * connects are refused at once), half-made connections closed. */
void tutti_tcp_hs_fail_all(tutti_tcp_comm_t *tc, tutti_result_t code, const char *why);
/* a handshake event on one of pc's sockets */
void tutti_tcp_hs_pc(tutti_tcp_pc_t *pc);

/* tcp_io.c */
void tutti_tcp_sock_write(tutti_tcp_sock_t *s);
void tutti_tcp_sock_read(tutti_tcp_sock_t *s);
void tutti_tcp_pc_fail(tutti_tcp_pc_t *pc, tutti_result_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tutti_tcp_pc_end(tutti_tcp_pc_t *pc, tutti_result_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ended and a call needs the peer: becomes failed; returns failed */
int tutti_tcp_pc_end_fails(tutti_tcp_pc_t *pc);
tutti_result_t tutti_tcp_progress(void *tpcomm);
/* epoll with a timeout, then the I/O that became possible */
tutti_result_t tutti_tcp_poll(tutti_tcp_comm_t *tc, int timeout_ms);
tutti_result_t tutti_tcp_block(void *tpcomm, int timeout_ms);

#endif
