/* SPDX-License-Identifier: BSD-3-Clause */
/* The transports compiled into this library, in order of preference. */
#ifndef TUTTI_CORE_TRANSPORTS_H
#define TUTTI_CORE_TRANSPORTS_H

#include "tutti/transport.h"

#include <stddef.h>

const tutti_transport_t *const *tutti_transports_builtin(size_t *n);

#endif
