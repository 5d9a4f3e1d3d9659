/* SPDX-License-Identifier: BSD-3-Clause */
/* The local machine from hwloc (see topo.h). */
#include "topo/topo.h"

#include "util/param.h"

#include <errno.h>
#include <hwloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* "%r" in a file name becomes the rank ("all" when unknown). */
static void tutti_topo_expand(const char *in, int rank, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < len; p++) {
        if (p[0] == '%' && p[1] == 'r') {
            int w = rank >= 0 ? snprintf(out + n, len - n, "%d", rank) : snprintf(out + n, len - n, "all");
            if (w > 0) n += (size_t)w < len - n ? (size_t)w : len - n - 1;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n < len ? n : len - 1] = '\0';
}

/* Opens the topology of a source; 0 or -1 with err. */
static int tutti_topo_open(hwloc_topology_t *out, const char *xml, const char *synthetic, char *err, size_t errlen)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) {
        snprintf(err, errlen, "hwloc: cannot initialise a topology");
        return -1;
    }
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    if (synthetic && synthetic[0]) {
        if (hwloc_topology_set_synthetic(topo, synthetic) != 0) {
            snprintf(err, errlen, "TUTTI_TOPO_SYNTHETIC='%s' is not a valid hwloc synthetic description (e.g. "
                                  "'pack:2 numa:1 l3:1 core:8 pu:2')",
                     synthetic);
            hwloc_topology_destroy(topo);
            return -1;
        }
    } else if (xml && xml[0]) {
        if (hwloc_topology_set_xml(topo, xml) != 0) {
            snprintf(err, errlen, "TUTTI_TOPO_FILE: cannot read hwloc XML '%s': %s", xml, strerror(errno));
            hwloc_topology_destroy(topo);
            return -1;
        }
    }
    if (hwloc_topology_load(topo) != 0) {
        snprintf(err, errlen, "hwloc: cannot load the topology%s%s: %s", xml && xml[0] ? " of " : "",
                 xml && xml[0] ? xml : "", strerror(errno));
        hwloc_topology_destroy(topo);
        return -1;
    }
    *out = topo;
    return 0;
}

/* Logical index of the NUMA node nearest to an I/O object; -1 unknown. */
static int tutti_topo_io_numa(hwloc_topology_t topo, hwloc_obj_t dev)
{
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, dev);
    if (!anc || !anc->cpuset) return -1;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < n; i++) {
        hwloc_obj_t nn = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (nn->cpuset && hwloc_bitmap_intersects(nn->cpuset, anc->cpuset)) return i;
    }
    return -1;
}

/* Logical index of the package above an I/O object; -1 unknown. */
static int tutti_topo_io_package(hwloc_topology_t topo, hwloc_obj_t dev)
{
    hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, dev);
    if (anc && anc->type != HWLOC_OBJ_PACKAGE) anc = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, anc);
    return anc && anc->type == HWLOC_OBJ_PACKAGE ? (int)anc->logical_index : -1;
}

/* Index (among PCI-to-PCI bridges) of the switch above a device; -1 when
 * it hangs off a host bridge directly. */
static int tutti_topo_io_switch(hwloc_topology_t topo, hwloc_obj_t dev)
{
    for (hwloc_obj_t p = dev->parent; p && hwloc_obj_type_is_io(p->type); p = p->parent) {
        if (p->type != HWLOC_OBJ_BRIDGE || p->attr->bridge.upstream_type != HWLOC_OBJ_BRIDGE_PCI) continue;
        /* the top-most PCI bridge under the host bridge is the switch */
        if (p->parent && p->parent->type == HWLOC_OBJ_BRIDGE &&
            p->parent->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI)
            continue;
        int k = 0;
        for (hwloc_obj_t b = hwloc_get_next_bridge(topo, NULL); b; b = hwloc_get_next_bridge(topo, b)) {
            if (b == p) return k;
            if (b->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI) k++;
        }
    }
    return -1;
}

static void tutti_topo_fill(hwloc_topology_t topo, tutti_topo_local_t *t)
{
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
    t->my_package = t->my_numa = -1;
    if (t->is_thissystem) {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (set && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0) {
            t->bound_pus = hwloc_bitmap_weight(set);
            int first = hwloc_bitmap_first(set);
            hwloc_obj_t pu = first >= 0 ? hwloc_get_pu_obj_by_os_index(topo, (unsigned)first) : NULL;
            hwloc_obj_t pk = pu ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pu) : NULL;
            if (pk) t->my_package = (int)pk->logical_index;
            int nn = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
            for (int i = 0; pu && i < nn; i++) {
                hwloc_obj_t n = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)i);
                if (n->cpuset && hwloc_bitmap_isset(n->cpuset, pu->os_index)) {
                    t->my_numa = i;
                    break;
                }
            }
        }
        hwloc_bitmap_free(set);
    }
    for (hwloc_obj_t d = hwloc_get_next_pcidev(topo, NULL); d; d = hwloc_get_next_pcidev(topo, d)) {
        unsigned cls = d->attr->pcidev.class_id;
        int gpu = (cls == 0x0300 || cls == 0x0302) && d->attr->pcidev.vendor_id != 0x1af4 &&
                  d->attr->pcidev.vendor_id != 0x1234; /* not a virtual display */
        int nic = cls == 0x0200 || cls == 0x0207;
        if (gpu && t->gpus < TUTTI_TOPO_MAX_DEVS) {
            t->gpu_numa[t->gpus] = tutti_topo_io_numa(topo, d);
            t->gpu_switch[t->gpus] = tutti_topo_io_switch(topo, d);
            t->gpus++;
        } else if (nic && t->nics < TUTTI_TOPO_MAX_DEVS) {
            t->nic_numa[t->nics] = tutti_topo_io_numa(topo, d);
            t->nic_switch[t->nics] = tutti_topo_io_switch(topo, d);
            t->nic_package[t->nics] = tutti_topo_io_package(topo, d);
            t->nics++;
        }
    }
}

/* This machine's topology, discovered once per process: discovery reads
 * sysfs and the PCI tree (tens of milliseconds of CPU; 64 ranks starting
 * at once on a small node spent seconds in it, twice per communicator).
 * What depends on the binding (my package and NUMA node) is computed again
 * at every load, from the cached tree. */
static pthread_mutex_t tutti_topo_lock = PTHREAD_MUTEX_INITIALIZER;
static hwloc_topology_t tutti_topo_this;

int tutti_topo_load_from(tutti_topo_local_t *t, const char *xml, const char *synthetic, char *err, size_t errlen)
{
    hwloc_topology_t topo;
    memset(t, 0, sizeof(*t));
    t->my_package = t->my_numa = -1;
    if (!(xml && xml[0]) && !(synthetic && synthetic[0])) {
        pthread_mutex_lock(&tutti_topo_lock);
        int rc = tutti_topo_this ? 0 : tutti_topo_open(&tutti_topo_this, NULL, NULL, err, errlen);
        if (rc == 0) tutti_topo_fill(tutti_topo_this, t);
        pthread_mutex_unlock(&tutti_topo_lock);
        if (rc == 0) snprintf(t->source, sizeof(t->source), "this machine");
        return rc;
    }
    if (tutti_topo_open(&topo, xml, synthetic, err, errlen) != 0) return -1;
    tutti_topo_fill(topo, t);
    if (synthetic && synthetic[0]) snprintf(t->source, sizeof(t->source), "synthetic '%.120s'", synthetic);
    else if (xml && xml[0]) snprintf(t->source, sizeof(t->source), "XML file %.140s", xml);
    else snprintf(t->source, sizeof(t->source), "this machine");
    hwloc_topology_destroy(topo);
    return 0;
}

int tutti_topo_load(tutti_topo_local_t *t, int rank, char *err, size_t errlen)
{
    char xml[512];
    tutti_topo_expand(tutti_param_str(TUTTI_P_TOPO_FILE), rank, xml, sizeof(xml));
    return tutti_topo_load_from(t, xml, tutti_param_str(TUTTI_P_TOPO_SYNTHETIC), err, errlen);
}

int tutti_topo_local(tutti_topo_local_t *t)
{
    char err[256];
    return tutti_topo_load(t, -1, err, sizeof(err));
}

int tutti_topo_dump(const char *path, int rank, const char *const *facts, int nfacts, char *err, size_t errlen)
{
    char xml[512], out[512];
    hwloc_topology_t topo;
    tutti_topo_expand(tutti_param_str(TUTTI_P_TOPO_FILE), rank, xml, sizeof(xml));
    if (tutti_topo_open(&topo, xml, tutti_param_str(TUTTI_P_TOPO_SYNTHETIC), err, errlen) != 0) return -1;
    hwloc_obj_t root = hwloc_get_root_obj(topo);
    for (int k = 0; k < nfacts; k++) {
        char name[64];
        const char *eq = strchr(facts[k], '=');
        if (!eq || (size_t)(eq - facts[k]) >= sizeof(name)) continue;
        memcpy(name, facts[k], (size_t)(eq - facts[k]));
        name[eq - facts[k]] = '\0';
        hwloc_obj_add_info(root, name, eq + 1);
    }
    tutti_topo_expand(path, rank, out, sizeof(out));
    int rc = hwloc_topology_export_xml(topo, out, 0);
    if (rc != 0) snprintf(err, errlen, "TUTTI_TOPO_DUMP_FILE: cannot write '%s': %s", out, strerror(errno));
    hwloc_topology_destroy(topo);
    return rc == 0 ? 0 : -1;
}

void tutti_topo_format(const tutti_topo_local_t *t, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%d package%s, %d NUMA node%s, %d cores, %d PUs, L3 %llu MiB, bound to %d PU%s",
                     t->packages, t->packages == 1 ? "" : "s", t->numa_nodes, t->numa_nodes == 1 ? "" : "s",
                     t->cores, t->pus, t->l3_bytes >> 20, t->bound_pus, t->bound_pus == 1 ? "" : "s");
    if (n > 0 && (size_t)n < len && (t->gpus || t->nics))
        n += snprintf(buf + n, len - (size_t)n, ", %d GPU%s, %d NIC%s", t->gpus, t->gpus == 1 ? "" : "s", t->nics,
                      t->nics == 1 ? "" : "s");
    if (n > 0 && (size_t)n < len && !t->is_thissystem) snprintf(buf + n, len - (size_t)n, " (%s)", t->source);
}

void tutti_topo_summary(char *buf, size_t len)
{
    tutti_topo_local_t t;
    char err[256];
    if (tutti_topo_load(&t, -1, err, sizeof(err)) != 0) {
        snprintf(buf, len, "topology unknown (%s)", err);
        return;
    }
    tutti_topo_format(&t, buf, len);
}
