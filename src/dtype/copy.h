/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copies for the data path.  glibc's memcpy switches to `rep movsb` above
 * 2 KiB, which on the AMD machines we measured moves data between cores at
 * half the speed of a plain vector loop (perf/transport_perf: 2.2 vs
 * 4.3-4.8 GB/s); these use explicit 32-byte loads and stores when AVX is
 * there.  tutti_copy_stream() uses non-temporal stores for outputs that
 * will not be read again soon (large results), saving the read-for-
 * ownership of every destination line.
 */
#ifndef TUTTI_DTYPE_COPY_H
#define TUTTI_DTYPE_COPY_H

#include <stddef.h>

void tutti_copy(void *dst, const void *src, size_t len);
void tutti_copy_stream(void *dst, const void *src, size_t len);
/* Orders earlier streaming stores before later stores (x86 sfence). */
void tutti_copy_fence(void);

#endif
