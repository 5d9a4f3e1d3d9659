/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Point-to-point groups: the sends and receives a rank posted between
 * tutti_group_start and tutti_group_end, as one schedule.  Messages between
 * two ranks match in posting order: the m-th send from r to q is the m-th
 * receive at q from r.  Phase m holds every rank's m-th operation with each
 * peer (each direction), so a connection carries at most one message per
 * slice of a phase; in a phase, sends run as stream 0 and receives as
 * stream 1, each at its own pace:
 *
 *   rank r: send A to q, send B to q, recv C from p      (posting order)
 *   phase 0:  stream 0: A -> q      stream 1: C <- p
 *   phase 1:  stream 0: B -> q
 *
 * Why it cannot deadlock with FIFOs of any depth >= 1: order the messages
 * by (phase, slice).  A send waits only on a full FIFO, whose receiver is
 * then behind at an earlier (phase, slice); a receive waits only on a
 * sender that is at the same or an earlier one, blocked by a full FIFO or
 * by its other stream at a phase boundary, both earlier again.  Positions
 * strictly decrease along any chain of waits, so no chain closes.
 * Self messages (send and receive to this rank) become local copies, the
 * m-th self send into the m-th self receive.  A message of 0 bytes to or
 * from a peer is still a message (one empty slice): a receive of 0 waits
 * for its send, as in MPI, and 0 against another size is a mismatch.
 */
#include "coll.h"
#include "core/fingerprint.h"

#include <stdlib.h>

tutti_result_t tutti_coll_p2p_group(tutti_sched_t *s, int rank, int nranks, const tutti_p2p_op_t *ops, int nops)
{
    tutti_result_t r = TUTTI_SUCCESS;
    /* a small group (a send, an exchange: every call's case) counts earlier
     * operations with the same peer directly, without allocating; a large
     * one keeps a counter per (direction, peer) */
    enum { SMALL = 32 };
    int phase_small[SMALL];
    int *seen = NULL, *phase = phase_small;
    if (nops > SMALL) {
        seen = calloc(2 * (size_t)nranks, sizeof(int));
        phase = malloc((size_t)nops * sizeof(int));
        if (!seen || !phase) {
            r = TUTTI_ERR_NO_MEMORY;
            goto out;
        }
    }
    int nphases = 0;
    for (int k = 0; k < nops; k++) {
        phase[k] = -1;
        if (ops[k].peer == rank) continue; /* local (an empty message to a peer is still one) */
        if (seen) {
            phase[k] = seen[(ops[k].send ? 0 : nranks) + ops[k].peer]++;
        } else {
            phase[k] = 0;
            for (int j = 0; j < k; j++)
                if (phase[j] >= 0 && ops[j].peer == ops[k].peer && ops[j].send == ops[k].send) phase[k]++;
        }
        if (phase[k] + 1 > nphases) nphases = phase[k] + 1;
    }
    for (int m = 0; m < nphases || (m == 0 && nops > 0); m++) {
        tutti_sched_phase(s, 0);
        for (int k = 0; k < nops; k++) {
            if (phase[k] != m) continue;
            tutti_step_t *st = tutti_sched_step(s);
            st->bytes = ops[k].bytes;
            st->tag = tutti_fingerprint_p2p(ops[k].bytes); /* a receive of another size fails at once */
            st->flags = TUTTI_STEP_EMPTY; /* 0 bytes is still a message: a signal, matched in order */
            if (ops[k].send) {
                st->src = ops[k].sbuf;
                st->flags |= TUTTI_STEP_STABLE; /* send buffers are never written (no overlap allowed) */
                tutti_step_send(st, ops[k].peer);
            } else {
                st->stream = 1;
                st->dst = ops[k].rbuf;
                tutti_step_recv(st, ops[k].peer);
            }
        }
        if (m > 0) continue;
        /* self: the i-th send to this rank into the i-th receive from it */
        int j = 0;
        for (int k = 0; k < nops; k++) {
            if (ops[k].peer != rank || !ops[k].send) continue;
            while (j < nops && (ops[j].peer != rank || ops[j].send)) j++;
            if (j == nops || ops[j].bytes != ops[k].bytes) {
                r = TUTTI_ERR_INVALID_ARGUMENT; /* the caller checks the pairing first */
                goto out;
            }
            if (ops[k].bytes) {
                tutti_step_t *st = tutti_sched_step(s);
                st->src = ops[k].sbuf;
                st->dst = ops[j].rbuf;
                st->bytes = ops[k].bytes;
            }
            j++;
        }
    }
out:
    free(seen);
    if (phase != phase_small) free(phase);
    return r;
}
