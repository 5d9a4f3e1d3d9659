# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the UCX tests: every peer over the UCX transport, or an
# explicit SKIP where this build has none.
if ! "${top_builddir:-.}/tutti-info" | grep -q '^transports:.*ucx'; then
    echo "1..0 # SKIP UCX transport not built (configure --with-ucx; Debian: libucx-dev)"
    exit 0
fi
TUTTI_TRANSPORTS=ucx
export TUTTI_TRANSPORTS
# Sanitizer build: LeakSanitizer's exit-time tracer crashes (SIGSEGV in the
# tracer, then abort) in about 1 run of 3 once libucp is opened with dlopen
# and UCX's threads hold dynamic TLS (glibc >= 2.34 with GCC 12's LSan);
# not scanning TLS as roots avoids it (6 of 6 runs) and can only add false
# leak reports, never hide one.
if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then
    LSAN_OPTIONS="${LSAN_OPTIONS:-}:use_tls=0"
    export LSAN_OPTIONS
fi
