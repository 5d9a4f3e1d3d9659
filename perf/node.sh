#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/node.sh [OUTDIR] [ROUNDS]: node-local collectives (perf/README.md,
# "Node-local collectives").  For 2, 4 and 8 ranks on this node and each of
# all-reduce, broadcast, all-gather and reduce-scatter, 8 B .. 256 MiB (x4
# steps): tutti as the tuner picks, side by side with Open MPI (--mpi, the
# same run), with one core's memcpy of each size (--memcpy), out of place
# and in place; then the same benchmarks built against MPICH
# (mpicc.mpich, launched by mpirun.mpich) for tutti against MPICH.  ROUNDS
# rounds, alternating, since the machine moves between a fast and a slow
# mode for minutes at a time: report both, or the worse.  Run it on an
# otherwise idle machine.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/node}
rounds=${2:-2}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bind() { [ "$1" -le "$(nproc)" ] && echo core || echo none; }
iters() { [ "$1" -le "$(nproc)" ] && echo 20 || echo 5; }

# the same benchmarks against MPICH, when it is installed
mpich=""
if command -v mpicc.mpich >/dev/null && command -v mpirun.mpich >/dev/null; then
    mpich=$(mktemp -d)
    for b in all_reduce broadcast all_gather reduce_scatter; do
        mpicc.mpich -O2 -std=gnu11 -Iinclude -Isrc -Iperf -Itests perf/${b}_perf.c perf/harness.c perf/harness_opts.c perf/baseline.c perf/perf_math.c \
            tests/refcheck.c src/mpi/tutti_mpi.c -L.libs -ltutti -Wl,-rpath,"$PWD/.libs" -lhwloc -lm \
            -o "$mpich/${b}_perf" || { mpich=""; break; }
    done
fi

for r in $(seq "$rounds"); do
    for np in 2 4 8; do
        for b in all_reduce broadcast all_gather reduce_scatter; do
            echo "[node] round $r np=$np $b (Open MPI) $(date +%T)" >&2
            timeout 900 mpirun --oversubscribe --bind-to "$(bind $np)" -np "$np" perf/${b}_perf -b 8 -e 256M -f 4 \
                -n "$(iters $np)" -w 2 -c 1 --mpi --memcpy -J "$out/${b}_np${np}_ompi_r$r.json" \
                >"$out/${b}_np${np}_ompi_r$r.txt" 2>/dev/null
            [ -n "$mpich" ] || continue
            echo "[node] round $r np=$np $b (MPICH) $(date +%T)" >&2
            timeout 900 mpirun.mpich -np "$np" "$mpich/${b}_perf" -b 8 -e 256M -f 4 -n "$(iters $np)" -w 2 -c 1 \
                --mpi --memcpy -J "$out/${b}_np${np}_mpich_r$r.json" >"$out/${b}_np${np}_mpich_r$r.txt" 2>/dev/null
        done
    done
done
[ -n "$mpich" ] && rm -rf "$mpich"
echo "[node] wrote $out" >&2
