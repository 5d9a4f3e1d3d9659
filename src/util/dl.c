/* SPDX-License-Identifier: BSD-3-Clause */
#include "util/dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

void *tutti_dl_open(const char *lib, int flags, const char *what, const char *hint, const tutti_dl_sym_t *syms,
                    size_t n, char *why, size_t whylen)
{
    void *h = dlopen(lib, flags);
    if (!h) {
        snprintf(why, whylen, "%s is not loadable (%s)", what, dlerror());
        return NULL;
    }
    for (size_t i = 0; i < n; i++) /* all present before any slot is written */
        if (!dlsym(h, syms[i].name)) {
            snprintf(why, whylen, "%s lacks %s (%s)", lib, syms[i].name, hint);
            dlclose(h);
            return NULL;
        }
    for (size_t i = 0; i < n; i++) {
        void *p = dlsym(h, syms[i].name);
        memcpy(syms[i].slot, &p, sizeof(p));
    }
    return h;
}
