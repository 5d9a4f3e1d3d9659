#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Turns the JSON of *_perf --mpi runs (-J file) into one PNG: bus bandwidth
and latency against message size, tutti against MPI, one colour per file.

    perf/plot.py -o allreduce.png np2.json np4.json [--title "..."]
    perf/plot.py --placement in_place ...

Needs python3-matplotlib (Debian).  Out-of-place results by default."""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def human(n):
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div:
            return "%d%s" % (n // div, unit)
    return str(n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="JSON written by a *_perf run with -J (and --mpi for the MPI curves)")
    ap.add_argument("-o", "--output", required=True, help="PNG to write")
    ap.add_argument("--title", default=None)
    ap.add_argument("--placement", choices=("out_of_place", "in_place"), default="out_of_place")
    args = ap.parse_args()

    fig, (ax_bw, ax_lat) = plt.subplots(1, 2, figsize=(13, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    sizes_seen = set()
    for i, path in enumerate(args.files):
        with open(path) as f:
            d = json.load(f)
        rows = [r for r in d["results"] if args.placement in r]
        if not rows:
            print("%s: no %s results (a --sweep file?)" % (path, args.placement), file=sys.stderr)
            return 1
        label = "%s, %d ranks" % (d["benchmark"].replace("_perf", ""), d["nranks"])
        c = colours[i % len(colours)]
        size = [r["size"] for r in rows]
        sizes_seen.update(size)
        res = [r[args.placement] for r in rows]
        ax_bw.plot(size, [x["bus_bw"] for x in res], "o-", color=c, label="tutti " + label)
        ax_lat.plot(size, [x["time"] for x in res], "o-", color=c, label="tutti " + label)
        mpi = [(s, x["mpi"]) for s, x in zip(size, res) if x.get("mpi")]
        if mpi:
            ax_bw.plot([s for s, _ in mpi], [m["bus_bw"] for _, m in mpi], "s--", color=c, alpha=0.7,
                       label="MPI " + label)
            ax_lat.plot([s for s, _ in mpi], [m["time"] for _, m in mpi], "s--", color=c, alpha=0.7,
                        label="MPI " + label)
    ticks = sorted(sizes_seen)
    step = max(1, len(ticks) // 10)
    for ax in (ax_bw, ax_lat):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks[::step])
        ax.set_xticklabels([human(t) for t in ticks[::step]], rotation=45)
        ax.set_xlabel("message size (bytes)")
        ax.grid(True, which="both", alpha=0.3)
    ax_bw.set_ylabel("bus bandwidth (GB/s)")
    ax_bw.set_title("bus bandwidth (higher is better)")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("time per call (us)")
    ax_lat.set_title("latency (lower is better)")
    ax_bw.legend(fontsize=8)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
