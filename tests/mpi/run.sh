#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# run.sh NP PROGRAM [ARGS...]: runs PROGRAM under the real mpirun with NP
# ranks on this host; the TAP stream comes from rank 0.  Skips (explicitly)
# when no mpirun was found by configure.  MPIRUN_EXTRA: more Open MPI flags.
np=$1
shift
if [ -z "$MPIRUN" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found (configure looked for it)"
    exit 0
fi
if "$MPIRUN" --version 2>&1 | grep -q "Open MPI"; then
    # root in containers, more ranks than cores, no binding (ranks must
    # be able to yield to each other)
    # shellcheck disable=SC2086
    exec "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none ${MPIRUN_EXTRA:-} -np "$np" "$@"
else
    exec "$MPIRUN" -n "$np" "$@"
fi
