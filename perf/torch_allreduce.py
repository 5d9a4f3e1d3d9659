# SPDX-License-Identifier: BSD-3-Clause
"""dist.all_reduce (or --op broadcast, all_gather, gather, scatter) over
tutti against gloo, side by side in one job: the
same ranks, tensors and sizes, the two backends alternated size by size
(the machine's fast and slow modes hit both alike).  Prints nccl-tests-like
rows: size, time and bus bandwidth of each, and gloo's time / tutti's.
Then the backend's own cost per call at the smallest size: the same
all-reduce through the backend (post, progress thread, Work) against
tutti's own blocking call on the same communicator, from C++.

    python3 perf/torch_allreduce.py --spawn 2 [-b 8 -e 256M -f 4] [--json out.json]
    torchrun --standalone --redirects 1 --tee 1 --nproc_per_node 2 perf/torch_allreduce.py
    mpirun -np 4 python3 perf/torch_allreduce.py
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

import tutti.torch


def size_arg(s):
    m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * m[s[-1].upper()]) if s[-1].upper() in m else int(s)


def timed(fn, tensor, iters, group):
    dist.barrier(group=group)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn(tensor, group=group)
    t = (time.perf_counter() - t0) / iters
    # the slowest rank's time (as nccl-tests reports)
    tt = torch.tensor([t], dtype=torch.float64)
    dist.all_reduce(tt, op=dist.ReduceOp.MAX, group=group)
    return tt.item()


def op_fn(name, n, me, p):
    """The call timed for --op, on tensors of n float32 per rank, and the
    bus-bandwidth factor (nccl-tests': all-reduce 2(p-1)/p, gathers (p-1)/p
    of the gathered size, broadcast 1)."""
    if name == "all_reduce":
        return (lambda x, group: dist.all_reduce(x, group=group)), 2.0 * (p - 1) / p, n
    if name == "broadcast":
        return (lambda x, group: dist.broadcast(x, 0, group=group)), 1.0, n
    if name == "all_gather":  # (gloo 1.13 has no uneven all-gather to compare with)
        outs = [torch.empty(n) for q in range(p)]
        mine = torch.ones(n)
        return (lambda x, group: dist.all_gather(outs, mine, group=group)), (p - 1.0) / p * p, n
    if name == "gather":
        outs = [torch.empty(n) for _ in range(p)] if me == 0 else None
        return (lambda x, group: dist.gather(x, outs, dst=0, group=group)), (p - 1.0) / p * p, n
    if name == "scatter":
        ins = [torch.ones(n) for _ in range(p)] if me == 0 else None
        return (lambda x, group: dist.scatter(x, ins, src=0, group=group)), (p - 1.0) / p * p, n
    raise SystemExit("unknown --op " + name)


def main(rank=None, size=None, a=None):
    if rank is not None:
        dist.init_process_group("tutti", rank=rank, world_size=size)
    else:
        tutti.torch.init_process_group()  # torchrun's variables, or mpirun's / srun's mapped
    me, p = dist.get_rank(), dist.get_world_size()
    gloo = dist.new_group(backend="gloo")
    tut = dist.group.WORLD
    rows = []
    # warm-up: both backends, small and large, until the first size is not
    # the first thing the processes do
    w, big = torch.ones(2), torch.ones(1 << 18)
    for grp in (tut, gloo, tut, gloo):
        timed(dist.all_reduce, w, 200, grp)
        timed(dist.all_reduce, big, 10, grp)
    if me == 0:
        print("# dist.%s, float32%s, %d ranks, torch %s; %s" % (a.op, " sum" if a.op == "all_reduce" else "", p,
                                                             torch.__version__, tutti.torch.describe()))
        print("# time: median of %d alternated rounds, slowest rank; busbw: nccl-tests' factors (per-rank size)" % a.rounds)
        print("#%11s %10s %12s %10s %12s %10s %9s" % ("size(B)", "count", "tutti(us)", "busbw", "gloo(us)", "busbw",
                                                     "gloo/tutti"))
    sizes, nbytes = [], a.b
    while nbytes <= a.e:
        sizes.append(nbytes)
        nbytes = int(nbytes * a.f) if a.f > 1 else nbytes + 1
    if sizes[-1] != a.e:
        sizes.append(a.e)  # the largest size always
    for nbytes in sizes:
        n = max(1, nbytes // 4)
        x = torch.ones(n)
        fn, factor, _ = op_fn(a.op, n, me, p)
        iters = max(2, min(a.iters, int(a.budget / max(nbytes / 2e8, 2e-5))))
        tt, tg = [], []
        for r in range(a.rounds):
            # warm-up of each, then alternate which goes first
            order = [(tut, tt), (gloo, tg)] if r % 2 == 0 else [(gloo, tg), (tut, tt)]
            for grp, acc in order:
                if r == 0:
                    timed(fn, x, 2, grp)
                acc.append(timed(fn, x, iters, grp))
        t1, t2 = statistics.median(tt), statistics.median(tg)
        bus = factor * n * 4
        row = {"bytes": n * 4, "tutti_us": t1 * 1e6, "gloo_us": t2 * 1e6, "tutti_busbw": bus / t1 / 1e9,
               "gloo_busbw": bus / t2 / 1e9, "ratio": t2 / t1, "tutti_runs_us": [v * 1e6 for v in tt],
               "gloo_runs_us": [v * 1e6 for v in tg]}
        rows.append(row)
        if me == 0:
            print("%12d %10d %12.2f %10.3f %12.2f %10.3f %8.2fx" % (n * 4, n, t1 * 1e6, row["tutti_busbw"], t2 * 1e6,
                                                                   row["gloo_busbw"], row["ratio"]), flush=True)
    # the backend's own cost per call
    x = torch.ones(max(1, a.b // 4))
    be = tutti.torch._backend_of(None)
    own, direct = [], []
    for r in range(a.rounds):
        dist.barrier(group=gloo)
        own.append(tutti.torch._C.bench(be, x, a.iters, False))
        dist.barrier(group=gloo)
        direct.append(tutti.torch._C.bench(be, x, a.iters, True))
    o, d = statistics.median(own), statistics.median(direct)
    if me == 0:
        print("# %d B: through the backend %.2f us, tutti's own call %.2f us: the backend's own cost %.2f us per call"
              % (x.numel() * 4, o * 1e6, d * 1e6, (o - d) * 1e6))
    if a.json and me == 0:
        with open(a.json, "w") as f:
            json.dump({"nranks": p, "torch": torch.__version__, "describe": tutti.torch.describe(), "rows": rows,
                       "backend_us": o * 1e6, "tutti_call_us": d * 1e6}, f, indent=1)
    dist.destroy_process_group()


def _spawned(rank, size, opts):
    main(rank, size, argparse.Namespace(**opts))


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("-b", type=size_arg, default=8, help="smallest size in bytes (8)")
    ap.add_argument("-e", type=size_arg, default=256 << 20, help="largest size (256M)")
    ap.add_argument("-f", type=float, default=4, help="size factor (4)")
    ap.add_argument("--iters", type=int, default=2000, help="most iterations per round")
    ap.add_argument("--budget", type=float, default=0.3, help="seconds a round aims at")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--op", default="all_reduce", choices=("all_reduce", "broadcast", "all_gather", "gather", "scatter"))
    ap.add_argument("--json")
    ap.add_argument("--spawn", type=int, default=0, help="start N ranks with torch.multiprocessing.spawn")
    return ap.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.spawn:
        import torch.multiprocessing as mp
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29400 + os.getpid() % 500))
        mp.spawn(_spawned, args=(args.spawn, vars(args)), nprocs=args.spawn)
    else:
        main(a=args)
