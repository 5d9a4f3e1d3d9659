/* SPDX-License-Identifier: BSD-3-Clause */
/* The transports compiled into this library, in order of preference. */
#ifndef TUTTI_CORE_TRANSPORTS_H
#define TUTTI_CORE_TRANSPORTS_H

#include "tutti/transport.h"

#include <stddef.h>
#include <stdint.h>

const tutti_transport_t *const *tutti_transports_builtin(size_t *n);

/* For transports' ops tables: the stubs of optional ops a transport does
 * not wire (TUTTI_ERR_UNSUPPORTED; the caps say so), and recv_read built
 * from recv_acquire + a copy + recv_release. */
tutti_result_t tutti_tp_stub_block(void *tpcomm, int timeout_ms);
tutti_result_t tutti_tp_stub_publish_wait(void *tpcomm, uint64_t seq, uint32_t tag, int waiting_on, int root);
tutti_result_t tutti_tp_stub_peer_wait(void *conn, uint64_t *seq, int *waiting_on, int *root);
tutti_result_t tutti_tp_stub_window(void *tpcomm, tutti_tp_window_t *w);
tutti_result_t tutti_tp_recv_read_copy(void *conn, void *dst, size_t len, uint32_t tag, size_t *got, uint32_t *got_tag,
                                       tutti_result_t (*acquire)(void *, const void **, size_t *, uint32_t *),
                                       tutti_result_t (*release)(void *));

#endif
