/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging by level and subsystem.  Configured once per process from
 * TUTTI_DEBUG, TUTTI_DEBUG_SUBSYS and TUTTI_DEBUG_FILE; a disabled message
 * costs one load and a compare.  Lines look like
 *     tutti vm:1234 [r3] INFO COLL: allreduce 4096 B float32 sum -> ring
 */
#ifndef TUTTI_UTIL_LOG_H
#define TUTTI_UTIL_LOG_H

#include <stdint.h>

typedef enum {
    TUTTI_LOG_NONE = 0,
    TUTTI_LOG_VERSION = 1,
    TUTTI_LOG_WARN = 2,
    TUTTI_LOG_INFO = 3,
    TUTTI_LOG_TRACE = 4,
} tutti_log_level_t;

#define TUTTI_SUBSYS_MAP(X)                                                    \
    X(INIT) X(BOOTSTRAP) X(COLL) X(ENGINE) X(SHM) X(TRANSPORT) X(PARAM) X(MPI) X(TUNE)

enum {
#define TUTTI_SUBSYS_BIT_(name) TUTTI_SUBSYS_BIT_##name,
    TUTTI_SUBSYS_MAP(TUTTI_SUBSYS_BIT_)
#undef TUTTI_SUBSYS_BIT_
        TUTTI_SUBSYS_COUNT
};
#define TUTTI_SUBSYS_INIT (1u << TUTTI_SUBSYS_BIT_INIT)
#define TUTTI_SUBSYS_BOOTSTRAP (1u << TUTTI_SUBSYS_BIT_BOOTSTRAP)
#define TUTTI_SUBSYS_COLL (1u << TUTTI_SUBSYS_BIT_COLL)
#define TUTTI_SUBSYS_ENGINE (1u << TUTTI_SUBSYS_BIT_ENGINE)
#define TUTTI_SUBSYS_SHM (1u << TUTTI_SUBSYS_BIT_SHM)
#define TUTTI_SUBSYS_TRANSPORT (1u << TUTTI_SUBSYS_BIT_TRANSPORT)
#define TUTTI_SUBSYS_PARAM (1u << TUTTI_SUBSYS_BIT_PARAM)
#define TUTTI_SUBSYS_MPI (1u << TUTTI_SUBSYS_BIT_MPI)
#define TUTTI_SUBSYS_TUNE (1u << TUTTI_SUBSYS_BIT_TUNE)

typedef struct {
    int ready; /* atomically set once configured */
    int level;
    uint32_t mask;
} tutti_log_config_t;

extern tutti_log_config_t tutti_log_cfg;

void tutti_log_setup(void);
void tutti_log_write(int level, uint32_t subsys, int rank, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline int tutti_log_on(int level, uint32_t subsys)
{
    if (!__atomic_load_n(&tutti_log_cfg.ready, __ATOMIC_ACQUIRE)) tutti_log_setup();
    return level <= tutti_log_cfg.level && (tutti_log_cfg.mask & subsys);
}

#define TUTTI_LOG(level, subsys, rank, ...)                                    \
    do {                                                                       \
        if (tutti_log_on((level), (subsys)))                                   \
            tutti_log_write((level), (subsys), (rank), __VA_ARGS__);           \
    } while (0)

#define TUTTI_WARN(subsys, rank, ...) TUTTI_LOG(TUTTI_LOG_WARN, subsys, rank, __VA_ARGS__)
#define TUTTI_INFO(subsys, rank, ...) TUTTI_LOG(TUTTI_LOG_INFO, subsys, rank, __VA_ARGS__)
#define TUTTI_TRACE(subsys, rank, ...) TUTTI_LOG(TUTTI_LOG_TRACE, subsys, rank, __VA_ARGS__)

/* For the data path: logs only the first time this call site is reached. */
#define TUTTI_LOG_ONCE(level, subsys, rank, ...)                               \
    do {                                                                       \
        static int tutti_once_;                                                \
        if (tutti_log_on((level), (subsys)) &&                                 \
            !__atomic_exchange_n(&tutti_once_, 1, __ATOMIC_RELAXED))           \
            tutti_log_write((level), (subsys), (rank), __VA_ARGS__);           \
    } while (0)

#endif
