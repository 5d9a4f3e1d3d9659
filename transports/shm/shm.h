/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared-memory transport.
 *
 * One POSIX shared-memory segment per node and communicator holds a
 * single-producer single-consumer FIFO for every ordered pair of local
 * ranks and every channel, but only as address space: the file is sparse
 * (ftruncate), each rank maps just its header, and a FIFO gets pages and a
 * mapping only when one of its two ends first uses it:
 *
 *   segment:  [header: per local rank pid, start time, pid namespace]
 *             [FIFO 0->1 ch0][FIFO 0->1 ch1][FIFO 0->2 ch0] ... [FIFO L-1->L-2 ch1]
 *               ^ untouched FIFOs cost no memory, no page tables, no mapping
 *   first use of a connection (either end, any order, no handshake):
 *             posix_fallocate(its range)  -> ENOSPC is an error now, never
 *                                            a SIGBUS on the data path
 *             mmap(its range, MAP_POPULATE) -> the data path never faults
 *   FIFO:     [ctrl: tail (consumer count), own cache line]
 *             [slot headers: seq | len | 48 B inline data, one cache line each]
 *             [slot payloads, slot_size each]
 *
 * Fresh tmpfs pages read as zeros, which is a FIFO's initial state, so the
 * two ends need not agree on who comes first.  Memory is thus proportional
 * to the pairs that talk (ring and tree neighbours: O(local ranks) per
 * node; the node-local windows of shm_win.c: 2 x TUTTI_SHM_WIN_SIZE per
 * rank); only an all-to-all touches every pair.
 *
 * The producer fills slot pos % n (payloads of at most 48 bytes go inline in
 * the header line, so a small message costs one cache-line transfer), then
 * publishes seq = pos + 1 with a release store.  The consumer polls that
 * seq with an acquire load, reads (or reduces straight out of) the slot,
 * then publishes tail.  The producer re-reads tail only when its cached
 * copy says the FIFO is full.  No locks, no system calls on the data path.
 *
 * Single copy: a message may instead carry a reference (address, pid) to a
 * buffer the sender will not change until it sees the message consumed; the
 * receiver then copies it with process_vm_readv straight into its
 * destination (or into the slot when it must reduce).  Enabled when every
 * local rank could read a probe word of every other at setup (CMA needs
 * ptrace permission; a failing probe is logged and leaves the FIFO path).
 *
 * Lifecycle: the node's first local rank creates the segment, every local
 * rank opens it and maps its header, and once all have (a bootstrap
 * allgather of statuses) it is unlinked: a crash afterwards leaves nothing
 * in /dev/shm.  Each rank keeps its descriptor to map FIFOs later.
 */
#ifndef TUTTI_SHM_H
#define TUTTI_SHM_H

#include "tutti/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern const tutti_transport_t tutti_shm_transport;
/* its entry point (include/tutti/transport.h), the registry's way in */
tutti_result_t tutti_shm_entry(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen);

#define TUTTI_SHM_INLINE 48
#define TUTTI_SHM_MAGIC 0x6d68736974747574ULL /* "tuttishm" */

typedef struct {
    _Alignas(64) uint64_t tail;
    char pad[56];
} tutti_shm_ctrl_t;

/* A slot header: sequence, length, the collective's fingerprint, and up to
 * 48 bytes inline.  len's top bit marks a reference: the payload is then the
 * sender's (address, pid) in inl, to be read with process_vm_readv. */
typedef struct {
    _Alignas(64) uint64_t seq;
    uint32_t len;
    uint32_t tag;
    uint8_t inl[TUTTI_SHM_INLINE];
} tutti_shm_slot_t;

#define TUTTI_SHM_REF (1u << 31)

typedef struct {
    uint64_t addr;
    int32_t pid;
    int32_t pad;
} tutti_shm_ref_t;

_Static_assert(sizeof(tutti_shm_slot_t) == 64, "slot header is one cache line");

/* Per local rank, in the segment header. */
typedef struct {
    _Alignas(64) int32_t pid;
    int32_t ready;
    uint64_t starttime; /* /proc/pid/stat field 22: detects pid reuse */
    uint64_t pidns;     /* inode of /proc/self/ns/pid: 0 if unknown */
    uint64_t probe;     /* address of a known word, to test single-copy reads */
    /* announce_failure: nonzero result once this rank's communicator failed;
     * why is written before failed is published */
    int32_t failed;
    char why[148];
    uint64_t state; /* publish_state: (call number low 32 bits) << 32 | fingerprint */
    /* publish_wait: stuck in call wait_seq (0: never published) waiting on
     * rank wait_who >> 32, the chain of waits ending at rank wait_who's low
     * 32 bits; who is written before seq (best effort, like TCP's frames) */
    uint64_t wait_seq, wait_who;
} tutti_shm_peer_t;

_Static_assert(sizeof(tutti_shm_peer_t) == 256, "peer entry layout");

typedef struct {
    uint64_t magic;
    uint64_t comm_id;
    uint32_t nlocal, nchan, nslots, pad;
    uint64_t slot_size, fifo_bytes, total_bytes;
} tutti_shm_seg_hdr_t;

struct tutti_shm_comm;

typedef struct tutti_shm_conn {
    /* NULL until first use maps the FIFO (tutti_shm_conn_map) */
    tutti_shm_ctrl_t *ctrl;
    tutti_shm_slot_t *slots;
    char *data;
    uint64_t pos;         /* next message number */
    uint64_t cached_tail; /* sender: last tail read */
    uint32_t idx;         /* pos % nslots */
    uint32_t nslots;
    size_t slot_size;
    int peer;       /* communicator rank */
    int peer_local; /* index among local ranks */
    int peer_pid;
    uint64_t ref_loaded; /* receiver: pos + 1 of a reference already read into its slot */
    struct tutti_shm_comm *owner;
    size_t off;         /* the FIFO's offset in the segment */
    void *map;          /* its mapping, once used */
    tutti_result_t map_err; /* mapping it failed: every call returns this */
} tutti_shm_conn_t;

typedef struct tutti_shm_comm {
    char name[64];
    void *base;
    size_t size;
    int nlocal, me;   /* local ranks, my index */
    int *local_ranks; /* [nlocal] communicator ranks */
    int nchan;
    uint32_t nslots;
    size_t slot_size;
    tutti_shm_peer_t *peers; /* in the segment */
    int fd;                  /* the segment, kept to map FIFOs on first use */
    size_t hdr_bytes, fifo_bytes, ctrl_bytes; /* page multiples */
    int nmapped;             /* FIFOs this rank has mapped */
    char map_why[160];       /* why mapping a FIFO failed (peer_check says it) */
    tutti_shm_conn_t *send, *recv; /* [nlocal * nchan] by local index */
    int *local_of; /* [nranks] local index or -1 */
    uint64_t my_pidns;
    int cma;              /* every local rank can read every other (process_vm_readv) */
    uint64_t probe_word;  /* what peers read to test that */
    /* windows (shm_win.c) */
    size_t win_bytes, win_oneshot, win_map; /* win_bytes 0: none */
    int win_nbuf, win_created;
    void **win_maps;             /* [nlocal] mappings */
    char **win_base;             /* [nranks] */
    tutti_tp_winctl_t **win_ctl; /* [nranks] */
} tutti_shm_comm_t;

/* Segment creation/mapping (shm_seg.c). */
tutti_result_t tutti_shm_seg_setup(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup);
void tutti_shm_seg_release(tutti_shm_comm_t *sc);
/* Every rank's `bytes` of `mine` (malloc'ed, by rank; the caller frees),
 * or NULL with *r and setup->err set (shm_seg.c). */
void *tutti_shm_allgather(const tutti_tp_setup_t *setup, const void *mine, size_t bytes, tutti_result_t *r);
/* Backs and maps the FIFO of c on its first use (shm_seg.c): TUTTI_SUCCESS,
 * or an error (then c->map_err, and owner->map_why says why). */
tutti_result_t tutti_shm_conn_map(tutti_shm_conn_t *c);
void tutti_shm_conn_unmap(tutti_shm_conn_t *c);
/* Windows (shm_win.c): collective over the communicator, like the segment. */
tutti_result_t tutti_shm_win_setup(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup);
void tutti_shm_win_release(tutti_shm_comm_t *sc);
tutti_result_t tutti_shm_window(void *tpcomm, tutti_tp_window_t *w);
/* Reads len bytes at addr of process pid into dst (process_vm_readv). */
tutti_result_t tutti_shm_cma_read(int pid, uint64_t addr, void *dst, size_t len);
/* Liveness and state of a local peer (shm_seg.c). */
tutti_result_t tutti_shm_peer_alive(tutti_shm_comm_t *sc, int local, uint64_t seq, uint32_t tag, char *why,
                                    size_t whylen);
uint64_t tutti_shm_proc_starttime(int pid);

#endif
