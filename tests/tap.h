/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Minimal TAP producer for the tests (automake's tap-driver counts every
 * "ok"/"not ok" line as a test case; "# SKIP" marks explicit skips).
 */
#ifndef TUTTI_TESTS_TAP_H
#define TUTTI_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef TUTTI_TAP_SHARED /* a test program of several files: one count (defined in one) */
extern int tap_count, tap_failures;
#else
static int tap_count, tap_failures;
#endif

__attribute__((format(printf, 2, 3), unused)) static int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!cond) tap_failures++;
    fflush(stdout);
    return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void tap_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok %d # SKIP ", ++tap_count);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    fflush(stdout);
    return tap_failures ? 1 : 0;
}

#endif
