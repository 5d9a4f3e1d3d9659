#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# run.sh NP PROGRAM [ARGS...]: PROGRAM (built against MPICH and
# libtutti_mpi_mpich) under MPICH's own mpiexec with NP ranks on this host;
# the TAP stream comes from rank 0.  Skips, saying why, without it.
np=$1
shift
if [ -z "${MPIEXEC_MPICH:-}" ] || ! command -v "$MPIEXEC_MPICH" >/dev/null 2>&1; then
    echo "1..0 # SKIP MPICH's mpiexec not found (configure looked for mpiexec.hydra, mpirun.mpich)"
    exit 0
fi
exec "$MPIEXEC_MPICH" -n "$np" "$@"
