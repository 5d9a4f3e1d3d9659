/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The transports of this process: the registry.  Built once per process,
 * on first need (the first communicator, tutti-info), from entry points
 * alone (include/tutti/transport.h): the built-in ones (shm, verbs, ucx,
 * then plugins, then tcp, the order of preference) and the plugins found
 * at run time (plugin.c).  Every table is checked the same way before use;
 * one that fails, or whose entry point fails (a library missing), stays in
 * the registry as left out, with the reason.
 */
#ifndef TUTTI_CORE_TRANSPORTS_H
#define TUTTI_CORE_TRANSPORTS_H

#include "tutti/transport.h"

#include <stddef.h>
#include <stdint.h>

/* the version string of the built-in transports */
#define TUTTI_TP_STR_(x) #x
#define TUTTI_TP_STR(x) TUTTI_TP_STR_(x)
#define TUTTI_TP_BUILTIN_VERSION                                                                                     \
    "tutti " TUTTI_TP_STR(TUTTI_VERSION_MAJOR) "." TUTTI_TP_STR(TUTTI_VERSION_MINOR) "."                            \
        TUTTI_TP_STR(TUTTI_VERSION_PATCH)

/* The entry point of a built-in transport that needs no library: its
 * static table (built with the core, so the version is always the same). */
#define TUTTI_TP_STATIC_ENTRY(fn, table)                                                                             \
    tutti_result_t fn(uint32_t api_version, const tutti_transport_t **tp, char *why, size_t whylen)                \
    {                                                                                                                 \
        (void)api_version;                                                                                            \
        (void)why;                                                                                                    \
        (void)whylen;                                                                                                 \
        *tp = &(table);                                                                                               \
        return TUTTI_SUCCESS;                                                                                         \
    }

/* a plugin that sends by reference (TUTTI_TP_CAP_SEND_REF) does so from
 * this size */
#define TUTTI_PLUGIN_REF_MIN (64u << 10)

#define TUTTI_TP_REGISTRY_MAX 16
#define TUTTI_TP_NAME_MAX 24

typedef enum {
    TUTTI_TP_BUILTIN = 0,
    TUTTI_TP_PLUGIN = 1,
} tutti_tp_origin_t;

typedef struct {
    const tutti_transport_t *tp; /* NULL: left out (why) */
    char name[TUTTI_TP_NAME_MAX]; /* the table's; for one left out, what it was looked up as */
    tutti_tp_origin_t origin;
    char path[256];               /* a plugin's file */
    char version[96];             /* the table's version string, or "" */
    char why[256];                /* why it was left out */
} tutti_tp_entry_t;

/* Every transport registered (left-out ones included), in order of
 * preference; stable for the life of the process. */
const tutti_tp_entry_t *tutti_transports_list(size_t *n);
/* The registry entry of a usable transport named `name`, or NULL. */
const tutti_tp_entry_t *tutti_transports_find(const char *name);

/* plugin.c: the checks every table passes (TUTTI_SUCCESS, or the reason);
 * loading the plugins of TUTTI_TRANSPORT_PLUGINS and TUTTI_PLUGIN_PATH,
 * each handed to add() with its file and its entry point (NULL, with the
 * reason, where the file or the symbol cannot be loaded). */
tutti_result_t tutti_tp_check(const tutti_transport_t *tp, char *why, size_t whylen);
void tutti_plugins_load(void (*add)(const char *name, const char *path, tutti_transport_entry_t entry,
                                    const char *why));

/* For transports' ops tables: the stubs of optional ops a transport does
 * not wire (TUTTI_ERR_UNSUPPORTED; the caps say so), and recv_read built
 * from recv_acquire + a copy + recv_release. */
tutti_result_t tutti_tp_stub_block(void *tpcomm, int timeout_ms);
tutti_result_t tutti_tp_stub_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root);
tutti_result_t tutti_tp_stub_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root);
tutti_result_t tutti_tp_stub_window(void *tpcomm, tutti_tp_window_t *w);
tutti_result_t tutti_tp_stub_probe(int requested, char *why, size_t whylen);
tutti_result_t tutti_tp_recv_read_copy(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag,
                                       tutti_result_t (*acquire)(void *, const void **, size_t *, uint32_t *),
                                       tutti_result_t (*release)(void *));

#endif
