/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transport interface, version 1.
 *
 * A transport moves bytes between two ranks of a communicator over ordered,
 * one-directional connections (one per peer, direction and channel).  The
 * engine never hands a transport a user buffer on the data path: it asks for
 * a slot to write into (send side) or a filled slot to read from (receive
 * side), so that reductions read straight out of a received slot and write
 * straight into the next send slot.  Built-in transports (shm, tcp, ucx,
 * verbs) use exactly this interface; so does a plugin built out of tree
 * (docs/TRANSPORTS.md, examples/transport/).
 *
 * Rules for a transport:
 *  - The table starts with `size` (sizeof the table it was built with) and
 *    `api_version`; the core refuses a table whose version it does not know
 *    and ignores fields beyond `size`.
 *  - Unsupported operations point at a stub of the same type returning
 *    TUTTI_ERR_UNSUPPORTED, never NULL; `caps` lists what is really wired.
 *  - Data-path calls never block.  When a slot is not available they return
 *    TUTTI_INPROGRESS; the engine calls progress() and tries again.
 *  - send_acquire/recv_acquire are idempotent until the matching
 *    send_commit/recv_release: calling them again returns the same slot.
 *  - Messages on one connection arrive in order and keep their lengths and
 *    their 32-bit tags (the engine puts the fingerprint of the collective
 *    there and checks it on arrival).
 *  - comm_create is collective over every rank of the communicator, also on
 *    ranks that use the transport for no peer, because it may use the
 *    bootstrap's barrier and allgather.
 *  - Transports are found through one entry point each (end of this file):
 *    the built-in ones and plugins loaded at run time alike.
 */
#ifndef TUTTI_TRANSPORT_H
#define TUTTI_TRANSPORT_H

#include "tutti.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TUTTI_TRANSPORT_API_VERSION 1

/* Where a buffer lives.  Host only in this version; the field exists so that
 * device memory can be added without changing the interface. */
typedef enum {
    TUTTI_MEM_HOST = 0,
    TUTTI_MEM_CUDA = 1,
} tutti_memtype_t;

/* Capabilities (tutti_transport_t.caps). */
#define TUTTI_TP_CAP_INTRANODE (1u << 0) /* reaches ranks on the same node only */
#define TUTTI_TP_CAP_INTERNODE (1u << 1) /* reaches ranks on other nodes */
#define TUTTI_TP_CAP_NEEDS_PROGRESS (1u << 2) /* progress() must be called to move bytes */
#define TUTTI_TP_CAP_SEND_REF (1u << 3) /* send_commit_ref: single-copy messages */
#define TUTTI_TP_CAP_BLOCK (1u << 4)    /* block: a wait the kernel can wake */
#define TUTTI_TP_CAP_WAIT_STATE (1u << 5) /* publish_wait / peer_wait */
#define TUTTI_TP_CAP_PROBE (1u << 6)      /* probe: usable only where a device or library is found */
#define TUTTI_TP_CAP_WINDOW (1u << 7)     /* window: every local rank's buffers mapped here */

/* peer_check's seq when this rank is in no collective (point-to-point):
 * check that the peer is alive and well, compare no call. */
#define TUTTI_SEQ_NONE UINT64_MAX

/* recv_read's tag argument that accepts any tag. */
#define TUTTI_TAG_ANY 0xffffffffu

/* Shared windows (TUTTI_TP_CAP_WINDOW): every rank on this node owns
 * `nbuf` buffers of `bytes` bytes that the other local ranks can read and
 * one control block that only its owner writes.  Counters hold chunk
 * numbers that grow for the life of the communicator, published with
 * release stores and read with acquire loads:
 *
 *   call      (first chunk number of the call, low 32 bits) << 32 | the
 *             call's fingerprint: written before any counter of the call
 *   copied    last chunk whose input the owner has put in its buffer
 *   held[b]   the chunk and call buffer b holds (written before the data)
 *   reduced   last chunk whose reduced slice the owner has put there
 *   consumed  last chunk of which the owner has read everything it needs
 *             from the other ranks' buffers
 *
 * Chunk g lives in buffer g % nbuf; an owner writes it only once every
 * rank's consumed >= g - nbuf.  Each counter has a cache line of its own. */
#define TUTTI_TP_WIN_MAXBUF 4

typedef struct tutti_tp_winctl {
    _Alignas(64) uint64_t call;
    _Alignas(64) uint64_t copied;
    /* what buffer b holds: (chunk number low 32 bits) << 32 | fingerprint,
     * written before its data (so a reader sees whose data it would read;
     * on copied's line, which the reader has just loaded) */
    uint64_t held[TUTTI_TP_WIN_MAXBUF];
    _Alignas(64) uint64_t reduced;
    _Alignas(64) uint64_t consumed;
} tutti_tp_winctl_t;

typedef struct tutti_tp_window {
    size_t size;  /* sizeof, filled by the caller */
    size_t bytes; /* one buffer (a multiple of 64) */
    int nbuf;
    size_t oneshot; /* all-reduce calls below this size take the one-shot form */
    size_t nt_min;  /* copies into a window of at least this many bytes stream (0: never) */
    /* by communicator rank; NULL for ranks on other nodes */
    char *const *base;              /* rank r's nbuf buffers, one after another */
    tutti_tp_winctl_t *const *ctl;  /* rank r's control block */
} tutti_tp_window_t;

/* Services the core lends a transport while it sets up. */
typedef struct tutti_tp_boot {
    size_t size;
    void *ctx;
    /* every rank contributes `bytes`; all receives nranks*bytes by rank */
    tutti_result_t (*allgather)(void *ctx, const void *mine, void *all, size_t bytes);
    tutti_result_t (*barrier)(void *ctx);
} tutti_tp_boot_t;

typedef struct tutti_tp_setup {
    size_t size;
    uint64_t comm_id;   /* unique per communicator, same on every rank */
    int rank, nranks;
    int nchannels;      /* connections per peer and direction */
    const int *node_of_rank; /* node index of each rank (0..nnodes-1) */
    int nnodes;
    const uint8_t *use; /* use[r] != 0: this transport serves peer r */
    size_t slot_size;   /* requested payload bytes per slot (>= 4096) */
    int nslots;         /* requested slots per connection (>= 2) */
    const tutti_tp_boot_t *boot;
    const uint8_t *secret; /* 16 bytes, the communicator's: authenticate connections with it */
    double timeout;        /* seconds setup may take (connections to every peer) */
    char *err;          /* on failure: a message naming what went wrong */
    size_t errlen;
} tutti_tp_setup_t;

typedef struct tutti_transport {
    size_t size;
    uint32_t api_version;
    const char *name;
    uint32_t caps;

    /* Collective: creates the transport's state for one communicator and
     * connects every peer r with use[r] != 0. */
    tutti_result_t (*comm_create)(const tutti_tp_setup_t *setup, void **tpcomm);
    /* Local: frees everything; peers may already be gone. */
    tutti_result_t (*comm_destroy)(void *tpcomm);
    /* The connection to/from `peer` on `chan` (dir 0: send, 1: receive). */
    void *(*conn)(void *tpcomm, int peer, int chan, int dir);
    /* Largest message one slot carries. */
    size_t (*max_payload)(void *tpcomm);
    /* Moves pending bytes; cheap when there is nothing to do.  A peer found
     * dead is reported as TUTTI_ERR_REMOTE with the reason in err. */
    tutti_result_t (*progress)(void *tpcomm);

    /* Data path.  len <= max_payload.  The slot returned by send_acquire is
     * writable for len bytes until send_commit(conn, len, tag). */
    tutti_result_t (*send_acquire)(void *conn, size_t len, void **slot);
    tutti_result_t (*send_commit)(void *conn, size_t len, uint32_t tag);
    /* The next message: its bytes, length and tag, readable until
     * recv_release. */
    tutti_result_t (*recv_acquire)(void *conn, const void **slot, size_t *len, uint32_t *tag);
    tutti_result_t (*recv_release)(void *conn);

    /* The next message copied into dst and released in one call (a
     * transport that received a reference reads it straight into dst).
     * *got and *got_tag describe it; when they differ from len and tag
     * (unless tag is TUTTI_TAG_ANY) nothing is consumed and
     * TUTTI_ERR_MISMATCH is returned. */
    tutti_result_t (*recv_read)(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag);
    /* Optional (TUTTI_TP_CAP_SEND_REF, else a stub): commits the slot taken
     * by send_acquire as a reference to buf instead of a copy; the receiver
     * reads buf itself.  buf must stay unchanged until send_flushed says the
     * peer consumed every message. */
    tutti_result_t (*send_commit_ref)(void *conn, const void *buf, size_t len, uint32_t tag);
    /* TUTTI_SUCCESS once the peer has consumed every message sent on conn
     * (or, for a transport with TUTTI_TP_CAP_NEEDS_PROGRESS, once every
     * message is out of the transport's hands, e.g. in the kernel's socket
     * buffer, and will arrive without further calls), TUTTI_INPROGRESS
     * before.  The engine waits for it before an operation completes. */
    tutti_result_t (*send_flushed)(void *conn);

    /* Is the peer of this connection alive, well, and in the same call?
     * TUTTI_SUCCESS; the error it announced (announce_failure);
     * TUTTI_ERR_REMOTE if it is gone; TUTTI_ERR_MISMATCH if its published
     * state (publish_state) has our call number `seq` with another
     * fingerprint `tag`.  A reason goes to why. */
    tutti_result_t (*peer_check)(void *conn, uint64_t seq, uint32_t tag, char *why, size_t whylen);
    /* Publishes, where peers can read it without this rank's help, the call
     * this rank is in (its number and fingerprint): ranks deadlocked in
     * different collectives find out even though no message crossed. */
    tutti_result_t (*publish_state)(void *tpcomm, uint64_t seq, uint32_t tag);
    /* Tells every peer, best effort and without blocking, that this rank's
     * communicator failed with `result` (why: one line), so ranks waiting on
     * it fail at once instead of at their deadline. */
    tutti_result_t (*announce_failure)(void *tpcomm, tutti_result_t result, const char *why);

    /* Optional (TUTTI_TP_CAP_BLOCK, else a stub): sleeps in the kernel until
     * this transport may have work (bytes arrived, room to send) or
     * timeout_ms passed, so that a rank waiting on the network leaves its
     * CPU to others instead of polling. */
    tutti_result_t (*block)(void *tpcomm, int timeout_ms);

    /* Optional (TUTTI_TP_CAP_WAIT_STATE, else stubs): stall diagnosis.
     * publish_wait tells every peer, best effort, that this rank has been
     * stuck in call `seq` (fingerprint `tag`) waiting for rank
     * `waiting_on`, and that the wait chain ends at rank `root` (the rank
     * nobody hears from); peer_check then also reports TUTTI_ERR_MISMATCH
     * when that peer is stuck in our call number with another fingerprint;
     * peer_wait
     * returns what the peer of conn published last (TUTTI_SUCCESS), or
     * TUTTI_INPROGRESS when it published nothing.  A rank that times out
     * waiting for a live peer that itself waits can then name the rank,
     * host or link that really failed. */
    tutti_result_t (*publish_wait)(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root);
    tutti_result_t (*peer_wait)(void *conn, uint64_t *seq, int *waiting_on, int *root);

    /* Optional (TUTTI_TP_CAP_PROBE, else a stub): can this rank use the
     * transport at all (a device, a port, a library that initialises)?
     * Local and quick; called on every rank before comm_create.  `requested`
     * is nonzero when the user named the transport in TUTTI_TRANSPORTS: a
     * transport may then accept what it would not choose by itself (UCX
     * without an RDMA device).  TUTTI_SUCCESS, or TUTTI_ERR_UNSUPPORTED with
     * the reason, for a person, in why. */
    tutti_result_t (*probe)(int requested, char *why, size_t whylen);

    /* Optional (TUTTI_TP_CAP_WINDOW, else a stub): this communicator's
     * shared windows (above), valid until comm_destroy; TUTTI_ERR_UNSUPPORTED
     * when it has none (one local rank, windows disabled).  Same answer on
     * every rank of a node. */
    tutti_result_t (*window)(void *tpcomm, tutti_tp_window_t *w);

    /* Added in version 1 after `window` (read only where `size` covers it):
     * a version string for people ("1.2", "tutti 0.1.0, UCX 1.13.1"),
     * shown by tutti-info; NULL if none. */
    const char *version;
} tutti_transport_t;

/* The smallest table of interface version 1 the core accepts: every field
 * up to `window`.  Fields added later are read only where size covers them. */
#define TUTTI_TRANSPORT_V1_MIN_SIZE (offsetof(tutti_transport_t, window) + sizeof(void *))

/*
 * Entry points.  Every transport, built in or loaded, is found through one
 * function of this type: the core passes the interface version it speaks,
 * the transport returns its table (static storage, valid until the process
 * ends) or an error with the reason in why ("libfoo.so.1 not found"); it
 * is called once per process, before any other call, and may load the
 * libraries it needs.  The core then checks the table (version, size, name,
 * every operation non-NULL) and leaves out, with the reason, a transport
 * that fails any of it.
 *
 * A plugin is a shared object exporting this entry under the name
 * tutti_transport_plugin (declared below with default visibility, so a
 * plugin built with -fvisibility=hidden still exports it).  The core loads
 * the files named in TUTTI_TRANSPORT_PLUGINS and every tutti_tp_*.so in the
 * directories of TUTTI_PLUGIN_PATH (docs/TRANSPORTS.md).  This header (and
 * tutti.h, which it includes) is all a plugin needs.
 */
typedef tutti_result_t (*tutti_transport_entry_t)(uint32_t api_version, const tutti_transport_t **tp, char *why,
                                                  size_t whylen);
#define TUTTI_TRANSPORT_PLUGIN_SYMBOL "tutti_transport_plugin"
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
tutti_result_t tutti_transport_plugin(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
