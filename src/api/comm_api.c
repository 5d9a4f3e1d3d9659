/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public queries and settings of a communicator, and the result and
 * version strings.  (Creation is init.c; teardown, destroy and abort, stays
 * with the communicator's lifecycle in src/core/comm.c.)
 */
#include "api/api.h"

#include "util/param.h"

#include <stdio.h>
#include <string.h>

const char *tutti_strerror(tutti_result_t r)
{
    switch (r) {
#define TUTTI_RESULT_STR_(name, value, desc)                                   \
    case TUTTI_##name: return desc;
        TUTTI_RESULT_MAP(TUTTI_RESULT_STR_)
#undef TUTTI_RESULT_STR_
    }
    return "unknown result code";
}

const char *tutti_result_name(tutti_result_t r)
{
    switch (r) {
#define TUTTI_RESULT_NAME_(name, value, desc)                                  \
    case TUTTI_##name: return "TUTTI_" #name;
        TUTTI_RESULT_MAP(TUTTI_RESULT_NAME_)
#undef TUTTI_RESULT_NAME_
    }
    return "TUTTI_UNKNOWN";
}

const char *tutti_version_string(void) { return PACKAGE_VERSION; }
int tutti_version(void) { return TUTTI_VERSION_CODE; }

tutti_result_t tutti_comm_rank(tutti_comm_t comm, int *rank)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_rank", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!rank) r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_rank: rank is NULL");
    else *rank = comm->rank;
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_comm_size(tutti_comm_t comm, int *size)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_size", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!size) r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_size: size is NULL");
    else *size = comm->nranks;
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_comm_set_algorithms(tutti_comm_t comm, const char *spec)
{
    char err[512];
    tutti_algo_config_t cfg;
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_set_algorithms", 0);
    if (r != TUTTI_SUCCESS) return r;
    if (!spec || !spec[0]) spec = tutti_param_str(TUTTI_P_ALGO);
    if (tutti_algo_config_load(&cfg, spec, tutti_param_size(TUTTI_P_SMALL_MSG_SIZE),
                               tutti_param_size(TUTTI_P_CHUNK_SIZE), tutti_param_str(TUTTI_P_TUNE_FILE),
                               err, sizeof(err)) != 0) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_set_algorithms: %s", err);
    } else {
        pthread_mutex_lock(&comm->lock);
        cfg.model = comm->algo.model; /* the job's costs stay */
        comm->algo = cfg;
        memset(comm->logged, 0, sizeof(comm->logged)); /* explain the new choices */
        tutti_comm_log_table(comm);
        pthread_mutex_unlock(&comm->lock);
    }
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_comm_get_async_error(tutti_comm_t comm, tutti_result_t *async_error)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_get_async_error", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!async_error) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_get_async_error: async_error is NULL");
    } else {
        pthread_mutex_lock(&comm->lock);
        tutti_comm_progress(comm); /* one poll: notices a dead peer, a deadline */
        *async_error = comm->broken;
        pthread_mutex_unlock(&comm->lock);
    }
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_comm_flight_record(tutti_comm_t comm, char *buf, size_t len)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_flight_record", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!buf || !len) {
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_flight_record: no buffer");
    } else {
        pthread_mutex_lock(&comm->lock);
        tutti_recorder_format(&comm->fr, comm->rank, TUTTI_RECORDER_SIZE, buf, len);
        pthread_mutex_unlock(&comm->lock);
    }
    tutti_comm_leave(comm);
    return r;
}

tutti_result_t tutti_comm_set_timeout(tutti_comm_t comm, double seconds)
{
    tutti_result_t r = tutti_comm_enter(comm, "tutti_comm_set_timeout", TUTTI_ENTER_ALLOW_BROKEN);
    if (r != TUTTI_SUCCESS) return r;
    if (!(seconds > 0) || seconds > 1e9)
        r = tutti_comm_error(comm, TUTTI_ERR_INVALID_ARGUMENT, "tutti_comm_set_timeout: %g is not a positive number of seconds",
                             seconds);
    else
        comm->timeout = seconds;
    tutti_comm_leave(comm);
    return r;
}

