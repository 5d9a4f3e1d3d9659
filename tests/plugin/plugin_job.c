/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A job without MPI for tests/plugin/plugin.sh, started by mpirun:
 * tutti_comm_init_env, an all-reduce of 4099 ints and a broadcast of
 * 1 MiB checked, then which transports serve its peers.  Prints one line per
 * rank: "rank R ok: <transports>" or "rank R failed: <the error>"; exits 0
 * only when every check passed.
 */
#include <tutti.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* each verdict line out at once, whatever exit does */
    tutti_comm_t comm;
    tutti_result_t r = tutti_comm_init_env(&comm);
    if (r != TUTTI_SUCCESS) {
        printf("rank ? failed: init: %s: %s\n", tutti_result_name(r), tutti_comm_last_error(NULL));
        return 1;
    }
    int rank, size;
    tutti_comm_rank(comm, &rank);
    tutti_comm_size(comm, &size);
    enum { N = 4099, B = 1 << 20 };
    int32_t *v = malloc(N * sizeof(int32_t));
    unsigned char *b = malloc(B);
    int bad = !v || !b;
    for (int i = 0; i < N && v; i++) v[i] = rank + i;
    if (!bad) r = tutti_allreduce(v, v, N, TUTTI_INT32, TUTTI_SUM, comm);
    for (int i = 0; i < N && r == TUTTI_SUCCESS && !bad; i++)
        bad |= v[i] != (int32_t)(size * (size - 1) / 2 + size * i);
    for (int i = 0; i < B && b; i++) b[i] = rank == 0 ? (unsigned char)(i * 7) : 0;
    if (r == TUTTI_SUCCESS && !bad) r = tutti_broadcast(b, b, B, TUTTI_UINT8, 0, comm);
    for (int i = 0; i < B && r == TUTTI_SUCCESS && !bad; i++) bad |= b[i] != (unsigned char)(i * 7);
    if (r != TUTTI_SUCCESS) {
        printf("rank %d failed: %s: %s\n", rank, tutti_result_name(r), tutti_comm_last_error(comm));
    } else if (bad) {
        printf("rank %d failed: wrong results\n", rank);
    } else {
        /* the transports that serve a peer, from the description
         * ("... transports: shm (1 peer), tcp (2 peers)") */
        char desc[512] = "", used[128] = "";
        tutti_comm_describe(comm, desc, sizeof(desc));
        const char *names[] = {"shm", "tcp", "ucx", "verbs", "example"};
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            char pat[32];
            snprintf(pat, sizeof(pat), " %s (", names[k]);
            if (strstr(desc, pat))
                snprintf(used + strlen(used), sizeof(used) - strlen(used), "%s%s", used[0] ? "," : "", names[k]);
        }
        printf("rank %d ok: %s\n", rank, used[0] ? used : "(none)");
    }
    free(v);
    free(b);
    tutti_comm_destroy(comm);
    return r == TUTTI_SUCCESS && !bad ? 0 : 1;
}
