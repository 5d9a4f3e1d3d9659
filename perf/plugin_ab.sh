#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/plugin_ab.sh OLD_LIBDIR NEW_LIBDIR [OUTDIR] [ROUNDS]: the cost of
# loading transports at run time (issue: transports as plugins), measured
# side by side: the same all_reduce_perf binary (perf/.libs) run against two
# builds of libtutti.so, OLD_LIBDIR (linking UCX and rdma-core, the tables
# compiled in) and NEW_LIBDIR (the registry, libraries opened at run time),
# launches alternating (the machine's fast and slow modes last minutes).
# Per round and library: 8 B all-reduce latency (2000 iterations) and
# 64 MiB bandwidth (20 iterations), 2 ranks, over shm (the default, so the
# window algorithm) and with TUTTI_TRANSPORTS=tcp, and over ucx (named, its
# shared memory and tcp) where it loads.  Prints one line per (case, round)
# and the ratio new/old of each case's best and worst time.
set -u
cd "$(dirname "$0")/.."
old=$1 new=$2 out=${3:-perf/results/plugin} rounds=${4:-5}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bin=perf/.libs/all_reduce_perf
[ -x "$bin" ] || { echo "build first: $bin missing" >&2; exit 2; }
one() { # lib transports size iters json
    TUTTI_TRANSPORTS=$2 timeout 300 mpirun --oversubscribe --bind-to core -np 2 -x LD_LIBRARY_PATH="$1" \
        -x TUTTI_TRANSPORTS "$bin" -b "$3" -e "$3" -n "$4" -w 20 -c 0 -J "$5" >/dev/null 2>&1
}
: >"$out/runs.txt"
for r in $(seq "$rounds"); do
    order="old new"
    [ $((r % 2)) = 0 ] && order="new old"
    for which in $order; do
        lib=$old
        [ "$which" = new ] && lib=$new
        for tp in "" tcp ucx; do
            for sz in 8 64M; do
                it=2000
                [ "$sz" = 64M ] && it=20
                j="$out/${which}_${tp:-default}_${sz}_r$r.json"
                one "$lib" "$tp" "$sz" "$it" "$j" || { rm -f "$j"; continue; }
                t=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['out_of_place']['time'])" "$j")
                echo "$which ${tp:-default} $sz r$r $t" | tee -a "$out/runs.txt"
            done
        done
    done
done
python3 - "$out/runs.txt" <<'PY' | tee "$out/summary.txt"
import sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    w, tp, sz, r, us = line.split()
    t[(tp, sz, w)].append(float(us))
print("case            old us (min..max)        new us (min..max)        new/old best  worst")
for tp, sz in sorted({(k[0], k[1]) for k in t}):
    o, n = t.get((tp, sz, "old")), t.get((tp, sz, "new"))
    if not o or not n:
        continue
    print(f"{tp:7} {sz:>4}    {min(o):9.2f} ..{max(o):9.2f}    {min(n):9.2f} ..{max(n):9.2f}    "
          f"{min(n)/min(o):6.3f}  {max(n)/max(o):6.3f}")
PY
