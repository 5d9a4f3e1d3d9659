# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the UCX tests: every peer over the UCX transport, or an
# explicit SKIP where this build has none.
if ! "${top_builddir:-.}/tutti-info" | grep -q '^transports:.*ucx'; then
    echo "1..0 # SKIP UCX transport not built (configure --with-ucx; Debian: libucx-dev)"
    exit 0
fi
TUTTI_TRANSPORTS=ucx
export TUTTI_TRANSPORTS
