/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Registration cache for single-copy sends from user buffers.
 *
 * Registering memory (ibv_reg_mr: pinning pages, building the HCA's
 * translation) costs tens of microseconds, so registrations are kept and
 * reused: an entry covers a page-aligned range; a lookup takes any entry
 * that contains the request; a miss registers the page range of the request
 * and, when the cache holds TUTTI_IB_RCACHE_MAX entries or bytes, first
 * deregisters the least recently used entries nobody references.  Entries
 * in use by a send in flight (refs > 0) are never evicted.
 *
 * The hazard of every registration cache: memory freed by the application
 * and mapped again at the same address (free/munmap then malloc/mmap) keeps
 * the old, still pinned pages in the cached registration, and a send would
 * read stale bytes.  Libraries that cache for good hook munmap or use
 * on-demand paging; this one does neither, so (1) single-copy sends are off
 * unless TUTTI_IB_ZCOPY_MIN is set, (2) the cache is bounded, and (3)
 * TUTTI_IB_RCACHE=0 registers per send and deregisters when the send
 * completes, which is always correct.  Use the cache only where buffers live
 * as long as the communicator (the common case of training loops).
 *
 * Memory types: CUDA buffers would be registered with ibv_reg_dmabuf_mr (a
 * dma-buf fd from cuMemGetHandleForAddressRange) for GPUDirect RDMA; this
 * build has no CUDA support and returns TUTTI_ERR_UNSUPPORTED for them.
 */
#include "verbs/verbs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tutti_result_t tutti_verbs_rcache_init(tutti_verbs_rcache_t *rc, struct ibv_pd *pd, int enabled, int max,
                                       size_t max_bytes)
{
    memset(rc, 0, sizeof(*rc));
    rc->pd = pd;
    rc->enabled = enabled;
    rc->max = max > 0 ? max : 1;
    rc->max_bytes = max_bytes;
    rc->ent = calloc((size_t)rc->max, sizeof(*rc->ent));
    return rc->ent ? TUTTI_SUCCESS : TUTTI_ERR_NO_MEMORY;
}

static void tutti_verbs_rcache_drop(tutti_verbs_rcache_t *rc, int i)
{
    tutti_verbs_rentry_t *e = &rc->ent[i];
    if (e->mr) ibv_dereg_mr(e->mr);
    rc->bytes -= e->end - e->start;
    e->mr = NULL;
    e->start = e->end = 0;
    e->refs = 0;
    rc->n--;
}

/* Room for one more entry of `bytes`: evicts unreferenced entries, least
 * recently used first.  The index of a free entry, or -1. */
static int tutti_verbs_rcache_room(tutti_verbs_rcache_t *rc, size_t bytes)
{
    for (;;) {
        int free_i = -1, lru = -1;
        for (int i = 0; i < rc->max; i++) {
            tutti_verbs_rentry_t *e = &rc->ent[i];
            if (!e->mr) {
                if (free_i < 0) free_i = i;
            } else if (e->refs == 0 && (lru < 0 || e->used < rc->ent[lru].used)) {
                lru = i;
            }
        }
        int fits = rc->max_bytes == 0 || rc->bytes + bytes <= rc->max_bytes || rc->n == 0;
        if (free_i >= 0 && fits) return free_i;
        if (lru < 0) return free_i; /* everything in use: go over the byte bound rather than fail */
        tutti_verbs_rcache_drop(rc, lru);
        rc->evictions++;
    }
}

tutti_result_t tutti_verbs_rcache_get(tutti_verbs_rcache_t *rc, const void *buf, size_t len, tutti_memtype_t mt,
                                      tutti_verbs_rentry_t **out, char *why, size_t whylen)
{
    if (mt != TUTTI_MEM_HOST) {
        /* GPUDirect: ibv_reg_dmabuf_mr on the buffer's dma-buf; not in this build */
        snprintf(why, whylen, "verbs: device memory (memory type %d) is not supported by this build", (int)mt);
        return TUTTI_ERR_UNSUPPORTED;
    }
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)buf & ~(page - 1);
    uintptr_t end = ((uintptr_t)buf + (len ? len : 1) + page - 1) & ~(page - 1);
    rc->clock++;
    if (rc->enabled) {
        for (int i = 0; i < rc->max; i++) {
            tutti_verbs_rentry_t *e = &rc->ent[i];
            if (e->mr && e->start <= start && end <= e->end) {
                e->refs++;
                e->used = rc->clock;
                rc->hits++;
                *out = e;
                return TUTTI_SUCCESS;
            }
        }
    }
    rc->misses++;
    int i = tutti_verbs_rcache_room(rc, end - start);
    if (i < 0) {
        snprintf(why, whylen, "verbs: registration cache full (%d entries in flight)", rc->max);
        return TUTTI_INPROGRESS; /* a send completes and frees one */
    }
    /* no access flags: the HCA only reads it (also read-only pages) */
    struct ibv_mr *mr = ibv_reg_mr(rc->pd, (void *)start, end - start, 0);
    if (!mr) {
        snprintf(why, whylen, "verbs: ibv_reg_mr of %zu bytes of a user buffer failed: %s%s", (size_t)(end - start),
                 strerror(errno), errno == ENOMEM ? " (locked-memory limit: ulimit -l)" : "");
        return TUTTI_ERR_SYSTEM;
    }
    tutti_verbs_rentry_t *e = &rc->ent[i];
    e->start = start;
    e->end = end;
    e->mr = mr;
    e->refs = 1;
    e->used = rc->clock;
    rc->n++;
    rc->bytes += end - start;
    *out = e;
    return TUTTI_SUCCESS;
}

void tutti_verbs_rcache_put(tutti_verbs_rcache_t *rc, tutti_verbs_rentry_t *e)
{
    if (!e || e->refs <= 0) return;
    e->refs--;
    if (e->refs == 0 && !rc->enabled) tutti_verbs_rcache_drop(rc, (int)(e - rc->ent));
}

void tutti_verbs_rcache_destroy(tutti_verbs_rcache_t *rc)
{
    if (!rc->ent) return;
    for (int i = 0; i < rc->max; i++)
        if (rc->ent[i].mr) tutti_verbs_rcache_drop(rc, i);
    free(rc->ent);
    rc->ent = NULL;
}
