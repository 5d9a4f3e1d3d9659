/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bootstrap with ranks as threads of one process (it has no global
 * state): allgathers of many sizes, barriers, splits, strangers that
 * connect without the secret, a rank that never shows up, and ranks that
 * disagree on the communicator size.
 */
#include "core/bootstrap.h"
#include "tap.h"
#include "util/socket.h"
#include "util/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    tutti_id_info_t info;
    int rank, nranks;
    double timeout;
    int split; /* also split by rank % 2 */
    tutti_result_t res;
    char err[600];
    int ok;
    tutti_bootstrap_t *keep; /* for the stranger test */
    pthread_barrier_t *bar;
} boot_arg_t;

static tutti_id_info_t new_info(void)
{
    tutti_id_info_t info;
    char err[256];
    memset(&info, 0, sizeof(info));
    tutti_random_bytes(&info.comm_id, 8);
    tutti_random_bytes(info.secret, 16);
    tutti_sockaddr_parse("127.0.0.1:1", &info.root, err, sizeof(err));
    info.root.port = 0;
    return info;
}

static void *boot_rank(void *p)
{
    boot_arg_t *a = p;
    tutti_bootstrap_t *b = NULL;
    a->ok = 1;
    a->res = tutti_bootstrap_init(&a->info, a->rank, a->nranks, a->timeout, &b, a->err, sizeof(a->err));
    if (a->res != TUTTI_SUCCESS) {
        a->ok = 0;
        return NULL;
    }
    /* allgathers of several sizes, each checked */
    static const size_t sizes[] = {1, 7, 64, 4096, 70000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && a->ok; k++) {
        size_t n = sizes[k];
        unsigned char *mine = malloc(n), *all = malloc(n * (size_t)a->nranks);
        for (size_t i = 0; i < n; i++) mine[i] = (unsigned char)(a->rank * 31 + i * 7 + k);
        if (tutti_bootstrap_allgather(b, mine, all, n) != TUTTI_SUCCESS) a->ok = 0;
        for (int r = 0; r < a->nranks && a->ok; r++)
            for (size_t i = 0; i < n; i++)
                if (all[(size_t)r * n + i] != (unsigned char)(r * 31 + i * 7 + k)) {
                    a->ok = 0;
                    snprintf(a->err, sizeof(a->err), "allgather %zu B: wrong byte from rank %d", n, r);
                    break;
                }
        free(mine);
        free(all);
    }
    if (a->ok && tutti_bootstrap_barrier(b) != TUTTI_SUCCESS) a->ok = 0;
    if (a->ok && a->split) {
        tutti_bootstrap_t *child = NULL;
        int nr = -1, nn = -1, *pr = NULL;
        int color = a->rank % 2, key = -a->rank; /* reverse order inside each color */
        if (tutti_bootstrap_split(b, color, key, &child, &nr, &nn, &pr) != TUTTI_SUCCESS || !child) {
            a->ok = 0;
        } else {
            int expect_n = (a->nranks + (color == 0 ? 1 : 0)) / 2;
            /* members of my color by descending parent rank */
            int expect_r = 0;
            for (int q = a->rank + 2; q < a->nranks; q += 2) expect_r++;
            if (nn != expect_n || nr != expect_r || pr[nr] != a->rank) {
                a->ok = 0;
                snprintf(a->err, sizeof(a->err), "split: rank %d got %d of %d, expected %d of %d", a->rank, nr, nn,
                         expect_r, expect_n);
            }
            int mine = a->rank, *all = malloc(sizeof(int) * (size_t)nn);
            if (a->ok && tutti_bootstrap_allgather(child, &mine, all, sizeof(int)) != TUTTI_SUCCESS) a->ok = 0;
            for (int i = 0; a->ok && i < nn; i++)
                if (all[i] != pr[i]) a->ok = 0;
            free(all);
            free(pr);
            tutti_bootstrap_destroy(child);
        }
    }
    if (a->bar) {
        a->keep = b;
        return NULL;
    }
    tutti_bootstrap_destroy(b);
    return NULL;
}

static int run_job(int p, int split, char *err, size_t errlen)
{
    char e[256];
    tutti_id_info_t info = new_info();
    if (tutti_bootstrap_root_start(&info.root, &info, 20, e, sizeof(e)) != TUTTI_SUCCESS) {
        snprintf(err, errlen, "root: %s", e);
        return 0;
    }
    pthread_t th[16];
    boot_arg_t args[16];
    for (int r = 0; r < p; r++) {
        memset(&args[r], 0, sizeof(args[r]));
        args[r].info = info;
        args[r].rank = r;
        args[r].nranks = p;
        args[r].timeout = 20;
        args[r].split = split;
        pthread_create(&th[r], NULL, boot_rank, &args[r]);
    }
    int ok = 1;
    for (int r = 0; r < p; r++) {
        pthread_join(th[r], NULL);
        if (!args[r].ok && ok) {
            snprintf(err, errlen, "rank %d: %s", r, args[r].err);
            ok = 0;
        }
    }
    return ok;
}

static void test_jobs(void)
{
    static const int ps[] = {1, 2, 3, 5, 8, 13};
    for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
        char err[700] = "";
        double t0 = tutti_time_now();
        int ok = run_job(ps[k], ps[k] > 1, err, sizeof(err));
        if (!tap_ok(ok, "bootstrap of %d ranks: allgathers 1 B..70 KB, barrier, split (%.2f s)", ps[k], tutti_time_now() - t0))
            tap_diag("%s", err);
    }
}

/* A stranger connects to the root and sends garbage, another sends a hello
 * with a wrong MAC; then the real ranks join. */
static void test_strangers_at_root(void)
{
    char e[256];
    tutti_id_info_t info = new_info();
    tutti_bootstrap_root_start(&info.root, &info, 20, e, sizeof(e));
    int fd1 = tutti_socket_connect(&info.root, tutti_time_now() + 5, 1);
    char junk[200];
    memset(junk, 'x', sizeof(junk));
    tutti_socket_write_all(fd1, junk, sizeof(junk), tutti_time_now() + 5);
    int fd2 = tutti_socket_connect(&info.root, tutti_time_now() + 5, 1);
    tutti_hello_t h;
    memset(&h, 0, sizeof(h));
    h.magic = TUTTI_HELLO_MAGIC;
    h.version = TUTTI_WIRE_VERSION;
    h.kind = TUTTI_HELLO_ROOT;
    h.comm_id = info.comm_id;
    h.from = 0;
    h.to = -1;
    h.nranks = 2;
    uint8_t wrong[16];
    memset(wrong, 0x42, sizeof(wrong));
    tutti_hello_sign(&h, wrong);
    tutti_socket_write_all(fd2, &h, sizeof(h), tutti_time_now() + 5);
    int fd3 = tutti_socket_connect(&info.root, tutti_time_now() + 5, 1); /* says nothing */
    usleep(100000);
    pthread_t th[2];
    boot_arg_t args[2];
    for (int r = 0; r < 2; r++) {
        memset(&args[r], 0, sizeof(args[r]));
        args[r].info = info;
        args[r].rank = r;
        args[r].nranks = 2;
        args[r].timeout = 20;
        pthread_create(&th[r], NULL, boot_rank, &args[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    /* the garbage sender and the forger were disconnected by the root */
    char c;
    int closed1 = tutti_socket_read_all(fd1, &c, 1, tutti_time_now() + 2) != 0 && errno == ECONNRESET;
    int closed2 = tutti_socket_read_all(fd2, &c, 1, tutti_time_now() + 2) != 0 && errno == ECONNRESET;
    close(fd1);
    close(fd2);
    close(fd3);
    tap_ok(args[0].ok && args[1].ok, "ranks join although strangers connected to the root first");
    tap_ok(closed1 && closed2, "the root closed the garbage sender and the hello with a wrong MAC");
}

typedef struct {
    tutti_bootstrap_t *b;
    int me, delay_us, ok;
    int out[3];
} ag_arg_t;

static void *ag_thread(void *p)
{
    ag_arg_t *a = p;
    if (a->delay_us) usleep((useconds_t)a->delay_us);
    a->ok = tutti_bootstrap_allgather(a->b, &a->me, a->out, sizeof(int)) == TUTTI_SUCCESS;
    return NULL;
}

/* A stranger connects to a rank's own listener between operations: it is
 * dropped and counted, and the job's next allgathers are unaffected. */
static void test_stranger_at_rank(void)
{
    char e[256];
    tutti_id_info_t info = new_info();
    tutti_bootstrap_root_start(&info.root, &info, 20, e, sizeof(e));
    pthread_t th[3];
    boot_arg_t args[3];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    for (int r = 0; r < 3; r++) {
        memset(&args[r], 0, sizeof(args[r]));
        args[r].info = info;
        args[r].rank = r;
        args[r].nranks = 3;
        args[r].timeout = 20;
        args[r].bar = &bar;
        pthread_create(&th[r], NULL, boot_rank, &args[r]);
    }
    for (int r = 0; r < 3; r++) pthread_join(th[r], NULL);
    int ok = args[0].ok && args[1].ok && args[2].ok;
    int fd = -1;
    if (ok) {
        fd = tutti_socket_connect(tutti_bootstrap_addr(args[0].keep, 0), tutti_time_now() + 5, 0);
        char junk[96];
        memset(junk, 0x5a, sizeof(junk));
        tutti_socket_write_all(fd, junk, sizeof(junk), tutti_time_now() + 5);
        /* rank 0 starts first and waits, so it serves its listener */
        for (int round = 0; round < 3 && ok; round++) {
            pthread_t t2[3];
            ag_arg_t ag[3];
            for (int r = 0; r < 3; r++) {
                ag[r].b = args[r].keep;
                ag[r].me = r * 10 + round;
                ag[r].delay_us = r == 0 ? 0 : 50000;
                pthread_create(&t2[r], NULL, ag_thread, &ag[r]);
            }
            for (int r = 0; r < 3; r++) {
                pthread_join(t2[r], NULL);
                if (!ag[r].ok) ok = 0;
                for (int q = 0; q < 3; q++)
                    if (ag[r].out[q] != q * 10 + round) ok = 0;
            }
        }
    }
    uint64_t strangers = ok ? tutti_bootstrap_strangers(args[0].keep) : 0;
    if (fd >= 0) close(fd);
    for (int r = 0; r < 3; r++) tutti_bootstrap_destroy(args[r].keep);
    pthread_barrier_destroy(&bar);
    tap_ok(ok, "allgathers stay correct after a stranger connected to a rank's listener");
    tap_ok(strangers >= 1, "the rank dropped and counted the stranger (%llu)", (unsigned long long)strangers);
}

/* Only ranks 0 and 1 of 3 join: both get TIMEOUT naming rank 2. */
static void test_missing_rank(void)
{
    char e[256];
    tutti_id_info_t info = new_info();
    tutti_bootstrap_root_start(&info.root, &info, 1.0, e, sizeof(e));
    pthread_t th[2];
    boot_arg_t args[2];
    double t0 = tutti_time_now();
    for (int r = 0; r < 2; r++) {
        memset(&args[r], 0, sizeof(args[r]));
        args[r].info = info;
        args[r].rank = r;
        args[r].nranks = 3;
        args[r].timeout = 1.0;
        pthread_create(&th[r], NULL, boot_rank, &args[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    double dt = tutti_time_now() - t0;
    int ok = 1;
    for (int r = 0; r < 2; r++)
        if (args[r].res != TUTTI_ERR_TIMEOUT || !strstr(args[r].err, "ranks 2 of 3 never joined")) ok = 0;
    if (!tap_ok(ok, "a rank that never joins: the others get TIMEOUT naming it (%.1f s)", dt))
        tap_diag("rank 0: %d %s", args[0].res, args[0].err);
    tap_ok(dt < 5.0, "and within the deadline plus a margin (%.1f s for a 1 s deadline)", dt);
}

/* Rank 0 says 2 ranks, rank 1 says 3. */
static void test_size_mismatch(void)
{
    char e[256];
    tutti_id_info_t info = new_info();
    tutti_bootstrap_root_start(&info.root, &info, 3.0, e, sizeof(e));
    pthread_t th[2];
    boot_arg_t args[2];
    for (int r = 0; r < 2; r++) {
        memset(&args[r], 0, sizeof(args[r]));
        args[r].info = info;
        args[r].rank = r;
        args[r].nranks = r == 0 ? 2 : 3;
        args[r].timeout = 3.0;
        pthread_create(&th[r], NULL, boot_rank, &args[r]);
        usleep(50000); /* rank 0 registers first */
    }
    for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
    if (!tap_ok(args[1].res == TUTTI_ERR_INVALID_USAGE && strstr(args[1].err, "nranks=3"),
                "a rank with another communicator size is refused with a message saying so"))
        tap_diag("rank 1: %d %s", args[1].res, args[1].err);
    tap_ok(args[0].res != TUTTI_SUCCESS, "and the job does not form (rank 0: %s)", tutti_result_name(args[0].res));
}

int main(void)
{
    test_jobs();
    test_strangers_at_root();
    test_stranger_at_rank();
    test_missing_rank();
    test_size_mismatch();
    return tap_done();
}
