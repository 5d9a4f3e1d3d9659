/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Broken or refusing variants of the example plugin, for
 * tests/plugin/plugin.sh: the example itself with its entry point renamed,
 * and an entry point that returns a modified copy of its table.  Built with
 * one of -DVARIANT_VERSION (interface version 99), -DVARIANT_SIZE (a table
 * of 64 bytes), -DVARIANT_NULLOP (progress is NULL), -DVARIANT_DUP (named
 * shm), -DVARIANT_ENTRYFAIL (the entry point fails: no device),
 * -DVARIANT_PROBEFAIL (loads, but its probe finds nothing on this rank).
 */
#define tutti_transport_plugin tutti_example_entry
#include "tutti_tp_example.c"
#undef tutti_transport_plugin

static tutti_transport_t variant;

static tutti_result_t variant_probe(int requested, char *why, size_t whylen)
{
    (void)requested;
    snprintf(why, whylen, "probefail: no fabric on this host (test variant)");
    return TUTTI_ERR_UNSUPPORTED;
}

__attribute__((visibility("default"))) tutti_result_t tutti_transport_plugin(uint32_t api_version,
                                                                            const tutti_transport_t **tp,
                                                                            char *why, size_t whylen)
{
    const tutti_transport_t *orig;
    tutti_result_t r = tutti_example_entry(api_version, &orig, why, whylen);
    if (r != TUTTI_SUCCESS) return r;
    variant = *orig;
#if defined(VARIANT_VERSION)
    variant.name = "badversion";
    variant.api_version = 99;
#elif defined(VARIANT_SIZE)
    variant.name = "badsize";
    variant.size = 64;
#elif defined(VARIANT_NULLOP)
    variant.name = "nullop";
    variant.progress = NULL;
#elif defined(VARIANT_DUP)
    variant.name = "shm";
#elif defined(VARIANT_ENTRYFAIL)
    snprintf(why, whylen, "entryfail: no device found (test variant)");
    return TUTTI_ERR_UNSUPPORTED;
#elif defined(VARIANT_PROBEFAIL)
    variant.name = "probefail";
    variant.caps |= TUTTI_TP_CAP_PROBE;
    variant.probe = variant_probe;
#else
#error "build with one of the VARIANT_* macros"
#endif
    *tp = &variant;
    return TUTTI_SUCCESS;
}
