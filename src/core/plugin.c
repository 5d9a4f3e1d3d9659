/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transport plugins: shared objects loaded at run time, each exporting one
 * entry point (tutti_transport_plugin, include/tutti/transport.h), and the
 * checks every transport's table passes before use, built in or loaded.
 *
 *   TUTTI_TRANSPORT_PLUGINS=/opt/x/tutti_tp_x.so,y   files, or names looked
 *                                                    up as tutti_tp_<name>.so
 *   TUTTI_PLUGIN_PATH=/a:/b     directories searched for those names and
 *                               scanned for every tutti_tp_*.so (default:
 *                               the directory "tutti" beside libtutti.so,
 *                               then the installed $(pkglibdir))
 *
 * Named plugins come first, in the order given, then the scanned ones in
 * file-name order; a file already loaded (same real path) is skipped.  A
 * file that does not load, lacks the entry point, or whose table fails the
 * checks is left out with the reason (tutti-info shows it; TUTTI_DEBUG=INFO
 * logs it); naming it in TUTTI_TRANSPORTS then fails creation with it.
 */
#include "core/transports.h"

#include "util/param.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TUTTI_PLUGIN_DIR
#define TUTTI_PLUGIN_DIR ""
#endif

#define TUTTI_PLUGIN_PREFIX "tutti_tp_"
#define TUTTI_PLUGIN_MAXLOADED 32

/* ---- the checks --------------------------------------------------------- */

tutti_result_t tutti_tp_check(const tutti_transport_t *tp, char *why, size_t whylen)
{
    if (tp->api_version != TUTTI_TRANSPORT_API_VERSION) {
        snprintf(why, whylen, "built for transport interface version %u; this tutti speaks version %u",
                 tp->api_version, TUTTI_TRANSPORT_API_VERSION);
        return TUTTI_ERR_UNSUPPORTED;
    }
    if (tp->size < TUTTI_TRANSPORT_V1_MIN_SIZE) {
        snprintf(why, whylen, "its table is %zu bytes; interface version %u needs at least %zu (built against "
                              "another tutti/transport.h?)",
                 tp->size, TUTTI_TRANSPORT_API_VERSION, (size_t)TUTTI_TRANSPORT_V1_MIN_SIZE);
        return TUTTI_ERR_UNSUPPORTED;
    }
    size_t nl = tp->name ? strlen(tp->name) : 0;
    int name_ok = nl > 0 && nl < TUTTI_TP_NAME_MAX;
    for (size_t k = 0; k < nl && name_ok; k++) {
        char c = tp->name[k];
        name_ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }
    if (!name_ok) {
        snprintf(why, whylen, "its name '%.40s' is not 1 to %d characters of a-z, 0-9, _ and -",
                 tp->name ? tp->name : "(null)", TUTTI_TP_NAME_MAX - 1);
        return TUTTI_ERR_UNSUPPORTED;
    }
    if (!(tp->caps & (TUTTI_TP_CAP_INTRANODE | TUTTI_TP_CAP_INTERNODE))) {
        snprintf(why, whylen, "its caps say it reaches no peer (neither INTRANODE nor INTERNODE)");
        return TUTTI_ERR_UNSUPPORTED;
    }
    /* every operation is wired: optional ones to a stub (the caps say which) */
    struct {
        const char *name;
        int set;
    } ops[] = {
        {"comm_create", tp->comm_create != NULL},   {"comm_destroy", tp->comm_destroy != NULL},
        {"conn", tp->conn != NULL},                 {"max_payload", tp->max_payload != NULL},
        {"progress", tp->progress != NULL},         {"send_acquire", tp->send_acquire != NULL},
        {"send_commit", tp->send_commit != NULL},   {"recv_acquire", tp->recv_acquire != NULL},
        {"recv_release", tp->recv_release != NULL}, {"recv_read", tp->recv_read != NULL},
        {"send_commit_ref", tp->send_commit_ref != NULL}, {"send_flushed", tp->send_flushed != NULL},
        {"peer_check", tp->peer_check != NULL},     {"publish_state", tp->publish_state != NULL},
        {"announce_failure", tp->announce_failure != NULL}, {"block", tp->block != NULL},
        {"publish_wait", tp->publish_wait != NULL}, {"peer_wait", tp->peer_wait != NULL},
        {"probe", tp->probe != NULL},               {"window", tp->window != NULL},
    };
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
        if (!ops[k].set) {
            snprintf(why, whylen, "incomplete table: operation %s is NULL (point unsupported ones at a stub "
                                  "returning TUTTI_ERR_UNSUPPORTED)",
                     ops[k].name);
            return TUTTI_ERR_UNSUPPORTED;
        }
    return TUTTI_SUCCESS;
}

/* ---- finding and loading ------------------------------------------------ */

typedef struct {
    void (*add)(const char *, const char *, tutti_transport_entry_t, const char *);
    char loaded[TUTTI_PLUGIN_MAXLOADED][PATH_MAX];
    int nloaded;
} tutti_plugin_ctx_t;

/* "…/tutti_tp_foo.so" -> "foo" (what a left-out plugin is listed as) */
static void tutti_plugin_name(const char *path, char *name, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (strncmp(b, TUTTI_PLUGIN_PREFIX, strlen(TUTTI_PLUGIN_PREFIX)) == 0) b += strlen(TUTTI_PLUGIN_PREFIX);
    size_t n = strcspn(b, ".");
    if (n == 0) n = strlen(b);
    snprintf(name, len, "%.*s", (int)(n < len ? n : len - 1), b);
}

static void tutti_plugin_open(tutti_plugin_ctx_t *c, const char *path)
{
    char name[TUTTI_TP_NAME_MAX], real[PATH_MAX], why[320];
    tutti_plugin_name(path, name, sizeof(name));
    if (!realpath(path, real)) snprintf(real, sizeof(real), "%s", path);
    for (int k = 0; k < c->nloaded; k++)
        if (strcmp(c->loaded[k], real) == 0) return;
    if (c->nloaded < TUTTI_PLUGIN_MAXLOADED) snprintf(c->loaded[c->nloaded++], PATH_MAX, "%s", real);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, sizeof(why), "cannot load it: %s", dlerror());
        c->add(name, path, NULL, why);
        return;
    }
    tutti_transport_entry_t entry;
    *(void **)&entry = dlsym(h, TUTTI_TRANSPORT_PLUGIN_SYMBOL);
    if (!entry) {
        snprintf(why, sizeof(why), "not a tutti transport plugin: no symbol %s", TUTTI_TRANSPORT_PLUGIN_SYMBOL);
        dlclose(h);
        c->add(name, path, NULL, why);
        return;
    }
    c->add(name, path, entry, NULL); /* stays loaded: its table lives in it */
}

/* The search path: TUTTI_PLUGIN_PATH, or the default directories. */
static void tutti_plugin_dirs(char *dirs, size_t len)
{
    const char *env = tutti_param_str(TUTTI_P_PLUGIN_PATH);
    if (env && env[0]) {
        snprintf(dirs, len, "%s", env);
        return;
    }
    dirs[0] = '\0';
    Dl_info info;
    if (dladdr((void *)tutti_plugin_dirs, &info) && info.dli_fname && strchr(info.dli_fname, '/')) {
        const char *slash = strrchr(info.dli_fname, '/');
        snprintf(dirs, len, "%.*s/tutti", (int)(slash - info.dli_fname), info.dli_fname);
    }
    if (TUTTI_PLUGIN_DIR[0])
        snprintf(dirs + strlen(dirs), len - strlen(dirs), "%s%s", dirs[0] ? ":" : "", TUTTI_PLUGIN_DIR);
}

static int tutti_plugin_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return strncmp(d->d_name, TUTTI_PLUGIN_PREFIX, strlen(TUTTI_PLUGIN_PREFIX)) == 0 && n > 3 &&
           strcmp(d->d_name + n - 3, ".so") == 0;
}

void tutti_plugins_load(void (*add)(const char *name, const char *path, tutti_transport_entry_t entry,
                                    const char *why))
{
    tutti_plugin_ctx_t *c = calloc(1, sizeof(*c));
    if (!c) return;
    c->add = add;
    char dirs[2048];
    tutti_plugin_dirs(dirs, sizeof(dirs));
    /* named ones first, in order */
    const char *spec = tutti_param_str(TUTTI_P_TRANSPORT_PLUGINS);
    for (const char *p = spec ? spec : ""; *p;) {
        size_t len = strcspn(p, ",");
        char item[PATH_MAX];
        snprintf(item, sizeof(item), "%.*s", (int)len, p);
        p += len;
        if (*p == ',') p++;
        if (!item[0]) continue;
        if (strchr(item, '/')) {
            tutti_plugin_open(c, item);
            continue;
        }
        int found = 0;
        for (const char *d = dirs; *d && !found;) {
            size_t dl = strcspn(d, ":");
            char path[2 * PATH_MAX];
            int dn = (int)(dl < PATH_MAX ? dl : PATH_MAX);
            snprintf(path, sizeof(path), "%.*s/" TUTTI_PLUGIN_PREFIX "%.200s.so", dn, d, item);
            d += dl;
            if (*d == ':') d++;
            if (dl && access(path, F_OK) == 0) {
                tutti_plugin_open(c, path);
                found = 1;
            }
        }
        if (!found) {
            char why[512];
            snprintf(why, sizeof(why), "TUTTI_TRANSPORT_PLUGINS names it, but no " TUTTI_PLUGIN_PREFIX "%.64s.so is in "
                                       "TUTTI_PLUGIN_PATH '%.300s'",
                     item, dirs);
            add(item, NULL, NULL, why);
        }
    }
    /* then every plugin file of the search path */
    for (const char *d = dirs; *d;) {
        size_t dl = strcspn(d, ":");
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%.*s", (int)dl, d);
        d += dl;
        if (*d == ':') d++;
        struct dirent **list = NULL;
        int n = dir[0] ? scandir(dir, &list, tutti_plugin_file, alphasort) : -1;
        for (int k = 0; k < n; k++) {
            char path[PATH_MAX + 256];
            snprintf(path, sizeof(path), "%s/%s", dir, list[k]->d_name);
            tutti_plugin_open(c, path);
            free(list[k]);
        }
        free(list);
    }
    free(c);
}
