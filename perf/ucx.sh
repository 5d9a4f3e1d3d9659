#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/ucx.sh [OUTDIR] [REPS]: tutti's UCX transport against Open MPI with
# --mca pml ucx, on the same 2 ranks, sizes and buffers in one run (--mpi),
# both libraries restricted to the same UCX transports: UCX's tcp, then its
# shared memory (posix + cma).  float32 sum all-reduce: 8 B latency (2000
# iterations), then 64 KiB, 2 MiB, 64 MiB; REPS runs each.  Ratio = Open
# MPI's time / tutti's (above 1: tutti is faster).
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/ucx}
reps=${2:-3}
mkdir -p "$out"
run()
{ # run TLS LABEL ARGS...
    local tls=$1 label=$2
    shift 2
    # Open MPI 4.1 takes pml ucx only on devices it knows unless told: any
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 \
        --mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any --mca osc ^ucx --mca btl ^uct \
        -x UCX_TLS="$tls,self" -x TUTTI_TRANSPORTS=ucx -x TUTTI_UCX_TLS="$tls" \
        perf/all_reduce_perf "$@" --mpi -J "$out/$label.json" >"$out/$label.txt" 2>"$out/$label.err"
}
for r in $(seq "$reps"); do
    for tls in tcp posix,cma; do
        t=${tls%%,*}
        echo "[ucx] $tls run $r" >&2
        run "$tls" "latency_${t}_r$r" -b 8 -e 8 -n 2000 -w 200 -c 1
        run "$tls" "bw_${t}_r$r" -b 64K -e 64M -f 32 -n 10 -w 3 -c 1
    done
done
python3 - "$out" "$reps" <<'PY'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
rows = []
for t in ("tcp", "posix"):
    for kind in ("latency", "bw"):
        by = {}
        for r in range(1, reps + 1):
            try:
                data = json.load(open(f"{out}/{kind}_{t}_r{r}.json"))
            except (OSError, ValueError):
                continue
            for e in data.get("results", data if isinstance(data, list) else []):
                o = e["out_of_place"]
                by.setdefault(e["size"], []).append((o["time"], o["mpi"]["time"], o["mpi"]["ratio"]))
        for size, v in sorted(by.items()):
            rows.append((t, size, statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                         statistics.median(x[2] for x in v), min(x[2] for x in v), max(x[2] for x in v)))
with open(f"{out}/summary.md", "w") as f:
    f.write("| UCX_TLS | bytes | tutti us | Open MPI (pml ucx) us | ratio (median) | ratio range |\n|---|---|---|---|---|---|\n")
    for t, size, tt, mt, ra, lo, hi in rows:
        f.write(f"| {t} | {size} | {tt:.1f} | {mt:.1f} | {ra:.2f}x | {lo:.2f}-{hi:.2f}x |\n")
print(open(f"{out}/summary.md").read())
PY
