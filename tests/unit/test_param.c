/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parameter table and every grammar users type: sizes, durations,
 * TUTTI_ALGO, interface filters; bad values fail loudly, unknown names are
 * warned about with a suggestion.
 */
#include "coll.h"
#include "tap.h"
#include "util/param.h"
#include "util/socket.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_sizes(void)
{
    struct { const char *s; uint64_t v; } good[] = {{"0", 0}, {"4096", 4096}, {"64K", 65536}, {"64k", 65536},
                                                   {"1M", 1 << 20}, {"2G", 2ULL << 30}, {"1KiB", 1024}, {"3MB", 3 << 20}};
    for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        uint64_t v = 0;
        tap_ok(tutti_param_parse_size(good[k].s, &v) == 0 && v == good[k].v, "size '%s' = %llu", good[k].s,
               (unsigned long long)good[k].v);
    }
    const char *bad[] = {"", "-1", "abc", "1X", "12 K", "99999999999999999999", "17179869184G"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        uint64_t v;
        tap_ok(tutti_param_parse_size(bad[k], &v) != 0, "size '%s' rejected", bad[k]);
    }
}

static void test_seconds(void)
{
    struct { const char *s; double v; } good[] = {{"30", 30}, {"0.5", 0.5}, {"500ms", 0.5}, {"2m", 120},
                                                 {"1h", 3600}, {"250us", 0.00025}, {"1.5s", 1.5}};
    for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
        double v = -1;
        tap_ok(tutti_param_parse_seconds(good[k].s, &v) == 0 && v > good[k].v * 0.999999 && v < good[k].v * 1.000001 + 1e-12,
               "duration '%s' = %g s", good[k].s, good[k].v);
    }
    const char *bad[] = {"", "-1", "abc", "5x", "inf", "nan"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        double v;
        tap_ok(tutti_param_parse_seconds(bad[k], &v) != 0, "duration '%s' rejected", bad[k]);
    }
}

#define BIT(a) (1u << TUTTI_ALGO_##a)

static void test_algo(void)
{
    tutti_algo_config_t c;
    char err[512];
    tap_ok(tutti_algo_config_parse(&c, "", 32768, err, sizeof(err)) == 0 && c.forced == 0, "TUTTI_ALGO '' keeps defaults");
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 32768, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 32769, 4, 1) == TUTTI_ALGO_RING,
           "default all-reduce: rd up to the threshold, ring above");
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 8, 4, 1) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 1 << 20, 4, 1) == TUTTI_ALGO_RING,
           "default broadcast: tree small, ring large");
    tap_ok(tutti_algo_config_parse(&c, "ring", 32768, err, sizeof(err)) == 0 && c.allowed[TUTTI_COLL_ALLREDUCE] == BIT(RING) &&
               c.allowed[TUTTI_COLL_BROADCAST] == BIT(RING) && c.allowed[TUTTI_COLL_ALLGATHER] == BIT(RING) &&
               c.allowed[TUTTI_COLL_BARRIER] == BIT(DISSEMINATION),
           "TUTTI_ALGO 'ring' applies where ring exists, leaves barrier alone");
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_RING, "forced ring wins for small messages");
    tap_ok(tutti_algo_config_parse(&c, "allreduce:tree;broadcast:ring", 32768, err, sizeof(err)) == 0 &&
               c.allowed[TUTTI_COLL_ALLREDUCE] == BIT(TREE) && c.allowed[TUTTI_COLL_BROADCAST] == BIT(RING) &&
               c.allowed[TUTTI_COLL_REDUCE] == (BIT(RING) | BIT(TREE) | BIT(WINDOW)),
           "TUTTI_ALGO 'allreduce:tree;broadcast:ring'");
    tap_ok(tutti_algo_config_parse(&c, "^tree", 32768, err, sizeof(err)) == 0 &&
               c.allowed[TUTTI_COLL_ALLREDUCE] == (BIT(RING) | BIT(RD) | BIT(HIER) | BIT(WINDOW)) &&
               c.allowed[TUTTI_COLL_BROADCAST] == (BIT(RING) | BIT(HIER) | BIT(WINDOW)),
           "TUTTI_ALGO '^tree' excludes tree everywhere");
    /* the job's shape: hierarchical where several nodes have several ranks */
    tutti_algo_config_parse(&c, "", 32768, err, sizeof(err));
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 2) == TUTTI_ALGO_HIER &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 1 << 26, 16, 2) == TUTTI_ALGO_HIER &&
               tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 8, 4, 2) == TUTTI_ALGO_HIER,
           "2 nodes x 2 ranks: all-reduce and broadcast are hierarchical at every size");
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 4) == TUTTI_ALGO_RD &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&c, TUTTI_COLL_ALLGATHER, 1 << 20, 4, 2) == TUTTI_ALGO_RING &&
               tutti_algo_select(&c, TUTTI_COLL_REDUCE, 1 << 20, 4, 2) == TUTTI_ALGO_RING,
           "one rank per node, one node, all-gather and the rest: flat");
    tutti_algo_config_parse(&c, "allreduce:ring", 32768, err, sizeof(err));
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 2) == TUTTI_ALGO_RING, "TUTTI_ALGO=allreduce:ring beats the shape");
    tutti_algo_config_parse(&c, "allgather:hier", 32768, err, sizeof(err));
    tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLGATHER, 8, 4, 1) == TUTTI_ALGO_HIER,
           "TUTTI_ALGO=allgather:hier gets it, even on one node");
    /* size ranges: the issue's own example */
    tap_ok(tutti_algo_config_parse(&c, "ring;allreduce:tree@0-64K,ring@64K-max;broadcast:^tree", 32768, err,
                                   sizeof(err)) == 0 &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 4, 1) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 65535, 4, 1) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 65536, 4, 1) == TUTTI_ALGO_RING &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 8, 16, 2) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 8, 4, 1) == TUTTI_ALGO_RING,
           "TUTTI_ALGO='ring;allreduce:tree@0-64K,ring@64K-max;broadcast:^tree': ranges pick, also over the job shape "
           "(%s)", err);
    {
        char why[256], table[2048];
        tutti_algo_explain(&c, TUTTI_COLL_ALLREDUCE, 100, 4, 1, why, sizeof(why));
        tap_ok(strstr(why, "TUTTI_ALGO gives tree@0-64K") != NULL, "the explanation names the range: %s", why);
        tutti_algo_table(&c, 4, 1, table, sizeof(table));
        tap_ok(strstr(table, "allreduce: 0-64K tree, 64K-max ring") != NULL &&
                   strstr(table, "broadcast: 0-max ring") != NULL,
               "the decision table shows the ranges: %.120s", table);
    }
    tap_ok(tutti_algo_config_parse(&c, "allreduce:tree@0-1K;allreduce:rd@512-4K", 32768, err, sizeof(err)) == 0 &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 100, 4, 1) == TUTTI_ALGO_TREE &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 600, 4, 1) == TUTTI_ALGO_RD &&
               tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 1 << 20, 4, 1) == TUTTI_ALGO_RING,
           "later ranges win where they overlap earlier entries; sizes no range covers keep the default rule");
    {
        char why[256];
        tutti_algo_config_parse(&c, "", 32768, err, sizeof(err));
        tutti_algo_explain(&c, TUTTI_COLL_ALLREDUCE, 4096, 4, 1, why, sizeof(why));
        int ok = strstr(why, "TUTTI_SMALL_MSG_SIZE") != NULL;
        tutti_algo_explain(&c, TUTTI_COLL_ALLREDUCE, 4096, 8, 2, why, sizeof(why));
        ok = ok && strstr(why, "8 ranks on 2 nodes") != NULL;
        tap_ok(ok, "explanations name the threshold or the job shape: %s", why);
    }
    /* TUTTI_TUNE_FILE rules */
    {
        const char *good = "{\"version\": 1, \"comment\": \"site rules\",\n"
                           " \"rules\": [\n"
                           "  {\"collective\": \"allreduce\", \"algorithm\": \"tree\", \"max_bytes\": \"64K\", \"min_nodes\": 2},\n"
                           "  {\"collective\": \"allreduce\", \"algorithm\": \"ring\", \"min_bytes\": 1024},\n"
                           "  {\"collective\": \"broadcast\", \"algorithm\": \"ring\", \"min_ranks\": 3, \"max_ranks\": 8}\n"
                           " ]}\n";
        char why[256];
        tutti_algo_config_parse(&c, "", 32768, err, sizeof(err));
        int rc = tutti_rules_parse(&c, good, strlen(good), err, sizeof(err));
        tap_ok(rc == 0 && c.nrules == 3, "a rules file parses: 3 rules (%s)", rc ? err : "ok");
        tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 4096, 16, 4) == TUTTI_ALGO_TREE &&
                   tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 4096, 4, 1) == TUTTI_ALGO_RING &&
                   tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 100, 4, 1) == TUTTI_ALGO_RD &&
                   tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 1 << 20, 16, 4) == TUTTI_ALGO_RING,
               "rules: the first that applies wins (tree under 64K on 2+ nodes, else ring from 1K); others keep the default");
        tap_ok(tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 8, 4, 1) == TUTTI_ALGO_RING &&
                   tutti_algo_select(&c, TUTTI_COLL_BROADCAST, 8, 16, 1) == TUTTI_ALGO_TREE,
               "rules: rank bounds apply");
        tutti_algo_explain(&c, TUTTI_COLL_ALLREDUCE, 4096, 16, 4, why, sizeof(why));
        tap_ok(strstr(why, "TUTTI_TUNE_FILE rule 1 gives tree") != NULL, "the explanation names the rule: %s", why);
        /* TUTTI_ALGO's set still wins: a rule for an excluded algorithm is skipped */
        tutti_algo_config_parse(&c, "allreduce:^tree", 32768, err, sizeof(err));
        tutti_rules_parse(&c, good, strlen(good), err, sizeof(err));
        tap_ok(tutti_algo_select(&c, TUTTI_COLL_ALLREDUCE, 4096, 16, 4) == TUTTI_ALGO_RING,
               "a rule for an algorithm TUTTI_ALGO excludes is skipped");
        struct { const char *text, *needle; } badr[] = {
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allreduce\", \"algo\": \"tree\"}]}", "unknown key"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allreduce\"}]}", "needs"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allgather\", \"algorithm\": \"tree\"}]}", "no such algorithm"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allreduce\", \"algorithm\": \"ring\", \"min_bytes\": \"1M\", \"max_bytes\": 10}]}", "empty range"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allreduc\", \"algorithm\": \"ring\"}]}", "unknown collective"},
            {"{\"version\": 2, \"rules\": []}", "unsupported version"},
            {"{\"rules\": []}", "missing \"version\""},
            {"{\"version\": 1, \"rules\": []} x", "trailing"},
            {"{\"version\": 1,\n \"rules\": [{\"collective\": \"allreduce\", \"algorithm\": \"ring\", \"min_bytes\": \"64Q\"}]}", "line 2"},
            {"[1, 2]", "one JSON object"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"allreduce\", \"algorithm\": \"ring\", \"min_bytes\": -1}]}", "non-negative"},
            {"{\"version\": 1, \"rules\": [{\"collective\": \"a\\u0041\"}]}", "escape"},
        };
        for (size_t k = 0; k < sizeof(badr) / sizeof(badr[0]); k++) {
            err[0] = '\0';
            int brc = tutti_rules_parse(&c, badr[k].text, strlen(badr[k].text), err, sizeof(err));
            tap_ok(brc != 0 && strstr(err, badr[k].needle) && strstr(err, "line "),
                   "a bad rules file fails with line, column and '%s' (%s)", badr[k].needle, err);
        }
        tap_ok(tutti_rules_load(&c, "/nonexistent/rules.json", err, sizeof(err)) != 0 && strstr(err, "/nonexistent/rules.json"),
               "a missing rules file is an error naming it");
    }
    tap_ok(tutti_algo_config_parse(&c, " allreduce:ring,rd ; reduce:TREE ", 32768, err, sizeof(err)) == 0 &&
               c.allowed[TUTTI_COLL_ALLREDUCE] == (BIT(RING) | BIT(RD)) && c.allowed[TUTTI_COLL_REDUCE] == BIT(TREE),
           "TUTTI_ALGO with spaces, lists and upper case");
    struct { const char *spec, *needle; } bad[] = {
        {"allreduce:foo", "foo"},        {"foo", "foo"},
        {"allgather:tree", "tree"},      {"bogus:ring", "bogus"},
        {"allreduce:^ring,tree,rd,hier,window", "without any"}, {"reduce_scatter:^ring,window", "without any"},
        {"allreduce:", "no algorithm"},  {":ring", "collective"},
        {"allreduce:tree@0-64K,ring@32K-max", "overlap"}, {"allreduce:tree@64K-0", "bad size range"},
        {"allreduce:tree@0-64Q", "64Q"},  {"allreduce:tree@0-64K,ring", "algo@lo-hi"},
        {"allreduce:^tree@0-1K", "'^'"},  {"allgather:tree@0-1K", "no algorithm 'tree'"},
        {"allreduce:rung@0-1K", "rung"}, {"allreduce:tree@-1K", "bad size range"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        err[0] = '\0';
        int rc = tutti_algo_config_parse(&c, bad[k].spec, 32768, err, sizeof(err));
        tap_ok(rc != 0 && strstr(err, bad[k].needle) != NULL, "TUTTI_ALGO '%s' fails naming '%s' (%s)", bad[k].spec,
               bad[k].needle, err);
    }
}

static void test_ifname(void)
{
    struct { const char *filter, *name; int want; } m[] = {
        {"eth", "eth0", 1},     {"eth", "ib0", 0},        {"eth,ib", "ib0", 1},   {"^docker", "docker0", 0},
        {"^docker", "eth0", 1}, {"=eth0", "eth0", 1},     {"=eth0", "eth01", 0},  {"^=eth0", "eth0", 0},
        {"^=eth0", "eth01", 1}, {"=eth0,=ib1", "ib1", 1}, {"pn", "pn0", 1},       {"^lo,docker", "lo", 0},
    };
    for (size_t k = 0; k < sizeof(m) / sizeof(m[0]); k++)
        tap_ok(tutti_socket_if_match(m[k].filter, m[k].name) == m[k].want, "interface filter '%s' %s '%s'", m[k].filter,
               m[k].want ? "matches" : "rejects", m[k].name);
    tutti_sockaddr_t a;
    char err[512], ifn[32];
    tap_ok(tutti_socket_pick_if("nosuchif", "", &a, ifn, sizeof(ifn), err, sizeof(err)) != 0 && strstr(err, "nosuchif") &&
               strstr(err, "up interfaces"),
           "a filter that matches nothing is an error naming it and listing interfaces (%s)", err);
    tap_ok(tutti_socket_pick_if("", "", &a, ifn, sizeof(ifn), err, sizeof(err)) == 0, "default interface found (%s)", ifn);
    tap_ok(tutti_socket_pick_if("=lo", "", &a, ifn, sizeof(ifn), err, sizeof(err)) == 0 && strcmp(ifn, "lo") == 0,
           "exact '=lo' picks loopback");
    tap_ok(tutti_socket_pick_if("", "AF_INET7", &a, ifn, sizeof(ifn), err, sizeof(err)) != 0 && strstr(err, "AF_INET7"),
           "bad TUTTI_SOCKET_FAMILY is an error");
}

/* Runs fn in a child with one environment variable set; returns what the
 * child wrote to stderr. */
static int child_with_env(const char *name, const char *value, int (*fn)(void), char *out, size_t outlen)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        setenv(name, value, 1);
        _exit(fn());
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < outlen && (k = read(fds[0], out + n, outlen - 1 - n)) > 0) n += (size_t)k;
    out[n] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int child_bad_value(void)
{
    const char *e = tutti_param_error();
    return e && strstr(e, "TUTTI_TIMEOUT") && strstr(e, "abc") ? 0 : 1;
}

static int child_unknown(void)
{
    (void)tutti_param_int(TUTTI_P_SPIN);
    tutti_param_after_log_init();
    return 0;
}

static int child_value(void)
{
    return tutti_param_size(TUTTI_P_SHM_SLOT_SIZE) == 128 * 1024 && tutti_param_error() == NULL ? 0 : 1;
}

/* exit 0 when an error exists and does not quote the value */
static int child_secret(void)
{
    const char *e = tutti_param_error();
    return e && !strstr(e, "zzzz") ? 0 : 1;
}

static void test_table(void)
{
    int docs = 1;
    for (int k = 0; k < TUTTI_P_COUNT; k++) {
        const tutti_param_desc_t *d = tutti_param_desc((tutti_param_id_t)k);
        if (!d || strncmp(d->name, "TUTTI_", 6) != 0 || strlen(d->doc) < 20) docs = 0;
    }
    tap_ok(docs, "every parameter has a TUTTI_ name and a doc string");
    /* docs/ENVIRONMENT.md describes every row of the table */
    const char *top = getenv("top_srcdir");
    char path[1024], *text = NULL;
    snprintf(path, sizeof(path), "%s/docs/ENVIRONMENT.md", top ? top : ".");
    FILE *f = fopen(path, "r");
    if (f) {
        text = calloc(1, 1 << 20);
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    int missing = 0;
    for (int k = 0; text && k < TUTTI_P_COUNT; k++) {
        char needle[80];
        snprintf(needle, sizeof(needle), "`%s`", tutti_param_desc((tutti_param_id_t)k)->name);
        if (!strstr(text, needle)) {
            tap_diag("docs/ENVIRONMENT.md does not mention %s", needle);
            missing++;
        }
    }
    tap_ok(text && missing == 0, "docs/ENVIRONMENT.md describes every parameter (%d missing)", missing);
    free(text);
    char out[4096];
    tap_ok(child_with_env("TUTTI_SHM_SLOT_SIZE", "128K", child_value, out, sizeof(out)) == 0,
           "TUTTI_SHM_SLOT_SIZE=128K is read from the environment");
    tap_ok(child_with_env("TUTTI_TIMEOUT", "abc", child_bad_value, out, sizeof(out)) == 0,
           "TUTTI_TIMEOUT=abc is an error naming the variable and value");
    tap_ok(child_with_env("TUTTI_SHM_NSLOTS", "1", child_value, out, sizeof(out)) != 0,
           "TUTTI_SHM_NSLOTS=1 is below its bound and rejected");
    child_with_env("TUTTI_TIMEOUTT", "5", child_unknown, out, sizeof(out));
    tap_ok(strstr(out, "TUTTI_TIMEOUTT") && strstr(out, "did you mean TUTTI_TIMEOUT"),
           "unknown TUTTI_TIMEOUTT warns with a suggestion");
    tap_ok(child_with_env("TUTTI_RANK", "zzzz", child_secret, out, sizeof(out)) != 0,
           "TUTTI_RANK=zzzz is an error that quotes the bad value");
}

int main(void)
{
    test_sizes();
    test_seconds();
    test_algo();
    test_ifname();
    test_table();
    return tap_done();
}
