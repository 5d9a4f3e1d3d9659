/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The launcher's key-value service: how tutti_comm_init_env meets without
 * an address to export.  Every serious launcher runs one for its job, and
 * it is private to the job:
 *
 *   PMIx    Open MPI 4+/5's mpirun, Slurm's srun --mpi=pmix   libpmix.so.2,
 *           opened at run time (pmix.c)
 *   PMI-1   MPICH's hydra (mpiexec), Slurm's srun --mpi=pmi2  the wire
 *           protocol over the inherited PMI_FD (pmi1.c; Slurm's pmi2
 *           plugin answers PMI-1 clients too)
 *
 * Through it rank 0 publishes a unique id (its rendezvous address and a
 * fresh random secret) and every other rank reads it after a fence:
 *
 *   rank 0:  get_unique_id -> put("tutti-id-<n>", hex) -\
 *   all:                                               fence (deadline)
 *   rank r:                  get(0, "tutti-id-<n>") <-/ -> init_rank
 *
 * n counts the process's tutti_comm_init_env calls, so a job may create
 * several communicators from the environment.  Every wait has the
 * deadline it is given.
 */
#ifndef TUTTI_LAUNCH_KVS_H
#define TUTTI_LAUNCH_KVS_H

#include "tutti.h"

#include <stddef.h>

typedef struct tutti_kvs tutti_kvs_t;
struct tutti_kvs {
    const char *route; /* "PMIx (libpmix.so.2)", "PMI-1 (PMI_FD)" */
    int rank, size;
    int local_size;    /* -1 where the service does not say */
    tutti_result_t (*put)(tutti_kvs_t *k, const char *key, const char *value, char *err, size_t errlen);
    /* commits what this rank put and waits for every rank of the job */
    tutti_result_t (*fence)(tutti_kvs_t *k, double timeout, char *err, size_t errlen);
    tutti_result_t (*get)(tutti_kvs_t *k, int rank, const char *key, char *value, size_t vlen, double timeout,
                          char *err, size_t errlen);
    /* after the exchange: NULL keeps the service for the next call; else
     * releases it (the next tutti_kvs_service opens it again) */
    void (*release)(tutti_kvs_t *k);
};

/* Done with the service for this communicator (kvs.c). */
void tutti_kvs_done(tutti_kvs_t *kvs);

/* The process's service, found and opened on the first call (TUTTI_LAUNCHER
 * chooses or forbids one): TUTTI_SUCCESS with *kvs; TUTTI_ERR_UNSUPPORTED
 * when the environment shows none (tried: what was looked for and why each
 * route did not apply); another error when one was found but failed. */
tutti_result_t tutti_kvs_service(tutti_kvs_t **kvs, char *tried, size_t triedlen);

/* The routes (NULL with the reason when their environment is absent). */
tutti_result_t tutti_kvs_pmix_open(tutti_kvs_t **kvs, double timeout, char *why, size_t whylen);
tutti_result_t tutti_kvs_pmi1_open(tutti_kvs_t **kvs, double timeout, char *why, size_t whylen);

#endif
