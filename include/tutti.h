/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tutti: collective communication for distributed training.
 *
 * Conventions that hold for every call in this header:
 *
 *  - Results.  Every call returns a tutti_result_t.  TUTTI_SUCCESS is 0,
 *    TUTTI_INPROGRESS is 1, errors are negative.  Each error code is a class
 *    (invalid argument, peer failure, timeout, ...); the human-readable detail
 *    of the last error on a communicator is tutti_comm_last_error(comm).
 *
 *  - What an error leaves behind.  TUTTI_ERR_INVALID_ARGUMENT and
 *    TUTTI_ERR_UNSUPPORTED are returned before anything is started: no buffer
 *    is read or written and the communicator stays usable.  Every other error
 *    returned by a collective (timeout, remote, system, internal, aborted,
 *    mismatch, no memory) leaves the communicator broken: later calls on it
 *    return TUTTI_ERR_INVALID_USAGE; destroy it (or abort it) and create a
 *    new one.
 *
 *  - Buffers.  The library never keeps a pointer to a user buffer after the
 *    operation that received it completes.  A blocking call owns its buffers
 *    until it returns.  A nonblocking call owns them from the call until
 *    tutti_wait() returns or tutti_test() reports done; the caller must not
 *    write the send buffer nor touch the receive buffer in between.
 *    Buffers are host memory in this version (a memory type per buffer is
 *    part of the internal request so that device memory can follow).
 *
 *  - Ordering.  Collectives on one communicator must be called in the same
 *    order by every rank.  Nonblocking collectives complete in the order they
 *    were posted; they may be waited on in any order.
 *
 *  - Threads.  Every call is safe to make from any thread.  Calls on one
 *    communicator are serialised internally, so two threads calling
 *    collectives on the same communicator concurrently get *some* order,
 *    which may differ between ranks: do not do that.  tutti_comm_abort() may
 *    be called from any thread at any time, including while another thread
 *    waits on the same communicator.
 *
 *  - Deadlines.  Every wait has a deadline (TUTTI_TIMEOUT, seconds).  When
 *    it passes the call returns TUTTI_ERR_TIMEOUT naming the operation and
 *    the peer it was waiting for.
 */
#ifndef TUTTI_H
#define TUTTI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TUTTI_EXPORT __attribute__((visibility("default")))
#else
#define TUTTI_EXPORT
#endif

#define TUTTI_VERSION_MAJOR 0
#define TUTTI_VERSION_MINOR 1
#define TUTTI_VERSION_PATCH 0
#define TUTTI_VERSION_CODE                                                     \
    (TUTTI_VERSION_MAJOR * 10000 + TUTTI_VERSION_MINOR * 100 + TUTTI_VERSION_PATCH)

/*
 * Results: one list makes the enum and the strings (tutti_strerror).
 * X(NAME, value, description)
 */
#define TUTTI_RESULT_MAP(X)                                                    \
    X(SUCCESS, 0, "success")                                                   \
    X(INPROGRESS, 1, "operation in progress")                                  \
    X(ERR_INVALID_ARGUMENT, -1, "invalid argument")                            \
    X(ERR_INVALID_USAGE, -2, "invalid usage")                                  \
    X(ERR_SYSTEM, -3, "system call failed")                                    \
    X(ERR_INTERNAL, -4, "internal error")                                      \
    X(ERR_REMOTE, -5, "remote peer failed")                                    \
    X(ERR_TIMEOUT, -6, "timed out")                                            \
    X(ERR_ABORTED, -7, "communicator aborted")                                 \
    X(ERR_UNSUPPORTED, -8, "unsupported")                                      \
    X(ERR_NO_MEMORY, -9, "out of memory")                                      \
    X(ERR_MISMATCH, -10, "ranks called mismatched collectives")

typedef enum {
#define TUTTI_RESULT_ENUM_(name, value, desc) TUTTI_##name = value,
    TUTTI_RESULT_MAP(TUTTI_RESULT_ENUM_)
#undef TUTTI_RESULT_ENUM_
} tutti_result_t;

/* Element types.  FLOAT16 is IEEE 754 binary16 and BFLOAT16 the upper 16 bits
 * of a binary32; both are stored in uint16_t.  (INT16 and UINT16 came
 * later, hence their place: values never change.) */
typedef enum {
    TUTTI_INT8,
    TUTTI_UINT8,
    TUTTI_INT32,
    TUTTI_UINT32,
    TUTTI_INT64,
    TUTTI_UINT64,
    TUTTI_FLOAT16,
    TUTTI_BFLOAT16,
    TUTTI_FLOAT32,
    TUTTI_FLOAT64,
    TUTTI_INT16,
    TUTTI_UINT16,
    TUTTI_NUM_DATATYPES
} tutti_datatype_t;

/* Reduction operators.
 *  - Integers: SUM and PROD wrap modulo 2^bits (two's complement); no
 *    undefined behaviour on overflow.  AVG is the wrapped SUM divided by the
 *    number of ranks, truncated toward zero (C integer division).
 *  - float16/bfloat16: each reduction step converts its inputs to float32,
 *    combines them, and rounds once (round to nearest even) to the storage
 *    type.  AVG divides the float32 sum by the rank count before rounding.
 *  - MIN/MAX on floating point: if either operand is NaN the result is NaN.
 *  - BAND, BOR, BXOR: bitwise and, or, exclusive or, for the integer types
 *    only (a floating-point datatype with them is INVALID_ARGUMENT). */
typedef enum {
    TUTTI_SUM,
    TUTTI_PROD,
    TUTTI_MIN,
    TUTTI_MAX,
    TUTTI_AVG,
    TUTTI_BAND,
    TUTTI_BOR,
    TUTTI_BXOR,
    TUTTI_NUM_OPS
} tutti_op_t;

typedef struct tutti_comm *tutti_comm_t;
typedef struct tutti_request *tutti_request_t;

/* Opaque to the user: a root address, a communicator id and a random secret.
 * Treat it as a credential: whoever holds it can join the communicator. */
typedef struct {
    char internal[128];
} tutti_unique_id_t;

/* ---------------------------------------------------------------------- */
/* Errors and version                                                     */

/* Static description of a result code; never NULL. */
TUTTI_EXPORT const char *tutti_strerror(tutti_result_t r);

/* Short name of a result code ("TUTTI_ERR_TIMEOUT"); never NULL. */
TUTTI_EXPORT const char *tutti_result_name(tutti_result_t r);

/* Detail of the last error on this communicator: which call, which rank and
 * peer, what was wrong.  With comm == NULL, the detail of the last error of a
 * call made by the calling thread that had no valid communicator to record
 * it on (init, get_unique_id, a NULL or destroyed handle).  The string stays
 * valid until the next error on the same communicator (or thread).  Never
 * returns NULL; "" when there was no error. */
TUTTI_EXPORT const char *tutti_comm_last_error(tutti_comm_t comm);

/* Library version as "major.minor.patch" and as TUTTI_VERSION_CODE. */
TUTTI_EXPORT const char *tutti_version_string(void);
TUTTI_EXPORT int tutti_version(void);

/* ---------------------------------------------------------------------- */
/* Communicators                                                          */

/* Creates a unique id for a new communicator and starts, in a background
 * thread of the calling process, the rendezvous service the ranks will join.
 * Call it on exactly one process (usually the future rank 0) and give the id
 * to every rank by any means (MPI_Bcast, a file, the environment).  The
 * service ends by itself once every rank has joined or the init deadline
 * (TUTTI_TIMEOUT) passes.
 * Errors: INVALID_ARGUMENT (id NULL), SYSTEM (no usable interface, socket). */
TUTTI_EXPORT tutti_result_t tutti_get_unique_id(tutti_unique_id_t *id);

/* Options of communicator creation, for the _config variants below.
 * Initialise with TUTTI_CONFIG_INIT, which sets size (so that a later
 * version can add fields: a library reads only the fields the caller's
 * size covers, and refuses a size larger than its own); a field left 0
 * takes its environment default. */
typedef struct {
    size_t size;         /* sizeof(tutti_config_t) where the caller was built */
    double init_timeout; /* seconds for every rank to join (TUTTI_INIT_TIMEOUT) */
    double timeout;      /* deadline of every wait on the new communicator
                          * (TUTTI_TIMEOUT; tutti_comm_set_timeout later) */
    int progress_thread; /* 1: the communicator's waits run on a progress
                          * thread beside the computation (a framework's
                          * backend): they yield the CPU at once instead of
                          * spinning first (TUTTI_SPIN), so the computation
                          * keeps its core; communicators split from it
                          * inherit this */
} tutti_config_t;
#define TUTTI_CONFIG_INIT {sizeof(tutti_config_t), 0.0, 0.0, 0}

/* tutti_get_unique_id with options: the rendezvous service waits
 * cfg->init_timeout for the ranks to join.  cfg NULL: the defaults.
 * Errors: as tutti_get_unique_id, and INVALID_ARGUMENT for a bad cfg (size
 * 0 or larger than this library's, a negative or non-finite time). */
TUTTI_EXPORT tutti_result_t tutti_get_unique_id_config(tutti_unique_id_t *id, const tutti_config_t *cfg);

/* Collective over nranks processes: creates this process's communicator as
 * rank `rank` of `nranks`.  Every rank passes the same id.  Blocks until all
 * ranks have joined, or returns TUTTI_ERR_TIMEOUT naming the ranks that never
 * arrived.  *comm is written only on success.
 * Errors: INVALID_ARGUMENT (comm NULL, nranks < 1, rank out of range, an id
 * not made by tutti_get_unique_id), TIMEOUT, SYSTEM, REMOTE (another rank
 * failed its init), NO_MEMORY. */
TUTTI_EXPORT tutti_result_t tutti_comm_init_rank(tutti_comm_t *comm, int nranks,
                                                 tutti_unique_id_t id, int rank);

/* tutti_comm_init_rank with options: joining waits at most
 * cfg->init_timeout seconds (a framework passes its own, e.g. PyTorch's
 * process-group timeout), and the new communicator's waits have the
 * deadline cfg->timeout.  cfg NULL: the defaults.  Errors: as
 * tutti_comm_init_rank, and INVALID_ARGUMENT for a bad cfg. */
TUTTI_EXPORT tutti_result_t tutti_comm_init_rank_config(tutti_comm_t *comm, int nranks, tutti_unique_id_t id,
                                                        int rank, const tutti_config_t *cfg);

/* Collective: creates a communicator from what the launcher provides.
 * First choice, with nothing to export: the launcher's key-value service
 * (PMIx under Open MPI's mpirun and srun --mpi=pmix; PMI-1 over PMI_FD under
 * MPICH's mpiexec and srun --mpi=pmi2; TUTTI_LAUNCHER chooses or forbids):
 * rank and size from it, and rank 0 publishes through it its rendezvous
 * address and a fresh random secret, on one node or many.  Every call in a
 * process makes a new communicator this way (each has its own key).
 * Without a service, or with TUTTI_ROOT_ADDR or TUTTI_RANK set, rank and
 * size come from, in this order: TUTTI_RANK/TUTTI_NRANKS,
 * OMPI_COMM_WORLD_RANK/SIZE (Open MPI), PMI_RANK/PMI_SIZE (MPICH hydra),
 * SLURM_PROCID/SLURM_NTASKS (srun), RANK/WORLD_SIZE (torchrun).
 * The rendezvous is then TUTTI_ROOT_ADDR ("host:port"), else MASTER_ADDR and
 * MASTER_PORT; rank 0 listens there, the others connect to it.  When neither
 * is set and the launcher says every rank is on this node, 127.0.0.1 and a
 * port derived from the launcher's job id are used.
 * Trust model: connections prove knowledge of a secret.  Through a service
 * it is random and never in the environment.  Otherwise it is TUTTI_SECRET
 * (32 hex digits, the same on every rank; the launcher should generate it) if
 * set, else derived from the job id and the rendezvous address, which keeps
 * other jobs out by accident but is not a defence against a user of the
 * same machines who reads your environment.  See docs/ENVIRONMENT.md.
 * Errors: as tutti_comm_init_rank; the service's own failure (named, within
 * TUTTI_INIT_TIMEOUT); INVALID_USAGE when no rank/size or rendezvous can be
 * found (the message names what was looked for). */
TUTTI_EXPORT tutti_result_t tutti_comm_init_env(tutti_comm_t *comm);

/* Collective over `comm`: ranks that pass the same color form a new
 * communicator, ordered by (key, rank in comm).  color < 0
 * (TUTTI_SPLIT_NOCOLOR) returns *newcomm = NULL and joins nothing.  The new
 * communicator is independent of its parent except that aborting the parent
 * aborts it as well.
 * Errors: INVALID_ARGUMENT (newcomm NULL, bad comm), and the errors of
 * tutti_comm_init_rank. */
#define TUTTI_SPLIT_NOCOLOR (-1)
TUTTI_EXPORT tutti_result_t tutti_comm_split(tutti_comm_t comm, int color, int key,
                                             tutti_comm_t *newcomm);

/* Local: waits for this rank's outstanding operations on comm (each within
 * its deadline), then frees everything the communicator holds.  Requests of
 * comm become invalid.  Using the handle afterwards returns
 * TUTTI_ERR_INVALID_ARGUMENT ("destroyed communicator").
 * Returns the first error met while completing outstanding operations. */
TUTTI_EXPORT tutti_result_t tutti_comm_destroy(tutti_comm_t comm);

/* Any thread, any time: makes every pending and future operation on comm,
 * and on communicators split from it, return TUTTI_ERR_ABORTED; waits for
 * threads inside calls on comm to leave, then frees the communicator as
 * tutti_comm_destroy does.  Does not wait for peers.  Request handles of
 * comm stay safe to pass to tutti_wait / tutti_test from any thread, also
 * after the abort returned: they return TUTTI_ERR_ABORTED (so a progress
 * thread may keep waiting on its requests while another thread aborts).
 * Buffers of the aborted operations are not touched after the abort
 * returns. */
TUTTI_EXPORT tutti_result_t tutti_comm_abort(tutti_comm_t comm);

/* The error, if any, that broke comm (found by any call or by progress in
 * the background), in *async_error; TUTTI_SUCCESS while healthy.  Polls
 * the communicator once without blocking, so a loop of tutti_test and
 * this call notices a dead peer or a deadline.  Like NCCL's
 * ncclCommGetAsyncError. */
TUTTI_EXPORT tutti_result_t tutti_comm_get_async_error(tutti_comm_t comm, tutti_result_t *async_error);

/* The flight recorder: comm's last 64 operations, one line each, with their
 * state (done and how long, failed with what, or running: how many slices,
 * waiting to send to / receive from which rank and for how long).  The
 * same text a timeout quotes and SIGUSR1 dumps (TUTTI_DUMP_SIGNAL=1). */
TUTTI_EXPORT tutti_result_t tutti_comm_flight_record(tutti_comm_t comm, char *buf, size_t len);

/* Restricts the algorithms of later calls on comm, with the grammar of
 * TUTTI_ALGO ("ring", "allreduce:tree;broadcast:ring", "^tree"); NULL or ""
 * returns to the environment's setting.  Every rank must make the same call
 * at the same point (it changes how messages flow).  A bad spec returns
 * INVALID_ARGUMENT naming the bad token and changes nothing. */
TUTTI_EXPORT tutti_result_t tutti_comm_set_algorithms(tutti_comm_t comm, const char *spec);

/* Deadline for waits on comm, in seconds (> 0), replacing TUTTI_TIMEOUT for
 * this communicator.  Local: ranks may differ. */
TUTTI_EXPORT tutti_result_t tutti_comm_set_timeout(tutti_comm_t comm, double seconds);

TUTTI_EXPORT tutti_result_t tutti_comm_rank(tutti_comm_t comm, int *rank);
TUTTI_EXPORT tutti_result_t tutti_comm_size(tutti_comm_t comm, int *size);

/* ---------------------------------------------------------------------- */
/* Collectives                                                            */
/*
 * Common rules:
 *  - count is in elements of dtype; count * size(dtype) must fit in
 *    size_t/2 (else INVALID_ARGUMENT, "count overflows").
 *  - count == 0 is valid and completes at once without touching buffers
 *    (buffers may then be NULL).  Otherwise buffers must be non-NULL where
 *    the call reads or writes them.
 *  - In place: sendbuf == recvbuf (all-gather and reduce-scatter: see
 *    there).  Other overlaps between sendbuf and recvbuf are
 *    INVALID_ARGUMENT.
 *  - Every rank must pass the same count, dtype, op and root.
 *  - Errors common to all: INVALID_ARGUMENT (NULL or destroyed comm, NULL
 *    buffer with count > 0, bad dtype, bad op, root out of range, partial
 *    overlap, overflow), INVALID_USAGE (communicator broken by an earlier
 *    error), TIMEOUT, REMOTE, ABORTED, MISMATCH, SYSTEM, INTERNAL.
 */

/* recvbuf[i] = op over ranks of sendbuf[i], on every rank. */
TUTTI_EXPORT tutti_result_t tutti_allreduce(const void *sendbuf, void *recvbuf, size_t count,
                                            tutti_datatype_t dtype, tutti_op_t op,
                                            tutti_comm_t comm);

/* recvbuf = root's sendbuf on every rank.  sendbuf is read only at root
 * (others may pass NULL); at root recvbuf receives a copy unless in place. */
TUTTI_EXPORT tutti_result_t tutti_broadcast(const void *sendbuf, void *recvbuf, size_t count,
                                            tutti_datatype_t dtype, int root,
                                            tutti_comm_t comm);

/* recvbuf[r*sendcount .. ] = sendbuf of rank r, on every rank.  recvbuf holds
 * nranks*sendcount elements.  In place: sendbuf == recvbuf + rank*sendcount
 * (in elements). */
TUTTI_EXPORT tutti_result_t tutti_allgather(const void *sendbuf, void *recvbuf,
                                            size_t sendcount, tutti_datatype_t dtype,
                                            tutti_comm_t comm);

/* sendbuf holds nranks*recvcount elements; rank r receives in recvbuf the
 * reduction over ranks of block r.  In place (as in NCCL):
 * recvbuf == sendbuf + rank*recvcount (in elements); the other blocks of
 * sendbuf are then left unspecified. */
TUTTI_EXPORT tutti_result_t tutti_reduce_scatter(const void *sendbuf, void *recvbuf,
                                                 size_t recvcount, tutti_datatype_t dtype,
                                                 tutti_op_t op, tutti_comm_t comm);

/* recvbuf at root = op over ranks of sendbuf.  recvbuf is written (and
 * checked) only at root; other ranks may pass NULL. */
TUTTI_EXPORT tutti_result_t tutti_reduce(const void *sendbuf, void *recvbuf, size_t count,
                                         tutti_datatype_t dtype, tutti_op_t op, int root,
                                         tutti_comm_t comm);

/* Block q of rank r's sendbuf (count elements at sendbuf + q*count) lands
 * as block r of rank q's recvbuf: every rank sends a block to every rank
 * and receives one from each.  Both buffers hold nranks*count elements.
 * In place: sendbuf == recvbuf (blocks are exchanged through the
 * transports' own slots, no extra buffer).  count is the same on every
 * rank (per-peer counts: tutti_alltoallv). */
TUTTI_EXPORT tutti_result_t tutti_alltoall(const void *sendbuf, void *recvbuf, size_t count,
                                           tutti_datatype_t dtype, tutti_comm_t comm);

/* All-to-all with a count per peer (MPI_Alltoallv, PyTorch's
 * all_to_all_single with split sizes).  Counts and displacements are in
 * elements of dtype: sendcounts[q] elements at sendbuf + sdispls[q] go to
 * rank q, which receives them as recvcounts[me] elements at its recvbuf +
 * rdispls[me]; so sendcounts[q] here must equal recvcounts[r] on rank q
 * (a message of another size fails with TUTTI_ERR_MISMATCH on the
 * receiver, 0 against a nonzero count included: a block of 0 elements is
 * an empty message, docs/ERRORS.md).  Blocks may
 * be anywhere and in any order; a receive block may overlap no other block
 * of either buffer.  In place: sendbuf == recvbuf, the send layout then
 * the receive layout (sendcounts and sdispls NULL or equal to recvcounts
 * and rdispls), each block replaced by the peer's.  The four arrays are
 * read during the call only (the nonblocking twin included). */
TUTTI_EXPORT tutti_result_t tutti_alltoallv(const void *sendbuf, const size_t *sendcounts,
                                            const size_t *sdispls, void *recvbuf,
                                            const size_t *recvcounts, const size_t *rdispls,
                                            tutti_datatype_t dtype, tutti_comm_t comm);

/* Returns when every rank has entered the barrier. */
TUTTI_EXPORT tutti_result_t tutti_barrier(tutti_comm_t comm);

/* Nonblocking twins: same arguments and rules, plus *req which is written
 * only on success.  Complete the request with tutti_wait or tutti_test. */
TUTTI_EXPORT tutti_result_t tutti_iallreduce(const void *sendbuf, void *recvbuf, size_t count,
                                             tutti_datatype_t dtype, tutti_op_t op,
                                             tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ibroadcast(const void *sendbuf, void *recvbuf, size_t count,
                                             tutti_datatype_t dtype, int root,
                                             tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_iallgather(const void *sendbuf, void *recvbuf,
                                             size_t sendcount, tutti_datatype_t dtype,
                                             tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ireduce_scatter(const void *sendbuf, void *recvbuf,
                                                  size_t recvcount, tutti_datatype_t dtype,
                                                  tutti_op_t op, tutti_comm_t comm,
                                                  tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ireduce(const void *sendbuf, void *recvbuf, size_t count,
                                          tutti_datatype_t dtype, tutti_op_t op, int root,
                                          tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ialltoall(const void *sendbuf, void *recvbuf, size_t count,
                                            tutti_datatype_t dtype, tutti_comm_t comm,
                                            tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ialltoallv(const void *sendbuf, const size_t *sendcounts,
                                             const size_t *sdispls, void *recvbuf,
                                             const size_t *recvcounts, const size_t *rdispls,
                                             tutti_datatype_t dtype, tutti_comm_t comm,
                                             tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_ibarrier(tutti_comm_t comm, tutti_request_t *req);

/* ---------------------------------------------------------------------- */
/* Point-to-point                                                         */
/*
 * tutti_send sends count elements of buf to rank peer; tutti_recv receives
 * count elements from rank peer into buf.  Messages between two ranks match
 * in posting order, and a send and its receive must have the same size in
 * bytes: else the receive fails with TUTTI_ERR_MISMATCH at its first slice
 * (every message carries a hash of its size), and the sender learns it at
 * its next operation that needs that peer (a send that already completed
 * stays a success).  Only the two ranks take part:
 * point-to-point calls may come between collectives on some ranks only.
 *
 * Alone, a send or receive is one operation, run in posting order with the
 * communicator's other operations (as a collective is): a blocking send
 * returns once its bytes are handed to the transport or the peer, which for
 * large messages means the peer's receive has run.  So two ranks that both
 * send first and receive second wait for each other once messages outgrow
 * the transport's slots, until the deadline (TUTTI_ERR_TIMEOUT naming the
 * peer).  Exchanges belong in a group:
 *
 *   tutti_group_start(comm);
 *   tutti_send(out, n, TUTTI_FLOAT32, right, comm);   recorded only
 *   tutti_recv(in, n, TUTTI_FLOAT32, left, comm);
 *   tutti_group_end(comm);                            all of them at once
 *
 * Inside a group, tutti_send / tutti_recv only record (buffers are read and
 * written during tutti_group_end or until its request completes); a
 * collective, a nonblocking send or receive, or a send or receive from
 * another thread is TUTTI_ERR_INVALID_USAGE, and a refused send or receive
 * makes tutti_group_end refuse the whole group (TUTTI_ERR_INVALID_USAGE,
 * nothing sent: running it without that message would pair every later
 * message between the two ranks with the wrong receive); a group may send to
 * and receive from this rank itself (the i-th self send lands in the i-th
 * self receive, which must have its size), and no receive buffer may
 * overlap another buffer of the group (TUTTI_ERR_INVALID_ARGUMENT at
 * tutti_group_end, nothing sent).  Groups do not nest; a group belongs to
 * the thread that opened it.  count 0 is an empty message, matched in
 * order like any other: a receive of 0 waits for its send (a signal, as
 * in MPI), and 0 against another count is TUTTI_ERR_MISMATCH; buf may then
 * be NULL.
 * Errors: as collectives, and INVALID_ARGUMENT for peer out of range;
 * INVALID_USAGE for a self send or receive outside a group.
 */
TUTTI_EXPORT tutti_result_t tutti_send(const void *buf, size_t count, tutti_datatype_t dtype, int peer,
                                       tutti_comm_t comm);
TUTTI_EXPORT tutti_result_t tutti_recv(void *buf, size_t count, tutti_datatype_t dtype, int peer,
                                       tutti_comm_t comm);
/* Nonblocking (not inside a group): complete with tutti_wait / tutti_test. */
TUTTI_EXPORT tutti_result_t tutti_isend(const void *buf, size_t count, tutti_datatype_t dtype, int peer,
                                        tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_irecv(void *buf, size_t count, tutti_datatype_t dtype, int peer,
                                        tutti_comm_t comm, tutti_request_t *req);
TUTTI_EXPORT tutti_result_t tutti_group_start(tutti_comm_t comm);
/* Runs the group's sends and receives as one operation and waits for it. */
TUTTI_EXPORT tutti_result_t tutti_group_end(tutti_comm_t comm);
/* The same without waiting: *req completes with the whole group. */
TUTTI_EXPORT tutti_result_t tutti_igroup_end(tutti_comm_t comm, tutti_request_t *req);

/* Waits until req completes, then releases it (the handle becomes invalid).
 * Returns the operation's result.  Waiting on a request drives every
 * operation posted before it on the same communicator. */
TUTTI_EXPORT tutti_result_t tutti_wait(tutti_request_t req);

/* Drives req's communicator once without blocking.  *done = 1 when req has
 * completed; the request is then released and its result returned.
 * *done = 0 and TUTTI_SUCCESS while it is still running. */
TUTTI_EXPORT tutti_result_t tutti_test(tutti_request_t req, int *done);

/* ---------------------------------------------------------------------- */
/* Introspection                                                          */

/* Size in bytes of one element of dtype, 0 if dtype is not valid. */
TUTTI_EXPORT size_t tutti_datatype_size(tutti_datatype_t dtype);
/* "float32", "sum", ...; "invalid" for a bad value. */
TUTTI_EXPORT const char *tutti_datatype_name(tutti_datatype_t dtype);
TUTTI_EXPORT const char *tutti_op_name(tutti_op_t op);

/* The algorithm the communicator will use (or used) for a collective of
 * `bytes` bytes: "ring", "tree", ... .  coll is one of "allreduce",
 * "broadcast", "allgather", "reduce_scatter", "reduce", "barrier", "alltoall".
 * Returns NULL for an unknown collective or a bad comm. */
TUTTI_EXPORT const char *tutti_comm_algorithm(tutti_comm_t comm, const char *coll, size_t bytes);

/* The pipelining slice that algorithm cuts such a call into (the tuner's,
 * TUTTI_CHUNK_SIZE or the one TUTTI_ALGO gives), in bytes; 0 when it does
 * not pipeline or the call is one slice, or for a bad argument. */
TUTTI_EXPORT size_t tutti_comm_algorithm_slice(tutti_comm_t comm, const char *coll, size_t bytes);

/* One line describing the communicator: ranks, nodes, transports and how
 * many peers each serves, e.g. "4 ranks on 1 node (vm); transports: shm (3
 * peers)".  Truncated to len. */
TUTTI_EXPORT tutti_result_t tutti_comm_describe(tutti_comm_t comm, char *buf, size_t len);

/* Bytes moved by each transport of this communicator so far (sent, summed
 * over peers).  name is "shm", "tcp", ...  Returns 0 for a transport that is
 * not in use. */
TUTTI_EXPORT uint64_t tutti_comm_transport_bytes(tutti_comm_t comm, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* TUTTI_H */
