/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/param.h"

#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

static const tutti_param_desc_t tutti_param_descs[TUTTI_P_COUNT] = {
#define TUTTI_PARAM_DESC_(id, type, def, min, max, doc)                        \
    [TUTTI_P_##id] = {"TUTTI_" #id, TUTTI_PARAM_##type, def, min, max, doc},
    TUTTI_PARAM_TABLE(TUTTI_PARAM_DESC_)
#undef TUTTI_PARAM_DESC_
};

typedef struct {
    const char *raw; /* points into environ or at the default */
    int from_env;
    int64_t i;
    double d;
} tutti_param_value_t;

/* Written once under pthread_once, read-only afterwards. */
static tutti_param_value_t tutti_param_values[TUTTI_P_COUNT];
static char tutti_param_errbuf[512];
static const char *tutti_param_err;
static pthread_once_t tutti_param_once = PTHREAD_ONCE_INIT;

int tutti_param_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '-' || *s == '\0') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno) return -1;
    uint64_t mult = 1;
    switch (toupper((unsigned char)*end)) {
    case 'K': mult = 1ULL << 10; end++; break;
    case 'M': mult = 1ULL << 20; end++; break;
    case 'G': mult = 1ULL << 30; end++; break;
    case 'T': mult = 1ULL << 40; end++; break;
    default: break;
    }
    if (mult > 1 && (*end == 'i' || *end == 'I')) end++;
    if (mult > 1 && (*end == 'b' || *end == 'B')) end++;
    if (*end != '\0') return -1;
    if (v > UINT64_MAX / mult) return -1;
    *out = v * mult;
    return 0;
}

int tutti_param_parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return -1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0) {
    } else if (strcmp(end, "ms") == 0) {
        v /= 1e3;
    } else if (strcmp(end, "us") == 0) {
        v /= 1e6;
    } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
        v *= 60;
    } else if (strcmp(end, "h") == 0) {
        v *= 3600;
    } else {
        return -1;
    }
    *out = v;
    return 0;
}

static int tutti_param_parse_bool(const char *s, int64_t *out)
{
    static const char *yes[] = {"1", "y", "yes", "on", "true"};
    static const char *no[] = {"0", "n", "no", "off", "false"};
    for (size_t k = 0; k < 5; k++) {
        if (strcasecmp(s, yes[k]) == 0) { *out = 1; return 0; }
        if (strcasecmp(s, no[k]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

/* Parses one value; returns 0 or -1 with a reason in why. */
static int tutti_param_parse(const tutti_param_desc_t *d, const char *raw, tutti_param_value_t *v,
                             const char **why)
{
    char *end;
    uint64_t u;
    *why = NULL;
    switch (d->type) {
    case TUTTI_PARAM_STRING:
        return 0;
    case TUTTI_PARAM_INT:
        errno = 0;
        v->i = strtoll(raw, &end, 10);
        if (end == raw || *end != '\0' || errno) { *why = "not an integer"; return -1; }
        v->d = (double)v->i;
        break;
    case TUTTI_PARAM_SIZE:
        if (tutti_param_parse_size(raw, &u)) { *why = "not a size (e.g. 4096, 64K, 1M)"; return -1; }
        v->i = (int64_t)u;
        v->d = (double)u;
        break;
    case TUTTI_PARAM_BOOL:
        if (tutti_param_parse_bool(raw, &v->i)) { *why = "not a boolean (0/1)"; return -1; }
        v->d = (double)v->i;
        break;
    case TUTTI_PARAM_SECONDS:
        if (tutti_param_parse_seconds(raw, &v->d)) { *why = "not a duration (e.g. 30, 0.5, 500ms)"; return -1; }
        v->i = (int64_t)v->d;
        break;
    }
    if (d->type != TUTTI_PARAM_BOOL && (v->d < d->min || v->d > d->max)) {
        *why = "out of range";
        return -1;
    }
    return 0;
}

static size_t tutti_param_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (lb >= 63) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t cost = (a[i - 1] == b[j - 1]) ? 0 : 1;
            size_t best = prev + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            prev = cur;
        }
    }
    return row[lb];
}

/* Warns once about TUTTI_* variables that are not in the table. */
static void tutti_param_check_unknown(void)
{
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "TUTTI_", 6) != 0) continue;
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        char name[128];
        if (len >= sizeof(name)) len = sizeof(name) - 1;
        memcpy(name, *e, len);
        name[len] = '\0';
        int known = 0;
        const char *best = NULL;
        size_t bestd = 4;
        for (int k = 0; k < TUTTI_P_COUNT; k++) {
            if (strcmp(name, tutti_param_descs[k].name) == 0) { known = 1; break; }
            size_t dist = tutti_param_distance(name, tutti_param_descs[k].name);
            if (dist < bestd) { bestd = dist; best = tutti_param_descs[k].name; }
        }
        if (known) continue;
        if (best)
            TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1, "unknown variable %s ignored (did you mean %s?)",
                       name, best);
        else
            TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1,
                       "unknown variable %s ignored (tutti-info lists them all)", name);
    }
}

static void tutti_param_load(void)
{
    for (int k = 0; k < TUTTI_P_COUNT; k++) {
        const tutti_param_desc_t *d = &tutti_param_descs[k];
        tutti_param_value_t *v = &tutti_param_values[k];
        const char *why;
        const char *env = getenv(d->name);
        if (env) {
            if (tutti_param_parse(d, env, v, &why) == 0) {
                v->raw = env;
                v->from_env = 1;
                continue;
            }
            if (!tutti_param_err) {
                snprintf(tutti_param_errbuf, sizeof(tutti_param_errbuf),
                         "%s='%s': %s (allowed %g..%g; default %s)", d->name,
                         k == TUTTI_P_SECRET ? "<hidden>" : env, why, d->min, d->max, d->def);
                tutti_param_err = tutti_param_errbuf;
            }
        }
        v->raw = d->def;
        v->from_env = 0;
        if (tutti_param_parse(d, d->def, v, &why) != 0) abort(); /* table bug */
    }
}

static inline void tutti_param_ensure(void)
{
    pthread_once(&tutti_param_once, tutti_param_load);
}

/* Logging reads its own parameters through the table, so the unknown-name
 * check runs after both are loaded (see tutti_log_ensure). */
void tutti_param_after_log_init(void)
{
    tutti_param_check_unknown();
    if (tutti_param_err) TUTTI_WARN(TUTTI_SUBSYS_PARAM, -1, "%s", tutti_param_err);
}

int64_t tutti_param_int(tutti_param_id_t id)
{
    tutti_param_ensure();
    return tutti_param_values[id].i;
}

size_t tutti_param_size(tutti_param_id_t id)
{
    tutti_param_ensure();
    return (size_t)tutti_param_values[id].i;
}

double tutti_param_seconds(tutti_param_id_t id)
{
    tutti_param_ensure();
    return tutti_param_values[id].d;
}

const char *tutti_param_str(tutti_param_id_t id)
{
    tutti_param_ensure();
    return tutti_param_values[id].raw;
}

const tutti_param_desc_t *tutti_param_desc(tutti_param_id_t id)
{
    if ((int)id < 0 || id >= TUTTI_P_COUNT) return NULL;
    return &tutti_param_descs[id];
}

const char *tutti_param_raw(tutti_param_id_t id, int *from_env)
{
    tutti_param_ensure();
    if (from_env) *from_env = tutti_param_values[id].from_env;
    return tutti_param_values[id].raw;
}

const char *tutti_param_error(void)
{
    tutti_param_ensure();
    return tutti_param_err;
}
