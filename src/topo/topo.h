/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local machine as hwloc sees it.  This first version summarises it for
 * logs and tutti-info; the job-wide view, rings and trees built from it and
 * the cost model come with the tuner.
 */
#ifndef TUTTI_TOPO_H
#define TUTTI_TOPO_H

#include <stddef.h>

typedef struct {
    int packages, numa_nodes, cores, pus;
    unsigned long long l3_bytes; /* largest L3 (or last-level) cache */
    int bound_pus;               /* PUs this process may run on */
    int is_thissystem;           /* 0 when loaded from XML or synthetic */
} tutti_topo_local_t;

/* 0 on success. */
int tutti_topo_local(tutti_topo_local_t *t);

/* "1 package, 1 NUMA node, 2 cores, 2 PUs, L3 32 MiB, bound to 2 PUs" */
void tutti_topo_summary(char *buf, size_t len);

#endif
