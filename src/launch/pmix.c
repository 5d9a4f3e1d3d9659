/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PMIx, the key-value service of Open MPI's mpirun (4.x, 5.x) and of
 * Slurm's srun --mpi=pmix.  libpmix.so.2 is opened at run time (PMIx's
 * headers at build time only), so libtutti loads where PMIx is absent.
 * The route applies where the launcher exported PMIX_NAMESPACE and
 * PMIX_RANK; PMIx_Init is reference-counted, so a process that is also an
 * MPI program shares the connection with its MPI.
 *
 *   put     PMIx_Put(PMIX_GLOBAL, key, string) (committed at the fence)
 *   fence   PMIx_Commit + PMIx_Fence(all, PMIX_COLLECT_DATA, PMIX_TIMEOUT)
 *   get     PMIx_Get(rank, key, PMIX_TIMEOUT)
 *   size    PMIx_Get(wildcard, PMIX_JOB_SIZE), PMIX_LOCAL_SIZE
 */
#include "launch/kvs.h"

#include "util/dl.h"

#ifdef TUTTI_HAVE_PMIX
#include <dlfcn.h>
#include <pmix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUTTI_PMIX_LIBNAME "libpmix.so.2"

typedef struct {
    tutti_kvs_t k;
    pmix_proc_t me;
    __typeof__(&PMIx_Init) init;
    __typeof__(&PMIx_Put) put;
    __typeof__(&PMIx_Commit) commit;
    __typeof__(&PMIx_Fence) fence;
    __typeof__(&PMIx_Get) get;
    __typeof__(&PMIx_Value_destruct) value_destruct;
    __typeof__(&PMIx_Error_string) error_string;
    __typeof__(&PMIx_Finalize) finalize;
} tutti_pmix_t;

static tutti_pmix_t *tutti_pmix_global;

/* PMIx_Init is counted: this finalize matches tutti's own init (an MPI of
 * the same process finalizes its own), and launchers count a process that
 * initialised without finalizing as failed. */
static void tutti_pmix_atexit(void)
{
    if (tutti_pmix_global) tutti_pmix_global->finalize(NULL, 0);
}

static void tutti_pmix_info_int(pmix_info_t *i, const char *key, int v)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->key, sizeof(i->key), "%s", key);
    i->value.type = PMIX_INT;
    i->value.data.integer = v;
}

static void tutti_pmix_info_bool(pmix_info_t *i, const char *key, int v)
{
    memset(i, 0, sizeof(*i));
    snprintf(i->key, sizeof(i->key), "%s", key);
    i->value.type = PMIX_BOOL;
    i->value.data.flag = v != 0;
}

static int tutti_pmix_secs(double timeout)
{
    return timeout < 1 ? 1 : timeout > 1e6 ? 1000000 : (int)(timeout + 0.999);
}

static tutti_result_t tutti_pmix_put(tutti_kvs_t *k, const char *key, const char *value, char *err, size_t errlen)
{
    tutti_pmix_t *p = (tutti_pmix_t *)k;
    pmix_value_t v;
    memset(&v, 0, sizeof(v));
    v.type = PMIX_STRING;
    v.data.string = (char *)value;
    pmix_status_t st = p->put(PMIX_GLOBAL, key, &v);
    if (st != PMIX_SUCCESS) {
        snprintf(err, errlen, "PMIx_Put(%s): %s", key, p->error_string(st));
        return TUTTI_ERR_REMOTE;
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_pmix_fence(tutti_kvs_t *k, double timeout, char *err, size_t errlen)
{
    tutti_pmix_t *p = (tutti_pmix_t *)k;
    pmix_status_t st = p->commit();
    if (st != PMIX_SUCCESS) {
        snprintf(err, errlen, "PMIx_Commit: %s", p->error_string(st));
        return TUTTI_ERR_REMOTE;
    }
    pmix_proc_t all;
    memset(&all, 0, sizeof(all));
    memcpy(all.nspace, p->me.nspace, sizeof(all.nspace));
    all.rank = PMIX_RANK_WILDCARD;
    pmix_info_t info[2];
    tutti_pmix_info_bool(&info[0], PMIX_COLLECT_DATA, 1);
    tutti_pmix_info_int(&info[1], PMIX_TIMEOUT, tutti_pmix_secs(timeout));
    st = p->fence(&all, 1, info, 2);
    if (st != PMIX_SUCCESS) {
        snprintf(err, errlen, "PMIx_Fence over namespace %s: %s%s", p->me.nspace, p->error_string(st),
                 st == PMIX_ERR_TIMEOUT ? " (some rank did not reach tutti_comm_init_env in time)" : "");
        return st == PMIX_ERR_TIMEOUT ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_REMOTE;
    }
    return TUTTI_SUCCESS;
}

static tutti_result_t tutti_pmix_get(tutti_kvs_t *k, int rank, const char *key, char *value, size_t vlen,
                                     double timeout, char *err, size_t errlen)
{
    tutti_pmix_t *p = (tutti_pmix_t *)k;
    pmix_proc_t who;
    memset(&who, 0, sizeof(who));
    memcpy(who.nspace, p->me.nspace, sizeof(who.nspace));
    who.rank = (pmix_rank_t)rank;
    pmix_info_t info;
    tutti_pmix_info_int(&info, PMIX_TIMEOUT, tutti_pmix_secs(timeout));
    pmix_value_t *v = NULL;
    pmix_status_t st = p->get(&who, key, &info, 1, &v);
    if (st != PMIX_SUCCESS || !v) {
        snprintf(err, errlen, "PMIx_Get(rank %d, %s): %s", rank, key, p->error_string(st));
        return st == PMIX_ERR_TIMEOUT ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_REMOTE;
    }
    tutti_result_t r = TUTTI_SUCCESS;
    if (v->type != PMIX_STRING || !v->data.string) {
        snprintf(err, errlen, "PMIx_Get(rank %d, %s): not a string (type %u)", rank, key, (unsigned)v->type);
        r = TUTTI_ERR_REMOTE;
    } else {
        snprintf(value, vlen, "%s", v->data.string);
    }
    p->value_destruct(v);
    free(v);
    return r;
}

/* A uint32 the launcher keeps for the job (PMIX_JOB_SIZE ...), or -1. */
static int tutti_pmix_job_u32(tutti_pmix_t *p, const char *key)
{
    pmix_proc_t wild;
    memset(&wild, 0, sizeof(wild));
    memcpy(wild.nspace, p->me.nspace, sizeof(wild.nspace));
    wild.rank = PMIX_RANK_WILDCARD;
    pmix_value_t *v = NULL;
    int out = -1;
    if (p->get(&wild, key, NULL, 0, &v) == PMIX_SUCCESS && v) {
        if (v->type == PMIX_UINT32 && v->data.uint32 <= (1u << 30)) out = (int)v->data.uint32;
        p->value_destruct(v);
        free(v);
    }
    return out;
}

tutti_result_t tutti_kvs_pmix_open(tutti_kvs_t **kvs, double timeout, char *why, size_t whylen)
{
    (void)timeout; /* PMIx_Init connects to the local server: no wait to bound */
    if (!getenv("PMIX_NAMESPACE") || !getenv("PMIX_RANK")) {
        snprintf(why, whylen, "PMIx: no PMIX_NAMESPACE and PMIX_RANK");
        return TUTTI_ERR_UNSUPPORTED;
    }
    tutti_pmix_t *p = calloc(1, sizeof(*p));
    if (!p) return TUTTI_ERR_NO_MEMORY;
    const tutti_dl_sym_t syms[] = {{&p->init, "PMIx_Init"},       {&p->put, "PMIx_Put"},
                                   {&p->commit, "PMIx_Commit"},   {&p->fence, "PMIx_Fence"},
                                   {&p->get, "PMIx_Get"},         {&p->value_destruct, "PMIx_Value_destruct"},
                                   {&p->error_string, "PMIx_Error_string"}, {&p->finalize, "PMIx_Finalize"}};
    char dlwhy[320];
    if (!tutti_dl_open(TUTTI_PMIX_LIBNAME, RTLD_NOW | RTLD_GLOBAL, "PMIx's library", "PMIx older than 4?", syms,
                       sizeof(syms) / sizeof(syms[0]), dlwhy, sizeof(dlwhy))) {
        snprintf(why, whylen, "PMIx: the launcher exports PMIX_NAMESPACE, but %s", dlwhy);
        free(p);
        return TUTTI_ERR_UNSUPPORTED;
    }
    pmix_status_t st = p->init(&p->me, NULL, 0);
    if (st != PMIX_SUCCESS) {
        snprintf(why, whylen, "PMIx_Init (namespace %s): %s", getenv("PMIX_NAMESPACE"), p->error_string(st));
        free(p); /* the library stays loaded: PMIx does not like being unloaded */
        return TUTTI_ERR_REMOTE;
    }
    int size = tutti_pmix_job_u32(p, PMIX_JOB_SIZE);
    if (size < 1 || (int)p->me.rank >= size) {
        snprintf(why, whylen, "PMIx: namespace %s gives rank %u but no usable job size (%d)", p->me.nspace,
                 (unsigned)p->me.rank, size);
        free(p);
        return TUTTI_ERR_REMOTE;
    }
    p->k.route = "PMIx (" TUTTI_PMIX_LIBNAME ")";
    p->k.rank = (int)p->me.rank;
    p->k.size = size;
    p->k.local_size = tutti_pmix_job_u32(p, PMIX_LOCAL_SIZE);
    p->k.put = tutti_pmix_put;
    p->k.fence = tutti_pmix_fence;
    p->k.get = tutti_pmix_get;
    /* kept for the process: finalizing after each exchange and initialising
     * again for the next communicator left some second fences hanging
     * across hosts (tests/cluster/launch.sh, 1 run in 3) */
    p->k.release = NULL;
    tutti_pmix_global = p;
    atexit(tutti_pmix_atexit);
    *kvs = &p->k;
    return TUTTI_SUCCESS;
}

#else

#include <stdio.h>

tutti_result_t tutti_kvs_pmix_open(tutti_kvs_t **kvs, double timeout, char *why, size_t whylen)
{
    (void)kvs;
    (void)timeout;
    snprintf(why, whylen, "PMIx: this build has no PMIx support (configure found no pmix.h; Debian: libpmix-dev)");
    return TUTTI_ERR_UNSUPPORTED;
}

#endif
