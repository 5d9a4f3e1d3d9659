/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What one rank costs: under any launcher (tutti_comm_init_env), each rank
 * measures what tutti added to its process from before creation to after
 *
 *   init | all-reduce 4 B and 4 MiB | broadcast 1 MiB | barrier
 *
 * (each result checked), and rank 0 prints the worst and the mean over the
 * ranks, one line of key=value pairs:
 *
 *   scale ranks=64 local=64 init_s=.. init_call_s=.. rss_mib=.. vsz_mib=.. fds=.. threads=.. (max) ..._mean
 *
 * init_s runs from the moment the last rank called tutti_comm_init_env to
 * the moment the last one returned (the wall clock, one clock per machine);
 * init_call_s is the longest single call, the launch's stagger included.
 * fds, threads, resident and virtual size are deltas over the process as
 * it was before tutti_comm_init_env, so the launcher's own share (PMIx's
 * socket, MPI's segments) is not counted.  --assert-* options turn bounds
 * into the exit status (a regression guard for tests/scale/, not a
 * benchmark): --max-init S --max-rss MIB --max-vsz MIB --max-fds N.
 */
#include <tutti.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    double rss, vsz, fds, threads;
} usage_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* one clock for every rank of a machine */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage_read(usage_t *u)
{
    char line[256];
    memset(u, 0, sizeof(*u));
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f)) {
        double v;
        if (sscanf(line, "VmRSS: %lf", &v) == 1) u->rss = v / 1024.0;
        else if (sscanf(line, "VmSize: %lf", &v) == 1) u->vsz = v / 1024.0;
        else if (sscanf(line, "Threads: %lf", &v) == 1) u->threads = v;
    }
    if (f) fclose(f);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') u->fds++;
    if (d) closedir(d);
    if (d) u->fds--; /* the directory itself */
}

static int fail(const char *what, tutti_result_t r, tutti_comm_t c, int me)
{
    fprintf(stderr, "scale_probe: rank %d: %s: %s: %s\n", me, what, tutti_result_name(r),
            c ? tutti_comm_last_error(c) : "");
    return 1;
}

int main(int argc, char **argv)
{
    double max_init = 0, max_rss = 0, max_vsz = 0, max_fds = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        double v = atof(argv[i + 1]);
        if (strcmp(argv[i], "--max-init") == 0) max_init = v;
        else if (strcmp(argv[i], "--max-rss") == 0) max_rss = v;
        else if (strcmp(argv[i], "--max-vsz") == 0) max_vsz = v;
        else if (strcmp(argv[i], "--max-fds") == 0) max_fds = v;
        else {
            fprintf(stderr, "usage: %s [--max-init S] [--max-rss MIB] [--max-vsz MIB] [--max-fds N]\n", argv[0]);
            return 2;
        }
    }
    usage_t before, after;
    /* the buffers first, so that they are not counted as tutti's */
    size_t big = (4u << 20) / sizeof(float);
    float *a = malloc(big * sizeof(float)), *b = malloc(big * sizeof(float));
    if (!a || !b) return 1;
    memset(a, 0, big * sizeof(float));
    memset(b, 0, big * sizeof(float));
    usage_read(&before);
    tutti_comm_t c = NULL;
    double t0 = now_s();
    tutti_result_t r = tutti_comm_init_env(&c);
    double t_init = now_s() - t0;
    if (r != TUTTI_SUCCESS) {
        fprintf(stderr, "scale_probe: tutti_comm_init_env: %s\n", tutti_result_name(r));
        return 1;
    }
    int me = 0, np = 1;
    tutti_comm_rank(c, &me);
    tutti_comm_size(c, &np);
    int32_t x = me + 1, sum = 0;
    if ((r = tutti_allreduce(&x, &sum, 1, TUTTI_INT32, TUTTI_SUM, c))) return fail("allreduce 4 B", r, c, me);
    if (sum != np * (np + 1) / 2) return fail("allreduce 4 B: wrong sum", TUTTI_SUCCESS, c, me);
    for (size_t i = 0; i < big; i++) a[i] = (float)((me + (int)i) % 8);
    if ((r = tutti_allreduce(a, b, big, TUTTI_FLOAT32, TUTTI_SUM, c))) return fail("allreduce 4 MiB", r, c, me);
    for (size_t i = 0; i < big; i += 4099) {
        float want = 0;
        for (int q = 0; q < np; q++) want += (float)((q + (int)i) % 8);
        if (b[i] != want) return fail("allreduce 4 MiB: wrong result", TUTTI_SUCCESS, c, me);
    }
    size_t nb = (1u << 20) / sizeof(float);
    for (size_t i = 0; i < nb; i++) a[i] = me == np - 1 ? (float)i : -1.0f;
    if ((r = tutti_broadcast(a, a, nb, TUTTI_FLOAT32, np - 1, c))) return fail("broadcast 1 MiB", r, c, me);
    for (size_t i = 0; i < nb; i += 977)
        if (a[i] != (float)i) return fail("broadcast 1 MiB: wrong result", TUTTI_SUCCESS, c, me);
    if ((r = tutti_barrier(c))) return fail("barrier", r, c, me);
    usage_read(&after);
    if (getenv("SCALE_PROBE_LIST") && me == 0) { /* what the fds and mappings are (diagnosis) */
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2; sort -k6 /proc/%d/maps | awk '{print $6}' | uniq -c >&2",
                 (int)getpid(), (int)getpid());
        if (system(cmd) != 0) fprintf(stderr, "scale_probe: %s failed\n", cmd);
    }
    /* every rank's numbers, worst and mean: sum and max in one all-reduce each */
    double mine[7] = {t_init, after.rss - before.rss, after.vsz - before.vsz, after.fds - before.fds,
                      after.threads - before.threads, t0, t0 + t_init};
    char host[64] = "", *hosts = NULL;
    gethostname(host, sizeof(host) - 1);
    hosts = calloc((size_t)np, sizeof(host));
    double mx[7], sm[7];
    if (!hosts || (r = tutti_allreduce(mine, mx, 7, TUTTI_FLOAT64, TUTTI_MAX, c)) ||
        (r = tutti_allreduce(mine, sm, 7, TUTTI_FLOAT64, TUTTI_SUM, c)) ||
        (r = tutti_allgather(host, hosts, sizeof(host), TUTTI_UINT8, c)))
        return fail("gathering the numbers", r, c, me);
    int local = 0;
    for (int q = 0; q < np; q++) local += strcmp(hosts + (size_t)q * sizeof(host), host) == 0;
    int bad = 0;
    if (me == 0) {
        /* init: from the moment the last rank called in to the moment the
         * last one returned (what the job waits for, without the launch's
         * stagger); init_call: the longest single call, stagger included */
        double init = mx[6] - mx[5];
        printf("scale ranks=%d local=%d init_s=%.3f init_call_s=%.3f rss_mib=%.1f vsz_mib=%.1f fds=%.0f threads=%.0f "
               "init_call_s_mean=%.3f rss_mib_mean=%.1f vsz_mib_mean=%.1f fds_mean=%.1f\n",
               np, local, init, mx[0], mx[1], mx[2], mx[3], mx[4], sm[0] / np, sm[1] / np, sm[2] / np, sm[3] / np);
        if (max_init > 0 && init > max_init) bad = printf("scale_probe: init %.3f s > %.3f s\n", init, max_init);
        if (max_rss > 0 && mx[1] > max_rss) bad = printf("scale_probe: resident +%.1f MiB > %.1f\n", mx[1], max_rss);
        if (max_vsz > 0 && mx[2] > max_vsz) bad = printf("scale_probe: virtual +%.1f MiB > %.1f\n", mx[2], max_vsz);
        if (max_fds > 0 && mx[3] > max_fds) bad = printf("scale_probe: %.0f fds > %.0f\n", mx[3], max_fds);
        fflush(stdout);
    }
    free(hosts);
    free(a);
    free(b);
    tutti_comm_destroy(c);
    return bad ? 3 : 0;
}
