/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one parameter table.  Every TUTTI_* environment variable the library
 * reads is a row here: name, type, default, bounds and doc.  The table is
 * read from the environment once per process (the first time any parameter
 * is asked for) and never changes afterwards; tutti-info prints it.
 *
 * Sizes accept K/M/G suffixes (powers of 1024); durations are seconds with
 * an optional fraction ("0.5") or suffix ("500ms", "2m").
 */
#ifndef TUTTI_UTIL_PARAM_H
#define TUTTI_UTIL_PARAM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TUTTI_PARAM_INT,
    TUTTI_PARAM_SIZE,
    TUTTI_PARAM_BOOL,
    TUTTI_PARAM_SECONDS,
    TUTTI_PARAM_STRING,
} tutti_param_type_t;

/* X(ID, type, default, min, max, doc).  min/max apply to numbers. */
#define TUTTI_PARAM_TABLE(X)                                                   \
    X(DEBUG, STRING, "WARN", 0, 0,                                             \
      "Log level: NONE, VERSION, WARN, INFO or TRACE.")                        \
    X(DEBUG_SUBSYS, STRING, "ALL", 0, 0,                                       \
      "Subsystems to log, comma-separated, ^ to exclude: INIT, BOOTSTRAP, "    \
      "COLL, ENGINE, SHM, TRANSPORT, PARAM, MPI, TUNE, ALL.")                  \
    X(DEBUG_FILE, STRING, "", 0, 0,                                            \
      "Write the log to this file instead of stderr; %h is the host name, "    \
      "%p the process id.")                                                    \
    X(TIMEOUT, SECONDS, "300", 0.001, 1e7,                                     \
      "Deadline in seconds for every wait inside a collective: past it the "   \
      "call returns TUTTI_ERR_TIMEOUT naming the peer waited for.")            \
    X(DUMP_ON_TIMEOUT, BOOL, "0", 0, 1,                                         \
      "On a timeout, write the communicator's flight recorder (its last 64 "   \
      "operations and their state) to the log.")                              \
    X(DUMP_SIGNAL, BOOL, "0", 0, 1,                                            \
      "Install a SIGUSR1 handler: each communicator that is waiting writes "   \
      "its flight recorder to the log (kill -USR1 <pid> on a hung rank).")    \
    X(INIT_TIMEOUT, SECONDS, "120", 0.001, 1e7,                                \
      "Deadline in seconds for communicator creation (init, split): ranks "    \
      "that have not joined by then are named in the error.")                 \
    X(ALGO, STRING, "", 0, 0,                                                  \
      "Force algorithms: 'ring' (everywhere it exists), "                      \
      "'allreduce:tree;broadcast:ring', '^tree' to exclude.  Unknown names "   \
      "fail communicator creation.")                                           \
    X(TUNE_FILE, STRING, "", 0, 0,                                             \
      "Site rules for the algorithm choice: a JSON file (docs/ENVIRONMENT.md " \
      "gives the schema); TUTTI_ALGO still wins.")                              \
    X(TUNE_PROBE, BOOL, "0", 0, 1,                                              \
      "Calibrate the cost model at communicator creation: a few small and "    \
      "large all-reduces, timed, the slowest rank's figures taken by all.")   \
    X(FINGERPRINT, BOOL, "1", 0, 1,                                             \
      "Check the fingerprint (collective, datatype, op, count, root, "         \
      "algorithm, call number) every message carries, so mismatched calls "   \
      "fail with TUTTI_ERR_MISMATCH instead of hanging.  0 only to measure "   \
      "its cost.")                                                             \
    X(CHUNK_SIZE, SIZE, "0", 0, (double)(1ULL << 30),                          \
      "Pipelining slice of the algorithms that pipeline (chain and tree "      \
      "broadcast and reduce, tree all-reduce, hierarchical): a power of two "  \
      "from 4K, capped by the transports' slot.  0: the tuner chooses per "    \
      "size (the cost model).  Must be the same on every rank.")               \
    X(SMALL_MSG_SIZE, SIZE, "32K", 0, (double)(1ULL << 40),                    \
      "Messages of at most this many bytes use the latency-optimised "         \
      "algorithm (tree, recursive doubling) when no algorithm is forced.")     \
    X(SPIN, INT, "-1", -1, 1e9,                                                \
      "Polls of a wait loop before it starts yielding the CPU "                \
      "(sched_yield); 0 yields at once.  -1: 2000, or 0 when the ranks under " \
      "one kernel outnumber the CPUs their affinity masks cover together.")   \
    X(SPIN_US, INT, "50", 0, 1e9,                                              \
      "Microseconds a wait loop spins at most (with TUTTI_SPIN polls, "       \
      "whichever ends first) before it yields the CPU, or sleeps in the "     \
      "kernel over TCP; progress starts a new spin.  0: polls only.")          \
    X(NT_THRESHOLD, SIZE, "0", 0, (double)(1ULL << 50),                        \
      "Calls moving at least this many bytes per rank write their results "   \
      "with non-temporal stores (no read-for-ownership, no cache "             \
      "pollution).  0: last-level cache size / (2 x ranks on the node).")     \
    X(SHM_SLOT_SIZE, SIZE, "64K", 4096, (double)(64ULL << 20),                 \
      "Shared-memory transport: bytes per FIFO slot (the pipelining "          \
      "chunk).")                                                               \
    X(SHM_NSLOTS, INT, "8", 2, 1024,                                           \
      "Shared-memory transport: slots per FIFO (one FIFO per peer pair, "      \
      "direction and channel).")                                               \
    X(SHM_CMA, BOOL, "0", 0, 1,                                                 \
      "Shared-memory transport: let large messages of broadcast, all-gather "  \
      "and the all-gather half of all-reduce go in one copy "                  \
      "(process_vm_readv from the sender's buffer).  Off by default: slower "  \
      "than the FIFO's vector copies where measured (perf/README.md).")        \
    X(SHM_CMA_MIN, SIZE, "16K", 0, (double)(1ULL << 40),                       \
      "Shared-memory transport: smallest slice sent as a single-copy "         \
      "reference; 0 disables.")                                                \
    X(SHM_WIN_SIZE, SIZE, "1M", 0, (double)(1ULL << 30),                     \
      "Shared-memory transport: bytes of each of a rank's two window "         \
      "buffers (the node-local window algorithm moves calls through them in "  \
      "chunks of this size; memory per node: 2 x this x local ranks).  0: no " \
      "windows (the window algorithm is then unavailable).")                   \
    X(SHM_WIN_ONESHOT, SIZE, "16K", 0, (double)(1ULL << 30),                   \
      "Window all-reduce: calls whose bytes x (ranks - 1) stay below this take the one-shot " \
      "form (every rank reduces the whole vector from every window: one "      \
      "synchronisation); larger ones reduce a slice each and copy the others " \
      "out (two).  Must be the same on every rank.")                           \
    X(SHM_WIN_NT_MIN, SIZE, "64K", 0, (double)(1ULL << 40),                    \
      "Window algorithm: copies into a rank's window of at least this many "  \
      "bytes use non-temporal stores, so readers pull them from memory "       \
      "instead of another core's cache.  0: never.")                           \
    X(TRANSPORTS, STRING, "", 0, 0,                                            \
      "Transports to use, in order of preference: each peer gets the first "   \
      "one that reaches it (shm: same node only).  Empty: the registered ones "\
      "in the order shm, verbs, ucx, plugins, tcp, each where every rank can use it.  "    \
      "'tcp' forces TCP also between ranks of one node; '^shm' excludes; a "   \
      "named transport some rank cannot use, or an unknown name, fails.  "    \
      "Plugins come before tcp, in the order loaded.")                         \
    X(TRANSPORT_PLUGINS, STRING, "", 0, 0,                                     \
      "Transport plugins to load (docs/TRANSPORTS.md), comma-separated: "      \
      "files (a path with a /) or names, looked up as tutti_tp_<name>.so in "  \
      "TUTTI_PLUGIN_PATH.  Every tutti_tp_*.so found there loads as well.")    \
    X(PLUGIN_PATH, STRING, "", 0, 0,                                           \
      "Directories (colon-separated) searched for transport plugins, "        \
      "tutti_tp_*.so.  Empty: 'tutti' beside libtutti.so, then the "          \
      "installed $libdir/tutti.")                                              \
    X(UCX_TLS, STRING, "", 0, 0,                                               \
      "UCX transport: the UCX transports it may use (UCX's own grammar, e.g. " \
      "'tcp', 'posix,cma', 'rc,ud'), set on tutti's UCX context only; empty: " \
      "UCX_TLS or UCX's default.  Other UCX_* variables pass through.")       \
    X(UCX_SLOT_SIZE, SIZE, "256K", 4096, (double)(64ULL << 20),                \
      "UCX transport: bytes per message slot (the pipelining chunk).")         \
    X(UCX_NSLOTS, INT, "4", 2, 1024,                                           \
      "UCX transport: slots per peer, channel and direction (receives are "    \
      "posted ahead into each).")                                              \
    X(UCX_ZCOPY_MIN, SIZE, "64K", 0, (double)(1ULL << 40),                    \
      "UCX transport: data that no longer changes at least this large is "     \
      "sent from the user's buffer (UCX's zero-copy rendezvous); 0: never.")   \
    X(IB_HCA, STRING, "", 0, 0,                                                \
      "ibverbs transport: devices and ports to use, NCCL's grammar: "          \
      "'mlx5_0:1,mlx5_1', '^mlx5_1' to exclude, '=' for exact names; empty: "  \
      "the first active port.")                                                \
    X(IB_GID_INDEX, INT, "-1", -1, 255,                                        \
      "ibverbs transport: GID index for RoCE; -1 picks a RoCE v2 IPv4 GID, "   \
      "else the first valid one.")                                             \
    X(IB_TIMEOUT, INT, "18", 1, 31,                                            \
      "ibverbs transport: RC ack timeout exponent (4.096 us x 2^n per try).")  \
    X(IB_RETRY_CNT, INT, "7", 0, 7,                                            \
      "ibverbs transport: RC retries before a send fails (the peer is then "   \
      "named as unreachable).")                                                \
    X(IB_SLOT_SIZE, SIZE, "128K", 4096, (double)(64ULL << 20),                \
      "ibverbs transport: bytes per message slot (the pipelining chunk; one " \
      "SEND each).")                                                           \
    X(IB_NSLOTS, INT, "8", 2, 1024,                                            \
      "ibverbs transport: slots per peer, channel and direction (receives "   \
      "posted; the sender's credits).")                                        \
    X(IB_ZCOPY_MIN, SIZE, "0", 0, (double)(1ULL << 40),                        \
      "ibverbs transport: data that no longer changes at least this large is " \
      "sent straight from the user's buffer (registered, cached); 0 (the "     \
      "default) disables.")                                                    \
    X(IB_RCACHE, BOOL, "0", 0, 1,                                               \
      "ibverbs transport: keep user-buffer registrations for reuse (only "     \
      "where buffers are never returned to the system); 0 registers per send.")\
    X(IB_RCACHE_SIZE, SIZE, "1G", 0, (double)(1ULL << 50),                     \
      "ibverbs transport: bytes the registration cache keeps pinned before "   \
      "evicting the least recently used (at most 64 entries); 0: no bound.")   \
    X(TCP_NSOCKS, INT, "2", 1, 16,                                             \
      "TCP transport: sockets per peer and channel; consecutive messages go "  \
      "round-robin over them (striping, order kept).")                         \
    X(TCP_SLOT_SIZE, SIZE, "256K", 4096, (double)(64ULL << 20),                \
      "TCP transport: bytes per message slot (the pipelining chunk).")         \
    X(TCP_NSLOTS, INT, "4", 2, 1024,                                           \
      "TCP transport: slots per peer, channel and direction.")                 \
    X(TCP_PORT_RANGE, STRING, "", 0, 0,                                        \
      "TCP transport: listen on the first free port of 'lo-hi' (firewalls "   \
      "that open a range); empty: any free port.")                             \
    X(TCP_ZCOPY_MIN, SIZE, "0", 0, (double)(1ULL << 40),                     \
      "TCP transport: data that no longer changes (inputs, final results) "   \
      "goes to the socket straight from the user's buffer, without a staging " \
      "copy, from this slice size; 0 (the default: slower on the test VM) "   \
      "disables.")                                                              \
    X(TOPO_FILE, STRING, "", 0, 0,                                             \
      "Topology from this hwloc XML file instead of the machine ('%r' in "     \
      "the name: the rank).")                                                  \
    X(TOPO_SYNTHETIC, STRING, "", 0, 0,                                        \
      "Topology from this hwloc synthetic description instead of the "        \
      "machine, e.g. 'pack:2 numa:1 l3:1 core:8 pu:2'.")                       \
    X(TOPO_DUMP_FILE, STRING, "", 0, 0,                                        \
      "Write the topology in use (hwloc XML plus Tutti* facts of the job) "    \
      "here at communicator creation ('%r': the rank).")                       \
    X(SOCKET_IFNAME, STRING, "", 0, 0,                                         \
      "Network interfaces to use, NCCL grammar: 'eth,ib' prefixes, '^docker' " \
      "excludes, '=eth0' exact names.  Default: the first up interface that "  \
      "is not loopback, else loopback.")                                       \
    X(SOCKET_FAMILY, STRING, "", 0, 0,                                         \
      "Restrict interfaces to AF_INET or AF_INET6.")                           \
    X(ROOT_ADDR, STRING, "", 0, 0,                                             \
      "Environment init: rendezvous 'host:port' (rank 0 listens there).  "     \
      "Set, it wins over the launcher's service.  Default: the launcher's "    \
      "service, else MASTER_ADDR:MASTER_PORT.")                                \
    X(LAUNCHER, STRING, "", 0, 0,                                              \
      "Environment init: the launcher's key-value service to meet through: "   \
      "pmix, pmi1, or none (only the environment's rules).  Empty: PMIx "      \
      "where PMIX_NAMESPACE is set, else PMI-1 where PMI_FD is.")              \
    X(SECRET, STRING, "", 0, 0,                                                \
      "Environment init: the job's shared secret, 32 hex digits.  Never "      \
      "logged.")                                                               \
    X(RANK, INT, "-1", -1, 1e9,                                                \
      "Environment init: this process's rank (overrides the launcher's).")     \
    X(NRANKS, INT, "-1", -1, 1e9,                                              \
      "Environment init: number of ranks (overrides the launcher's).")         \
    X(HOSTID, STRING, "", 0, 0,                                                \
      "Override the node identity used to decide which ranks share memory "    \
      "(default: host name, boot id and IPC namespace).")

typedef enum {
#define TUTTI_PARAM_ENUM_(id, type, def, min, max, doc) TUTTI_P_##id,
    TUTTI_PARAM_TABLE(TUTTI_PARAM_ENUM_)
#undef TUTTI_PARAM_ENUM_
        TUTTI_P_COUNT
} tutti_param_id_t;

typedef struct {
    const char *name; /* "TUTTI_TIMEOUT" */
    tutti_param_type_t type;
    const char *def;
    double min, max;
    const char *doc;
} tutti_param_desc_t;

/* Typed values.  Numbers are bounded by the table; strings never NULL. */
int64_t tutti_param_int(tutti_param_id_t id);
size_t tutti_param_size(tutti_param_id_t id);
double tutti_param_seconds(tutti_param_id_t id);
const char *tutti_param_str(tutti_param_id_t id);

const tutti_param_desc_t *tutti_param_desc(tutti_param_id_t id);
/* The text the value came from, and whether it came from the environment. */
const char *tutti_param_raw(tutti_param_id_t id, int *from_env);

/* First invalid value found in the environment, as a message, or NULL.
 * Communicator creation fails with it: a typo never falls back silently. */
const char *tutti_param_error(void);

/* Called once by logging when it is ready: warns about unknown TUTTI_*
 * variables and invalid values. */
void tutti_param_after_log_init(void);

/* Parsers shared with other grammar code; return 0 on success. */
int tutti_param_parse_size(const char *s, uint64_t *out);
int tutti_param_parse_seconds(const char *s, double *out);

#endif
