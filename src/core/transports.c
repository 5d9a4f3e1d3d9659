/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/transports.h"

#include "shm/shm.h"
#include "tcp/tcp.h"

static const tutti_transport_t *const tutti_builtin[] = {
    &tutti_shm_transport,
    &tutti_tcp_transport,
};

const tutti_transport_t *const *tutti_transports_builtin(size_t *n)
{
    *n = sizeof(tutti_builtin) / sizeof(tutti_builtin[0]);
    return tutti_builtin;
}
