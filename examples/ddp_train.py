# SPDX-License-Identifier: BSD-3-Clause
"""Data-parallel training with DistributedDataParallel over tutti.

The only tutti-specific lines are the import and the backend's name:

    import tutti.torch                      # registers "tutti"
    dist.init_process_group("tutti")        # was: "gloo"

Run it with any launcher:

    torchrun --standalone --redirects 1 --tee 1 --nproc_per_node 2 examples/ddp_train.py
    python3 examples/ddp_train.py --spawn 2
    mpirun -np 2 python3 examples/ddp_train.py       (tutti.torch.init_process_group maps mpirun's ranks)

(--redirects 1 --tee 1: Debian 12's torchrun fails without them, see README.md.)
A regression on synthetic data: each rank trains on its own shard, DDP
averages the gradients, and every rank ends with the same model.  --check
verifies that (parameters identical on every rank, loss down by 10x).
"""
import argparse
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

import tutti.torch


def run(rank, size, args):
    if rank is not None:  # --spawn
        dist.init_process_group(args.backend, rank=rank, world_size=size)
    else:
        tutti.torch.init_process_group(args.backend)  # torchrun's variables, or mpirun's / srun's
    me, p = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    w_true = torch.randn(16, 1)
    g = torch.Generator().manual_seed(1000 + me)  # this rank's shard
    x = torch.randn(2048, 16, generator=g)
    y = x @ w_true + 0.01 * torch.randn(2048, 1, generator=g)

    model = DDP(nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 1)))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = last = None
    for epoch in range(args.epochs):
        for i in range(0, len(x), 128):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x[i:i + 128]), y[i:i + 128])
            loss.backward()  # gradients averaged over the ranks, overlapped with backward
            opt.step()
        avg = loss.detach().clone()
        dist.all_reduce(avg, op=dist.ReduceOp.AVG if args.backend == "tutti" else dist.ReduceOp.SUM)
        if args.backend != "tutti":
            avg /= p
        first = avg.item() if first is None else first
        last = avg.item()
        if me == 0:
            print("epoch %2d  loss %.5f  (%d ranks, backend %s)" % (epoch, last, p, args.backend), flush=True)
    ok = True
    if args.check:
        for t in model.parameters():
            ref = t.detach().clone()
            dist.broadcast(ref, 0)
            ok = ok and torch.equal(ref, t.detach())
        ok = ok and last < first / 10
        if me == 0:
            print("check: %s (parameters identical on every rank, loss %.4f -> %.5f)" % (
                "ok" if ok else "FAILED", first, last), flush=True)
    dist.destroy_process_group()
    if not ok:
        sys.exit(1)


def spawned(rank, size, opts):
    run(rank, size, argparse.Namespace(**opts))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="tutti")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--spawn", type=int, default=0, help="start N ranks with torch.multiprocessing.spawn")
    a = ap.parse_args()
    if a.spawn:
        import torch.multiprocessing as mp
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29300 + os.getpid() % 600))
        mp.spawn(spawned, args=(a.spawn, vars(a)), nprocs=a.spawn)
    else:
        run(None, None, a)
