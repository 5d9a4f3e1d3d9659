/* SPDX-License-Identifier: BSD-3-Clause */
/* The shm transport's segment: create (sparse), map its header, unlink;
 * FIFOs backed and mapped on first use; liveness. */
#include "shm/shm.h"

#include "core/fingerprint.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/param.h"

/* the segment is sparse: this only guards the offsets (16 TiB of address) */
#define TUTTI_SHM_MAX_SEGMENT (1ULL << 44)

typedef struct {
    int32_t status; /* 0 ok, else an errno */
    int32_t stage;  /* what failed */
} tutti_shm_status_t;

static const char *const tutti_shm_stages[] = {"", "shm_open(create)", "ftruncate", "mmap",
                                               "shm_open", "segment check", "size limit"};

uint64_t tutti_shm_proc_starttime(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ') return 0;
    p += 2;
    char state = *p;
    if (state == 'Z' || state == 'X' || state == 'x') return 0;
    /* fields after the command: state is field 3, start time field 22 */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p) p++;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

static uint64_t tutti_shm_pidns(void)
{
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) != 0) return 0;
    return (uint64_t)st.st_ino;
}

tutti_result_t tutti_shm_cma_read(int pid, uint64_t addr, void *dst, size_t len)
{
    size_t done = 0;
    while (done < len) {
        struct iovec l = {(char *)dst + done, len - done};
        struct iovec r = {(void *)(uintptr_t)(addr + done), len - done};
        ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* ESRCH: the peer is gone; anything else: its buffer vanished */
            return TUTTI_ERR_REMOTE;
        }
        if (n == 0) return TUTTI_ERR_REMOTE;
        done += (size_t)n;
    }
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_shm_peer_alive(tutti_shm_comm_t *sc, int local, uint64_t seq, uint32_t tag, char *why,
                                    size_t whylen)
{
    const tutti_shm_peer_t *pe = &sc->peers[local];
    int32_t failed = __atomic_load_n(&pe->failed, __ATOMIC_ACQUIRE);
    if (failed) {
        snprintf(why, whylen, "it reported: %.150s", pe->why);
        /* a mismatch stays a mismatch for everyone; other failures of a peer
         * are remote errors here */
        return failed == TUTTI_ERR_MISMATCH ? TUTTI_ERR_MISMATCH : TUTTI_ERR_REMOTE;
    }
    uint64_t state = __atomic_load_n(&pe->state, __ATOMIC_ACQUIRE);
    if (state && seq != TUTTI_SEQ_NONE && (uint32_t)(state >> 32) == (uint32_t)seq && (uint32_t)state != tag) {
        char theirs[160];
        tutti_fingerprint_describe((uint32_t)state, tag, theirs, sizeof(theirs));
        snprintf(why, whylen, "is in %s", theirs);
        return TUTTI_ERR_MISMATCH;
    }
    if (!pe->pidns || pe->pidns != sc->my_pidns) return TUTTI_SUCCESS; /* cannot tell from here */
    uint64_t st = tutti_shm_proc_starttime(pe->pid);
    if (st == 0 || st != pe->starttime) {
        snprintf(why, whylen, "its process (pid %d) has exited", pe->pid);
        return TUTTI_ERR_REMOTE;
    }
    return TUTTI_SUCCESS;
}

void *tutti_shm_allgather(const tutti_tp_setup_t *setup, const void *mine, size_t bytes, tutti_result_t *r)
{
    void *all = calloc((size_t)setup->nranks, bytes);
    if (!all) {
        snprintf(setup->err, setup->errlen, "shm: out of memory");
        *r = TUTTI_ERR_NO_MEMORY;
        return NULL;
    }
    *r = setup->boot->allgather(setup->boot->ctx, mine, all, bytes);
    if (*r != TUTTI_SUCCESS) {
        if (!setup->err[0]) snprintf(setup->err, setup->errlen, "shm: bootstrap allgather failed");
        free(all);
        return NULL;
    }
    return all;
}

/* Everyone learns everyone's status; fails with a message naming the first
 * rank that failed. */
static tutti_result_t tutti_shm_agree(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup, tutti_shm_status_t mine)
{
    tutti_result_t r;
    tutti_shm_status_t *all = tutti_shm_allgather(setup, &mine, sizeof(mine), &r);
    if (!all) return r;
    for (int q = 0; q < setup->nranks; q++) {
        if (all[q].status == 0) continue;
        int stage = all[q].stage >= 0 && all[q].stage < 7 ? all[q].stage : 0;
        snprintf(setup->err, setup->errlen,
                 "shm: rank %d failed to set up segment %s: %s: %s%s", q, sc->name, tutti_shm_stages[stage],
                 strerror(all[q].status),
                 all[q].status == ENOSPC || all[q].status == ENOMEM
                     ? " (is /dev/shm large enough? lower TUTTI_SHM_SLOT_SIZE or TUTTI_SHM_NSLOTS)"
                     : "");
        int status = all[q].status;
        free(all);
        return status == ENOMEM ? TUTTI_ERR_NO_MEMORY : TUTTI_ERR_SYSTEM;
    }
    free(all);
    return TUTTI_SUCCESS;
}

tutti_result_t tutti_shm_seg_setup(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup)
{
    tutti_result_t r;
    tutti_shm_status_t st = {0, 0};
    int created = 0;
    sc->fd = -1;
    sc->ctrl_bytes = (sizeof(tutti_shm_ctrl_t) + (size_t)sc->nslots * sizeof(tutti_shm_slot_t) + 4095) & ~(size_t)4095;
    sc->fifo_bytes = (sc->ctrl_bytes + (size_t)sc->nslots * sc->slot_size + 4095) & ~(size_t)4095;
    sc->hdr_bytes = 4096 + (((size_t)sc->nlocal * sizeof(tutti_shm_peer_t) + 4095) & ~(size_t)4095);
    size_t fifo_bytes = sc->fifo_bytes, hdr = sc->hdr_bytes;
    double nfifo = (double)sc->nlocal * (double)(sc->nlocal - 1) * (double)sc->nchan;
    size_t total = hdr + (size_t)(nfifo * (double)fifo_bytes);
    int node = setup->node_of_rank[setup->rank];
    snprintf(sc->name, sizeof(sc->name), "/tutti-%016llx-%d", (unsigned long long)setup->comm_id, node);
    sc->my_pidns = tutti_shm_pidns();
    int active = sc->nlocal > 1;

    /* 1. the node's first local rank creates the segment: sparse, only its
     * header gets pages now */
    if (active && (double)hdr + nfifo * (double)fifo_bytes > (double)TUTTI_SHM_MAX_SEGMENT) {
        st.status = ENOMEM;
        st.stage = 6;
    } else if (active && sc->me == 0) {
        sc->fd = shm_open(sc->name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (sc->fd < 0) {
            st.status = errno;
            st.stage = 1;
        } else {
            created = 1;
            int e = ftruncate(sc->fd, (off_t)total) != 0 ? errno : posix_fallocate(sc->fd, 0, (off_t)hdr);
            if (e != 0) {
                st.status = e;
                st.stage = 2;
            } else {
                sc->base = mmap(NULL, hdr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, sc->fd, 0);
                if (sc->base == MAP_FAILED) {
                    sc->base = NULL;
                    st.status = errno;
                    st.stage = 3;
                } else {
                    sc->size = hdr;
                    tutti_shm_seg_hdr_t *h = sc->base;
                    h->comm_id = setup->comm_id;
                    h->nlocal = (uint32_t)sc->nlocal;
                    h->nchan = (uint32_t)sc->nchan;
                    h->nslots = sc->nslots;
                    h->slot_size = sc->slot_size;
                    h->fifo_bytes = fifo_bytes;
                    h->total_bytes = total;
                    __atomic_store_n(&h->magic, TUTTI_SHM_MAGIC, __ATOMIC_RELEASE);
                }
            }
        }
    }
    r = tutti_shm_agree(sc, setup, st);
    if (r != TUTTI_SUCCESS) goto fail;

    /* 2. the others open it and map its header; everyone records who it is */
    if (active && sc->me != 0) {
        sc->fd = shm_open(sc->name, O_RDWR, 0600);
        struct stat sb;
        if (sc->fd < 0) {
            st.status = errno;
            st.stage = 4;
        } else if (fstat(sc->fd, &sb) != 0 || (size_t)sb.st_size != total) {
            st.status = EINVAL;
            st.stage = 5;
        } else {
            sc->base = mmap(NULL, hdr, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, sc->fd, 0);
            if (sc->base == MAP_FAILED) {
                sc->base = NULL;
                st.status = errno;
                st.stage = 3;
            } else {
                sc->size = hdr;
                const tutti_shm_seg_hdr_t *h = sc->base;
                if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != TUTTI_SHM_MAGIC ||
                    h->comm_id != setup->comm_id || h->fifo_bytes != fifo_bytes || h->nlocal != (uint32_t)sc->nlocal) {
                    st.status = EINVAL;
                    st.stage = 5;
                }
            }
        }
    }
    if (active && sc->base) {
        sc->peers = (tutti_shm_peer_t *)((char *)sc->base + 4096);
        tutti_shm_peer_t *me = &sc->peers[sc->me];
        me->pid = (int32_t)getpid();
        me->starttime = tutti_shm_proc_starttime(me->pid);
        me->pidns = sc->my_pidns;
        sc->probe_word = 0x6f62657270697474ULL ^ (uint64_t)me->pid;
        me->probe = (uint64_t)(uintptr_t)&sc->probe_word;
        me->ready = 1;
    }
    r = tutti_shm_agree(sc, setup, st);
    /* 3. everyone has mapped it (or given up): nothing may stay in /dev/shm */
    if (active) shm_unlink(sc->name);
    created = 0;
    if (r != TUTTI_SUCCESS) goto fail;

    /* 4. single copy: can every local rank read every other?  All must agree
     * (a sender may only send references every receiver can read). */
    {
        int cma_wanted = tutti_param_int(TUTTI_P_SHM_CMA) != 0;
        tutti_shm_status_t cs = {0, 0};
        int why = 0;
        for (int l = 0; active && cma_wanted && l < sc->nlocal; l++) {
            if (l == sc->me) continue;
            uint64_t got = 0;
            const tutti_shm_peer_t *pe = &sc->peers[l];
            errno = 0;
            if (tutti_shm_cma_read(pe->pid, pe->probe, &got, sizeof(got)) != TUTTI_SUCCESS ||
                got != (0x6f62657270697474ULL ^ (uint64_t)pe->pid)) {
                why = errno ? errno : EINVAL;
                break;
            }
        }
        cs.status = why; /* agreement only: a failure here is not an error */
        tutti_shm_status_t *all = tutti_shm_allgather(setup, &cs, sizeof(cs), &r);
        if (!all) goto fail;
        int ok = active && cma_wanted;
        for (int l = 0; ok && l < sc->nlocal; l++)
            if (all[sc->local_ranks[l]].status) {
                if (sc->me == 0)
                    TUTTI_INFO(TUTTI_SUBSYS_SHM, setup->rank,
                               "single-copy reads (process_vm_readv) unavailable: rank %d: %s%s; large messages "
                               "go through the FIFOs",
                               sc->local_ranks[l], strerror(all[sc->local_ranks[l]].status),
                               all[sc->local_ranks[l]].status == EPERM ? " (ptrace restricted, e.g. Yama ptrace_scope)" : "");
                ok = 0;
            }
        free(all);
        sc->cma = ok;
    }
    if (active)
        TUTTI_INFO(TUTTI_SUBSYS_SHM, setup->rank,
                   "segment %s: %d local ranks, %d channels, %u slots of %zu bytes per FIFO (%zu KiB each, mapped "
                   "on first use), single copy %s",
                   sc->name, sc->nlocal, sc->nchan, sc->nslots, sc->slot_size, fifo_bytes >> 10, sc->cma ? "on" : "off");
    return TUTTI_SUCCESS;
fail:
    if (created) shm_unlink(sc->name);
    tutti_shm_seg_release(sc);
    return r;
}

void tutti_shm_seg_release(tutti_shm_comm_t *sc)
{
    if (sc->base) munmap(sc->base, sc->size);
    if (sc->fd >= 0) close(sc->fd);
    sc->fd = -1;
    sc->base = NULL;
    sc->peers = NULL;
}

tutti_result_t tutti_shm_conn_map(tutti_shm_conn_t *c)
{
    tutti_shm_comm_t *sc = c->owner;
    if (c->map_err) return c->map_err;
    const char *what = "posix_fallocate";
    int e = sc->fd < 0 ? EBADF : posix_fallocate(sc->fd, (off_t)c->off, (off_t)sc->fifo_bytes);
    if (e == 0) {
        what = "mmap";
        void *m = mmap(NULL, sc->fifo_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, sc->fd, (off_t)c->off);
        if (m != MAP_FAILED) {
            c->map = m;
            c->ctrl = (tutti_shm_ctrl_t *)m;
            c->slots = (tutti_shm_slot_t *)((char *)m + sizeof(tutti_shm_ctrl_t));
            c->data = (char *)m + sc->ctrl_bytes;
            sc->nmapped++;
            return TUTTI_SUCCESS;
        }
        e = errno;
    }
    c->map_err = e == ENOMEM || e == ENOSPC ? TUTTI_ERR_NO_MEMORY : TUTTI_ERR_SYSTEM;
    snprintf(sc->map_why, sizeof(sc->map_why), "its shared-memory FIFO (%zu KiB) could not be set up: %s: %s%s",
             sc->fifo_bytes >> 10, what, strerror(e),
             e == ENOSPC || e == ENOMEM ? " (is /dev/shm large enough? lower TUTTI_SHM_SLOT_SIZE or TUTTI_SHM_NSLOTS)"
                                        : "");
    TUTTI_WARN(TUTTI_SUBSYS_SHM, sc->local_ranks[sc->me], "shm: rank %d: %s", c->peer, sc->map_why);
    return c->map_err;
}

void tutti_shm_conn_unmap(tutti_shm_conn_t *c)
{
    if (c->map) munmap(c->map, c->owner->fifo_bytes);
    c->map = NULL;
    c->ctrl = NULL;
    c->slots = NULL;
    c->data = NULL;
}
