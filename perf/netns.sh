#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/netns.sh [OUTDIR] [REPS]: tutti over TCP between two simulated hosts
# (tests/cluster/lib.sh: network namespaces on a bridge, 1 rank each),
# side by side with Open MPI's tcp btl in the same run (--mpi), and the
# link's own throughput measured by iperf3 in the same session (one
# direction, then both at once, since an all-reduce sends both ways).
#   float32 sum all-reduce: 8 B latency (2000 iterations), then 64 KiB ..
#   256 MiB (x2 steps), results checked, then 4 MiB .. 256 MiB beside one
#   busy process (CPU contention), REPS runs each; then the algorithm
#   sweep (--sweep) of all-reduce, broadcast and all-gather on 2 hosts x 2
#   ranks, hierarchical against flat.
# Needs root (namespaces), iperf3 and Open MPI.  Prints progress on stderr.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/tcp}
reps=${2:-3}
mkdir -p "$out"
. perf/hosts.sh
perf_hosts_up perf/netns.sh 2 "node1:1 node2:1" || exit 1
hf=$perf_hostfile
iperf()
{ # iperf LABEL [client args]
    label=$1
    shift
    ip netns exec "$(tt_ns node2)" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
    sleep 0.5
    ip netns exec "$(tt_ns node1)" iperf3 -c 10.231.0.2 -p 5201 -t 5 -f g "$@" >"$out/iperf_$label.txt" 2>&1
    wait
}
for r in $(seq "$reps"); do
    echo "[netns] iperf3 run $r" >&2
    iperf "uni_r$r"
    iperf "bidir_r$r" --bidir
    echo "[netns] latency run $r" >&2
    tt_mpirun "$hf" 2 perf/all_reduce_perf -b 8 -e 8 -n 2000 -w 200 -c 1 --mpi \
        -J "$out/latency_np2_r$r.json" >"$out/latency_np2_r$r.txt" 2>/dev/null
    echo "[netns] bandwidth run $r" >&2
    tt_mpirun "$hf" 2 perf/all_reduce_perf -b 64K -e 256M -f 2 -n 10 -w 3 -c 1 --mpi \
        -J "$out/all_reduce_np2_r$r.json" >"$out/all_reduce_np2_r$r.txt" 2>/dev/null
    # the same beside one busy process (a data loader, another job's rank):
    # three runnable tasks on the machine's two cores
    echo "[netns] bandwidth run $r beside a busy process" >&2
    timeout 600 sh -c 'while :; do :; done' &
    busy=$!
    tt_mpirun "$hf" 2 perf/all_reduce_perf -b 4M -e 256M -f 4 -n 5 -w 1 -c 1 --mpi \
        -J "$out/all_reduce_busy_np2_r$r.json" >"$out/all_reduce_busy_np2_r$r.txt" 2>/dev/null
    kill "$busy" 2>/dev/null
    wait "$busy" 2>/dev/null
done
# the algorithm sweep on 2 hosts x 2 ranks (hierarchical against flat)
hf22=$(tt_hostfile "node1:2 node2:2")
for b in all_reduce broadcast all_gather; do
    echo "[netns] sweep $b, 2 hosts x 2 ranks" >&2
    tt_mpirun "$hf22" 4 perf/${b}_perf -b 8 -e 64M -f 8 -n 10 -w 3 --sweep \
        -J "$out/sweep_${b}_2x2.json" >"$out/sweep_${b}_2x2.txt" 2>/dev/null
done
echo "[netns] wrote $out" >&2
"${PYTHON:-python3}" perf/summarize.py "$out" >"$out/summary.md"
echo "[netns] wrote $out/summary.md" >&2
