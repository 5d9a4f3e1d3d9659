#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# tutti_comm_init_env under the real launchers of this machine, with
# nothing exported (docs/ENVIRONMENT.md, "Initialisation from the
# environment"): Open MPI's mpirun (PMIx) and MPICH's mpiexec (PMI-1 over
# PMI_FD), each running tests/launch/env_job (the collective matrix on a
# few sizes, a split, a second communicator from the environment); the
# fallback rules when TUTTI_LAUNCHER=none; and services that are broken
# (a closed PMI_FD, one that hangs, one that closes, one that answers
# garbage; TUTTI_LAUNCHER naming a service that is not there): each a
# clear error naming what failed, within the deadline.
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
top=${top_builddir:-.}
src=${top_srcdir:-.}
job="$top/tests/launch/env_job"
unset TUTTI_ROOT_ADDR TUTTI_RANK TUTTI_NRANKS TUTTI_SECRET TUTTI_LAUNCHER MASTER_ADDR MASTER_PORT RANK WORLD_SIZE
export TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=INIT
py=${PYTHON:-python3}
[ "$py" = ":" ] && py=python3
nok() { echo "$1" | grep -c "^rank [0-9]* of $2 ok"; }

# -- Open MPI: PMIx
if [ -n "$MPIRUN" ] && "$MPIRUN" --version 2>&1 | grep -q "Open MPI"; then
    out=$("$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -np 3 "$job" 2>&1)
    tap "$([ "$(nok "$out" 3)" = 3 ] && echo "$out" | grep -q "rendezvous through PMIx" && echo 1)" \
        "Open MPI mpirun -np 3, nothing exported: PMIx route, matrix, split, second communicator" "$out"
    out=$(TUTTI_LAUNCHER=none "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -x TUTTI_LAUNCHER \
        -np 2 "$job" 2>&1)
    tap "$([ "$(nok "$out" 2)" = 2 ] && echo "$out" | grep -q "OMPI_COMM_WORLD_RANK/SIZE), rendezvous 127.0.0.1" && echo 1)" \
        "Open MPI with TUTTI_LAUNCHER=none: the fallback rules (job-id port on one node) still work" "$out"
    out=$(TUTTI_LAUNCHER=pmi1 "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -x TUTTI_LAUNCHER \
        -np 2 "$job" 2>&1)
    tap "$(echo "$out" | grep -q "launcher's key-value service failed: PMI-1: no PMI_FD, PMI_RANK and PMI_SIZE" && echo 1)" \
        "TUTTI_LAUNCHER=pmi1 under Open MPI: an error saying PMI-1's variables are missing" "$out"
else
    for d in "Open MPI, PMIx route" "Open MPI, fallback rules" "Open MPI, TUTTI_LAUNCHER=pmi1"; do
        skip "$d" "Open MPI's mpirun not found"
    done
fi

# -- MPICH: PMI-1 over PMI_FD
hydra=$(command -v mpiexec.hydra || command -v mpirun.mpich)
if [ -n "$hydra" ]; then
    out=$(timeout 120 "$hydra" -n 3 "$job" 2>&1)
    tap "$([ "$(nok "$out" 3)" = 3 ] && echo "$out" | grep -q "rendezvous through PMI-1 (PMI_FD)" && echo 1)" \
        "MPICH mpiexec -n 3, nothing exported: PMI-1 route, matrix, split, second communicator" "$out"
    out=$(timeout 120 "$hydra" -n 4 "$job" 2>&1)
    tap "$([ "$(nok "$out" 4)" = 4 ] && echo 1)" "MPICH mpiexec -n 4, nothing exported" "$out"
    out=$(TUTTI_LAUNCHER=none timeout 120 "$hydra" -n 2 "$job" 2>&1)
    tap "$(echo "$out" | grep -q "no rendezvous address: set TUTTI_ROOT_ADDR" && echo 1)" \
        "MPICH with TUTTI_LAUNCHER=none: hydra exports no job id, the error says what to set" "$out"
else
    for d in "MPICH, 3 ranks" "MPICH, 4 ranks" "MPICH, TUTTI_LAUNCHER=none"; do skip "$d" "MPICH's mpiexec not found"; done
fi

# -- broken services
out=$(PMI_FD=57 PMI_RANK=0 PMI_SIZE=2 timeout 30 "$job" 2>&1)
tap "$(echo "$out" | grep -q "rank ? failed: init: .*PMI-1: write to PMI_FD=57: Bad file descriptor" && echo 1)" \
    "PMI_FD naming a closed descriptor: an error naming it" "$out"
if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
    t0=$(date +%s)
    out=$(TUTTI_INIT_TIMEOUT=2 timeout 60 "$py" "$src/tests/launch/fake_pmi.py" hang "$job" 2>&1)
    dt=$(($(date +%s) - t0))
    tap "$(echo "$out" | grep -q "TUTTI_ERR_TIMEOUT: .*PMI-1: no reply from the launcher within the deadline" && [ $dt -le 20 ] && echo 1)" \
        "a PMI-1 service that never ends the fence: TUTTI_ERR_TIMEOUT at the init deadline (2 s; took ${dt} s)" "$out"
    out=$(timeout 60 "$py" "$src/tests/launch/fake_pmi.py" close "$job" 2>&1)
    tap "$(echo "$out" | grep -q "PMI-1: the launcher closed PMI_FD" && echo 1)" \
        "a PMI-1 service that closes its socket: an error saying so" "$out"
    out=$(timeout 60 "$py" "$src/tests/launch/fake_pmi.py" garbage "$job" 2>&1)
    tap "$(echo "$out" | grep -q "PMI-1: expected 'cmd=barrier_out', the launcher said 'this is not pmi'" && echo 1)" \
        "a PMI-1 service that answers garbage: an error quoting it" "$out"
else
    for d in hang close garbage; do skip "a PMI-1 service that does '$d'" "no python3 >= 3.9 for the fake service"; done
fi
out=$(TUTTI_LAUNCHER=pmix timeout 30 "$job" 2>&1)
tap "$(echo "$out" | grep -q "launcher's key-value service failed: PMIx: no PMIX_NAMESPACE and PMIX_RANK\|PMIx: this build has no PMIx" && echo 1)" \
    "TUTTI_LAUNCHER=pmix outside any launcher: an error saying what is missing" "$out"
out=$(TUTTI_LAUNCHER=slurm timeout 30 "$job" 2>&1)
tap "$(echo "$out" | grep -q "TUTTI_LAUNCHER='slurm' is none of pmix, pmi1, none" && echo 1)" \
    "TUTTI_LAUNCHER=slurm: an error listing the routes" "$out"
out=$(timeout 30 "$job" 2>&1)
tap "$(echo "$out" | grep -q "no rank and size in the environment" && echo 1)" \
    "no launcher at all: the error lists what was looked for" "$out"
tap_end
