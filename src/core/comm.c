/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Communicator lifecycle: creation over a bootstrap, handle validation,
 * errors, destroy and abort.  The job view (node map, ring order, what is
 * logged and dumped) is in jobview.c, the transport choice in connect.c.
 */
#include "core/comm.h"

#include "core/transports.h"
#include "topo/topo.h"
#include "util/log.h"
#include "util/param.h"
#include "util/siphash.h"
#include "util/time.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Errors of calls that have no valid communicator to record them on. */
static __thread char tutti_thread_error[TUTTI_ERRLEN];

tutti_result_t tutti_comm_error(tutti_comm_t comm, tutti_result_t r, const char *fmt, ...)
{
    char *buf = comm ? comm->last_error : tutti_thread_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, TUTTI_ERRLEN, fmt, ap);
    va_end(ap);
    /* (an abort is deliberate: what it ends is not worth a warning) */
    if (r != TUTTI_ERR_INVALID_ARGUMENT && r != TUTTI_ERR_ABORTED)
        TUTTI_WARN(TUTTI_SUBSYS_INIT, comm ? comm->rank : -1, "%s: %s", tutti_result_name(r), buf);
    else
        TUTTI_INFO(TUTTI_SUBSYS_INIT, comm ? comm->rank : -1, "%s: %s", tutti_result_name(r), buf);
    return r;
}

const char *tutti_comm_last_error(tutti_comm_t comm)
{
    if (!comm) return tutti_thread_error;
    uint64_t m = __atomic_load_n(&comm->magic, __ATOMIC_ACQUIRE);
    if (m != TUTTI_COMM_MAGIC) return tutti_thread_error;
    return comm->last_error;
}

/* ---- handle validation ---------------------------------------------------- */

tutti_result_t tutti_comm_enter(tutti_comm_t comm, const char *call, int flags)
{
    if (!comm) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: communicator is NULL", call);
    __atomic_add_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
    uint64_t m = __atomic_load_n(&comm->magic, __ATOMIC_SEQ_CST);
    if (m != TUTTI_COMM_MAGIC) {
        __atomic_sub_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
        if (m == TUTTI_COMM_DESTROYED)
            return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: the communicator was destroyed", call);
        if (m == TUTTI_COMM_ABORTED)
            return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: the communicator was aborted and freed", call);
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: not a communicator", call);
    }
    if (!(flags & TUTTI_ENTER_ALLOW_ABORTED) && __atomic_load_n(&comm->aborted, __ATOMIC_ACQUIRE)) {
        __atomic_sub_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
        return tutti_comm_error(comm, TUTTI_ERR_ABORTED, "%s: communicator (rank %d) was aborted", call, comm->rank);
    }
    if (!(flags & TUTTI_ENTER_ALLOW_BROKEN) && comm->broken) {
        __atomic_sub_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
        return tutti_comm_error(comm, TUTTI_ERR_INVALID_USAGE,
                                "%s: communicator (rank %d) is unusable after an earlier %s; destroy it "
                                "and create a new one",
                                call, comm->rank, tutti_result_name(comm->broken));
    }
    return TUTTI_SUCCESS;
}

void tutti_comm_leave(tutti_comm_t comm)
{
    __atomic_sub_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
}

/* ---- local identity ------------------------------------------------------- */

static void tutti_read_small(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (!fgets(buf, (int)len, f)) buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
}

void tutti_comm_local_info(tutti_rank_info_t *info)
{
    static const uint8_t key[16] = {'t', 'u', 't', 't', 'i', '-', 'h', 'o', 's', 't', 'i', 'd'};
    char id[512], host[256] = "?", boot[64], ipc[64] = "";
    memset(info, 0, sizeof(*info));
    tutti_read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot));
    info->kernelid = tutti_siphash(key, boot, strlen(boot));
    gethostname(host, sizeof(host) - 1);
    const char *override = tutti_param_str(TUTTI_P_HOSTID);
    if (override[0]) {
        snprintf(id, sizeof(id), "override:%s", override);
    } else {
        ssize_t n = readlink("/proc/self/ns/ipc", ipc, sizeof(ipc) - 1);
        ipc[n > 0 ? n : 0] = '\0';
        snprintf(id, sizeof(id), "%s|%s|%s", host, boot, ipc);
    }
    info->hostid = tutti_siphash(key, id, strlen(id));
    snprintf(info->transports, sizeof(info->transports), "%s", tutti_param_str(TUTTI_P_TRANSPORTS));
    snprintf(info->host, sizeof(info->host), "%s", host);
    info->pid = (int32_t)getpid();
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < 1024 && c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) info->cpus[c / 64] |= 1ULL << (c % 64);
    }
}

/* ---- family links (abort propagates to children) ------------------------- */

static void tutti_family_attach(tutti_comm_t child, tutti_comm_t parent)
{
    if (!parent) {
        child->family = calloc(1, sizeof(*child->family));
        if (child->family) {
            pthread_mutex_init(&child->family->lock, NULL);
            child->family->refs = 1;
        }
        return;
    }
    child->family = parent->family;
    if (!child->family) return;
    pthread_mutex_lock(&child->family->lock);
    child->family->refs++;
    child->parent = parent;
    child->next_sibling = parent->first_child;
    parent->first_child = child;
    pthread_mutex_unlock(&child->family->lock);
}

static void tutti_family_detach(tutti_comm_t comm)
{
    tutti_family_t *f = comm->family;
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    if (comm->parent) {
        tutti_comm_t *pp = &comm->parent->first_child;
        while (*pp && *pp != comm) pp = &(*pp)->next_sibling;
        if (*pp) *pp = comm->next_sibling;
    }
    for (tutti_comm_t c = comm->first_child; c; c = c->next_sibling) c->parent = NULL;
    comm->first_child = NULL;
    int last = --f->refs == 0;
    pthread_mutex_unlock(&f->lock);
    if (last) {
        pthread_mutex_destroy(&f->lock);
        free(f);
    }
    comm->family = NULL;
}

static void tutti_family_mark_aborted(tutti_comm_t comm)
{
    __atomic_store_n(&comm->aborted, 1, __ATOMIC_RELEASE);
    for (tutti_comm_t c = comm->first_child; c; c = c->next_sibling) tutti_family_mark_aborted(c);
}

/* ---- graveyard: freed handles stay readable so that a call on a destroyed
 * communicator is a clear error, not a crash.  Bounded: the oldest of more
 * than 1024 destroyed handles is really freed. */

#define TUTTI_GRAVEYARD 1024
static pthread_mutex_t tutti_graveyard_lock = PTHREAD_MUTEX_INITIALIZER;
static tutti_comm_t tutti_graveyard[TUTTI_GRAVEYARD];
static unsigned tutti_graveyard_next;

/* A tombstone and the request handles it kept (tutti_comm_free). */
static void tutti_graveyard_release(tutti_comm_t comm)
{
    if (!comm) return;
    struct tutti_request *q = comm->all_reqs;
    while (q) {
        struct tutti_request *n = q->all_next;
        free(q);
        q = n;
    }
    free(comm);
}

static void tutti_graveyard_add(tutti_comm_t comm)
{
    pthread_mutex_lock(&tutti_graveyard_lock);
    tutti_comm_t old = tutti_graveyard[tutti_graveyard_next];
    tutti_graveyard[tutti_graveyard_next] = comm;
    tutti_graveyard_next = (tutti_graveyard_next + 1) % TUTTI_GRAVEYARD;
    pthread_mutex_unlock(&tutti_graveyard_lock);
    tutti_graveyard_release(old);
}

__attribute__((destructor)) static void tutti_graveyard_clear(void)
{
    pthread_mutex_lock(&tutti_graveyard_lock);
    for (unsigned k = 0; k < TUTTI_GRAVEYARD; k++) {
        tutti_graveyard_release(tutti_graveyard[k]);
        tutti_graveyard[k] = NULL;
    }
    pthread_mutex_unlock(&tutti_graveyard_lock);
}

/* ---- creation ------------------------------------------------------------- */

tutti_result_t tutti_comm_create(tutti_bootstrap_t *boot, tutti_comm_t parent, tutti_comm_t *out,
                                 char *err, size_t errlen)
{
    tutti_result_t r;
    tutti_comm_t comm = calloc(1, sizeof(*comm));
    if (!comm) {
        snprintf(err, errlen, "out of memory");
        tutti_bootstrap_destroy(boot);
        return TUTTI_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&comm->lock, NULL);
    comm->boot = boot;
    comm->rank = tutti_bootstrap_rank(boot);
    comm->nranks = tutti_bootstrap_nranks(boot);
    comm->comm_id = tutti_bootstrap_comm_id(boot);
    tutti_bootstrap_set_abort_flag(boot, &comm->aborted);
    comm->timeout = tutti_param_seconds(TUTTI_P_TIMEOUT);
    comm->fingerprint = tutti_param_int(TUTTI_P_FINGERPRINT) != 0;
    comm->dump_on_timeout = tutti_param_int(TUTTI_P_DUMP_ON_TIMEOUT) != 0;
    if (tutti_param_int(TUTTI_P_DUMP_SIGNAL)) tutti_recorder_install_signal();
    comm->dumped = tutti_recorder_dump_requests();
    if (tutti_algo_config_load(&comm->algo, tutti_param_str(TUTTI_P_ALGO), tutti_param_size(TUTTI_P_SMALL_MSG_SIZE),
                               tutti_param_size(TUTTI_P_CHUNK_SIZE),
                               tutti_param_str(TUTTI_P_TUNE_FILE), err, errlen) != 0) {
        r = TUTTI_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    comm->info = calloc((size_t)comm->nranks, sizeof(*comm->info));
    if (!comm->info) {
        snprintf(err, errlen, "out of memory");
        r = TUTTI_ERR_NO_MEMORY;
        goto fail;
    }
    tutti_rank_info_t mine;
    tutti_comm_local_info(&mine);
    char topo_err[300] = "";
    {
        tutti_topo_local_t t;
        mine.topo_ok = tutti_topo_load(&t, comm->rank, topo_err, sizeof(topo_err)) == 0;
        if (mine.topo_ok) {
            mine.packages = (int16_t)t.packages;
            mine.numa_nodes = (int16_t)t.numa_nodes;
            mine.my_package = (int16_t)t.my_package;
            mine.my_numa = (int16_t)t.my_numa;
            mine.gpus = (int16_t)t.gpus;
            mine.nics = (int16_t)t.nics;
            for (int k = 0; k < t.nics; k++) {
                if (t.nic_numa[k] >= 0 && t.nic_numa[k] < 64) mine.nic_numas |= 1ull << t.nic_numa[k];
                if (t.nic_package[k] >= 0 && t.nic_package[k] < 64) mine.nic_packages |= 1ull << t.nic_package[k];
            }
        }
    }
    r = tutti_bootstrap_allgather(boot, &mine, comm->info, sizeof(mine));
    if (r != TUTTI_SUCCESS) {
        snprintf(err, errlen, "%s", tutti_bootstrap_error(boot));
        goto fail;
    }
    /* a rank that cannot load the topology it was given fails everyone */
    for (int q = 0; q < comm->nranks; q++) {
        if (comm->info[q].topo_ok) continue;
        if (q == comm->rank) snprintf(err, errlen, "rank %d: %s", q, topo_err);
        else snprintf(err, errlen, "rank %d could not load its topology (TUTTI_TOPO_FILE / TUTTI_TOPO_SYNTHETIC; see its log)", q);
        r = TUTTI_ERR_INVALID_ARGUMENT;
        goto fail;
    }
    r = tutti_comm_map_nodes(comm);
    if (r == TUTTI_SUCCESS) r = tutti_comm_ring_order(comm);
    if (r != TUTTI_SUCCESS) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r = tutti_comm_connect(comm, err, errlen);
    if (r != TUTTI_SUCCESS) goto fail;
    /* spin-then-yield: when the node's ranks outnumber the CPUs they may
     * run on together (the union of their affinity masks: ranks bound to
     * one core each are not oversubscribed), a waiting rank must yield at
     * once or it starves the rank it waits for */
    {
        int64_t spin = tutti_param_int(TUTTI_P_SPIN);
        int sharing, ncpu;
        tutti_comm_cpu_sharing(comm, comm->rank, &sharing, &ncpu);
        if (ncpu == 0) ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
        comm->oversubscribed = sharing > ncpu;
        comm->spin = spin >= 0 ? (uint32_t)spin : (comm->oversubscribed ? 0 : 2000);
        comm->spin_s = (double)tutti_param_int(TUTTI_P_SPIN_US) * 1e-6;
        if (comm->oversubscribed)
            TUTTI_INFO(TUTTI_SUBSYS_INIT, comm->rank, "%d ranks on this machine share %d CPUs: waits yield at once",
                       sharing, ncpu);
    }
    comm->nt_threshold = tutti_param_size(TUTTI_P_NT_THRESHOLD);
    if (comm->nt_threshold == 0) {
        tutti_topo_local_t t;
        size_t llc = (tutti_topo_local(&t) == 0 && t.l3_bytes) ? (size_t)t.l3_bytes : (32u << 20);
        comm->nt_threshold = llc / (2 * (size_t)comm->local_size);
        if (comm->nt_threshold < (1u << 20)) comm->nt_threshold = 1u << 20;
    }
    tutti_comm_model_setup(comm);
    tutti_family_attach(comm, parent);
    tutti_comm_log_table(comm);
    tutti_comm_job_view(comm);
    __atomic_store_n(&comm->magic, TUTTI_COMM_MAGIC, __ATOMIC_RELEASE);
    if (tutti_log_on(TUTTI_LOG_INFO, TUTTI_SUBSYS_INIT) &&
        (comm->rank == 0 || tutti_log_on(TUTTI_LOG_TRACE, TUTTI_SUBSYS_INIT))) {
        char topo[256];
        tutti_topo_summary(topo, sizeof(topo));
        TUTTI_INFO(TUTTI_SUBSYS_INIT, comm->rank,
                   "communicator %016llx ready: %d ranks on %d node(s), %d here (local rank %d); %s",
                   (unsigned long long)comm->comm_id, comm->nranks, comm->nnodes, comm->local_size,
                   comm->local_rank, topo);
    }
    *out = comm;
    return TUTTI_SUCCESS;
fail:
    comm->magic = 0;
    tutti_comm_free(comm, 0);
    pthread_mutex_destroy(&comm->lock);
    free(comm);
    return r;
}

/* ---- teardown ------------------------------------------------------------- */

void tutti_comm_announce(tutti_comm_t comm, tutti_result_t r, const char *why)
{
    for (int t = 0; t < comm->ntps; t++)
        comm->tps[t].tp->announce_failure(comm->tps[t].tpcomm, r, why);
}

void tutti_comm_free(tutti_comm_t comm, uint64_t tombstone)
{
    for (int t = comm->ntps - 1; t >= 0; t--) comm->tps[t].tp->comm_destroy(comm->tps[t].tpcomm);
    comm->ntps = 0;
    /* With a tombstone the request handles stay readable with the handle
     * of the communicator (schedules freed, every one marked done), so a
     * thread that still holds one and calls tutti_wait / tutti_test after
     * an abort (or destroy) on another thread gets an error, not freed
     * memory; the graveyard frees them with the tombstone. */
    struct tutti_request *q = comm->all_reqs;
    while (q) {
        struct tutti_request *n = q->all_next;
        tutti_sched_free(&q->x.sched);
        free(q->pairs);
        q->pairs = NULL;
        if (tombstone) {
            q->state = TUTTI_REQ_DONE;
            q->result = tombstone == TUTTI_COMM_ABORTED ? TUTTI_ERR_ABORTED : TUTTI_ERR_INVALID_ARGUMENT;
        } else {
            free(q);
        }
        q = n;
    }
    if (!tombstone) comm->all_reqs = NULL;
    comm->head = comm->tail = comm->free_reqs = NULL;
    free(comm->busy_pairs);
    comm->busy_pairs = NULL;
    free(comm->engine.links);
    comm->engine.links = NULL;
    free(comm->info);
    free(comm->group.ops);
    comm->group.ops = NULL;
    comm->info = NULL;
    free(comm->node_of_rank);
    comm->node_of_rank = NULL;
    free(comm->ring_order);
    free(comm->ring_pos);
    comm->ring_order = comm->ring_pos = NULL;
    tutti_bootstrap_destroy(comm->boot);
    comm->boot = NULL;
    tutti_family_detach(comm);
    if (tombstone) {
        pthread_mutex_destroy(&comm->lock);
        __atomic_store_n(&comm->magic, tombstone, __ATOMIC_SEQ_CST);
        tutti_graveyard_add(comm);
    }
}

tutti_result_t tutti_comm_destroy(tutti_comm_t comm)
{
    /* allowed on a communicator whose parent was aborted: it is dead
     * already and only needs freeing */
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_destroy", TUTTI_ENTER_ALLOW_BROKEN | TUTTI_ENTER_ALLOW_ABORTED);
    if (r != TUTTI_SUCCESS) return r;
    /* complete what this rank posted (each wait has its deadline) */
    tutti_result_t first = TUTTI_SUCCESS;
    if (!__atomic_load_n(&comm->aborted, __ATOMIC_ACQUIRE) && !comm->broken) {
        pthread_mutex_lock(&comm->lock);
        struct tutti_request *pending = comm->head;
        pthread_mutex_unlock(&comm->lock);
        while (pending) {
            tutti_result_t rr = tutti_comm_wait(comm, pending);
            if (rr != TUTTI_SUCCESS && first == TUTTI_SUCCESS) first = rr;
            pthread_mutex_lock(&comm->lock);
            pending = comm->head;
            pthread_mutex_unlock(&comm->lock);
        }
    }
    /* peers still waiting on this rank learn at once that it is gone */
    {
        char why[96];
        snprintf(why, sizeof(why), "rank %d destroyed its communicator", comm->rank);
        tutti_comm_announce(comm, TUTTI_ERR_REMOTE, why);
    }
    __atomic_store_n(&comm->magic, TUTTI_COMM_DESTROYED, __ATOMIC_SEQ_CST);
    /* wait for any other thread still inside a call to leave */
    while (__atomic_load_n(&comm->active, __ATOMIC_SEQ_CST) > 1) sched_yield();
    if (tutti_log_on(TUTTI_LOG_INFO, TUTTI_SUBSYS_INIT)) {
        char bytes[160] = "";
        for (int t = 0; t < comm->ntps; t++)
            snprintf(bytes + strlen(bytes), sizeof(bytes) - strlen(bytes), "%s%s %llu", t ? ", " : "",
                     comm->tps[t].tp->name, (unsigned long long)comm->tps[t].bytes);
        TUTTI_INFO(TUTTI_SUBSYS_INIT, comm->rank, "communicator %016llx destroyed; bytes sent by transport: %s",
                   (unsigned long long)comm->comm_id, comm->ntps ? bytes : "none");
    }
    tutti_comm_free(comm, TUTTI_COMM_DESTROYED);
    return first;
}

tutti_result_t tutti_comm_abort(tutti_comm_t comm)
{
    if (!comm) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_abort: communicator is NULL");
    __atomic_add_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
    uint64_t m = __atomic_load_n(&comm->magic, __ATOMIC_SEQ_CST);
    if (m != TUTTI_COMM_MAGIC) {
        __atomic_sub_fetch(&comm->active, 1, __ATOMIC_SEQ_CST);
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT,
                                "tutti_comm_abort: %s", m == TUTTI_COMM_DESTROYED ? "the communicator was destroyed"
                                                        : m == TUTTI_COMM_ABORTED ? "the communicator was already aborted"
                                                                                  : "not a communicator");
    }
    if (comm->family) pthread_mutex_lock(&comm->family->lock);
    tutti_family_mark_aborted(comm);
    if (comm->family) pthread_mutex_unlock(&comm->family->lock);
    /* from here on every call on comm returns at its next poll */
    __atomic_store_n(&comm->magic, TUTTI_COMM_ABORTED, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&comm->active, __ATOMIC_SEQ_CST) > 1) sched_yield();
    {
        char why[96];
        snprintf(why, sizeof(why), "rank %d aborted its communicator", comm->rank);
        tutti_comm_announce(comm, TUTTI_ERR_REMOTE, why);
    }
    TUTTI_INFO(TUTTI_SUBSYS_INIT, comm->rank, "communicator %016llx aborted", (unsigned long long)comm->comm_id);
    tutti_comm_free(comm, TUTTI_COMM_ABORTED);
    return TUTTI_SUCCESS;
}
