/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * transport_perf: latency and bandwidth of each transport between ranks 0
 * and 1, below the collectives, so a slowdown can be pinned to a layer.
 *
 *   mpirun -np 2 perf/transport_perf [-b 8] [-e 64M] [-f 2] [-n iters] [-J file]
 *
 * For every size: ping-pong latency (half the round trip) and streaming
 * bandwidth (rank 0 sends `window` messages back to back, rank 1 consumes
 * them and acknowledges the last), through the same slot interface the
 * engine uses (send_acquire / commit, recv_acquire / release).  Messages
 * larger than one slot are cut into slots as the engine does.
 */
#include "core/comm.h"
#include "perf_math.h"
#include "dtype/copy.h"
#include "tutti.h"
#include "util/time.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int me, np;
static void *tpc; /* the transport's per-communicator state, for progress() */

/* Sends len bytes as slot-sized messages; spins until all are accepted. */
static tutti_result_t tp_send(tutti_link_t *l, const char *buf, size_t len, size_t slot)
{
    size_t off = 0;
    do {
        size_t n = len - off < slot ? len - off : slot;
        void *s;
        tutti_result_t r;
        while ((r = l->tp->send_acquire(l->sconn, n, &s)) == TUTTI_INPROGRESS) l->tp->progress(tpc);
        if (r != TUTTI_SUCCESS) return r;
        tutti_copy(s, buf + off, n);
        l->tp->send_commit(l->sconn, n, 0);
        off += n;
    } while (off < len);
    return TUTTI_SUCCESS;
}

static tutti_result_t tp_recv(tutti_link_t *l, char *buf, size_t len)
{
    size_t off = 0;
    do {
        const void *s;
        size_t n;
        tutti_result_t r;
        uint32_t tag;
        while ((r = l->tp->recv_acquire(l->rconn, &s, &n, &tag)) == TUTTI_INPROGRESS) l->tp->progress(tpc);
        if (r != TUTTI_SUCCESS) return r;
        tutti_copy(buf + off, s, n);
        l->tp->recv_release(l->rconn);
        off += n;
    } while (off < len);
    return TUTTI_SUCCESS;
}

int main(int argc, char **argv)
{
    size_t minb = 8, maxb = 64u << 20;
    double factor = 2;
    int iters = 0;
    const char *jpath = NULL;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-b")) perf_parse_size(argv[i + 1], &minb);
        else if (!strcmp(argv[i], "-e")) perf_parse_size(argv[i + 1], &maxb);
        else if (!strcmp(argv[i], "-f")) factor = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-n")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-J")) jpath = argv[i + 1];
    }
    if (np < 2 || factor <= 1) {
        if (me == 0) fprintf(stderr, "transport_perf: needs 2 ranks (mpirun -np 2) and -f > 1\n");
        MPI_Finalize();
        return 2;
    }
    /* a communicator of ranks 0 and 1 (others idle) */
    tutti_unique_id_t id;
    if (me == 0) tutti_get_unique_id(&id);
    MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD);
    tutti_comm_t comm = NULL;
    if (me < 2 && tutti_comm_init_rank(&comm, 2, id, me) != TUTTI_SUCCESS) {
        fprintf(stderr, "transport_perf: init: %s\n", tutti_comm_last_error(NULL));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Comm pair;
    MPI_Comm_split(MPI_COMM_WORLD, me < 2 ? 0 : 1, me, &pair);
    FILE *json = NULL;
    if (me == 0 && jpath) json = fopen(jpath, "w");
    if (me < 2) {
        int peer = 1 - me;
        for (int t = 0; t < comm->ntps; t++) {
            const tutti_transport_t *tp = comm->tps[t].tp;
            tutti_link_t *l = tutti_engine_link(&comm->engine, peer, 0);
            if (l->tp != tp) continue;
            size_t slot = tp->max_payload(comm->tps[t].tpcomm);
            tpc = comm->tps[t].tpcomm;
            if (me == 0) {
                printf("# transport_perf: transport %s between ranks 0 and 1, slot %zu bytes\n", tp->name, slot);
                printf("#       size   lat(us)  bw(GB/s)\n");
                if (json) fprintf(json, "{\"transport\": \"%s\", \"slot\": %zu, \"results\": [", tp->name, slot);
            }
            char *buf = malloc(maxb), *rbuf = malloc(maxb);
            memset(buf, 1, maxb);
            memset(rbuf, 0, maxb);
            int first = 1;
            for (size_t sz = minb; sz <= maxb; sz = (size_t)((double)sz * factor)) {
                int n = iters > 0 ? iters : (int)(sz < 65536 ? 2000 : (256u << 20) / sz + 5);
                /* ping-pong */
                MPI_Barrier(pair);
                double t0 = tutti_time_now();
                for (int i = 0; i < n; i++) {
                    if (me == 0) {
                        tp_send(l, buf, sz, slot);
                        tp_recv(l, rbuf, sz);
                    } else {
                        tp_recv(l, rbuf, sz);
                        tp_send(l, buf, sz, slot);
                    }
                }
                double lat = (tutti_time_now() - t0) / n / 2 * 1e6;
                /* streaming: n messages one way, one ack back */
                MPI_Barrier(pair);
                t0 = tutti_time_now();
                for (int i = 0; i < n; i++) {
                    if (me == 0) tp_send(l, buf, sz, slot);
                    else tp_recv(l, rbuf, sz);
                }
                char ack = 0;
                if (me == 0) tp_recv(l, &ack, 1);
                else tp_send(l, &ack, 1, slot);
                double bw = (double)sz * n / (tutti_time_now() - t0) / 1e9;
                if (me == 0) {
                    printf("%12zu  %8.2f  %8.2f\n", sz, lat, bw);
                    fflush(stdout);
                    if (json) fprintf(json, "%s{\"size\": %zu, \"latency_us\": %.3f, \"bandwidth_gbs\": %.3f}", first ? "" : ", ", sz, lat, bw);
                }
                first = 0;
            }
            if (json) fprintf(json, "]}\n");
            free(buf);
            free(rbuf);
        }
    }
    if (json) fclose(json);
    if (comm) tutti_comm_destroy(comm);
    MPI_Comm_free(&pair);
    MPI_Finalize();
    return 0;
}
