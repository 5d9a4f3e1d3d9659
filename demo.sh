#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# One command on a fresh Debian 12 machine: installs what tutti needs, builds
# it (./autogen.sh && ./configure && make), and runs the demo: data-parallel
# logistic regression on 4 ranks under mpirun, checked against the same
# training in a single process.  Run the tests afterwards with `make check`.
set -e
cd "$(dirname "$0")"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if ! command -v mpirun >/dev/null 2>&1 || ! command -v autoreconf >/dev/null 2>&1 ||
   ! pkg-config --exists hwloc 2>/dev/null; then
    echo "== installing packages (.ci/packages)"
    $SUDO apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(grep -v '^#' .ci/packages)
fi
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure
make -j"$(nproc)"
echo "== demo: mpirun -np 4 examples/logreg --check"
# Open MPI refuses root unless told; 4 ranks may outnumber the cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun --oversubscribe --bind-to none -np 4 examples/logreg --check
