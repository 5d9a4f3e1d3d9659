#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""summarize.py DIR: median over repeated runs (DIR/<bench>_np<N>_r<K>.json,
written by perf/campaign.sh) of tutti's and MPI's out-of-place time and bus
bandwidth per size, and of the per-run ratio MPI time / tutti time (with
its range over the runs when there are several), as markdown tables."""
import glob
import json
import os
import re
import statistics
import sys


def human(n):
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return "%d %s" % (n // div, unit)
    return "%d B" % n


def main():
    d = sys.argv[1]
    groups = {}
    for path in sorted(glob.glob(os.path.join(d, "*_np*_r*.json"))):
        m = re.match(r"(.+)_np(\d+)_r\d+\.json", os.path.basename(path))
        if not m:
            continue
        groups.setdefault((m.group(1), int(m.group(2))), []).append(json.load(open(path)))
    for (bench, np), runs in sorted(groups.items()):
        print("\n### %s, %d ranks (%d runs; medians)\n" % (bench, np, len(runs)))
        print("| size | tutti time (us) | tutti busbw (GB/s) | MPI time (us) | MPI busbw (GB/s) | MPI time / tutti time |")
        print("|---:|---:|---:|---:|---:|---:|")
        sizes = sorted({r["size"] for run in runs for r in run["results"]})
        for s in sizes:
            rows = [r for run in runs for r in run["results"] if r["size"] == s]
            t = [r["out_of_place"]["time"] for r in rows]
            b = [r["out_of_place"]["bus_bw"] for r in rows]
            mt = [r["out_of_place"]["mpi"]["time"] for r in rows if r["out_of_place"].get("mpi")]
            mb = [r["out_of_place"]["mpi"]["bus_bw"] for r in rows if r["out_of_place"].get("mpi")]
            ratio = [r["out_of_place"]["mpi"]["ratio"] for r in rows if r["out_of_place"].get("mpi")]
            wrong = sum(r["out_of_place"]["nwrong"] or 0 for r in rows) + sum(r["in_place"]["nwrong"] or 0 for r in rows)
            print("| %s | %.2f | %.2f | %s | %s | %s%s |" % (
                human(s), statistics.median(t), statistics.median(b),
                "%.2f" % statistics.median(mt) if mt else "n/a", "%.2f" % statistics.median(mb) if mb else "n/a",
                ("%.2fx" % statistics.median(ratio) +
                 (" [%.2f-%.2f]" % (min(ratio), max(ratio)) if len(ratio) > 1 else "")) if ratio else "n/a", "" if wrong == 0 else " (%d WRONG)" % wrong))
    iperf = {}
    for path in sorted(glob.glob(os.path.join(d, "iperf_*_r*.txt"))):
        m = re.match(r"iperf_(.+)_r\d+\.txt", os.path.basename(path))
        senders = [float(x) for x in re.findall(r"([0-9.]+) Gbits/sec\s+\d+\s+sender", open(path).read())]
        if m and senders:
            iperf.setdefault(m.group(1), []).append(senders)
    if iperf:
        print("\n### iperf3 between the same hosts (%s; medians, Gbit/s and GB/s per direction)\n" % ", ".join(
            "%s: %d runs" % (k, len(v)) for k, v in sorted(iperf.items())))
        print("| mode | per direction (Gbit/s) | per direction (GB/s) |")
        print("|---|---:|---:|")
        for k, runs in sorted(iperf.items()):
            per_dir = statistics.median(statistics.mean(r) for r in runs)
            print("| %s | %.2f | %.3f |" % ("one direction" if k == "uni" else "both directions at once" if k == "bidir" else k,
                                           per_dir, per_dir / 8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
