/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Point-to-point under mpirun, through the public API only: blocking
 * ping-pong between two ranks while the others idle, then a collective on
 * everyone (point-to-point must not disturb the collectives' call numbers);
 * a ring exchange and an all-pairs exchange with self messages (alltoallv)
 * in groups, blocking and not, sizes 0 .. 2M elements, every datatype;
 * isend/irecv, and exchanges of them outside a group (irecv then isend on
 * every rank); several messages to one peer in a group; empty messages as
 * signals (a receive of 0 waits for its send); mismatched sizes
 * and a receive that meets a collective (TUTTI_ERR_MISMATCH); two ranks
 * that both send a large message first (TUTTI_ERR_TIMEOUT naming the peer,
 * as documented); bad input.  Results checked byte for byte on every rank;
 * MPI only coordinates the verdict.  Rank 0 prints TAP.
 */
#include "tutti.h"
#include "tutti_mpi.h"
#include "verdict.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int me, np;
static tutti_comm_t comm;

/* Byte i of the m-th message from rank a to rank b. */
static unsigned char pat(int a, int b, int m, size_t i)
{
    return (unsigned char)(a * 29 + b * 7 + m * 3 + (int)(i % 251) + (int)(i / 251 % 13));
}

static void fill(unsigned char *buf, size_t n, int a, int b, int m)
{
    for (size_t i = 0; i < n; i++) buf[i] = pat(a, b, m, i);
}

/* 0 if buf holds message m from a to b; else writes what is wrong. */
static int check(const unsigned char *buf, size_t n, int a, int b, int m, char *err, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pat(a, b, m, i)) {
            snprintf(err, len, "message %d from rank %d: byte %zu of %zu is %u, not %u", m, a, i, n, buf[i],
                     pat(a, b, m, i));
            return 1;
        }
    return 0;
}

static const size_t counts[] = {0, 1, 7, 4099, 2000003};
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

/* Ranks 0 and 1 ping-pong; the others do nothing; then everyone
 * all-reduces (a collective after point-to-point on some ranks only). */
static void pingpong(void)
{
    char err[300] = "";
    int ok = 1;
    for (size_t ci = 0; ci < NCOUNTS && ok; ci++) {
        tutti_datatype_t dt = (tutti_datatype_t)(ci * 3 % TUTTI_NUM_DATATYPES);
        size_t n = counts[ci] * tutti_datatype_size(dt);
        unsigned char *b = malloc(n + 1);
        tutti_result_t r = TUTTI_SUCCESS;
        if (me == 0) {
            fill(b, n, 0, 1, (int)ci);
            r = tutti_send(b, counts[ci], dt, 1, comm);
            if (r == TUTTI_SUCCESS) r = tutti_recv(b, counts[ci], dt, 1, comm);
            if (r == TUTTI_SUCCESS && check(b, n, 1, 0, (int)ci, err, sizeof(err))) ok = 0;
        } else if (me == 1) {
            r = tutti_recv(b, counts[ci], dt, 0, comm);
            if (r == TUTTI_SUCCESS && check(b, n, 0, 1, (int)ci, err, sizeof(err))) ok = 0;
            fill(b, n, 1, 0, (int)ci);
            if (r == TUTTI_SUCCESS) r = tutti_send(b, counts[ci], dt, 0, comm);
        }
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "count %zu: %s: %s", counts[ci], tutti_result_name(r), tutti_comm_last_error(comm));
            ok = 0;
        }
        free(b);
    }
    int one = 1, sum = 0;
    tutti_result_t r = tutti_allreduce(&one, &sum, 1, TUTTI_INT32, TUTTI_SUM, comm);
    if (ok && (r != TUTTI_SUCCESS || sum != np)) {
        snprintf(err, sizeof(err), "all-reduce after point-to-point: %s, sum %d: %s", tutti_result_name(r), sum,
                 tutti_comm_last_error(comm));
        ok = 0;
    }
    verdict(ok, err, "blocking ping-pong between ranks 0 and 1 (0 .. 2000003 elements), the others idle, then an "
                     "all-reduce on every rank");
}

/* Every rank sends to its right and receives from its left in one group. */
static void ring(int nonblocking)
{
    char err[300] = "";
    int ok = 1;
    int right = (me + 1) % np, left = (me + np - 1) % np;
    for (size_t ci = 0; ci < NCOUNTS && ok; ci++) {
        tutti_datatype_t dt = (tutti_datatype_t)((ci + 5) % TUTTI_NUM_DATATYPES);
        size_t n = counts[ci] * tutti_datatype_size(dt);
        unsigned char *out = malloc(n + 1), *in = malloc(n + 1);
        fill(out, n, me, right, (int)ci);
        tutti_request_t req = NULL;
        tutti_result_t r = tutti_group_start(comm);
        if (r == TUTTI_SUCCESS) r = tutti_send(out, counts[ci], dt, right, comm);
        if (r == TUTTI_SUCCESS) r = tutti_recv(in, counts[ci], dt, left, comm);
        if (r == TUTTI_SUCCESS) r = nonblocking ? tutti_igroup_end(comm, &req) : tutti_group_end(comm);
        if (r == TUTTI_SUCCESS && req) r = tutti_wait(req);
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "count %zu: %s: %s", counts[ci], tutti_result_name(r), tutti_comm_last_error(comm));
            ok = 0;
        } else if (check(in, n, left, me, (int)ci, err, sizeof(err))) {
            ok = 0;
        }
        free(out);
        free(in);
    }
    verdict(ok, err, nonblocking ? "ring exchange in a group, tutti_igroup_end + tutti_wait, 0 .. 2000003 elements"
                                 : "ring exchange in a group (send right, receive left), 0 .. 2000003 elements");
}

/* Bytes rank a sends to rank b in the all-pairs exchange. */
static size_t apairs_len(int a, int b, int round)
{
    return (size_t)((a * 7 + b * 13 + round * 5) % 11) * 997 * (size_t)(round + 1);
}

/* Everyone with everyone, itself included, sizes per pair (alltoallv),
 * posted in a different order on every rank, plus a second message to the
 * right neighbour. */
static void allpairs(void)
{
    char err[300] = "";
    int ok = 1;
    for (int round = 0; round < 3 && ok; round++) {
        unsigned char **out = calloc((size_t)np + 1, sizeof(*out)), **in = calloc((size_t)np + 1, sizeof(*in));
        tutti_result_t r = tutti_group_start(comm);
        for (int k = 0; k < np && r == TUTTI_SUCCESS; k++) {
            /* every rank in its own order */
            int q = round == 0 ? (me + k) % np : round == 1 ? (me + np - k) % np : np - 1 - k;
            size_t so = apairs_len(me, q, round), si = apairs_len(q, me, round);
            out[q] = malloc(so + 1);
            in[q] = malloc(si + 1);
            fill(out[q], so, me, q, round);
            r = tutti_recv(in[q], si, TUTTI_UINT8, q, comm);
            if (r == TUTTI_SUCCESS) r = tutti_send(out[q], so, TUTTI_UINT8, q, comm);
        }
        /* a second message to the right, after the first */
        int right = (me + 1) % np, left = (me + np - 1) % np;
        out[np] = malloc(5000);
        in[np] = malloc(5000);
        fill(out[np], 5000, me, right, 9);
        if (r == TUTTI_SUCCESS) r = tutti_send(out[np], 5000, TUTTI_UINT8, right, comm);
        if (r == TUTTI_SUCCESS) r = tutti_recv(in[np], 5000, TUTTI_UINT8, left, comm);
        if (r == TUTTI_SUCCESS) r = tutti_group_end(comm);
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "round %d: %s: %s", round, tutti_result_name(r), tutti_comm_last_error(comm));
            ok = 0;
        }
        for (int q = 0; q < np && ok; q++)
            if (check(in[q], apairs_len(q, me, round), q, me, round, err, sizeof(err))) ok = 0;
        if (ok && check(in[np], 5000, left, me, 9, err, sizeof(err))) ok = 0;
        for (int q = 0; q <= np; q++) {
            free(out[q]);
            free(in[q]);
        }
        free(out);
        free(in);
    }
    verdict(ok, err, "all pairs and self in one group, sizes per pair, each rank's own posting order, plus a second "
                     "message to the right (3 rounds)");
}

/* isend / irecv: rank 0 sends two messages to rank 1, small and large. */
static void nonblocking_pair(void)
{
    char err[300] = "";
    int ok = 1;
    size_t n1 = 33, n2 = 3000017;
    unsigned char *a = malloc(n1), *b = malloc(n2);
    tutti_request_t q1 = NULL, q2 = NULL;
    tutti_result_t r = TUTTI_SUCCESS;
    if (me == 0) {
        fill(a, n1, 0, 1, 1);
        fill(b, n2, 0, 1, 2);
        r = tutti_isend(a, n1, TUTTI_INT8, 1, comm, &q1);
        if (r == TUTTI_SUCCESS) r = tutti_isend(b, n2, TUTTI_INT8, 1, comm, &q2);
    } else if (me == 1) {
        r = tutti_irecv(a, n1, TUTTI_INT8, 0, comm, &q1);
        if (r == TUTTI_SUCCESS) r = tutti_irecv(b, n2, TUTTI_INT8, 0, comm, &q2);
    }
    /* waited in reverse order */
    if (r == TUTTI_SUCCESS && q2) r = tutti_wait(q2);
    if (r == TUTTI_SUCCESS && q1) r = tutti_wait(q1);
    if (r != TUTTI_SUCCESS) {
        snprintf(err, sizeof(err), "%s: %s", tutti_result_name(r), tutti_comm_last_error(comm));
        ok = 0;
    } else if (me == 1 && (check(a, n1, 0, 1, 1, err, sizeof(err)) || check(b, n2, 0, 1, 2, err, sizeof(err)))) {
        ok = 0;
    }
    free(a);
    free(b);
    verdict(ok, err, "tutti_isend / tutti_irecv, two messages (33 B and 3 MB), waited in reverse order");
}

/* Nonblocking exchanges outside a group, as MPI programs write them: every
 * rank receives from its left and sends to its right, larger than any
 * transport buffers, so each side's later operation must run while its
 * first still waits.  mode 0: irecv then isend, waited in order; 1: isend
 * then irecv, the receive waited first; 2: two messages each way (irecv,
 * irecv, isend, isend: they match in posting order), waited in reverse,
 * then a blocking all-reduce queued behind them. */
static void exchange(int mode)
{
    char err[300] = "";
    int ok = 1;
    int right = (me + 1) % np, left = (me + np - 1) % np;
    size_t n[2] = {24u << 20, mode == 2 ? 1000003 : 0};
    unsigned char *out[2], *in[2];
    tutti_request_t rq[4] = {NULL, NULL, NULL, NULL};
    tutti_result_t r = TUTTI_SUCCESS;
    for (int m = 0; m < 2; m++) {
        out[m] = malloc(n[m] + 1);
        in[m] = malloc(n[m] + 1);
        fill(out[m], n[m], me, right, 20 + m);
        memset(in[m], 0, n[m]);
    }
    if (np == 1) goto done; /* no neighbour but itself: outside a group, refused (bad_input) */
    if (mode == 0) {
        r = tutti_irecv(in[0], n[0], TUTTI_UINT8, left, comm, &rq[0]);
        if (r == TUTTI_SUCCESS) r = tutti_isend(out[0], n[0], TUTTI_UINT8, right, comm, &rq[1]);
    } else if (mode == 1) {
        r = tutti_isend(out[0], n[0], TUTTI_UINT8, right, comm, &rq[1]);
        if (r == TUTTI_SUCCESS) r = tutti_irecv(in[0], n[0], TUTTI_UINT8, left, comm, &rq[0]);
    } else {
        r = tutti_irecv(in[0], n[0], TUTTI_UINT8, left, comm, &rq[0]);
        if (r == TUTTI_SUCCESS) r = tutti_irecv(in[1], n[1], TUTTI_UINT8, left, comm, &rq[2]);
        if (r == TUTTI_SUCCESS) r = tutti_isend(out[0], n[0], TUTTI_UINT8, right, comm, &rq[1]);
        if (r == TUTTI_SUCCESS) r = tutti_isend(out[1], n[1], TUTTI_UINT8, right, comm, &rq[3]);
    }
    /* waited: mode 0 in posting order, 1 the receive first, 2 in reverse */
    static const int order[3][4] = {{0, 1, 2, 3}, {0, 1, 2, 3}, {3, 2, 1, 0}};
    for (int i = 0; i < 4; i++) {
        tutti_request_t q = rq[order[mode][i]];
        if (!q) continue;
        tutti_result_t w = tutti_wait(q);
        if (r == TUTTI_SUCCESS) r = w;
    }
    int one = 1, sum = 0;
    if (r == TUTTI_SUCCESS && mode == 2) {
        r = tutti_allreduce(&one, &sum, 1, TUTTI_INT32, TUTTI_SUM, comm);
        if (r == TUTTI_SUCCESS && sum != np) {
            snprintf(err, sizeof(err), "the all-reduce after the exchange gave %d, not %d", sum, np);
            ok = 0;
        }
    }
    if (r != TUTTI_SUCCESS) {
        snprintf(err, sizeof(err), "%s: %s", tutti_result_name(r), tutti_comm_last_error(comm));
        ok = 0;
    }
    for (int m = 0; m < 2 && ok; m++)
        if (check(in[m], n[m], left, me, 20 + m, err, sizeof(err))) ok = 0;
done:
    for (int m = 0; m < 2; m++) {
        free(out[m]);
        free(in[m]);
    }
    verdict(ok, err, mode == 0   ? "nonblocking exchange outside a group: irecv left, isend right (24 MiB), waited in "
                                   "order"
                     : mode == 1 ? "nonblocking exchange outside a group: isend right, irecv left (24 MiB), the "
                                   "receive waited first"
                                 : "two nonblocking messages each way (irecv, irecv, isend, isend: matched in posting "
                                   "order), waited in reverse, then an all-reduce");
}

/* Rank 0 posts a receive of rank 1's answer, then 60 sends of 1 MiB; rank
 * 1 takes in 40 slowly (20 ms apart) before answering: the head (the
 * receive) moves nothing for longer than the 0.5 s deadline while the sends behind it keep moving,
 * which must count as its progress. */
static void answer_after_transfer(void)
{
    tutti_comm_t sub = NULL;
    tutti_comm_split(comm, me < 2 ? 0 : TUTTI_SPLIT_NOCOLOR, me, &sub);
    char err[400] = "";
    int ok = 1;
    if (sub) {
        enum { NMSG = 60, NSLOW = 40 };
        tutti_comm_set_timeout(sub, 0.5);
        size_t n = 1u << 20;
        unsigned char *big = malloc(n);
        int ack = 0;
        tutti_request_t ra = NULL, rs[NMSG] = {NULL};
        tutti_result_t r;
        if (me == 0) {
            fill(big, n, 0, 1, 30);
            r = tutti_irecv(&ack, 1, TUTTI_INT32, 1, sub, &ra);
            for (int m = 0; m < NMSG && r == TUTTI_SUCCESS; m++) r = tutti_isend(big, n, TUTTI_UINT8, 1, sub, &rs[m]);
            if (r == TUTTI_SUCCESS) r = tutti_wait(ra);
            for (int m = 0; m < NMSG && r == TUTTI_SUCCESS; m++) r = tutti_wait(rs[m]);
            if (r == TUTTI_SUCCESS && ack != 4242) {
                snprintf(err, sizeof(err), "the answer is %d, not 4242", ack);
                ok = 0;
            }
        } else {
            /* the first 40 slowly, then the answer, then the rest at once:
             * while rank 1 is slow, more is still to come than any buffers
             * hold, so rank 0's sends move each time it takes one */
            r = TUTTI_SUCCESS;
            for (int m = 0; m < NMSG && r == TUTTI_SUCCESS && ok; m++) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                if (m < NSLOW) nanosleep(&ts, NULL);
                memset(big, 0, n);
                r = tutti_recv(big, n, TUTTI_UINT8, 0, sub);
                if (r == TUTTI_SUCCESS && check(big, n, 0, 1, 30, err, sizeof(err))) ok = 0;
                ack = 4242;
                if (m + 1 == NSLOW && r == TUTTI_SUCCESS && ok) r = tutti_send(&ack, 1, TUTTI_INT32, 0, sub);
            }
        }
        if (r != TUTTI_SUCCESS) {
            snprintf(err, sizeof(err), "%s: %s", tutti_result_name(r), tutti_comm_last_error(sub));
            ok = 0;
        }
        free(big);
        tutti_comm_destroy(sub);
    }
    verdict(ok, err, "a receive of an answer posted before 60 MiB of sends, the peer answering after taking 40 MiB "
                     "slowly (0.8 s, deadline 0.5 s): the sends' progress keeps the receive alive");
}

/* On a fresh communicator of ranks 0 and 1: `what` goes wrong, both must
 * get `want` (the receiver at least, when only it can tell). */
static void failure_case(int kind, const char *desc)
{
    tutti_comm_t sub = NULL;
    tutti_comm_split(comm, me < 2 ? 0 : TUTTI_SPLIT_NOCOLOR, me, &sub);
    char err[400] = "";
    int ok = 1;
    if (sub) {
        tutti_comm_set_timeout(sub, 2.0);
        static unsigned char big[64 << 20]; /* more than any transport buffers, kernel sockets included */
        int x[128] = {0};
        tutti_result_t r = TUTTI_SUCCESS;
        tutti_result_t want = kind == 2 ? TUTTI_ERR_TIMEOUT : TUTTI_ERR_MISMATCH;
        if (kind == 0) { /* sizes differ: 100 sent, 101 expected */
            r = me == 0 ? tutti_send(x, 100, TUTTI_INT32, 1, sub) : tutti_recv(x, 101, TUTTI_INT32, 0, sub);
            if (me == 0 && r == TUTTI_SUCCESS) r = tutti_barrier(sub); /* learns it here */
        } else if (kind == 1) { /* a receive meets a collective */
            r = me == 0 ? tutti_allreduce(x, x + 64, 8, TUTTI_INT32, TUTTI_SUM, sub) : tutti_recv(x, 8, TUTTI_INT32, 0, sub);
        } else if (kind == 3) { /* one 1 MiB message against two of 512 KiB: every slice's length agrees */
            if (me == 0) {
                r = tutti_send(big, 1 << 20, TUTTI_UINT8, 1, sub);
                if (r == TUTTI_SUCCESS) r = tutti_barrier(sub); /* learns it here */
            } else {
                r = tutti_recv(big, 1 << 19, TUTTI_UINT8, 0, sub);
                if (r == TUTTI_SUCCESS) r = tutti_recv(big + (1 << 19), 1 << 19, TUTTI_UINT8, 0, sub);
            }
        } else if (kind == 4) { /* an empty send, then 100 elements, against one receive of 100 */
            if (me == 0) {
                r = tutti_send(NULL, 0, TUTTI_INT32, 1, sub);
                if (r == TUTTI_SUCCESS) r = tutti_send(x, 100, TUTTI_INT32, 1, sub);
            } else {
                r = tutti_recv(x, 100, TUTTI_INT32, 0, sub);
            }
            if (r == TUTTI_SUCCESS) r = tutti_barrier(sub); /* (without empty messages: all succeed) */
        } else { /* both send 64 MiB first: neither receive can run */
            r = tutti_send(big, sizeof(big), TUTTI_UINT8, 1 - me, sub);
            if (r == TUTTI_SUCCESS) r = tutti_recv(big, sizeof(big), TUTTI_UINT8, 1 - me, sub);
        }
        const char *msg = tutti_comm_last_error(sub);
        /* the first rank to time out tells the other, which may learn it
         * from that report (or a closed connection) before its own deadline */
        if (kind == 2 && r == TUTTI_ERR_REMOTE) r = TUTTI_ERR_TIMEOUT;
        /* a sender still sending when its receiver fails and leaves may see
         * the connection go before the report: the peer, named, is gone */
        if ((kind == 3 || kind == 4) && me == 0 && r == TUTTI_ERR_REMOTE && strstr(msg, "rank 1"))
            r = TUTTI_ERR_MISMATCH;
        if (r != want) {
            snprintf(err, sizeof(err), "got %s, want %s: %s", tutti_result_name(r), tutti_result_name(want), msg);
            ok = 0;
        } else if (kind == 2 && !strstr(msg, "rank")) {
            snprintf(err, sizeof(err), "the timeout names no rank: %s", msg);
            ok = 0;
        } else if (me == 0) {
            printf("# rank 0: %.300s\n", msg);
        }
        tutti_comm_destroy(sub);
    }
    verdict(ok, err, desc);
}

/* A message of 0 elements is a signal: rank 1's receive of it waits for
 * rank 0's send, which comes 0.8 s later (blocking, then nonblocking; the
 * receive must take 0.4 s at least, a margin for ranks that leave the
 * barrier apart on an oversubscribed machine);
 * then an all-reduce on every rank (call numbers in step). */
static void zero_signal(void)
{
    char err[300] = "";
    int ok = 1;
    for (int nb = 0; nb < 2; nb++) { /* both rounds on every rank: the barriers stay paired */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        tutti_result_t r = TUTTI_SUCCESS;
        if (me == 0) {
            struct timespec ts = {0, 800 * 1000 * 1000};
            nanosleep(&ts, NULL);
            r = tutti_send(NULL, 0, TUTTI_FLOAT32, 1, comm);
        } else if (me == 1) {
            tutti_request_t q;
            r = nb ? tutti_irecv(NULL, 0, TUTTI_FLOAT32, 0, comm, &q) : tutti_recv(NULL, 0, TUTTI_FLOAT32, 0, comm);
            if (nb && r == TUTTI_SUCCESS) r = tutti_wait(q);
            double took = MPI_Wtime() - t0;
            if (r == TUTTI_SUCCESS && took < 0.4 && ok) {
                snprintf(err, sizeof(err), "%s of 0 elements returned after %.3f s, before the send (0.8 s)",
                         nb ? "tutti_irecv + tutti_wait" : "tutti_recv", took);
                ok = 0;
            }
        }
        if (r != TUTTI_SUCCESS && ok) {
            snprintf(err, sizeof(err), "%s: %s", tutti_result_name(r), tutti_comm_last_error(comm));
            ok = 0;
        }
    }
    int one = 1, sum = 0;
    tutti_result_t r = tutti_allreduce(&one, &sum, 1, TUTTI_INT32, TUTTI_SUM, comm);
    if (ok && (r != TUTTI_SUCCESS || sum != np)) {
        snprintf(err, sizeof(err), "all-reduce after: %s, sum %d", tutti_result_name(r), sum);
        ok = 0;
    }
    verdict(ok, err, "a send of 0 elements is a signal: the receive of 0 waits for it (0.8 s), blocking and "
                     "nonblocking, then an all-reduce");
}

static void bad_input(void)
{
    char err[300] = "";
    int ok = 1;
    int a[16] = {0}, b[16] = {0};
    tutti_request_t req;
    struct {
        tutti_result_t got, want;
        const char *what;
    } k[] = {
        {tutti_send(a, 4, TUTTI_INT32, -1, comm), TUTTI_ERR_INVALID_ARGUMENT, "peer -1"},
        {tutti_recv(a, 4, TUTTI_INT32, np, comm), TUTTI_ERR_INVALID_ARGUMENT, "peer = nranks"},
        {tutti_send(NULL, 4, TUTTI_INT32, 0, comm), TUTTI_ERR_INVALID_ARGUMENT, "NULL buffer"},
        {tutti_send(a, 4, (tutti_datatype_t)42, 0, comm), TUTTI_ERR_INVALID_ARGUMENT, "datatype 42"},
        {tutti_recv(a, SIZE_MAX / 4, TUTTI_INT32, 0, comm), TUTTI_ERR_INVALID_ARGUMENT, "count overflow"},
        {tutti_send(a, 4, TUTTI_INT32, me, comm), TUTTI_ERR_INVALID_USAGE, "send to itself outside a group"},
        {tutti_isend(a, 4, TUTTI_INT32, 0, comm, NULL), TUTTI_ERR_INVALID_ARGUMENT, "NULL request"},
        {tutti_group_end(comm), TUTTI_ERR_INVALID_USAGE, "group end without a group"},
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
        if (k[i].got != k[i].want) {
            snprintf(err, sizeof(err), "%s: got %s, want %s", k[i].what, tutti_result_name(k[i].got),
                     tutti_result_name(k[i].want));
            ok = 0;
        }
    /* inside a group */
    struct {
        int kind;
        tutti_result_t want_call, want_end;
        const char *what;
    } g[] = {
        {0, TUTTI_ERR_INVALID_USAGE, TUTTI_SUCCESS, "a collective inside a group"},
        {1, TUTTI_ERR_INVALID_USAGE, TUTTI_SUCCESS, "a nested group"},
        {2, TUTTI_ERR_INVALID_USAGE, TUTTI_ERR_INVALID_USAGE, "tutti_isend inside a group (fails the group)"},
        {3, TUTTI_SUCCESS, TUTTI_ERR_INVALID_ARGUMENT, "a self send without its receive"},
        {4, TUTTI_SUCCESS, TUTTI_ERR_INVALID_ARGUMENT, "self send and receive of different sizes"},
        {5, TUTTI_SUCCESS, TUTTI_ERR_INVALID_ARGUMENT, "a receive buffer overlapping a send buffer"},
        {6, TUTTI_SUCCESS, TUTTI_ERR_INVALID_ARGUMENT, "two receive buffers overlapping"},
        {7, TUTTI_ERR_INVALID_ARGUMENT, TUTTI_ERR_INVALID_USAGE, "a send to peer -5 in a group (fails the group)"},
        {8, TUTTI_ERR_INVALID_ARGUMENT, TUTTI_SUCCESS, "tutti_igroup_end with a NULL request (the group stays open)"},
    };
    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]) && ok; i++) {
        tutti_result_t c = TUTTI_SUCCESS, e;
        tutti_group_start(comm);
        switch (g[i].kind) {
        case 0: c = tutti_allreduce(a, b, 4, TUTTI_INT32, TUTTI_SUM, comm); break;
        case 1: c = tutti_group_start(comm); break;
        case 2: c = tutti_isend(a, 4, TUTTI_INT32, (me + 1) % np, comm, &req); break;
        case 3: c = tutti_send(a, 4, TUTTI_INT32, me, comm); break;
        case 4:
            c = tutti_send(a, 4, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_recv(b, 5, TUTTI_INT32, me, comm);
            break;
        case 5:
            c = tutti_send(a, 8, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_recv(a + 4, 8, TUTTI_INT32, me, comm);
            break;
        case 6:
            c = tutti_recv(b, 8, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_recv(b + 7, 8, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_send(a, 8, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_send(a, 8, TUTTI_INT32, me, comm);
            break;
        case 7:
            c = tutti_send(a, 4, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_recv(b, 4, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_send(a, 4, TUTTI_INT32, -5, comm);
            break;
        case 8:
            for (int x = 0; x < 16; x++) b[x] = -1;
            c = tutti_send(a, 16, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_recv(b, 16, TUTTI_INT32, me, comm);
            if (c == TUTTI_SUCCESS) c = tutti_igroup_end(comm, NULL);
            break;
        }
        e = tutti_group_end(comm);
        if (g[i].kind == 8 && e == TUTTI_SUCCESS && memcmp(a, b, sizeof(a)) != 0) {
            snprintf(err, sizeof(err), "%s: the group ran but the self message did not arrive", g[i].what);
            ok = 0;
        }
        if (c != g[i].want_call || e != g[i].want_end) {
            snprintf(err, sizeof(err), "%s: call %s (want %s), group end %s (want %s): %s", g[i].what,
                     tutti_result_name(c), tutti_result_name(g[i].want_call), tutti_result_name(e),
                     tutti_result_name(g[i].want_end), tutti_comm_last_error(comm));
            ok = 0;
        }
    }
    /* the communicator still works, and a self exchange in a group too */
    for (int i = 0; i < 16; i++) a[i] = me * 100 + i;
    tutti_result_t r = tutti_group_start(comm);
    if (r == TUTTI_SUCCESS) r = tutti_send(a, 16, TUTTI_INT32, me, comm);
    if (r == TUTTI_SUCCESS) r = tutti_recv(b, 16, TUTTI_INT32, me, comm);
    if (r == TUTTI_SUCCESS) r = tutti_group_end(comm);
    int sum = 0, one = 1;
    if (r == TUTTI_SUCCESS) r = tutti_allreduce(&one, &sum, 1, TUTTI_INT32, TUTTI_SUM, comm);
    if (ok && (r != TUTTI_SUCCESS || memcmp(a, b, sizeof(a)) != 0 || sum != np)) {
        snprintf(err, sizeof(err), "after the rejected calls: %s: %s", tutti_result_name(r), tutti_comm_last_error(comm));
        ok = 0;
    }
    verdict(ok, err, "bad input: 8 calls and 9 kinds of broken groups refused with the documented error; the "
                     "communicator still works");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    tutti_result_t r = tutti_comm_init_mpi(&comm, MPI_COMM_WORLD);
    verdict(r == TUTTI_SUCCESS, tutti_comm_last_error(NULL), "tutti_comm_init_mpi over MPI_COMM_WORLD");
    if (r == TUTTI_SUCCESS) {
        if (np >= 2) {
            pingpong();
            nonblocking_pair();
        }
        ring(0);
        ring(1);
        allpairs();
        for (int mode = 0; mode < 3; mode++) exchange(mode);
        if (np >= 2) answer_after_transfer();
        if (np >= 2) zero_signal();
        bad_input();
        if (np >= 2) {
            failure_case(0, "send of 100 elements against a receive of 101: TUTTI_ERR_MISMATCH on both ranks");
            failure_case(1, "a receive that meets an all-reduce: TUTTI_ERR_MISMATCH on both ranks");
            failure_case(3, "one 1 MiB send against two 512 KiB receives (slices agree, sizes do not): "
                            "TUTTI_ERR_MISMATCH at the receiver; the sender MISMATCH, or REMOTE naming it");
            failure_case(4, "an empty send then one of 100 elements against a receive of 100: TUTTI_ERR_MISMATCH "
                            "at the receiver (the empty message is a message); the sender MISMATCH, or REMOTE "
                            "naming it");
            failure_case(2, "two ranks that both send 64 MiB first (outside a group): TUTTI_ERR_TIMEOUT, or the "
                            "peer's report of it, on both, naming the peer");
        }
        verdict(tutti_comm_destroy(comm) == TUTTI_SUCCESS, tutti_comm_last_error(NULL), "destroy");
    }
    verdict_plan();
    MPI_Finalize();
    return 0;
}
