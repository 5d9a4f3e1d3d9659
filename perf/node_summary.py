#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summarise perf/node.sh: for each collective, rank count and MPI library,
per size the worst and best ratio (MPI time / tutti time) over every round
and both placements, tutti's bus bandwidth range, and tutti's bus bandwidth
over one core's memcpy of the same size (measured in the same run).

    perf/node_summary.py perf/results/node > perf/results/node/summary.md
"""
import glob
import json
import os
import re
import sys


def size_str(b):
    for unit, sh in (("G", 30), ("M", 20), ("K", 10)):
        if b >= 1 << sh and b % (1 << sh) == 0:
            return "%d%s" % (b >> sh, unit)
    return str(b)


def main(d):
    runs = {}
    for f in sorted(glob.glob(os.path.join(d, "*_np*_*_r*.json"))):
        m = re.match(r"(.+)_np(\d+)_(ompi|mpich)_r(\d+)\.json$", os.path.basename(f))
        if not m:
            continue
        try:
            with open(f) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue  # an interrupted run
        runs.setdefault((m.group(1), int(m.group(2)), m.group(3)), []).append(data)
    lib_name = {"ompi": "Open MPI", "mpich": "MPICH"}
    print("# Node-local collectives: tutti against %s, from %s\n" % (" and ".join(lib_name.values()), d))
    print("ratio = MPI time / tutti time (above 1: tutti faster), worst and best over every round and both "
          "placements; busbw: tutti's, GB/s; /memcpy: tutti's busbw over one core's memcpy of the size, worst.\n")
    for (bench, np, lib), datas in sorted(runs.items()):
        print("## %s, %d ranks, against %s (%d rounds)\n" % (bench, np, lib_name[lib], len(datas)))
        print("| size | algorithm | ratio worst | ratio best | busbw | /memcpy |")
        print("|---|---|---|---|---|---|")
        sizes = sorted({r["size"] for data in datas for r in data["results"]})
        for s in sizes:
            ratios, bws, mcs, algos = [], [], [], set()
            for data in datas:
                for r in data["results"]:
                    if r["size"] != s:
                        continue
                    algos.add(r.get("algorithm", "?"))
                    for pl in ("out_of_place", "in_place"):
                        p = r.get(pl) or {}
                        if p.get("mpi"):
                            ratios.append(p["mpi"]["ratio"])
                        if "bus_bw" in p:
                            bws.append(p["bus_bw"])
                            mc = (r.get("memcpy") or {}).get("bw", 0)
                            if mc > 0:
                                mcs.append(p["bus_bw"] / mc)
            if not bws:
                continue
            print("| %s | %s | %s | %s | %.2f-%.2f | %s |" % (
                size_str(s), ",".join(sorted(algos)),
                "%.2fx" % min(ratios) if ratios else "n/a", "%.2fx" % max(ratios) if ratios else "n/a",
                min(bws), max(bws), "%.2f" % min(mcs) if mcs else "n/a"))
        print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "perf/results/node")
