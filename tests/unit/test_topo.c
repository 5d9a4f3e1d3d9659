/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The topology module on the fixtures of tests/topologies/ (hwloc XML):
 * this VM, a 2-socket and a 4-socket server, and a node with 8 GPUs and 4
 * InfiniBand NICs on 2 PCIe switches (one per socket): counts, caches, the
 * NUMA node and switch of every device; synthetic descriptions; a bad file
 * and a bad description fail with a message naming them; a dump loads back
 * with tutti's facts in it.
 */
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
