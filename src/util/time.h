/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TUTTI_UTIL_TIME_H
#define TUTTI_UTIL_TIME_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

/* Monotonic seconds. */
static inline double tutti_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Monotonic seconds at the kernel tick's resolution (a few ms), for
 * bookkeeping on every call (flight recorder, stall deadlines): a third of
 * the cost of tutti_time_now (10 against 29 ns here), which a small
 * collective paid three times.  Not comparable with tutti_time_now. */
#ifdef CLOCK_MONOTONIC_COARSE
#define TUTTI_CLOCK_COARSE CLOCK_MONOTONIC_COARSE
#else
#define TUTTI_CLOCK_COARSE CLOCK_MONOTONIC
#endif
static inline double tutti_time_coarse(void)
{
    struct timespec ts;
    clock_gettime(TUTTI_CLOCK_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The coarse clock's tick, in seconds. */
static inline double tutti_time_coarse_res(void)
{
    struct timespec ts = {0, 0};
    clock_getres(TUTTI_CLOCK_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void tutti_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * Spin-then-yield backoff for every wait loop: the spin phase only pauses
 * the core, for `spin` polls or `spin_s` seconds, whichever ends first (a
 * poll costs 50 ns on shared memory but a system call over TCP, so a count
 * alone spun for milliseconds there and starved whatever shared the CPUs);
 * after it each poll yields the CPU (or the caller sleeps in the kernel
 * where a transport can wake it), so a rank that waits lets an
 * oversubscribed peer run.  After 4096 yields it sleeps 50 us between
 * polls, so idle ranks stop competing with busy ones.  Progress restarts
 * the spin phase (tutti_backoff_reset).
 */
typedef struct {
    uint32_t polls;
    uint32_t spin;
    double spin_s; /* the spin phase's time limit; 0: none */
    double since;  /* when the spin phase's clock started; 0: not yet */
} tutti_backoff_t;

/* The clock starts at the 8th poll, not here: a wait done within a few
 * polls (a small call over shared memory, under a microsecond) reads no
 * clock at all. */
static inline void tutti_backoff_reset(tutti_backoff_t *b)
{
    b->polls = 0;
    b->since = 0;
}

static inline void tutti_backoff_init(tutti_backoff_t *b, uint32_t spin, double spin_s)
{
    b->spin = spin;
    b->spin_s = spin_s;
    tutti_backoff_reset(b);
}

/* Past the spin phase: the caller may sleep in the kernel instead. */
static inline int tutti_backoff_spun(const tutti_backoff_t *b) { return b->polls >= b->spin; }

static inline void tutti_backoff_wait(tutti_backoff_t *b)
{
    if (b->polls < b->spin) {
        b->polls++;
        /* the clock every 8 polls: a spin phase's end within a few polls
         * (the first 8 are not counted in its time) */
        if (b->spin_s > 0 && (b->polls & 7u) == 0) {
            double now = tutti_time_now();
            if (b->since == 0) b->since = now;
            else if (now - b->since >= b->spin_s) b->polls = b->spin;
        }
        tutti_cpu_relax();
        return;
    }
    if (b->polls < b->spin + 4096u) {
        b->polls++;
        sched_yield();
        return;
    }
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
}

#endif
