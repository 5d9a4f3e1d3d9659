/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_api's abort cases (a communicator aborted from another thread while
 * a rank waits in it, request handles after an abort) and the
 * configuration struct (tutti_config_t: deadlines, progress threads).
 */
#define TUTTI_TAP_SHARED 1 /* one TAP count with the other file of test_api */
#include "apijob.h"
#include "core/comm.h"
#include "util/time.h"

#include <stdlib.h>
#include <unistd.h>

/* ---- abort, timeout, mismatch ------------------------------------------------- */

static void abort_rank(job_t *j, int rank)
{
    blocked_t *b = j->ctx;
    tutti_comm_t child = NULL;
    if (tutti_comm_split(j->comm[rank], 0, rank, &child) != TUTTI_SUCCESS) FAIL(j, rank, "split");
    pthread_barrier_wait(&j->bar);
    if (rank == 1) {
        /* rank 1 never joins the all-reduce; it aborts rank 0's communicator
         * from its own thread after 300 ms */
        usleep(300000);
        if (tutti_comm_abort(j->comm[0]) != TUTTI_SUCCESS) FAIL(j, rank, "abort refused");
        j->comm[0] = NULL;
        tutti_comm_destroy(child);
        return;
    }
    float x[1000], y[1000];
    memset(x, 0, sizeof(x));
    double t0 = tutti_time_now();
    b->res = tutti_allreduce(x, y, 1000, TUTTI_FLOAT32, TUTTI_SUM, j->comm[0]);
    b->took = tutti_time_now() - t0;
    pthread_barrier_wait(&j->bar); /* wait until the abort returned */
    float z;
    tutti_result_t cr = tutti_allreduce(x, &z, 1, TUTTI_FLOAT32, TUTTI_SUM, child);
    snprintf(b->msg, sizeof(b->msg), "%s", tutti_result_name(cr));
    tutti_comm_destroy(child);
}

static void abort_rank_wrapper(job_t *j, int rank)
{
    if (rank == 1) {
        abort_rank(j, rank);
        pthread_barrier_wait(&j->bar);
    } else {
        abort_rank(j, rank);
    }
}

void test_abort(void)
{
    job_t j;
    blocked_t b;
    memset(&b, 0, sizeof(b));
    job_new(&j, 2);
    j.ctx = &b;
    job_run(&j, abort_rank_wrapper);
    tap_ok(b.res == TUTTI_ERR_ABORTED && b.took < 5, "abort from another thread unblocks a waiting all-reduce (%s after %.2f s)",
           tutti_result_name(b.res), b.took);
    tap_ok(strcmp(b.msg, "TUTTI_ERR_ABORTED") == 0, "a communicator split from the aborted one is aborted too (%s)", b.msg);
    job_destroy(&j);
}

/* A progress thread's pattern: rank 0 polls its requests with tutti_test
 * while rank 1's thread aborts rank 0's communicator; afterwards the
 * request handles still answer (ABORTED), they are not freed memory
 * (ASan would see it). */
typedef struct {
    tutti_result_t polled, after_test, after_wait, second;
    double took;
} abort_req_t;

static void abort_req_rank(job_t *j, int rank)
{
    abort_req_t *b = j->ctx;
    pthread_barrier_wait(&j->bar);
    if (rank == 1) {
        usleep(300000);
        if (tutti_comm_abort(j->comm[0]) != TUTTI_SUCCESS) FAIL(j, rank, "abort refused");
        j->comm[0] = NULL;
        pthread_barrier_wait(&j->bar);
        return;
    }
    static float x[5000], y[5000], z[5000];
    tutti_request_t r1, r2;
    if (tutti_iallreduce(x, y, 5000, TUTTI_FLOAT32, TUTTI_SUM, j->comm[0], &r1) != TUTTI_SUCCESS ||
        tutti_iallreduce(x, z, 5000, TUTTI_FLOAT32, TUTTI_SUM, j->comm[0], &r2) != TUTTI_SUCCESS) {
        FAIL(j, rank, "post: %s", tutti_comm_last_error(j->comm[0]));
        pthread_barrier_wait(&j->bar);
        return;
    }
    double t0 = tutti_time_now();
    int done = 0;
    tutti_result_t r = TUTTI_SUCCESS;
    while (!done && r == TUTTI_SUCCESS && tutti_time_now() - t0 < 10) {
        r = tutti_test(r1, &done);
        usleep(1000);
    }
    b->polled = r;
    b->took = tutti_time_now() - t0;
    pthread_barrier_wait(&j->bar); /* the abort returned: everything is freed */
    b->after_test = tutti_test(r1, &done);
    b->after_wait = tutti_wait(r1);
    b->second = tutti_wait(r2);
}

void test_abort_requests(void)
{
    job_t j;
    abort_req_t b;
    memset(&b, 0, sizeof(b));
    job_new(&j, 2);
    j.ctx = &b;
    job_run(&j, abort_req_rank);
    tap_ok(b.polled == TUTTI_ERR_ABORTED && b.took < 5,
           "abort on another thread ends a request being polled with tutti_test (%s after %.2f s)",
           tutti_result_name(b.polled), b.took);
    tap_ok(b.after_test == TUTTI_ERR_ABORTED && b.after_wait == TUTTI_ERR_ABORTED && b.second == TUTTI_ERR_ABORTED,
           "after the abort returned, its requests still answer: test %s, wait %s, a request never waited %s",
           tutti_result_name(b.after_test), tutti_result_name(b.after_wait), tutti_result_name(b.second));
    job_destroy(&j);
}

/* tutti_config_t: the init deadline and the wait deadline per call. */
void test_config(void)
{
    tutti_comm_t c = (tutti_comm_t)0x1;
    tutti_unique_id_t id;
    tutti_config_t cfg = TUTTI_CONFIG_INIT;
    tap_ok(cfg.size == sizeof(tutti_config_t) && cfg.init_timeout == 0 && cfg.timeout == 0,
           "TUTTI_CONFIG_INIT sets the size and leaves the defaults");
    cfg.size = 0;
    tutti_result_t r0 = tutti_get_unique_id_config(&id, &cfg);
    cfg.size = sizeof(cfg) + 8;
    tutti_result_t r1 = tutti_get_unique_id_config(&id, &cfg);
    cfg.size = sizeof(cfg);
    cfg.init_timeout = -1;
    tutti_result_t r2 = tutti_get_unique_id_config(&id, &cfg);
    cfg.init_timeout = 0;
    cfg.timeout = 0.0 / 0.0;
    memset(&id, 0, sizeof(id));
    tutti_result_t r3 = tutti_comm_init_rank_config(&c, 1, id, 0, &cfg);
    tap_ok(r0 == TUTTI_ERR_INVALID_ARGUMENT && r1 == TUTTI_ERR_INVALID_ARGUMENT && r2 == TUTTI_ERR_INVALID_ARGUMENT &&
               r3 == TUTTI_ERR_INVALID_ARGUMENT && c == (tutti_comm_t)0x1,
           "a config of size 0, of a larger size, with a negative or NaN time is refused, nothing made (%s, %s, %s, %s)",
           tutti_result_name(r0), tutti_result_name(r1), tutti_result_name(r2), tutti_result_name(r3));
    /* a caller built against an older, shorter tutti_config_t: only its fields are read */
    cfg = (tutti_config_t)TUTTI_CONFIG_INIT;
    cfg.size = offsetof(tutti_config_t, timeout);
    cfg.timeout = -5; /* beyond the caller's size: never read */
    cfg.init_timeout = 0.6;
    r0 = tutti_get_unique_id_config(&id, &cfg);
    double t0 = tutti_time_now();
    r1 = r0 == TUTTI_SUCCESS ? tutti_comm_init_rank_config(&c, 2, id, 0, &cfg) : r0;
    double took = tutti_time_now() - t0;
    tap_ok(r1 == TUTTI_ERR_TIMEOUT && took > 0.4 && took < 5 && c == (tutti_comm_t)0x1,
           "init_timeout 0.6 s with a rank that never comes: TIMEOUT after %.2f s (TUTTI_INIT_TIMEOUT is 60 s)", took);
    tap_ok(strstr(tutti_comm_last_error(NULL), "ranks 1 of 2 never joined") != NULL, "the error names the missing rank: %s",
           tutti_comm_last_error(NULL));
    /* the wait deadline of the new communicator */
    cfg = (tutti_config_t)TUTTI_CONFIG_INIT;
    cfg.timeout = 0.5;
    c = NULL;
    r0 = tutti_get_unique_id_config(&id, &cfg);
    r1 = r0 == TUTTI_SUCCESS ? tutti_comm_init_rank_config(&c, 1, id, 0, &cfg) : r0;
    tap_ok(r1 == TUTTI_SUCCESS && c && c->timeout == 0.5, "cfg.timeout becomes the communicator's deadline (%s)",
           tutti_result_name(r1));
    if (c) tutti_comm_destroy(c);
    /* a progress thread's communicator: waits yield at once, its children too */
    cfg = (tutti_config_t)TUTTI_CONFIG_INIT;
    cfg.progress_thread = 2;
    c = NULL;
    r0 = tutti_comm_init_rank_config(&c, 1, id, 0, &cfg);
    cfg.progress_thread = 1;
    tutti_comm_t child = NULL;
    r1 = tutti_get_unique_id_config(&id, &cfg);
    if (r1 == TUTTI_SUCCESS) r1 = tutti_comm_init_rank_config(&c, 1, id, 0, &cfg);
    if (r1 == TUTTI_SUCCESS) r1 = tutti_comm_split(c, 0, 0, &child);
    tap_ok(r0 == TUTTI_ERR_INVALID_ARGUMENT && r1 == TUTTI_SUCCESS && c->spin == 0 && child && child->spin == 0,
           "cfg.progress_thread 1: waits yield at once (spin 0), in split children too; 2 is refused");
    if (child) tutti_comm_destroy(child);
    if (c) tutti_comm_destroy(c);
}

