/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The communicator: who the ranks are, where they live, the transports that
 * connect them, and the queue of operations in flight.
 */
#ifndef TUTTI_CORE_COMM_H
#define TUTTI_CORE_COMM_H

#include "coll.h"
#include "core/bootstrap.h"
#include "core/engine.h"
#include "core/recorder.h"
#include "tutti.h"
#include "tutti/transport.h"

#include <pthread.h>
#include <stdint.h>

#define TUTTI_COMM_MAGIC 0x6d6f636974747574ULL   /* "tutticom" */
#define TUTTI_COMM_DESTROYED 0x6465796f72747364ULL
#define TUTTI_COMM_ABORTED 0x646574726f626164ULL
#define TUTTI_MAX_TRANSPORTS 8
#define TUTTI_NCHANNELS 2
#define TUTTI_ERRLEN 1024

enum { TUTTI_REQ_FREE = 0, TUTTI_REQ_QUEUED = 1, TUTTI_REQ_DONE = 2 };

/* The call number of point-to-point operations: none (other ranks do not
 * see them); it never equals a peer's published call. */
#define TUTTI_SEQ_P2P TUTTI_SEQ_NONE

struct tutti_request {
    tutti_comm_t comm;
    int state;
    tutti_result_t result;
    uint64_t seq; /* 1-based position among this communicator's collectives;
                   * TUTTI_SEQ_P2P for point-to-point (no call number) */
    uint64_t fr_id; /* its flight-recorder entry */
    int p2p;        /* sends and receives (a group, or one of them) */
    int nsend, nrecv;
    /* point-to-point: bit (send ? 0 : nranks) + peer set for every peer it
     * sends to or receives from (messages that cross a connection); 2 *
     * nranks bits */
    uint64_t *pairs;
    int started; /* point-to-point run ahead of the head (progress.c) */
    int alltoallv; /* all-to-all with per-peer counts (count: the largest block) */
    tutti_coll_t coll;
    tutti_algo_t algo;
    size_t count;
    tutti_datatype_t dtype;
    tutti_op_t op;
    int root;
    tutti_memtype_t memtype; /* of both buffers; host only for now */
    tutti_exec_t x;
    double last_progress;  /* when x.steps_done (or comm->ahead_steps, at the head) last changed */
    uint64_t last_ahead;   /* comm->ahead_steps then */
    uint64_t last_steps;
    double last_peer_check;
    int wait_root; /* the rank the wait chain ends at, as published (-1: not yet) */
    struct tutti_request *next;
    struct tutti_request *all_next; /* every request ever made, for destroy */
};

typedef struct {
    const tutti_transport_t *tp;
    void *tpcomm;
    uint64_t bytes; /* sent through this transport */
} tutti_comm_tp_t;

/* Per-rank facts exchanged at init. */
typedef struct {
    uint64_t hostid; /* hash of host name, boot id and IPC namespace */
    uint64_t kernelid; /* hash of the boot id: ranks that share CPUs */
    char host[48];
    int32_t pid;
    uint32_t pad;
    char transports[40]; /* TUTTI_TRANSPORTS: must agree */
    /* the topology this rank sees (src/topo): the job's view is the table
     * of these, the same on every rank */
    int16_t topo_ok, packages, numa_nodes, my_package, my_numa, gpus, nics, pad2;
    uint64_t nic_numas, nic_packages; /* bit per NUMA node / package of this node with a NIC */
    uint64_t cpus[16]; /* CPUs this process may run on (first 1024) */
} tutti_rank_info_t;

/* Communicators split from one another share a family: the lock that
 * guards their parent/child links, used to propagate abort downward. */
typedef struct tutti_family {
    pthread_mutex_t lock;
    int refs;
} tutti_family_t;

struct tutti_comm {
    uint64_t magic;
    int rank, nranks;
    uint64_t comm_id;

    pthread_mutex_t lock;  /* serialises calls on this communicator */
    int aborted;           /* atomic */
    int active;            /* atomic: threads inside a call */
    tutti_result_t broken; /* first fatal error, 0 while healthy */
    char last_error[TUTTI_ERRLEN];
    char cause[160]; /* a short root cause for the peers, when last_error is long */

    /* configuration, read once at creation */
    double timeout;
    uint32_t spin;
    double spin_s; /* the spin phase's time limit (TUTTI_SPIN_US), 0: none */
    int oversubscribed; /* more local ranks than CPUs */
    int fingerprint;    /* check incoming fingerprints */
    size_t nt_threshold;
    tutti_algo_config_t algo;

    /* the job */
    tutti_rank_info_t *info; /* [nranks] */
    int *node_of_rank;       /* [nranks] */
    int *ring_order, *ring_pos; /* topology ring order and its inverse; NULL: rank order */
    int nnodes, local_rank, local_size;

    tutti_bootstrap_t *boot;
    tutti_comm_tp_t tps[TUTTI_MAX_TRANSPORTS];
    int ntps;
    tutti_engine_t engine;
    tutti_tp_window_t win; /* the node's shared windows (engine.win points here when there are) */
    size_t slice_max;

    /* operations */
    uint64_t seq;
    struct tutti_request *head, *tail; /* posted, not yet complete, in order */
    uint64_t *busy_pairs;  /* scratch of the run-ahead (progress.c), 2 * nranks bits */
    uint64_t ahead_steps;  /* slices completed by operations behind the head */
    struct tutti_request *free_reqs;
    struct tutti_request *all_reqs;
    uint64_t logged[TUTTI_NUM_COLLS]; /* size classes (log2) whose choice was explained */
    tutti_recorder_t fr;              /* flight recorder */
    unsigned dumped;                  /* SIGUSR1 requests already served */
    int dump_on_timeout;

    /* the open point-to-point group (tutti_group_start .. _end) */
    struct {
        int open;
        int failed; /* an operation was refused: tutti_group_end refuses the group */
        int n, cap;
        tutti_p2p_op_t *ops;
        pthread_t owner; /* the thread that opened it */
    } group;

    /* family */
    tutti_family_t *family;
    struct tutti_comm *parent, *first_child, *next_sibling;
};

/* Records the detail of an error on comm (or, for comm == NULL, on the
 * calling thread) and returns r. */
tutti_result_t tutti_comm_error(tutti_comm_t comm, tutti_result_t r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Enters / leaves a public call: validates the handle, refuses aborted or
 * broken communicators (with a message naming the call) unless flags allow. */
#define TUTTI_ENTER_ALLOW_BROKEN 1
#define TUTTI_ENTER_ALLOW_ABORTED 2
tutti_result_t tutti_comm_enter(tutti_comm_t comm, const char *call, int flags);
void tutti_comm_leave(tutti_comm_t comm);

/* Creates a communicator over an existing bootstrap (init, split). */
tutti_result_t tutti_comm_create(tutti_bootstrap_t *boot, tutti_comm_t parent, tutti_comm_t *out,
                                 char *err, size_t errlen);

/* Request queue (comm->lock held). */
struct tutti_request *tutti_request_get(tutti_comm_t comm);
/* 64-bit words of a request's pairs bitmap */
static inline size_t tutti_pairs_words(int nranks)
{
    return (2 * (size_t)nranks + 63) / 64;
}
void tutti_request_put(struct tutti_request *req);
void tutti_comm_enqueue(tutti_comm_t comm, struct tutti_request *req);
/* Drives the queue; returns TUTTI_INPROGRESS while anything is pending. */
tutti_result_t tutti_comm_progress(tutti_comm_t comm);
/* Blocks (spin, then yield) until req is done; frees it; returns its result.
 * Called without comm->lock. */
tutti_result_t tutti_comm_wait(tutti_comm_t comm, struct tutti_request *req);

/* Tells the peers (through every transport) that this communicator failed. */
void tutti_comm_announce(tutti_comm_t comm, tutti_result_t r, const char *why);

/* Frees everything; the handle stays readable (magic) for a while. */
void tutti_comm_free(tutti_comm_t comm, uint64_t tombstone);

/* jobview.c: the node map (node index = order of first appearance), the
 * ring order from the topology, and the job view logged / dumped (TUNE). */
tutti_result_t tutti_comm_map_nodes(tutti_comm_t comm);
tutti_result_t tutti_comm_ring_order(tutti_comm_t comm);
void tutti_comm_job_view(tutti_comm_t comm);
/* Logs the algorithm decision table (INFO, TUNE; rank 0). */
void tutti_comm_log_table(tutti_comm_t comm);

/* connect.c: chooses a transport for every peer and connects them. */
tutti_result_t tutti_comm_connect(tutti_comm_t comm, char *err, size_t errlen);

/* Local identity of this process's node. */
void tutti_comm_local_info(tutti_rank_info_t *info);

/* tunemodel.c: the cost model of the job (after connect; its calibration
 * is an entry point's: src/api/api.h) */
void tutti_comm_model_setup(tutti_comm_t comm);
/* jobview.c: ranks sharing rank q's kernel, and the CPUs they may use */
void tutti_comm_cpu_sharing(tutti_comm_t comm, int q, int *sharing, int *ncpu);

#endif
