/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which key-value service this process has (kvs.h): TUTTI_LAUNCHER names
 * one (pmix, pmi1) or none; empty tries PMIx, then PMI-1.  Found once per
 * process and kept (PMIx and PMI-1 connections are the process's, not a
 * communicator's).
 */
#include "launch/kvs.h"

#include "util/log.h"
#include "util/param.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t tutti_kvs_lock = PTHREAD_MUTEX_INITIALIZER;
static tutti_kvs_t *tutti_kvs_found;

tutti_result_t tutti_kvs_service(tutti_kvs_t **kvs, char *tried, size_t triedlen)
{
    const char *want = tutti_param_str(TUTTI_P_LAUNCHER);
    double timeout = tutti_param_seconds(TUTTI_P_INIT_TIMEOUT);
    tutti_result_t r = TUTTI_ERR_UNSUPPORTED;
    tried[0] = '\0';
    pthread_mutex_lock(&tutti_kvs_lock);
    if (tutti_kvs_found) {
        *kvs = tutti_kvs_found;
        pthread_mutex_unlock(&tutti_kvs_lock);
        return TUTTI_SUCCESS;
    }
    if (strcmp(want, "none") == 0) {
        snprintf(tried, triedlen, "TUTTI_LAUNCHER=none");
        goto out;
    }
    static const struct {
        const char *name;
        tutti_result_t (*open)(tutti_kvs_t **, double, char *, size_t);
    } routes[] = {{"pmix", tutti_kvs_pmix_open}, {"pmi1", tutti_kvs_pmi1_open}};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (want[0] && strcmp(want, routes[i].name) != 0) continue;
        char why[400] = "";
        r = routes[i].open(&tutti_kvs_found, timeout, why, sizeof(why));
        if (r == TUTTI_SUCCESS) {
            TUTTI_INFO(TUTTI_SUBSYS_INIT, tutti_kvs_found->rank, "launcher service: %s, rank %d of %d",
                       tutti_kvs_found->route, tutti_kvs_found->rank, tutti_kvs_found->size);
            *kvs = tutti_kvs_found;
            goto out;
        }
        snprintf(tried + strlen(tried), triedlen - strlen(tried), "%s%s", tried[0] ? "; " : "", why);
        /* a service that is there but failed is an error, not a reason to
         * guess an address; so is one TUTTI_LAUNCHER names */
        if (r != TUTTI_ERR_UNSUPPORTED || want[0]) {
            if (r == TUTTI_ERR_UNSUPPORTED) r = TUTTI_ERR_INVALID_USAGE;
            goto out;
        }
    }
    if (want[0] && !tried[0]) {
        snprintf(tried, triedlen, "TUTTI_LAUNCHER='%s' is none of pmix, pmi1, none", want);
        r = TUTTI_ERR_INVALID_ARGUMENT;
    }
out:
    pthread_mutex_unlock(&tutti_kvs_lock);
    return r;
}

void tutti_kvs_done(tutti_kvs_t *kvs)
{
    pthread_mutex_lock(&tutti_kvs_lock);
    if (kvs && kvs->release && kvs == tutti_kvs_found) {
        tutti_kvs_found = NULL;
        kvs->release(kvs);
    }
    pthread_mutex_unlock(&tutti_kvs_lock);
}
