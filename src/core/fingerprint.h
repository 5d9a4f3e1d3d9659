/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Collective fingerprints.  Every message of a collective carries 32 bits
 * that say which call it belongs to; the receiver compares them with its
 * own call before touching the data, so ranks that called different
 * collectives (or the same one with another datatype, op, count, root or
 * algorithm) get TUTTI_ERR_MISMATCH at the first message instead of a
 * deadlock or corrupted results.
 *
 *   bits 31..29 collective   28..25 datatype   24..22 op   21..19 algorithm
 *   bits 18..11 sequence number (low 8 bits)   10..0 hash of (count, root,
 *   pipelining slice: ranks that cut a message differently never agree)
 *
 * Point-to-point messages carry collective value 7 and a hash of the whole
 * message's size in the other 29 bits (so a receive of another size fails
 * at its first slice, even where the slices' lengths agree): they match by
 * posting order between two ranks, and the other ranks never see them, so
 * they take no call number.
 *
 * A fingerprint decodes back into words, so the error describes both sides.
 */
#ifndef TUTTI_CORE_FINGERPRINT_H
#define TUTTI_CORE_FINGERPRINT_H

#include "coll.h"

#include <stddef.h>
#include <stdint.h>

uint32_t tutti_fingerprint(tutti_coll_t coll, tutti_datatype_t dt, tutti_op_t op, tutti_algo_t algo,
                           uint64_t seq, size_t count, int root, size_t chunk);

/* "tutti_broadcast #5 (float32, tree; count or root differ)" describing fp
 * against the local call `mine`. */
#define TUTTI_FP_P2P 7u
uint32_t tutti_fingerprint_p2p(size_t bytes);
/* The call's fingerprint `call` for one message of `bytes` (TUTTI_STEP_SIZED) */
uint32_t tutti_fingerprint_sized(uint32_t call, size_t bytes);

void tutti_fingerprint_describe(uint32_t fp, uint32_t mine, char *buf, size_t len);

#endif
