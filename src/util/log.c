/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/log.h"

#include "util/param.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

tutti_log_config_t tutti_log_cfg;

static FILE *tutti_log_file;
static char tutti_log_host[64];
static pthread_once_t tutti_log_once = PTHREAD_ONCE_INIT;
static pthread_once_t tutti_log_warn_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t tutti_log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const tutti_subsys_names[TUTTI_SUBSYS_COUNT] = {
#define TUTTI_SUBSYS_NAME_(name) #name,
    TUTTI_SUBSYS_MAP(TUTTI_SUBSYS_NAME_)
#undef TUTTI_SUBSYS_NAME_
};

static const char *tutti_level_name(int level)
{
    switch (level) {
    case TUTTI_LOG_VERSION: return "VERSION";
    case TUTTI_LOG_WARN: return "WARN";
    case TUTTI_LOG_INFO: return "INFO";
    case TUTTI_LOG_TRACE: return "TRACE";
    default: return "NONE";
    }
}

/* "INIT,COLL" or "^SHM" or "ALL" -> bit mask.  Unknown names are reported
 * after logging is ready (they cannot be reported from here). */
static uint32_t tutti_log_parse_mask(const char *s, int *bad)
{
    uint32_t all = (1u << TUTTI_SUBSYS_COUNT) - 1;
    int neg = (*s == '^');
    uint32_t m = 0;
    char buf[256];
    if (neg) s++;
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int found = 0;
        if (strcasecmp(tok, "ALL") == 0) { m = all; continue; }
        for (int k = 0; k < TUTTI_SUBSYS_COUNT; k++)
            if (strcasecmp(tok, tutti_subsys_names[k]) == 0) { m |= 1u << k; found = 1; }
        if (!found) *bad = 1;
    }
    return neg ? (all & ~m) : m;
}

static void tutti_log_open_file(const char *pattern)
{
    char path[512];
    size_t o = 0;
    for (const char *p = pattern; *p && o + 32 < sizeof(path); p++) {
        if (p[0] == '%' && p[1] == 'h') { o += (size_t)snprintf(path + o, sizeof(path) - o, "%s", tutti_log_host); p++; }
        else if (p[0] == '%' && p[1] == 'p') { o += (size_t)snprintf(path + o, sizeof(path) - o, "%d", (int)getpid()); p++; }
        else path[o++] = *p;
    }
    path[o] = '\0';
    tutti_log_file = fopen(path, "a");
    if (tutti_log_file) setvbuf(tutti_log_file, NULL, _IOLBF, 0);
}

static int tutti_log_bad_level, tutti_log_bad_mask;

static void tutti_log_load(void)
{
    const char *lvl = tutti_param_str(TUTTI_P_DEBUG);
    int level = TUTTI_LOG_WARN;
    if (gethostname(tutti_log_host, sizeof(tutti_log_host) - 1) != 0) strcpy(tutti_log_host, "?");
    char *dot = strchr(tutti_log_host, '.');
    if (dot) *dot = '\0';
    if (strcasecmp(lvl, "NONE") == 0) level = TUTTI_LOG_NONE;
    else if (strcasecmp(lvl, "VERSION") == 0) level = TUTTI_LOG_VERSION;
    else if (strcasecmp(lvl, "WARN") == 0) level = TUTTI_LOG_WARN;
    else if (strcasecmp(lvl, "INFO") == 0) level = TUTTI_LOG_INFO;
    else if (strcasecmp(lvl, "TRACE") == 0) level = TUTTI_LOG_TRACE;
    else tutti_log_bad_level = 1;
    tutti_log_cfg.level = level;
    tutti_log_cfg.mask = tutti_log_parse_mask(tutti_param_str(TUTTI_P_DEBUG_SUBSYS), &tutti_log_bad_mask);
    const char *file = tutti_param_str(TUTTI_P_DEBUG_FILE);
    if (file[0]) tutti_log_open_file(file);
    __atomic_store_n(&tutti_log_cfg.ready, 1, __ATOMIC_RELEASE);
}

static void tutti_log_report_config(void)
{
    if (tutti_log_bad_level)
        TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1, "TUTTI_DEBUG='%s' is not NONE, VERSION, WARN, INFO or TRACE; using WARN",
                   tutti_param_str(TUTTI_P_DEBUG));
    if (tutti_log_bad_mask)
        TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1, "TUTTI_DEBUG_SUBSYS='%s' names an unknown subsystem",
                   tutti_param_str(TUTTI_P_DEBUG_SUBSYS));
    if (tutti_param_str(TUTTI_P_DEBUG_FILE)[0] && !tutti_log_file)
        TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1, "cannot open TUTTI_DEBUG_FILE='%s'; logging to stderr",
                   tutti_param_str(TUTTI_P_DEBUG_FILE));
    /* the version line: shown at VERSION and from INFO up, not at WARN */
    if (tutti_log_cfg.level == TUTTI_LOG_VERSION || tutti_log_cfg.level >= TUTTI_LOG_INFO)
        tutti_log_write(TUTTI_LOG_VERSION, TUTTI_SUBSYS_INIT, -1, "tutti version %s", PACKAGE_VERSION);
    tutti_param_after_log_init();
}

void tutti_log_setup(void)
{
    pthread_once(&tutti_log_once, tutti_log_load);
    pthread_once(&tutti_log_warn_once, tutti_log_report_config);
}

void tutti_log_write(int level, uint32_t subsys, int rank, const char *fmt, ...)
{
    char msg[1024];
    char rbuf[16] = "";
    const char *sname = "?";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (int k = 0; k < TUTTI_SUBSYS_COUNT; k++)
        if (subsys & (1u << k)) { sname = tutti_subsys_names[k]; break; }
    if (rank >= 0) snprintf(rbuf, sizeof(rbuf), " [r%d]", rank);
    FILE *f = tutti_log_file ? tutti_log_file : stderr;
    pthread_mutex_lock(&tutti_log_lock);
    fprintf(f, "tutti %s:%d%s %s %s: %s\n", tutti_log_host, (int)getpid(), rbuf,
            tutti_level_name(level), sname, msg);
    fflush(f);
    pthread_mutex_unlock(&tutti_log_lock);
}
