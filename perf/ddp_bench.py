# SPDX-License-Identifier: BSD-3-Clause
"""A DDP training benchmark: epochs of an MLP with 0.9 M parameters (3.5 MiB
of gradients per step) over tutti, over gloo, and with communication
removed (a comm hook that returns the unreduced gradients at once: the
floor), alternated epoch by epoch in one job on the same ranks and data.
Prints each epoch time (median over rounds), the ratios, and checks that
the tutti and gloo runs end with bit-identical parameters (2 ranks) or
within float tolerance (more).

    LD_LIBRARY_PATH=<openblas-pthread> OPENBLAS_NUM_THREADS=1 \\
        python3 perf/ddp_bench.py --spawn 2 [--steps 60 --rounds 5 --json out.json]

(perf/README.md: this machine's default BLAS is the slow reference one;
OpenBLAS with one thread per rank makes communication matter.)
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

import tutti.torch


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 100))


def no_comm_hook(state, bucket):
    fut = torch.futures.Future()
    fut.set_result(bucket.buffer() if hasattr(bucket, "buffer") else bucket.get_tensor())
    return fut


def epoch(group, data, hook=False):
    model = net()
    ddp = DDP(model, process_group=group)
    if hook:
        ddp.register_comm_hook(None, no_comm_hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    dist.barrier(group=group)
    t0 = time.perf_counter()
    for x, y in data:
        opt.zero_grad()
        nn.functional.cross_entropy(ddp(x), y).backward()
        opt.step()
    t = time.perf_counter() - t0
    tt = torch.tensor([t], dtype=torch.float64)
    dist.all_reduce(tt, op=dist.ReduceOp.MAX, group=group if group is not None else None)
    return tt.item(), [p.detach().clone() for p in model.parameters()]


def main(rank, size, a):
    torch.set_num_threads(1)
    if rank is not None:
        dist.init_process_group("tutti", rank=rank, world_size=size)
    else:
        tutti.torch.init_process_group()  # torchrun's variables, or mpirun's / srun's mapped
    me, p = dist.get_rank(), dist.get_world_size()
    gloo = dist.new_group(backend="gloo")
    g = torch.Generator().manual_seed(100 + me)
    data = [(torch.randn(a.batch, 784, generator=g), torch.randint(0, 100, (a.batch,), generator=g))
            for _ in range(a.steps)]
    nparam = sum(q.numel() for q in net().parameters())
    times = {"tutti": [], "gloo": [], "nocomm": []}
    last = {}
    epoch(None, data[:3])  # warm-up
    epoch(gloo, data[:3])
    for r in range(a.rounds):
        order = ["tutti", "gloo", "nocomm"] if r % 2 == 0 else ["nocomm", "gloo", "tutti"]
        for which in order:
            t, params = epoch(gloo if which == "gloo" else None, data, hook=which == "nocomm")
            times[which].append(t)
            last[which] = params
    med = {k: statistics.median(v) for k, v in times.items()}
    same = all(torch.equal(x, y) for x, y in zip(last["tutti"], last["gloo"]))
    close = all(torch.allclose(x, y, rtol=1e-4, atol=1e-6) for x, y in zip(last["tutti"], last["gloo"]))
    if me == 0:
        print("# DDP, %d ranks, MLP of %d parameters (%.2f MiB of gradients), batch %d, %d steps per epoch, "
              "torch threads %d, OPENBLAS_NUM_THREADS=%s" % (p, nparam, nparam * 4 / 2 ** 20, a.batch, a.steps,
                                                              torch.get_num_threads(),
                                                              os.environ.get("OPENBLAS_NUM_THREADS", "unset")))
        for k in ("tutti", "gloo", "nocomm"):
            print("%-7s epoch %.3f s (median of %d; runs %s)" % (k, med[k], a.rounds,
                                                                 " ".join("%.3f" % v for v in times[k])))
        print("tutti / no-communication: %.3fx   tutti / gloo: %.3fx   exposed communication: tutti %.3f s, "
              "gloo %.3f s" % (med["tutti"] / med["nocomm"], med["tutti"] / med["gloo"], med["tutti"] - med["nocomm"],
                               med["gloo"] - med["nocomm"]))
        print("parameters after the last epochs, tutti against gloo: %s" % (
            "bit-identical" if same else ("within rtol 1e-4" if close else "DIFFERENT")))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"nranks": p, "params": nparam, "batch": a.batch, "steps": a.steps, "times": times,
                           "median": med, "bit_identical": same, "close": close}, f, indent=1)
    dist.destroy_process_group()


def _spawned(rank, size, opts):
    main(rank, size, argparse.Namespace(**opts))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--spawn", type=int, default=0)
    args = ap.parse_args()
    if args.spawn:
        import torch.multiprocessing as mp
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29900 + os.getpid() % 90))
        mp.spawn(_spawned, args=(args.spawn, vars(args)), nprocs=args.spawn)
    else:
        main(None, None, args)
