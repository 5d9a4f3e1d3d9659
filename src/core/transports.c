/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/transports.h"

#include "shm/shm.h"
#include "tcp/tcp.h"
#ifdef TUTTI_HAVE_UCX
#include "ucx/ucx.h"
#endif
#ifdef TUTTI_HAVE_VERBS
#include "verbs/verbs.h"
#endif

static const tutti_transport_t *const tutti_builtin[] = {
    &tutti_shm_transport,
#ifdef TUTTI_HAVE_VERBS
    &tutti_verbs_transport,
#endif
#ifdef TUTTI_HAVE_UCX
    &tutti_ucx_transport,
#endif
    &tutti_tcp_transport,
};

const tutti_transport_t *const *tutti_transports_builtin(size_t *n)
{
    *n = sizeof(tutti_builtin) / sizeof(tutti_builtin[0]);
    return tutti_builtin;
}
