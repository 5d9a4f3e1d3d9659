/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local machine as hwloc sees it: packages, NUMA nodes, caches, cores,
 * where this process is bound, and the PCI GPUs and NICs with the NUMA node
 * each is attached to.
 *
 * Source, in order: TUTTI_TOPO_SYNTHETIC (an hwloc synthetic description,
 * e.g. "pack:2 numa:1 l3:1 core:8 pu:2"), TUTTI_TOPO_FILE (an hwloc XML
 * file; "%r" in the name becomes the rank, so each rank may have its own),
 * else this machine.  TUTTI_TOPO_DUMP_FILE writes the topology in use as
 * hwloc XML, with tutti's own facts added as info attributes of the root
 * object ("Tutti*" names, docs/TOPOLOGY.md).
 */
#ifndef TUTTI_TOPO_H
#define TUTTI_TOPO_H

#include <stddef.h>

#define TUTTI_TOPO_MAX_DEVS 16

typedef struct {
    int packages, numa_nodes, cores, pus;
    unsigned long long l3_bytes; /* largest L3 (or last-level) cache */
    int bound_pus;               /* PUs this process may run on */
    int is_thissystem;           /* 0 when loaded from XML or synthetic */
    int my_package, my_numa;     /* logical index of the first PU bound to; -1 unknown */
    int gpus, nics;              /* PCI GPUs (display/3D class), NICs (Ethernet, InfiniBand) */
    int gpu_numa[TUTTI_TOPO_MAX_DEVS], nic_numa[TUTTI_TOPO_MAX_DEVS]; /* NUMA node of each; -1 unknown */
    int gpu_switch[TUTTI_TOPO_MAX_DEVS], nic_switch[TUTTI_TOPO_MAX_DEVS]; /* PCI switch (bridge) index; -1 none */
    int nic_package[TUTTI_TOPO_MAX_DEVS]; /* package each NIC hangs off; -1 unknown */
    char source[160];            /* "this machine", "XML file ...", "synthetic '...'" */
} tutti_topo_local_t;

/* Loads per the environment (rank substitutes "%r" in TUTTI_TOPO_FILE; -1
 * when unknown).  0, or -1 with a message naming the source in err. */
int tutti_topo_load(tutti_topo_local_t *t, int rank, char *err, size_t errlen);

/* The same from an explicit source (xml or synthetic may be NULL; both
 * NULL: this machine).  For tests and tutti-info. */
int tutti_topo_load_from(tutti_topo_local_t *t, const char *xml, const char *synthetic, char *err, size_t errlen);

/* Loads per the environment, rank unknown; 0 on success. */
int tutti_topo_local(tutti_topo_local_t *t);

/* Writes the topology of the environment's source as hwloc XML to path,
 * with info attributes facts[k] = "Name=value" added to the root object.
 * 0, or -1 with a message. */
int tutti_topo_dump(const char *path, int rank, const char *const *facts, int nfacts, char *err, size_t errlen);

/* "1 package, 1 NUMA node, 2 cores, 2 PUs, L3 32 MiB, bound to 2 PUs" (and
 * GPUs, NICs, the source when not this machine). */
void tutti_topo_format(const tutti_topo_local_t *t, char *buf, size_t len);
void tutti_topo_summary(char *buf, size_t len);

#endif
