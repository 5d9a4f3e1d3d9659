/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The shm transport's windows: one small segment per local rank, created,
 * sized and faulted in by its owner (so its pages sit on the owner's NUMA
 * node under first-touch placement), then mapped by every other local rank:
 *
 *   /tutti-<comm id>-<node>-w<local index>:
 *       [control block: call | copied | reduced | consumed, a line each] (4 KiB)
 *       [buffer 0: bytes][buffer 1: bytes]
 *
 * Memory per node is linear in its ranks (2 x TUTTI_SHM_WIN_SIZE each),
 * unlike the FIFOs (one per ordered pair).  Every rank checks that all
 * local ranks asked for the same sizes, all map all windows, then every
 * window is unlinked: nothing stays in /dev/shm, and a window stays mapped
 * (readable) in its readers after its owner died.
 */
#include "shm/shm.h"

#include "util/log.h"
#include "util/param.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TUTTI_SHM_WIN_CTL 4096

typedef struct {
    int32_t status; /* 0, or an errno */
    int32_t stage;
    uint64_t bytes, oneshot; /* what this rank asked for */
} tutti_shm_win_status_t;

static const char *const tutti_shm_win_stages[] = {"", "shm_open(create)", "posix_fallocate", "mmap", "shm_open",
                                                   "size check", "sizes differ"};

static void tutti_shm_win_name(const tutti_shm_comm_t *sc, int local, char *buf, size_t len)
{
    snprintf(buf, len, "%s-w%d", sc->name, local);
}

/* Every local rank's status (the allgather spans the communicator: ranks
 * on other nodes send theirs too); the first failure on this node, named. */
static tutti_result_t tutti_shm_win_agree(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup,
                                          tutti_shm_win_status_t mine)
{
    tutti_result_t r;
    tutti_shm_win_status_t *all = tutti_shm_allgather(setup, &mine, sizeof(mine), &r);
    if (!all) return r;
    for (int l = 0; l < sc->nlocal && r == TUTTI_SUCCESS; l++) {
        const tutti_shm_win_status_t *s = &all[sc->local_ranks[l]];
        if (s->bytes != mine.bytes || s->oneshot != mine.oneshot) {
            snprintf(setup->err, setup->errlen,
                     "shm: rank %d asks for windows of %llu bytes (one-shot up to %llu), rank %d for %llu (%llu): "
                     "set TUTTI_SHM_WIN_SIZE and TUTTI_SHM_WIN_ONESHOT alike on every rank",
                     setup->rank, (unsigned long long)mine.bytes, (unsigned long long)mine.oneshot,
                     sc->local_ranks[l], (unsigned long long)s->bytes, (unsigned long long)s->oneshot);
            r = TUTTI_ERR_INVALID_ARGUMENT;
        } else if (s->status) {
            int stage = s->stage > 0 && s->stage < 7 ? s->stage : 0;
            snprintf(setup->err, setup->errlen, "shm: rank %d failed to set up its window: %s: %s%s",
                     sc->local_ranks[l], tutti_shm_win_stages[stage], strerror(s->status),
                     s->status == ENOSPC || s->status == ENOMEM
                         ? " (is /dev/shm large enough? lower TUTTI_SHM_WIN_SIZE, or 0 for no windows)"
                         : "");
            r = s->status == ENOMEM || s->status == ENOSPC ? TUTTI_ERR_NO_MEMORY : TUTTI_ERR_SYSTEM;
        }
    }
    free(all);
    return r;
}

/* Maps a window segment of sc->win_map bytes, pre-faulted; NULL with the
 * stage and errno in *st. */
static void *tutti_shm_win_map(const tutti_shm_comm_t *sc, int fd, tutti_shm_win_status_t *st)
{
    void *m = mmap(NULL, sc->win_map, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (m != MAP_FAILED) return m;
    st->status = errno;
    st->stage = 3;
    return NULL;
}

tutti_result_t tutti_shm_win_setup(tutti_shm_comm_t *sc, const tutti_tp_setup_t *setup)
{
    tutti_shm_win_status_t st = {0, 0, 0, 0};
    size_t bytes = (size_t)tutti_param_size(TUTTI_P_SHM_WIN_SIZE) & ~(size_t)63;
    int active = sc->nlocal > 1 && bytes > 0;
    char name[96];
    int fd = -1;
    tutti_result_t r;
    st.bytes = active ? bytes : 0;
    st.oneshot = tutti_param_size(TUTTI_P_SHM_WIN_ONESHOT);
    sc->win_nbuf = 2;
    sc->win_map = TUTTI_SHM_WIN_CTL + (size_t)sc->win_nbuf * bytes;
    if (active) {
        sc->win_base = calloc((size_t)setup->nranks, sizeof(char *));
        sc->win_ctl = calloc((size_t)setup->nranks, sizeof(tutti_tp_winctl_t *));
        sc->win_maps = calloc((size_t)sc->nlocal, sizeof(void *));
        if (!sc->win_base || !sc->win_ctl || !sc->win_maps) {
            st.status = ENOMEM;
            st.stage = 3;
            active = 0;
        }
    }
    /* 1. each rank creates, sizes and faults in its own window */
    if (active) {
        tutti_shm_win_name(sc, sc->me, name, sizeof(name));
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0) {
            st.status = errno;
            st.stage = 1;
        } else {
            sc->win_created = 1;
            int e = posix_fallocate(fd, 0, (off_t)sc->win_map);
            if (e != 0) {
                st.status = e;
                st.stage = 2;
            } else {
                void *m = tutti_shm_win_map(sc, fd, &st);
                if (m) {
                    sc->win_maps[sc->me] = m;
                    memset(m, 0, sc->win_map); /* touched here, by its owner */
                }
            }
            close(fd);
            fd = -1;
        }
    }
    r = tutti_shm_win_agree(sc, setup, st);
    if (r != TUTTI_SUCCESS) goto out;
    /* 2. everyone maps everyone else's */
    for (int l = 0; active && l < sc->nlocal && st.status == 0; l++) {
        if (l == sc->me) continue;
        tutti_shm_win_name(sc, l, name, sizeof(name));
        struct stat sb;
        fd = shm_open(name, O_RDWR, 0600);
        if (fd < 0) {
            st.status = errno;
            st.stage = 4;
        } else if (fstat(fd, &sb) != 0 || (size_t)sb.st_size != sc->win_map) {
            st.status = EINVAL;
            st.stage = 5;
        } else {
            sc->win_maps[l] = tutti_shm_win_map(sc, fd, &st);
        }
        if (fd >= 0) close(fd);
        fd = -1;
    }
    r = tutti_shm_win_agree(sc, setup, st);
out:
    /* 3. mapped everywhere (or given up): unlink */
    if (sc->win_created) {
        tutti_shm_win_name(sc, sc->me, name, sizeof(name));
        shm_unlink(name);
        sc->win_created = 0;
    }
    if (r != TUTTI_SUCCESS || !active) {
        tutti_shm_win_release(sc);
        return r;
    }
    for (int l = 0; l < sc->nlocal; l++) {
        char *m = sc->win_maps[l];
        sc->win_ctl[sc->local_ranks[l]] = (tutti_tp_winctl_t *)m;
        sc->win_base[sc->local_ranks[l]] = m + TUTTI_SHM_WIN_CTL;
    }
    sc->win_bytes = bytes;
    sc->win_oneshot = (size_t)st.oneshot;
    TUTTI_INFO(TUTTI_SUBSYS_SHM, setup->rank, "windows: %d x %zu KiB per rank, %zu KiB per node", sc->win_nbuf,
               bytes >> 10, ((size_t)sc->nlocal * sc->win_map) >> 10);
    return TUTTI_SUCCESS;
}

void tutti_shm_win_release(tutti_shm_comm_t *sc)
{
    for (int l = 0; sc->win_maps && l < sc->nlocal; l++)
        if (sc->win_maps[l]) munmap(sc->win_maps[l], sc->win_map);
    free(sc->win_maps);
    free(sc->win_base);
    free(sc->win_ctl);
    sc->win_maps = NULL;
    sc->win_base = NULL;
    sc->win_ctl = NULL;
    sc->win_bytes = 0;
}

tutti_result_t tutti_shm_window(void *tpcomm, tutti_tp_window_t *w)
{
    tutti_shm_comm_t *sc = tpcomm;
    if (!sc || !sc->win_bytes || !w || w->size < sizeof(*w)) return TUTTI_ERR_UNSUPPORTED;
    w->bytes = sc->win_bytes;
    w->nbuf = sc->win_nbuf;
    w->oneshot = sc->win_oneshot;
    w->nt_min = (size_t)tutti_param_size(TUTTI_P_SHM_WIN_NT_MIN);
    w->base = sc->win_base;
    w->ctl = sc->win_ctl;
    return TUTTI_SUCCESS;
}
