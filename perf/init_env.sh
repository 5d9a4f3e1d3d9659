#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# perf/init_env.sh [OUTDIR] [ROUNDS] [NP...]: time of tutti_comm_init_env
# (slowest rank) under Open MPI's mpirun through the launcher's service
# (PMIx) against the fallback rules (TUTTI_LAUNCHER=none: the job-id port
# on one node), and under MPICH's mpiexec (PMI-1), launches alternating.
# Default 16 and 64 ranks, 3 rounds.  Needs make check's programs built.
set -u
cd "$(dirname "$0")/.."
out=${1:-perf/results/launch}
rounds=${2:-3}
shift 2 2>/dev/null
nps=${*:-16 64}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 TUTTI_INIT_TIMEOUT=300
job=tests/launch/env_job
: >"$out/runs.txt"
for r in $(seq "$rounds"); do
    for np in $nps; do
        for route in pmix none mpich; do
            case $route in
            mpich) line=$(timeout 600 mpiexec.hydra -n "$np" "$job" --time 2>/dev/null | grep '^init_env') ;;
            *) line=$(TUTTI_LAUNCHER=$route timeout 600 mpirun --oversubscribe --bind-to none -x TUTTI_LAUNCHER \
                -x TUTTI_INIT_TIMEOUT -np "$np" "$job" --time 2>/dev/null | grep '^init_env') ;;
            esac
            s=$(echo "$line" | awk '{print $4}')
            echo "$route $np r$r ${s:-failed}" | tee -a "$out/runs.txt"
        done
    done
done
python3 - "$out/runs.txt" <<'PY' | tee "$out/summary.txt"
import sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    route, np, r, s = line.split()
    if s != "failed":
        t[(int(np), route)].append(float(s))
names = {"pmix": "mpirun, PMIx", "none": "mpirun, fallback (job-id port)", "mpich": "mpiexec, PMI-1"}
print("ranks  route                             init s (min..max)   PMIx/fallback (median)")
for np in sorted({k[0] for k in t}):
    base = sorted(t.get((np, "none"), [0]))
    for route in ("none", "pmix", "mpich"):
        v = sorted(t.get((np, route), []))
        if not v:
            continue
        med = v[len(v) // 2]
        ratio = f"{med / base[len(base) // 2]:.2f}" if base[0] else "-"
        print(f"{np:5}  {names[route]:32}  {v[0]:7.3f} .. {v[-1]:7.3f}    {ratio}")
PY
