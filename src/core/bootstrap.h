/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bootstrap: the small out-of-band service used at communicator creation
 * (and split) to exchange addresses and transport blobs.  Not used on the
 * data path.
 *
 * Start-up (O(log p) rounds):
 *   1. every rank opens a listening socket and registers with the root named
 *      in the unique id (one connection each, handled concurrently by the
 *      root's poll loop);
 *   2. once all p ranks registered, the root sends rank r the addresses of
 *      its log2(p) Bruck partners r - 2^k;
 *   3. an allgather (Bruck's dissemination: log2(p) rounds) spreads every
 *      address to every rank.
 * Rank-to-rank connections are made on first use, one per direction: the
 * sender connects, the receiver accepts.  Every connection starts with an
 * authenticated hello; a stranger is dropped and logged, the job goes on.
 */
#ifndef TUTTI_CORE_BOOTSTRAP_H
#define TUTTI_CORE_BOOTSTRAP_H

#include "core/bootstrap_wire.h"
#include "tutti.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tutti_bootstrap tutti_bootstrap_t;

/* Decoded unique id. */
typedef struct {
    uint64_t comm_id;
    uint8_t secret[16];
    tutti_sockaddr_t root;
} tutti_id_info_t;

tutti_result_t tutti_id_encode(const tutti_id_info_t *info, tutti_unique_id_t *id);
tutti_result_t tutti_id_decode(const tutti_unique_id_t *id, tutti_id_info_t *info);

/* Starts the root service on `listen_addr` (port may be 0: its port is
 * written back).  It runs in a detached thread until every rank has
 * registered or `timeout` seconds have passed, then tells the waiting ranks
 * which ranks are missing. */
tutti_result_t tutti_bootstrap_root_start(tutti_sockaddr_t *listen_addr, const tutti_id_info_t *info,
                                          double timeout, char *err, size_t errlen);

/* Joins the communicator described by info as `rank` of `nranks`. */
tutti_result_t tutti_bootstrap_init(const tutti_id_info_t *info, int rank, int nranks,
                                    double timeout, tutti_bootstrap_t **out, char *err,
                                    size_t errlen);

/* Collective over `parent`: ranks passing the same color get a bootstrap of
 * their own, ordered by (key, parent rank).  *out is NULL for color < 0.
 * new_rank/new_nranks receive the position in the new group. */
tutti_result_t tutti_bootstrap_split(tutti_bootstrap_t *parent, int color, int key,
                                     tutti_bootstrap_t **out, int *new_rank, int *new_nranks,
                                     int **parent_ranks);

/* all[r*bytes ..] = what rank r passed as mine; every rank. */
tutti_result_t tutti_bootstrap_allgather(tutti_bootstrap_t *b, const void *mine, void *all,
                                         size_t bytes);
tutti_result_t tutti_bootstrap_barrier(tutti_bootstrap_t *b);

void tutti_bootstrap_destroy(tutti_bootstrap_t *b);

int tutti_bootstrap_rank(const tutti_bootstrap_t *b);
int tutti_bootstrap_nranks(const tutti_bootstrap_t *b);
uint64_t tutti_bootstrap_comm_id(const tutti_bootstrap_t *b);
/* The communicator's 16-byte secret (for transports to authenticate their
 * own connections). */
const uint8_t *tutti_bootstrap_secret(const tutti_bootstrap_t *b);
const char *tutti_bootstrap_error(const tutti_bootstrap_t *b);
/* Aborting: every wait in b returns TUTTI_ERR_ABORTED when *flag != 0. */
void tutti_bootstrap_set_abort_flag(tutti_bootstrap_t *b, const int *flag);
/* Listening address of rank r (for tests and diagnostics). */
const tutti_sockaddr_t *tutti_bootstrap_addr(const tutti_bootstrap_t *b, int r);
/* Number of connections dropped because they failed authentication. */
uint64_t tutti_bootstrap_strangers(const tutti_bootstrap_t *b);

#endif
