#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tutti_comm_init_env across simulated hosts (lib.sh) with nothing
# exported: no TUTTI_ROOT_ADDR, no secret.  Open MPI's mpirun (PMIx) and
# MPICH's mpiexec (hydra's proxies started through ./agent; PMI-1 over
# PMI_FD), 2 hosts x 2 ranks, each running tests/launch/env_job (the
# collective matrix on a few sizes, a split, a second communicator), and
# checking that the ranks really sat on two hosts.  Skips, saying why,
# where namespaces cannot be made or a launcher is missing.
TT_HERE="${top_srcdir:-.}/tests/cluster"
B="${top_builddir:-.}"
. "$TT_HERE/lib.sh"
. "${top_srcdir:-.}/tests/mpi/tap.sh"
# Sanitizer build: LeakSanitizer's exit-time tracer can crash once libpmix
# or libucp is opened with dlopen and their threads hold dynamic TLS (see
# tests/mpi/ucx-env.sh); TLS is not scanned as roots (can only add false
# reports), and remote ranks get the same options.
if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then
    LSAN_OPTIONS="${LSAN_OPTIONS:-}:use_tls=0"
    export LSAN_OPTIONS
    TT_MPIRUN_EXTRA="${TT_MPIRUN_EXTRA:-} -x LSAN_OPTIONS -x ASAN_OPTIONS"
    export TT_MPIRUN_EXTRA
fi
why=$(tt_cluster_can) || { echo "1..0 # SKIP $why"; exit 0; }
unset TUTTI_ROOT_ADDR TUTTI_RANK TUTTI_NRANKS TUTTI_SECRET TUTTI_LAUNCHER MASTER_ADDR MASTER_PORT
export TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=INIT
job="$(cd "$B" && pwd)/tests/launch/env_job"
agent="$(cd "$TT_HERE" && pwd)/agent"
if ! tt_cluster_up 2 >"${TMPDIR:-/tmp}/tutti-launch-up.$$" 2>&1; then
    tap 0 "2 simulated hosts set up" "$(cat "${TMPDIR:-/tmp}/tutti-launch-up.$$")"
    rm -f "${TMPDIR:-/tmp}/tutti-launch-up.$$"
    tap_end
fi
rm -f "${TMPDIR:-/tmp}/tutti-launch-up.$$"
# ok lines of N ranks, and on how many hosts they ran
verdict()
{ # verdict OUT N ROUTE DESC
    n_ok=$(echo "$1" | grep -c "^rank [0-9]* of $2 ok")
    n_hosts=$(echo "$1" | sed -n "s/^rank [0-9]* of $2 ok (host \(.*\))$/\1/p" | sort -u | wc -l)
    tap "$([ "$n_ok" = "$2" ] && [ "$n_hosts" = 2 ] && echo "$1" | grep -q "rendezvous through $3" && echo 1)" \
        "$4 ($n_ok of $2 ranks ok on $n_hosts hosts)" "$1"
}

if command -v "${MPIRUN:-mpirun}" >/dev/null 2>&1 && "${MPIRUN:-mpirun}" --version 2>&1 | grep -q "Open MPI"; then
    out=$(tt_mpirun "$(tt_hostfile "node1:2 node2:2")" 4 "$job" 2>&1)
    verdict "$out" 4 PMIx "Open MPI mpirun, 2 hosts x 2 ranks, nothing exported: PMIx route, matrix, split, second communicator"
    out=$(tt_mpirun "$(tt_hostfile "node1:1 node2:1")" 2 "$job" 2>&1)
    verdict "$out" 2 PMIx "Open MPI mpirun, 2 hosts x 1 rank, nothing exported"
else
    skip "Open MPI across hosts" "Open MPI's mpirun not found"
    skip "Open MPI across hosts, 1 rank each" "Open MPI's mpirun not found"
fi
hydra=$(command -v mpiexec.hydra || command -v mpirun.mpich)
if [ -n "$hydra" ]; then
    out=$(tt_on node1 "$hydra" -launcher rsh -launcher-exec "$agent" -iface tt0 -hosts node1:2,node2:2 -n 4 "$job" 2>&1)
    verdict "$out" 4 "PMI-1" "MPICH mpiexec, 2 hosts x 2 ranks, nothing exported: PMI-1 route, matrix, split, second communicator"
    out=$(tt_on node1 "$hydra" -launcher rsh -launcher-exec "$agent" -iface tt0 -hosts node1:1,node2:1 -n 2 "$job" 2>&1)
    verdict "$out" 2 "PMI-1" "MPICH mpiexec, 2 hosts x 1 rank, nothing exported"
else
    skip "MPICH across hosts" "MPICH's mpiexec not found"
    skip "MPICH across hosts, 1 rank each" "MPICH's mpiexec not found"
fi
tap_end
