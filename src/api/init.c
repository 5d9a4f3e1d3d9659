/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Communicator creation: unique id, init by rank, split, and init from the
 * environment a launcher exports.
 */
#include "api/api.h"

#include "launch/kvs.h"

#include "util/log.h"
#include "util/param.h"
#include "util/siphash.h"
#include "util/socket.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Invalid settings fail before any rank talks to another. */
static tutti_result_t tutti_init_check_params(void)
{
    char err[512];
    tutti_algo_config_t cfg;
    const char *e = tutti_param_error();
    if (e) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "bad environment: %s", e);
    if (tutti_algo_config_load(&cfg, tutti_param_str(TUTTI_P_ALGO), tutti_param_size(TUTTI_P_SMALL_MSG_SIZE),
                               tutti_param_size(TUTTI_P_CHUNK_SIZE),
                               tutti_param_str(TUTTI_P_TUNE_FILE), err,
                                sizeof(err)) != 0)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "bad environment: %s", err);
    return TUTTI_SUCCESS;
}

/* The options a caller passed, over the environment's defaults. */
typedef struct {
    double init_timeout, timeout;
    int progress_thread;
} tutti_init_opts_t;

static tutti_result_t tutti_init_opts(const tutti_config_t *cfg, const char *call, tutti_init_opts_t *o)
{
    o->init_timeout = tutti_param_seconds(TUTTI_P_INIT_TIMEOUT);
    o->timeout = 0;
    o->progress_thread = 0;
    if (!cfg) return TUTTI_SUCCESS;
    if (cfg->size == 0 || cfg->size > sizeof(tutti_config_t))
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: cfg->size %zu is not a tutti_config_t of this library (%zu bytes): initialise it "
                                "with TUTTI_CONFIG_INIT",
                                call, cfg->size, sizeof(tutti_config_t));
#define TUTTI_CFG_HAS(f) (cfg->size >= offsetof(tutti_config_t, f) + sizeof(cfg->f))
    double it = TUTTI_CFG_HAS(init_timeout) ? cfg->init_timeout : 0;
    double t = TUTTI_CFG_HAS(timeout) ? cfg->timeout : 0;
    int pt = TUTTI_CFG_HAS(progress_thread) ? cfg->progress_thread : 0;
#undef TUTTI_CFG_HAS
    if (pt != 0 && pt != 1)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: cfg->progress_thread is %d, not 0 or 1", call,
                                pt);
    o->progress_thread = pt;
    if (!(it >= 0 && it <= 1e9) || !(t >= 0 && t <= 1e9))
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: cfg->init_timeout %g and cfg->timeout %g must be seconds >= 0 (0: the default)",
                                call, it, t);
    if (it > 0) o->init_timeout = it;
    o->timeout = t;
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_get_unique_id(tutti_unique_id_t *id)
{
    return tutti_get_unique_id_config(id, NULL);
}

tutti_result_t tutti_get_unique_id_config(tutti_unique_id_t *id, const tutti_config_t *cfg)
{
    char err[TUTTI_ERRLEN], ifname[64];
    tutti_id_info_t info;
    tutti_init_opts_t o;
    tutti_result_t r;
    if (!id) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "tutti_get_unique_id: id is NULL");
    if ((r = tutti_init_opts(cfg, "tutti_get_unique_id", &o)) != TUTTI_SUCCESS) return r;
    if ((r = tutti_init_check_params()) != TUTTI_SUCCESS) return r;
    memset(&info, 0, sizeof(info));
    if (tutti_random_bytes(&info.comm_id, sizeof(info.comm_id)) != 0 ||
        tutti_random_bytes(info.secret, sizeof(info.secret)) != 0)
        return tutti_comm_error(NULL, TUTTI_ERR_SYSTEM, "tutti_get_unique_id: getrandom: %s", strerror(errno));
    if (tutti_socket_pick_if(tutti_param_str(TUTTI_P_SOCKET_IFNAME), tutti_param_str(TUTTI_P_SOCKET_FAMILY),
                             &info.root, ifname, sizeof(ifname), err, sizeof(err)) != 0)
        return tutti_comm_error(NULL, TUTTI_ERR_SYSTEM, "tutti_get_unique_id: %s", err);
    r = tutti_bootstrap_root_start(&info.root, &info, o.init_timeout, err, sizeof(err));
    if (r != TUTTI_SUCCESS) return tutti_comm_error(NULL, r, "tutti_get_unique_id: %s", err);
    return tutti_id_encode(&info, id);
}

/* The optional calibration of a new communicator (TUTTI_TUNE_PROBE): a
 * failed one leaves the model's defaults (and a broken communicator reports
 * its cause at the next call). */
static void tutti_init_calibrate(tutti_comm_t c)
{
    if (tutti_comm_tune_probe(c) != TUTTI_SUCCESS)
        TUTTI_WARN(TUTTI_SUBSYS_TUNE, c->rank, "TUTTI_TUNE_PROBE: the calibration failed (%s); the model keeps its "
                   "defaults", tutti_comm_last_error(c));
}

static tutti_result_t tutti_init_with_info(tutti_comm_t *comm, int nranks, const tutti_id_info_t *info,
                                           int rank, const tutti_init_opts_t *o, const char *call)
{
    char err[TUTTI_ERRLEN];
    tutti_bootstrap_t *boot = NULL;
    tutti_comm_t c = NULL;
    tutti_result_t r = tutti_bootstrap_init(info, rank, nranks, o->init_timeout, &boot, err, sizeof(err));
    if (r != TUTTI_SUCCESS) return tutti_comm_error(NULL, r, "%s: rank %d of %d: %s", call, rank, nranks, err);
    r = tutti_comm_create(boot, NULL, &c, err, sizeof(err));
    if (r != TUTTI_SUCCESS) return tutti_comm_error(NULL, r, "%s: rank %d of %d: %s", call, rank, nranks, err);
    if (o->timeout > 0) c->timeout = o->timeout;
    if (o->progress_thread) c->spin = 0; /* yield at once: the computation keeps its core */
    tutti_init_calibrate(c);
    *comm = c;
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_comm_init_rank(tutti_comm_t *comm, int nranks, tutti_unique_id_t id, int rank)
{
    return tutti_comm_init_rank_config(comm, nranks, id, rank, NULL);
}

tutti_result_t tutti_comm_init_rank_config(tutti_comm_t *comm, int nranks, tutti_unique_id_t id, int rank,
                                           const tutti_config_t *cfg)
{
    tutti_id_info_t info;
    tutti_init_opts_t o;
    tutti_result_t r;
    const char *call = "tutti_comm_init_rank";
    if (!comm) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: comm is NULL", call);
    if ((r = tutti_init_opts(cfg, call, &o)) != TUTTI_SUCCESS) return r;
    if (nranks < 1) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: nranks %d < 1", call, nranks);
    if (rank < 0 || rank >= nranks)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: rank %d is out of range for %d ranks", call,
                                rank, nranks);
    if ((r = tutti_init_check_params()) != TUTTI_SUCCESS) return r;
    if (tutti_id_decode(&id, &info) != TUTTI_SUCCESS)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT,
                                "%s: the unique id was not made by tutti_get_unique_id (or was corrupted)", call);
    return tutti_init_with_info(comm, nranks, &info, rank, &o, call);
}

tutti_result_t tutti_comm_split(tutti_comm_t comm, int color, int key, tutti_comm_t *newcomm)
{
    char err[TUTTI_ERRLEN];
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_split", 0);
    if (r != TUTTI_SUCCESS) return r;
    if (!newcomm) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_split: newcomm is NULL");
        goto out;
    }
    if (color < 0) color = TUTTI_SPLIT_NOCOLOR;
    tutti_bootstrap_t *child = NULL;
    int nr = 0, nn = 0, *pranks = NULL;
    pthread_mutex_lock(&comm->lock);
    r = tutti_bootstrap_split(comm->boot, color, key, &child, &nr, &nn, &pranks);
    pthread_mutex_unlock(&comm->lock);
    if (r != TUTTI_SUCCESS) {
        r = tutti_comm_error(comm, r, "tutti_comm_split: %s", tutti_bootstrap_error(comm->boot));
        goto out;
    }
    free(pranks);
    if (!child) {
        *newcomm = NULL;
        goto out;
    }
    tutti_comm_t c = NULL;
    r = tutti_comm_create(child, comm, &c, err, sizeof(err));
    if (r != TUTTI_SUCCESS) {
        r = tutti_comm_error(comm, r, "tutti_comm_split: color %d: %s", color, err);
        goto out;
    }
    c->spin = comm->spin; /* (a progress thread's communicator's children wait as it does) */
    tutti_init_calibrate(c);
    TUTTI_INFO(TUTTI_SUBSYS_INIT, comm->rank, "split color %d key %d -> rank %d of %d", color, key, nr, nn);
    *newcomm = c;
out:
    tutti_comm_leave(comm);
    return r;
}

/* ---- environment init ------------------------------------------------------ */

static int tutti_env_int(const char *name, int *out)
{
    const char *v = getenv(name);
    char *end;
    if (!v || !*v) return 0;
    long x = strtol(v, &end, 10);
    if (*end != '\0' || x < 0 || x > 1 << 30) return 0;
    *out = (int)x;
    return 1;
}

/* exactly 2n hex digits -> n bytes (TUTTI_SECRET, the launcher's ids) */
static int tutti_hex_bytes(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1])) return -1;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* Through the launcher's key-value service (launch/kvs.h): rank 0 makes a
 * unique id (its rendezvous address, a fresh random secret) and publishes
 * it; the others read it after the fence.  Rank 0 publishes its error
 * instead when it cannot make one, so nobody waits for nothing. */
static tutti_result_t tutti_init_kvs(tutti_comm_t *comm, tutti_kvs_t *kvs, const char *call)
{
    static int ncalls; /* same sequence on every rank: one key per call */
    char key[32], val[2 * sizeof(tutti_unique_id_t) + 1], err[TUTTI_ERRLEN] = "";
    double timeout = tutti_param_seconds(TUTTI_P_INIT_TIMEOUT);
    tutti_unique_id_t id;
    tutti_result_t r = TUTTI_SUCCESS;
    snprintf(key, sizeof(key), "tutti-id-%d", __atomic_fetch_add(&ncalls, 1, __ATOMIC_SEQ_CST));
    if (kvs->rank == 0) {
        r = tutti_get_unique_id(&id);
        if (r == TUTTI_SUCCESS) {
            for (size_t i = 0; i < sizeof(id); i++)
                snprintf(val + 2 * i, 3, "%02x", (unsigned char)id.internal[i]);
        } else {
            snprintf(val, sizeof(val), "error:%s", tutti_result_name(r));
        }
        tutti_result_t pr = kvs->put(kvs, key, val, err, sizeof(err));
        if (pr != TUTTI_SUCCESS)
            return tutti_comm_error(NULL, pr, "%s: %s: rank 0 cannot publish its address: %s", call, kvs->route, err);
    }
    tutti_result_t fr = kvs->fence(kvs, timeout, err, sizeof(err));
    if (fr != TUTTI_SUCCESS)
        return tutti_comm_error(NULL, fr, "%s: %s: rank %d of %d: %s", call, kvs->route, kvs->rank, kvs->size, err);
    if (r != TUTTI_SUCCESS) return r; /* rank 0's own error stays recorded */
    if (kvs->rank != 0) {
        r = kvs->get(kvs, 0, key, val, sizeof(val), timeout, err, sizeof(err));
        if (r != TUTTI_SUCCESS)
            return tutti_comm_error(NULL, r, "%s: %s: rank %d cannot read rank 0's address: %s", call, kvs->route,
                                    kvs->rank, err);
        if (strncmp(val, "error:", 6) == 0)
            return tutti_comm_error(NULL, TUTTI_ERR_REMOTE, "%s: %s: rank 0 could not serve the rendezvous (%s)",
                                    call, kvs->route, val + 6);
        if (tutti_hex_bytes(val, (uint8_t *)id.internal, sizeof(id)) != 0)
            return tutti_comm_error(NULL, TUTTI_ERR_REMOTE,
                                    "%s: %s: key %s holds '%.40s' (%zu characters), not a tutti id", call, kvs->route,
                                    key, val, strlen(val));
    }
    TUTTI_INFO(TUTTI_SUBSYS_INIT, kvs->rank, "init from environment: rank %d of %d, rendezvous through %s", kvs->rank,
               kvs->size, kvs->route);
    int size = kvs->size, rank = kvs->rank;
    tutti_kvs_done(kvs);
    return tutti_comm_init_rank(comm, size, id, rank);
}

tutti_result_t tutti_comm_init_env(tutti_comm_t *comm)
{
    const char *call = "tutti_comm_init_env";
    char err[TUTTI_ERRLEN], addrtext[320], tried[1024] = "";
    int rank = -1, size = -1, local_size = -1;
    const char *src = NULL;
    tutti_result_t r;
    if (!comm) return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: comm is NULL", call);
    if ((r = tutti_init_check_params()) != TUTTI_SUCCESS) return r;

    /* the launcher's service, unless the user gave the rendezvous */
    int explicit = tutti_param_str(TUTTI_P_ROOT_ADDR)[0] ||
                   (tutti_param_int(TUTTI_P_RANK) >= 0 && tutti_param_int(TUTTI_P_NRANKS) > 0);
    if (!explicit) {
        tutti_kvs_t *kvs = NULL;
        r = tutti_kvs_service(&kvs, tried, sizeof(tried));
        if (r == TUTTI_SUCCESS) return tutti_init_kvs(comm, kvs, call);
        if (r != TUTTI_ERR_UNSUPPORTED)
            return tutti_comm_error(NULL, r, "%s: the launcher's key-value service failed: %s", call, tried);
        TUTTI_INFO(TUTTI_SUBSYS_INIT, -1, "no launcher service (%s): the environment's rules decide", tried);
    }

    /* who am I */
    if (tutti_param_int(TUTTI_P_RANK) >= 0 && tutti_param_int(TUTTI_P_NRANKS) > 0) {
        rank = (int)tutti_param_int(TUTTI_P_RANK);
        size = (int)tutti_param_int(TUTTI_P_NRANKS);
        src = "TUTTI_RANK/TUTTI_NRANKS";
    } else if (tutti_env_int("OMPI_COMM_WORLD_RANK", &rank) && tutti_env_int("OMPI_COMM_WORLD_SIZE", &size)) {
        src = "OMPI_COMM_WORLD_RANK/SIZE";
        tutti_env_int("OMPI_COMM_WORLD_LOCAL_SIZE", &local_size);
    } else if (tutti_env_int("PMI_RANK", &rank) && tutti_env_int("PMI_SIZE", &size)) {
        src = "PMI_RANK/PMI_SIZE";
        tutti_env_int("MPI_LOCALNRANKS", &local_size);
    } else if (tutti_env_int("SLURM_PROCID", &rank) && tutti_env_int("SLURM_NTASKS", &size)) {
        int nnodes;
        src = "SLURM_PROCID/SLURM_NTASKS";
        if (tutti_env_int("SLURM_NNODES", &nnodes) && nnodes == 1) local_size = size;
    } else if (tutti_env_int("RANK", &rank) && tutti_env_int("WORLD_SIZE", &size)) {
        src = "RANK/WORLD_SIZE";
        tutti_env_int("LOCAL_WORLD_SIZE", &local_size);
    } else {
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_USAGE,
                                "%s: no rank and size in the environment (looked for TUTTI_RANK/TUTTI_NRANKS, "
                                "OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/PMI_SIZE, SLURM_PROCID/SLURM_NTASKS, "
                                "RANK/WORLD_SIZE)",
                                call);
    }
    if (size < 1 || rank < 0 || rank >= size)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: rank %d / size %d from %s are inconsistent",
                                call, rank, size, src);

    /* where to meet, and a job id to derive defaults from */
    const char *jobid = getenv("OMPI_MCA_ess_base_jobid");
    if (!jobid) jobid = getenv("PMIX_NAMESPACE");
    if (!jobid) jobid = getenv("SLURM_JOB_ID");
    const char *root = tutti_param_str(TUTTI_P_ROOT_ADDR);
    const char *maddr = getenv("MASTER_ADDR"), *mport = getenv("MASTER_PORT");
    if (root[0]) {
        snprintf(addrtext, sizeof(addrtext), "%s", root);
    } else if (maddr && mport) {
        /* MASTER_PORT itself belongs to torchrun's own store */
        snprintf(addrtext, sizeof(addrtext), "%s%s%s:%d", strchr(maddr, ':') ? "[" : "", maddr,
                 strchr(maddr, ':') ? "]" : "", atoi(mport) + 1);
    } else if (jobid && local_size == size) {
        static const uint8_t key[16] = {'t', 'u', 't', 't', 'i', '-', 'p', 'o', 'r', 't'};
        unsigned port = 20000 + (unsigned)(tutti_siphash(key, jobid, strlen(jobid)) % 40000);
        snprintf(addrtext, sizeof(addrtext), "127.0.0.1:%u", port);
    } else {
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_USAGE,
                                "%s: no rendezvous address: set TUTTI_ROOT_ADDR=host:port (or MASTER_ADDR and "
                                "MASTER_PORT) to an address of rank 0's host%s%s%s",
                                call, jobid ? "" : "; the launcher exports no job id to derive a local one from",
                                tried[0] ? "; no launcher service: " : "", tried);
    }
    tutti_id_info_t info;
    memset(&info, 0, sizeof(info));
    if (tutti_sockaddr_parse(addrtext, &info.root, err, sizeof(err)) != 0)
        return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: rendezvous %s", call, err);

    const char *secret = tutti_param_str(TUTTI_P_SECRET);
    if (secret[0]) {
        if (tutti_hex_bytes(secret, info.secret, sizeof(info.secret)) != 0)
            return tutti_comm_error(NULL, TUTTI_ERR_INVALID_ARGUMENT, "%s: TUTTI_SECRET must be 32 hex digits", call);
    } else {
        /* derived: keeps other jobs out by accident, not a defence against
         * someone who can read this job's environment */
        static const uint8_t key[16] = {'t', 'u', 't', 't', 'i', '-', 'e', 'n', 'v', '-', 's', 'e', 'c'};
        char material[512];
        const char *pre = getenv("OMPI_MCA_orte_precondition_transports");
        snprintf(material, sizeof(material), "%s|%s|%s|%d", jobid ? jobid : "", pre ? pre : "", addrtext, size);
        tutti_siphash_mac(key, material, strlen(material), info.secret);
    }
    static const uint8_t idkey[16] = {'t', 'u', 't', 't', 'i', '-', 'e', 'n', 'v', '-', 'i', 'd'};
    info.comm_id = tutti_siphash(idkey, info.secret, sizeof(info.secret));

    if (rank == 0) {
        tutti_sockaddr_t listen_addr = info.root;
        r = tutti_bootstrap_root_start(&listen_addr, &info, tutti_param_seconds(TUTTI_P_INIT_TIMEOUT), err,
                                       sizeof(err));
        if (r != TUTTI_SUCCESS)
            return tutti_comm_error(NULL, r, "%s: rank 0 cannot serve the rendezvous at %s: %s", call, addrtext, err);
    }
    TUTTI_INFO(TUTTI_SUBSYS_INIT, rank, "init from environment: rank %d of %d (%s), rendezvous %s", rank, size,
               src, addrtext);
    tutti_init_opts_t o;
    tutti_init_opts(NULL, call, &o);
    return tutti_init_with_info(comm, size, &info, rank, &o, call);
}
