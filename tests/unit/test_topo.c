/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topology module on the fixtures of tests/topologies/ (hwloc XML):
 * this VM, a 2-socket and a 4-socket server, and a node with 8 GPUs and 4
 * InfiniBand NICs on 2 PCIe switches (one per socket): counts, caches, the
 * NUMA node and switch of every device; synthetic descriptions; a bad file
 * and a bad description fail with a message naming them; a dump loads back
 * with tutti's facts in it.
 */
#include "coll.h"
#include "patterns/patterns.h"
#include "tap.h"
#include "topo/topo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[512];

static const char *fixture(const char *name)
{
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof(path), "%s/tests/topologies/%s", top ? top : ".", name);
    return path;
}

/* A job of `nn` nodes of the fixture's shape, 2 ranks per package, ranks
 * dealt round-robin over the nodes; each rank's NICs from the fixture.
 * Returns the topology order with and without the NIC turn. */
#define NIC_MAXR 64
static int nic_job(const char *xml, int nn, int *p, int *node, int *pk, int *order, int *plain)
{
    tutti_topo_local_t t;
    char err[256];
    if (tutti_topo_load_from(&t, fixture(xml), NULL, err, sizeof(err)) != 0) return -1;
    uint64_t nnm = 0, npk = 0, nicn[NIC_MAXR], nicp[NIC_MAXR];
    for (int k = 0; k < t.nics; k++) {
        nnm |= 1ull << t.nic_numa[k];
        npk |= 1ull << t.nic_package[k];
    }
    *p = nn * 2 * t.packages;
    if (*p > NIC_MAXR) return -1;
    for (int r = 0; r < *p; r++) {
        node[r] = r % nn;
        pk[r] = (r / nn) / 2; /* local index / 2: NUMA node = package in these fixtures */
        nicn[r] = nnm;
        nicp[r] = npk;
    }
    tutti_pattern_topo_order(*p, node, pk, pk, plain);
    memcpy(order, plain, sizeof(int) * (size_t)*p);
    tutti_pattern_nic_turn(*p, node, pk, pk, nicn, nicp, order);
    return 0;
}

/* NIC-aware order: each node's run of the ring starts and ends on a socket
 * with a NIC where one exists (patterns/order.c), the hierarchical leader
 * is that first rank, and nothing moves where the order already does. */
static void test_nic_order(void)
{
    int p, node[NIC_MAXR], pk[NIC_MAXR], order[NIC_MAXR], plain[NIC_MAXR];
    int ok = nic_job("four-socket-nic2.xml", 2, &p, node, pk, order, plain) == 0;
    tutti_topo_local_t t;
    char err[256];
    ok = ok && tutti_topo_load_from(&t, fixture("four-socket-nic2.xml"), NULL, err, sizeof(err)) == 0 && t.nics == 2 &&
         t.nic_numa[0] == 1 && t.nic_numa[1] == 2 && t.nic_package[0] == 1 && t.nic_package[1] == 2;
    tap_ok(ok, "4-socket box with NICs on sockets 1 and 2: the fixture says so");
    /* ends of each node's run */
    int ends_plain = 0, ends_nic = 0, cross_plain = 0, cross_nic = 0;
    for (int i = 0; ok && i < p; i++) {
        int prev = (i + p - 1) % p, next = (i + 1) % p;
        int entry = node[order[prev]] != node[order[i]], exit_ = node[order[next]] != node[order[i]];
        if ((entry || exit_) && (pk[order[i]] == 1 || pk[order[i]] == 2)) ends_nic++;
        if (!exit_ && pk[order[next]] != pk[order[i]]) cross_nic++;
        entry = node[plain[prev]] != node[plain[i]];
        exit_ = node[plain[next]] != node[plain[i]];
        if ((entry || exit_) && (pk[plain[i]] == 1 || pk[plain[i]] == 2)) ends_plain++;
        if (!exit_ && pk[plain[next]] != pk[plain[i]]) cross_plain++;
    }
    tap_ok(ok && ends_nic == 4 && ends_plain == 0 && cross_nic == cross_plain,
           "2 nodes x 4 sockets: the ring enters and leaves both nodes on NIC sockets (%d of 4 ends; %d in socket "
           "order) with the same %d socket changes inside the nodes",
           ends_nic, ends_plain, cross_nic);
    char txt[256] = "";
    for (int i = 0; i < p; i++) snprintf(txt + strlen(txt), sizeof(txt) - strlen(txt), "%s%d", i ? "," : "", order[i]);
    tap_diag("ring: %s", txt);
    /* the hierarchical leader of each node is its first rank in that order */
    int pos[NIC_MAXR], leaders_ok = ok;
    for (int i = 0; i < p; i++) pos[order[i]] = i;
    static float buf[1024];
    for (int r = 0; r < p && leaders_ok; r++) {
        tutti_coll_args_t a = {.coll = TUTTI_COLL_ALLREDUCE, .sendbuf = buf, .recvbuf = buf, .count = 256,
                               .dtype = TUTTI_FLOAT32, .op = TUTTI_SUM, .rank = r, .nranks = p, .esize = 4,
                               .node_of_rank = node, .nnodes = 2, .ring_order = order, .ring_pos = pos};
        tutti_sched_t sc;
        tutti_sched_init(&sc, 4096, 4, 2);
        int offnode = 0;
        if (tutti_coll_build(&sc, &a, TUTTI_ALGO_HIER) != TUTTI_SUCCESS) leaders_ok = 0;
        tutti_sched_finish(&sc);
        for (uint32_t i = 0; i < sc.nsteps; i++)
            for (int k = 0; k < sc.steps[i].nsend; k++) offnode |= node[sc.steps[i].send[k]] != node[r];
        int first = pos[r] == 0 || node[order[pos[r] - 1]] != node[r];
        if (offnode != first || (offnode && pk[r] != 1 && pk[r] != 2)) leaders_ok = 0;
        tutti_sched_free(&sc);
    }
    tap_ok(leaders_ok, "hierarchical all-reduce: only each node's first rank (on a NIC socket) talks to the other node");
    /* NICs on every socket: the socket order already ends next to one */
    ok = nic_job("gpu8-nic4.xml", 2, &p, node, pk, order, plain) == 0 &&
         memcmp(order, plain, sizeof(int) * (size_t)p) == 0;
    tap_ok(ok, "8 GPUs + 4 NICs (NICs on both sockets): the order does not move");
    ok = nic_job("four-socket-nic2.xml", 1, &p, node, pk, order, plain) == 0 &&
         memcmp(order, plain, sizeof(int) * (size_t)p) == 0;
    tap_ok(ok, "one node: the ring never leaves it, the order does not move");
    ok = nic_job("four-socket.xml", 2, &p, node, pk, order, plain) == 0 && memcmp(order, plain, sizeof(int) * (size_t)p) == 0;
    tap_ok(ok, "no NIC known: the order does not move");
}

int main(void)
{
    tutti_topo_local_t t;
    char err[512];

    int rc = tutti_topo_load_from(&t, fixture("thisvm.xml"), NULL, err, sizeof(err));
    tap_ok(rc == 0 && t.packages == 1 && t.numa_nodes == 1 && t.cores == 2 && t.pus == 2 && t.l3_bytes == (32u << 20) &&
               !t.is_thissystem && t.gpus == 0 && strstr(t.source, "thisvm.xml"),
           "this VM: 1 package, 1 NUMA node, 2 cores, L3 32 MiB, no GPU, from the file (%s)", rc ? err : t.source);

    rc = tutti_topo_load_from(&t, fixture("two-socket.xml"), NULL, err, sizeof(err));
    tap_ok(rc == 0 && t.packages == 2 && t.numa_nodes == 2 && t.cores == 16 && t.pus == 32,
           "2-socket server: 2 packages, 2 NUMA nodes, 16 cores, 32 PUs");

    rc = tutti_topo_load_from(&t, fixture("four-socket.xml"), NULL, err, sizeof(err));
    tap_ok(rc == 0 && t.packages == 4 && t.numa_nodes == 4 && t.cores == 24 && t.pus == 48,
           "4-socket box: 4 packages, 4 NUMA nodes, 24 cores, 48 PUs");

    rc = tutti_topo_load_from(&t, fixture("gpu8-nic4.xml"), NULL, err, sizeof(err));
    int ok = rc == 0 && t.gpus == 8 && t.nics == 4;
    for (int g = 0; ok && g < 8; g++) ok = t.gpu_numa[g] == g / 4 && t.gpu_switch[g] == g / 4;
    for (int n = 0; ok && n < 4; n++) ok = t.nic_numa[n] == n / 2 && t.nic_switch[n] == n / 2;
    tap_ok(ok, "8 GPUs + 4 NICs: GPUs 0-3 and NICs 0-1 on NUMA node 0 behind switch 0, the rest on 1 behind 1");
    if (!ok && rc == 0)
        for (int g = 0; g < t.gpus; g++) tap_diag("gpu %d: numa %d switch %d", g, t.gpu_numa[g], t.gpu_switch[g]);

    char buf[256];
    tutti_topo_format(&t, buf, sizeof(buf));
    tap_ok(strstr(buf, "8 GPUs, 4 NICs") && strstr(buf, "gpu8-nic4.xml"), "the summary names devices and source: %s", buf);

    rc = tutti_topo_load_from(&t, NULL, "pack:2 numa:2 core:4 pu:1", err, sizeof(err));
    tap_ok(rc == 0 && t.packages == 2 && t.numa_nodes == 4 && t.cores == 16 && strstr(t.source, "synthetic"),
           "synthetic 'pack:2 numa:2 core:4 pu:1': 2 packages, 4 NUMA nodes, 16 cores");

    rc = tutti_topo_load_from(&t, NULL, "pack:two", err, sizeof(err));
    tap_ok(rc != 0 && strstr(err, "TUTTI_TOPO_SYNTHETIC='pack:two'"),
           "a bad synthetic description is an error naming it (hwloc alone would ignore it): %s", err);
    rc = tutti_topo_load_from(&t, "/nonexistent/topo.xml", NULL, err, sizeof(err));
    tap_ok(rc != 0 && strstr(err, "/nonexistent/topo.xml"), "a missing XML file is an error naming it: %s", err);

    rc = tutti_topo_load_from(&t, NULL, NULL, err, sizeof(err));
    tap_ok(rc == 0 && t.is_thissystem && t.pus >= 1 && t.bound_pus >= 1 && t.my_package >= 0 && t.my_numa >= 0,
           "this machine: %d PUs, bound to %d, first on package %d NUMA %d", t.pus, t.bound_pus, t.my_package,
           t.my_numa);

    test_nic_order();

    /* a dump loads back and carries tutti's facts */
    char dump[64];
    snprintf(dump, sizeof(dump), "/tmp/tutti-topo-%d.%%r.xml", (int)getpid());
    const char *facts[] = {"TuttiRank=3", "TuttiNodes=2"};
    setenv("TUTTI_TOPO_FILE", fixture("gpu8-nic4.xml"), 1);
    rc = tutti_topo_dump(dump, 3, facts, 2, err, sizeof(err));
    char written[64];
    snprintf(written, sizeof(written), "/tmp/tutti-topo-%d.3.xml", (int)getpid());
    tutti_topo_local_t back;
    int rc2 = rc == 0 ? tutti_topo_load_from(&back, written, NULL, err, sizeof(err)) : -1;
    FILE *f = fopen(written, "r");
    char text[65536] = "";
    size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[got] = '\0';
    if (f) fclose(f);
    unlink(written);
    tap_ok(rc == 0 && rc2 == 0 && back.gpus == 8 && back.nics == 4 && strstr(text, "name=\"TuttiRank\" value=\"3\"") &&
               strstr(text, "TuttiNodes"),
           "TUTTI_TOPO_DUMP_FILE ('%%r' = rank): hwloc XML that loads back, with Tutti* facts (%s)", rc ? err : "ok");
    return tap_done();
}
