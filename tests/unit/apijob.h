/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Jobs of thread ranks for tests/unit/test_api*.c: p threads of one
 * process, each a rank with its own communicator over the real shm
 * transport.
 */
#ifndef TUTTI_TESTS_UNIT_APIJOB_H
#define TUTTI_TESTS_UNIT_APIJOB_H

#include "tap.h" /* with TUTTI_TAP_SHARED: test_api.c defines the count */
#include "tutti.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAXR 8

typedef struct job job_t;
typedef void (*rank_fn)(job_t *j, int rank);

struct job {
    int p;
    tutti_unique_id_t id;
    tutti_comm_t comm[MAXR];
    tutti_result_t init_res[MAXR];
    rank_fn fn;
    int ok[MAXR];
    char err[MAXR][600];
    pthread_barrier_t bar;
    void *ctx;
};

typedef struct {
    job_t *j;
    int rank;
} targ_t;

static inline void *apijob_thread(void *a)
{
    targ_t *t = a;
    job_t *j = t->j;
    j->ok[t->rank] = 1;
    if (!j->comm[t->rank]) {
        j->init_res[t->rank] = tutti_comm_init_rank(&j->comm[t->rank], j->p, j->id, t->rank);
        if (j->init_res[t->rank] != TUTTI_SUCCESS) {
            j->ok[t->rank] = 0;
            snprintf(j->err[t->rank], sizeof(j->err[0]), "init: %s", tutti_comm_last_error(NULL));
            return NULL;
        }
    }
    if (j->fn) j->fn(j, t->rank);
    return NULL;
}

/* Runs fn on p threads; creates the communicators on first use. */
static inline int job_run(job_t *j, rank_fn fn)
{
    pthread_t th[MAXR];
    targ_t args[MAXR];
    j->fn = fn;
    pthread_barrier_init(&j->bar, NULL, (unsigned)j->p);
    for (int r = 0; r < j->p; r++) {
        args[r].j = j;
        args[r].rank = r;
        pthread_create(&th[r], NULL, apijob_thread, &args[r]);
    }
    int ok = 1;
    for (int r = 0; r < j->p; r++) {
        pthread_join(th[r], NULL);
        if (!j->ok[r] && ok) {
            ok = 0;
            tap_diag("rank %d: %s", r, j->err[r]);
        }
    }
    pthread_barrier_destroy(&j->bar);
    return ok;
}

static inline int job_new(job_t *j, int p)
{
    memset(j, 0, sizeof(*j));
    j->p = p;
    if (tutti_get_unique_id(&j->id) != TUTTI_SUCCESS) return 0;
    return job_run(j, NULL);
}

static inline void job_destroy(job_t *j)
{
    for (int r = 0; r < j->p; r++)
        if (j->comm[r]) tutti_comm_destroy(j->comm[r]);
}

#define FAIL(j, r, ...)                                                        \
    do {                                                                       \
        if ((j)->ok[r]) snprintf((j)->err[r], sizeof((j)->err[0]), __VA_ARGS__); \
        (j)->ok[r] = 0;                                                        \
    } while (0)

static inline int count_shm_files(void)
{
    int n = 0;
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    if (!d) return 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "tutti-", 6) == 0) n++;
    closedir(d);
    return n;
}


/* what a rank blocked in a call saw */
typedef struct {
    tutti_result_t res;
    double took;
    char msg[600];
} blocked_t;

/* test_api_abort.c */
void test_abort(void);
void test_abort_requests(void);
void test_config(void);

#endif
