/* SPDX-License-Identifier: BSD-3-Clause */
#include "topo/topo.h"

#include <hwloc.h>
#include <stdio.h>
#include <string.h>

int tutti_topo_local(tutti_topo_local_t *t)
{
    hwloc_topology_t topo;
    memset(t, 0, sizeof(*t));
    if (hwloc_topology_init(&topo) != 0) return -1;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return -1;
    }
    t->packages = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    t->numa_nodes = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    t->cores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    t->pus = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    int n3 = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE);
    for (int i = 0; i < n3; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(topo, HWLOC_OBJ_L3CACHE, (unsigned)i);
        if (o->attr && o->attr->cache.size > t->l3_bytes) t->l3_bytes = o->attr->cache.size;
    }
    t->is_thissystem = hwloc_topology_is_thissystem(topo);
    t->bound_pus = t->pus;
    if (t->is_thissystem) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0)
            t->bound_pus = hwloc_bitmap_weight(set);
        hwloc_bitmap_free(set);
    }
    hwloc_topology_destroy(topo);
    return 0;
}

void tutti_topo_summary(char *buf, size_t len)
{
    tutti_topo_local_t t;
    if (tutti_topo_local(&t) != 0) {
        snprintf(buf, len, "topology unknown (hwloc failed)");
        return;
    }
    snprintf(buf, len, "%d package%s, %d NUMA node%s, %d cores, %d PUs, L3 %llu MiB, bound to %d PU%s%s",
             t.packages, t.packages == 1 ? "" : "s", t.numa_nodes, t.numa_nodes == 1 ? "" : "s", t.cores,
             t.pus, t.l3_bytes >> 20, t.bound_pus, t.bound_pus == 1 ? "" : "s",
             t.is_thissystem ? "" : " (topology loaded from a file)");
}
