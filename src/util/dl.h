/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Libraries opened at run time (UCX, rdma-core, PMIx): one dlopen and the
 * dlsym of every function into its slot, or the reason it failed, for a
 * person.  The library stays loaded (callers never close a success).
 */
#ifndef TUTTI_UTIL_DL_H
#define TUTTI_UTIL_DL_H

#include <stddef.h>

typedef struct {
    void *slot;       /* address of the function pointer to fill */
    const char *name; /* its symbol */
} tutti_dl_sym_t;

/* The handle, or NULL with why: "<what> is not loadable (<dlerror>)" or
 * "<lib> lacks <symbol> (<hint>)"; nothing is filled on failure. */
void *tutti_dl_open(const char *lib, int flags, const char *what, const char *hint, const tutti_dl_sym_t *syms,
                    size_t n, char *why, size_t whylen);

#endif
