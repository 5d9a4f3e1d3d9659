/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/sched.h"

#include <stdlib.h>
#include <string.h>

void tutti_sched_init(tutti_sched_t *s, size_t slice_max, size_t esize, int nchan)
{
    memset(s, 0, sizeof(*s));
    tutti_sched_reset(s, slice_max, esize, nchan);
}

void tutti_sched_reset(tutti_sched_t *s, size_t slice_max, size_t esize, int nchan)
{
    s->nsteps = 0;
    s->nphases = 0;
    s->ngranks = 0;
    s->slice_max = slice_max;
    s->esize = esize ? esize : 1;
    s->nchan = nchan;
    s->oom = 0;
    s->stream_out = 0;
}

void tutti_sched_free(tutti_sched_t *s)
{
    free(s->steps);
    free(s->phases);
    free(s->granks);
    s->steps = NULL;
    s->phases = NULL;
    s->granks = NULL;
    s->capsteps = s->capphases = s->capgranks = 0;
}

void tutti_sched_phase(tutti_sched_t *s, size_t slice)
{
    if (s->nphases == s->capphases) {
        uint32_t cap = s->capphases ? 2 * s->capphases : 8;
        tutti_phase_t *n = realloc(s->phases, cap * sizeof(*n));
        if (!n) {
            s->oom = 1;
            return;
        }
        s->phases = n;
        s->capphases = cap;
    }
    if (slice == 0 || slice > s->slice_max) slice = s->slice_max;
    slice -= slice % s->esize;
    if (slice == 0) slice = s->esize;
    tutti_phase_t *ph = &s->phases[s->nphases++];
    ph->slice = slice;
    ph->first = s->nsteps;
    ph->nsteps = 0;
    ph->nstreams = 1;
    memset(ph->niters, 0, sizeof(ph->niters));
}

tutti_step_t *tutti_sched_step(tutti_sched_t *s)
{
    static __thread tutti_step_t scratch;
    if (s->nphases == 0 || s->oom) {
        s->oom = 1;
        memset(&scratch, 0, sizeof(scratch));
        return &scratch;
    }
    if (s->nsteps == s->capsteps) {
        uint32_t cap = s->capsteps ? 2 * s->capsteps : 16;
        tutti_step_t *n = realloc(s->steps, cap * sizeof(*n));
        if (!n) {
            s->oom = 1;
            memset(&scratch, 0, sizeof(scratch));
            return &scratch;
        }
        s->steps = n;
        s->capsteps = cap;
    }
    tutti_step_t *st = &s->steps[s->nsteps++];
    memset(st, 0, offsetof(tutti_step_t, recv));
    s->phases[s->nphases - 1].nsteps++;
    return st;
}

int32_t *tutti_sched_group(tutti_sched_t *s, int n, uint32_t *off)
{
    if (n < 0 || s->oom) return NULL;
    if (s->ngranks + (uint32_t)n > s->capgranks) {
        uint32_t cap = s->capgranks ? s->capgranks : 64;
        while (cap < s->ngranks + (uint32_t)n) cap *= 2;
        int32_t *g = realloc(s->granks, cap * sizeof(*g));
        if (!g) {
            s->oom = 1;
            return NULL;
        }
        s->granks = g;
        s->capgranks = cap;
    }
    *off = s->ngranks;
    s->ngranks += (uint32_t)n;
    return s->granks + *off;
}

void tutti_sched_finish(tutti_sched_t *s)
{
    for (uint32_t p = 0; p < s->nphases; p++) {
        tutti_phase_t *ph = &s->phases[p];
        memset(ph->niters, 0, sizeof(ph->niters));
        ph->nstreams = 1;
        for (uint32_t k = 0; k < ph->nsteps; k++) {
            const tutti_step_t *st = &s->steps[ph->first + k];
            if (st->stream >= TUTTI_MAX_STREAMS) {
                s->oom = 1; /* a builder bug: refuse to run */
                continue;
            }
            if ((uint32_t)st->stream + 1 > ph->nstreams) ph->nstreams = st->stream + 1u;
            /* an empty message (TUTTI_STEP_EMPTY) takes the first slice */
            uint64_t n = st->bytes ? (st->bytes + ph->slice - 1) / ph->slice : (st->flags & TUTTI_STEP_EMPTY) ? 1 : 0;
            if (st->flags & TUTTI_STEP_WIN) n = 1; /* the window runner cuts it */
            if (n > ph->niters[st->stream]) ph->niters[st->stream] = n;
        }
    }
}
