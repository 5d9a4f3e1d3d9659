#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# What a rank costs at 64 and 128 ranks on this 2-core machine
# (oversubscribed: waits yield), over shared memory and forced over tcp:
# perf/scale_probe inits from the environment under mpirun, all-reduces 4 B
# and 4 MiB, broadcasts 1 MiB, barriers (each result checked), and fails
# when the worst rank is past a bound.  The bounds are loose on purpose (a
# regression guard against quadratic costs coming back, not a benchmark;
# perf/README.md "What a rank costs" has the measurements): before
# connections were made on first use, 64 ranks had 4.1 GB resident each
# over shm, and 271 fds and 453 MiB virtual each over tcp.
. "${top_srcdir:-.}/tests/mpi/tap.sh"
top=${top_builddir:-.}
probe="$top/perf/scale_probe"
unset TUTTI_ROOT_ADDR TUTTI_RANK TUTTI_NRANKS TUTTI_SECRET TUTTI_LAUNCHER TUTTI_TRANSPORTS
if [ -z "$MPIRUN" ] || ! "$MPIRUN" --version 2>&1 | grep -q "Open MPI"; then
    for d in "64 ranks over shm" "64 ranks over tcp" "128 ranks over tcp" "128 ranks over shm"; do
        skip "$d" "Open MPI's mpirun not found"
    done
    tap_end
    exit 0
fi
run() { # np transports timeout bounds...
    np=$1 tps=$2 t=$3
    shift 3
    TUTTI_TRANSPORTS=$tps timeout "$t" "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none \
        -x TUTTI_TRANSPORTS ${TT_MPIRUN_EXTRA:-} -np "$np" "$probe" "$@" 2>&1
}
case1() { # description np transports timeout bounds...
    d=$1
    shift
    out=$(run "$@")
    rc=$?
    tap "$([ $rc = 0 ] && echo "$out" | grep -q "^scale ranks=$1 " && echo 1)" "$d: $(echo "$out" | grep '^scale')" "$out"
}
if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then
    # 64 instrumented processes need about 10 GB: the sanitizer build runs 16
    case1 "16 ranks over shm (sanitizer build)" 16 shm,tcp 300 --max-init 60
    case1 "16 ranks over tcp (sanitizer build)" 16 tcp 300 --max-init 60 --max-fds 64
    skip "64 and 128 ranks" "sanitizer build: too much memory for this machine; the plain build runs them"
    tap_end
    exit 0
fi
case1 "64 ranks over shm: init <= 15 s, resident <= 384 MiB per rank" 64 shm,tcp 300 --max-init 15 --max-rss 384
case1 "64 ranks over tcp: <= 80 fds, virtual <= 384 MiB per rank" 64 tcp 300 --max-init 30 --max-fds 80 --max-vsz 384
case1 "128 ranks over tcp: <= 96 fds per rank" 128 tcp 500 --max-init 60 --max-fds 96 --max-vsz 384
tap_end
