/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Site rules for algorithm choice (TUTTI_TUNE_FILE), JSON:
 *
 *   {"version": 1,
 *    "rules": [
 *      {"collective": "allreduce", "algorithm": "tree",
 *       "min_bytes": 0, "max_bytes": "64K", "min_nodes": 2},
 *      {"collective": "broadcast", "algorithm": "ring", "min_bytes": "1M",
 *       "chunk": "128K"}
 *    ]}
 *
 * A rule applies to calls of its collective with min_bytes <= bytes <
 * max_bytes ("max": no bound), min_nodes <= nodes <= max_nodes and
 * min_ranks <= ranks <= max_ranks (all optional); the first rule that
 * applies wins.  "chunk" (optional) fixes the pipelining slice of the
 * algorithms that pipeline (a power of two from 4K; the transports' slot
 * caps it); without it the model chooses.  Strict: unknown keys, names, algorithms a collective does
 * not have, bad ranges, trailing garbage are errors with line and column.
 * A pure parser over a string (fuzzed with the other parsers).
 */
#include "coll.h"

#include "util/param.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s, *p, *end;
    char *err;
    size_t errlen;
} tutti_json_t;

static int tutti_json_fail(tutti_json_t *j, const char *what)
{
    int line = 1, col = 1;
    for (const char *q = j->s; q < j->p && q < j->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(j->err, j->errlen, "TUTTI_TUNE_FILE: line %d, column %d: %s", line, col, what);
    return -1;
}

static void tutti_json_ws(tutti_json_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int tutti_json_lit(tutti_json_t *j, char c)
{
    tutti_json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

/* A string without escapes beyond \" and \\ (names and sizes need none). */
static int tutti_json_string(tutti_json_t *j, char *out, size_t len)
{
    tutti_json_ws(j);
    if (j->p >= j->end || *j->p != '"') return tutti_json_fail(j, "expected a string");
    j->p++;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\') {
            if (j->p >= j->end || (*j->p != '"' && *j->p != '\\')) return tutti_json_fail(j, "unsupported escape");
            c = *j->p++;
        }
        if ((unsigned char)c < 0x20) return tutti_json_fail(j, "control character in a string");
        if (n + 1 >= len) return tutti_json_fail(j, "string too long");
        out[n++] = c;
    }
    if (j->p >= j->end) return tutti_json_fail(j, "unterminated string");
    j->p++;
    out[n] = '\0';
    return 0;
}

/* A size: a non-negative integer, or a string "64K", "1M", "max". */
static int tutti_json_size(tutti_json_t *j, size_t *out)
{
    tutti_json_ws(j);
    if (j->p < j->end && *j->p == '"') {
        char tok[32];
        if (tutti_json_string(j, tok, sizeof(tok)) != 0) return -1;
        if (strcmp(tok, "max") == 0) {
            *out = SIZE_MAX;
            return 0;
        }
        uint64_t v;
        if (tutti_param_parse_size(tok, &v) != 0) return tutti_json_fail(j, "not a size (like 4096, \"64K\", \"max\")");
        *out = (size_t)v;
        return 0;
    }
    if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return tutti_json_fail(j, "expected a non-negative number");
    uint64_t v = 0;
    while (j->p < j->end && isdigit((unsigned char)*j->p)) {
        if (v > (UINT64_MAX - 9) / 10) return tutti_json_fail(j, "number too large");
        v = v * 10 + (uint64_t)(*j->p++ - '0');
    }
    *out = (size_t)v;
    return 0;
}

static int tutti_rules_rule(tutti_json_t *j, tutti_tune_rule_t *r)
{
    char key[32], val[32];
    int have_coll = 0, have_algo = 0;
    memset(r, 0, sizeof(*r));
    r->hi = SIZE_MAX;
    r->max_nodes = r->max_ranks = INT32_MAX;
    if (!tutti_json_lit(j, '{')) return tutti_json_fail(j, "a rule must be an object");
    if (tutti_json_lit(j, '}')) return tutti_json_fail(j, "empty rule");
    do {
        if (tutti_json_string(j, key, sizeof(key)) != 0) return -1;
        if (!tutti_json_lit(j, ':')) return tutti_json_fail(j, "expected ':'");
        size_t v = 0;
        if (strcmp(key, "collective") == 0) {
            if (tutti_json_string(j, val, sizeof(val)) != 0) return -1;
            int c = tutti_coll_from_name(val);
            if (c < 0) return tutti_json_fail(j, "unknown collective");
            r->coll = (uint8_t)c;
            have_coll = 1;
        } else if (strcmp(key, "algorithm") == 0) {
            if (tutti_json_string(j, val, sizeof(val)) != 0) return -1;
            int a = -1;
            for (int k = 0; k < TUTTI_NUM_ALGOS; k++)
                if (strcmp(val, tutti_algo_name((tutti_algo_t)k)) == 0) a = k;
            if (a < 0) return tutti_json_fail(j, "unknown algorithm (ring, tree, rd, dissemination, hier)");
            r->algo = (uint8_t)a;
            have_algo = 1;
        } else if (strcmp(key, "min_bytes") == 0 || strcmp(key, "max_bytes") == 0) {
            if (tutti_json_size(j, &v) != 0) return -1;
            if (key[1] == 'i') r->lo = v;
            else r->hi = v;
        } else if (strcmp(key, "min_nodes") == 0 || strcmp(key, "max_nodes") == 0 || strcmp(key, "min_ranks") == 0 ||
                   strcmp(key, "max_ranks") == 0) {
            if (tutti_json_size(j, &v) != 0) return -1;
            if (v > INT32_MAX) return tutti_json_fail(j, "count too large");
            int32_t *f = key[1] == 'i' ? (key[4] == 'n' ? &r->min_nodes : &r->min_ranks)
                                       : (key[4] == 'n' ? &r->max_nodes : &r->max_ranks);
            *f = (int32_t)v;
        } else if (strcmp(key, "chunk") == 0) {
            if (tutti_json_size(j, &v) != 0) return -1;
            if (v < TUTTI_MODEL_MIN_CHUNK || (v & (v - 1)) != 0)
                return tutti_json_fail(j, "chunk must be a power of two of at least 4K");
            r->chunk = v;
        } else if (strcmp(key, "comment") == 0) {
            char skip[256];
            if (tutti_json_string(j, skip, sizeof(skip)) != 0) return -1;
        } else {
            return tutti_json_fail(j, "unknown key in a rule (collective, algorithm, min_bytes, max_bytes, min_nodes, "
                                      "max_nodes, min_ranks, max_ranks, chunk, comment)");
        }
    } while (tutti_json_lit(j, ','));
    if (!tutti_json_lit(j, '}')) return tutti_json_fail(j, "expected ',' or '}'");
    if (!have_coll || !have_algo) return tutti_json_fail(j, "a rule needs \"collective\" and \"algorithm\"");
    if (!tutti_coll_builder((tutti_coll_t)r->coll, (tutti_algo_t)r->algo))
        return tutti_json_fail(j, "that collective has no such algorithm");
    if (r->lo >= r->hi || r->min_nodes > r->max_nodes || r->min_ranks > r->max_ranks)
        return tutti_json_fail(j, "empty range (min above max)");
    return 0;
}

int tutti_rules_parse(tutti_algo_config_t *cfg, const char *text, size_t len, char *err, size_t errlen)
{
    tutti_json_t j = {text, text, text + len, err, errlen};
    char key[32];
    int version = 0;
    cfg->nrules = 0;
    if (!tutti_json_lit(&j, '{')) return tutti_json_fail(&j, "the file must hold one JSON object");
    if (!tutti_json_lit(&j, '}')) {
        do {
            if (tutti_json_string(&j, key, sizeof(key)) != 0) return -1;
            if (!tutti_json_lit(&j, ':')) return tutti_json_fail(&j, "expected ':'");
            if (strcmp(key, "version") == 0) {
                size_t v;
                if (tutti_json_size(&j, &v) != 0) return -1;
                if (v != 1) return tutti_json_fail(&j, "unsupported version (this library reads version 1)");
                version = 1;
            } else if (strcmp(key, "rules") == 0) {
                if (!tutti_json_lit(&j, '[')) return tutti_json_fail(&j, "\"rules\" must be an array");
                if (!tutti_json_lit(&j, ']')) {
                    do {
                        if (cfg->nrules == TUTTI_TUNE_MAX_RULES) return tutti_json_fail(&j, "too many rules (64 at most)");
                        if (tutti_rules_rule(&j, &cfg->rules[cfg->nrules]) != 0) return -1;
                        cfg->nrules++;
                    } while (tutti_json_lit(&j, ','));
                    if (!tutti_json_lit(&j, ']')) return tutti_json_fail(&j, "expected ',' or ']'");
                }
            } else if (strcmp(key, "comment") == 0) {
                char skip[256];
                if (tutti_json_string(&j, skip, sizeof(skip)) != 0) return -1;
            } else {
                return tutti_json_fail(&j, "unknown key (version, rules, comment)");
            }
        } while (tutti_json_lit(&j, ','));
        if (!tutti_json_lit(&j, '}')) return tutti_json_fail(&j, "expected ',' or '}'");
    }
    tutti_json_ws(&j);
    if (j.p != j.end) return tutti_json_fail(&j, "trailing characters after the object");
    if (!version) return tutti_json_fail(&j, "missing \"version\": 1");
    return 0;
}

int tutti_algo_config_load(tutti_algo_config_t *cfg, const char *spec, size_t small_msg, size_t chunk,
                           const char *rules_path, char *err, size_t errlen)
{
    if (tutti_algo_config_parse(cfg, spec, small_msg, err, errlen) != 0) return -1;
    if (chunk && (chunk < TUTTI_MODEL_MIN_CHUNK || (chunk & (chunk - 1)) != 0)) {
        snprintf(err, errlen, "TUTTI_CHUNK_SIZE=%zu: the pipelining slice must be 0 (the tuner's) or a power of two "
                              "of at least 4K",
                 chunk);
        return -1;
    }
    cfg->chunk = chunk;
    return tutti_rules_load(cfg, rules_path, err, errlen);
}

int tutti_rules_load(tutti_algo_config_t *cfg, const char *path, char *err, size_t errlen)
{
    cfg->nrules = 0;
    if (!path || !path[0]) return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "TUTTI_TUNE_FILE: cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    int big = buf && n == (1 << 20) - 1 && fgetc(f) != EOF;
    fclose(f);
    if (!buf || big) {
        free(buf);
        snprintf(err, errlen, "TUTTI_TUNE_FILE: '%s' is %s", path, buf ? "larger than 1 MiB" : "unreadable (no memory)");
        return -1;
    }
    int rc = tutti_rules_parse(cfg, buf, n, err, errlen);
    free(buf);
    if (rc != 0) {
        /* name the file too */
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s (in '%s')", err, path);
        snprintf(err, errlen, "%s", tmp);
    }
    return rc;
}
