/* SPDX-License-Identifier: BSD-3-Clause */
#include "core/fingerprint.h"

#include "dtype/dtype.h"

#include <stdio.h>

/* every field must fit its bits (a fourth algorithm bit once there are more than 8) */
_Static_assert(TUTTI_NUM_COLLS <= TUTTI_FP_P2P && TUTTI_NUM_ALGOS <= 8 && TUTTI_NUM_OPS <= 8 && TUTTI_NUM_DATATYPES <= 16,
               "a fingerprint field is too narrow");

static uint32_t tutti_fp_hash11(size_t count, int root, size_t chunk)
{
    uint64_t h = (uint64_t)count * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uint32_t)root * 0xc2b2ae3d27d4eb4fULL ^
                 (uint64_t)chunk * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (uint32_t)h & 0x7ffu;
}

uint32_t tutti_fingerprint(tutti_coll_t coll, tutti_datatype_t dt, tutti_op_t op, tutti_algo_t algo,
                           uint64_t seq, size_t count, int root, size_t chunk)
{
    if (!tutti_coll_has_op(coll)) op = TUTTI_SUM;
    if (!tutti_coll_has_root(coll)) root = 0;
    if (coll == TUTTI_COLL_BARRIER) dt = TUTTI_UINT8;
    return ((uint32_t)coll & 7u) << 29 | ((uint32_t)dt & 15u) << 25 | ((uint32_t)op & 7u) << 22 |
           ((uint32_t)algo & 7u) << 19 | ((uint32_t)seq & 0xffu) << 11 | tutti_fp_hash11(count, root, chunk);
}

uint32_t tutti_fingerprint_sized(uint32_t call, size_t bytes)
{
    return (call & ~0x7ffu) | tutti_fp_hash11(bytes, -1, 0);
}

uint32_t tutti_fingerprint_p2p(size_t bytes)
{
    uint64_t h = (uint64_t)bytes * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31;
    return (uint32_t)TUTTI_FP_P2P << 29 | ((uint32_t)h & 0x1fffffffu);
}

void tutti_fingerprint_describe(uint32_t fp, uint32_t mine, char *buf, size_t len)
{
    if ((fp >> 29) == TUTTI_FP_P2P) {
        snprintf(buf, len, "tutti_send (point-to-point%s)",
                 (mine >> 29) == TUTTI_FP_P2P && fp != mine ? ", a message of another size" : "");
        return;
    }
    tutti_coll_t c = (tutti_coll_t)(fp >> 29 & 7u);
    tutti_datatype_t dt = (tutti_datatype_t)(fp >> 25 & 15u);
    tutti_op_t op = (tutti_op_t)(fp >> 22 & 7u);
    tutti_algo_t a = (tutti_algo_t)(fp >> 19 & 7u);
    unsigned seq = fp >> 11 & 0xffu, myseq = mine >> 11 & 0xffu;
    char seqtxt[48];
    if (seq == myseq) snprintf(seqtxt, sizeof(seqtxt), "the same call number");
    else snprintf(seqtxt, sizeof(seqtxt), "call number %u mod 256 (ours %u)", seq, myseq);
    snprintf(buf, len, "tutti_%s (%s%s%s, algorithm %s%s; %s)", tutti_coll_name(c), tutti_dtype_name(dt),
             tutti_coll_has_op(c) ? " " : "", tutti_coll_has_op(c) ? tutti_dtype_op_name(op) : "", tutti_algo_name(a),
             (fp & 0x7ffu) != (mine & 0x7ffu) ? ", another count, root or slice size" : "", seqtxt);
}
