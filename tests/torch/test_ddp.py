# SPDX-License-Identifier: BSD-3-Clause
"""DDP parity: the same model, data and optimizer trained with
DistributedDataParallel over tutti and over gloo in the same job; at 2
ranks the parameters must end bit-identical (a sum of two floats has one
value whatever the order), at 3-4 within float tolerance (the two
libraries add in different orders).  Also: parameters identical on every
rank, a model with buffers (broadcast every forward), unused parameters
(find_unused_parameters), no_sync accumulation, small buckets (many
allreduces in flight during backward), a Python comm hook whose future
callback runs on tutti's progress thread, and DDP's constructor
broadcast."""
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class Net(nn.Module):
    def __init__(self, unused=False):
        super().__init__()
        self.a = nn.Linear(32, 256)
        self.bn = nn.BatchNorm1d(256)  # buffers: DDP broadcasts them every forward
        self.b = nn.Linear(256, 256)
        self.c = nn.Linear(256, 10)
        self.unused = nn.Linear(4, 4) if unused else None

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.bn(self.a(x))))))


def batches(rank, steps, n=16):
    g = torch.Generator().manual_seed(1234 + rank)
    return [(torch.randn(n, 32, generator=g), torch.randint(0, 10, (n,), generator=g)) for _ in range(steps)]


def train(group, rank, steps, unused=False, bucket_mb=0.25, accumulate=1, hook=None, init_seed=0):
    torch.manual_seed(init_seed)
    model = Net(unused)
    ddp = DDP(model, process_group=group, bucket_cap_mb=bucket_mb, find_unused_parameters=unused)
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    data = batches(rank, steps * accumulate)
    for s in range(steps):
        opt.zero_grad()
        for k in range(accumulate):
            x, y = data[s * accumulate + k]
            if k < accumulate - 1:
                with ddp.no_sync():
                    nn.functional.cross_entropy(ddp(x), y).backward()
            else:
                nn.functional.cross_entropy(ddp(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()], [b.clone() for b in model.buffers()]


def python_allreduce_hook(state, bucket):
    """A hook in Python: all_reduce, then divide in a future callback
    (which runs on tutti's progress thread, taking the GIL)."""
    t = bucket.buffer() if hasattr(bucket, "buffer") else bucket.get_tensor()
    fut = dist.all_reduce(t, async_op=True).get_future()
    n = dist.get_world_size()
    return fut.then(lambda f: f.value()[0].div_(n))


def main(rank=None, size=None):
    common.init(timeout=float(os.environ.get("TEST_PG_TIMEOUT", 60)), rank=rank, size=size)
    tap, gloo = common.make_tap()
    me, p = dist.get_rank(), dist.get_world_size()
    exact = p == 2
    tol = "bit-identical" if exact else "within rtol 1e-4"

    def compare(a, b):
        for k, (x, y) in enumerate(zip(a, b)):
            if exact and not torch.equal(x, y):
                return "tensor %d: max |diff| %.3g (must be bit-identical)" % (k, (x - y).abs().max().item())
            if not exact and not torch.allclose(x, y, rtol=1e-4, atol=1e-6):
                return "tensor %d: max |diff| %.3g" % (k, (x - y).abs().max().item())

    def same_everywhere(params):
        # (every broadcast runs on every rank: a rank must not leave early)
        bad = None
        for k, x in enumerate(params):
            ref = x.clone()
            dist.broadcast(ref, 0, group=gloo)
            if bad is None and not torch.equal(ref, x):
                bad = "parameter %d differs between rank 0 and rank %d" % (k, me)
        return bad

    def parity(**kw):
        a = train(None, me, 12, **kw)
        b = train(gloo, me, 12, **kw)
        # parameters the same on every rank; parameters and buffers (BatchNorm's
        # running stats, per rank) the same over tutti as over gloo
        return same_everywhere(a[0]) or compare(a[0] + a[1], b[0] + b[1])

    tap.case("DDP, 12 steps of SGD+momentum, BatchNorm buffers, 0.25 MB buckets: tutti and gloo end %s" % tol,
             lambda: parity())
    tap.case("DDP with find_unused_parameters and an unused layer: %s" % tol, lambda: parity(unused=True))
    tap.case("DDP with no_sync gradient accumulation (3 micro-batches): %s" % tol, lambda: parity(accumulate=3))
    tap.case("DDP with one big bucket (25 MB): %s" % tol, lambda: parity(bucket_mb=25))

    def hook_case():
        a = train(None, me, 8, hook=python_allreduce_hook)
        b = train(None, me, 8)
        # parameters the same on every rank; parameters and buffers (BatchNorm's
        # running stats, per rank) the same over tutti as over gloo
        return same_everywhere(a[0]) or compare(a[0] + a[1], b[0] + b[1])

    tap.case("a Python comm hook (all_reduce future, division in .then on the progress thread) matches the "
             "built-in path", hook_case)

    def constructor_broadcast():
        torch.manual_seed(100 + me)  # every rank starts from other weights
        model = Net()
        DDP(model)
        return same_everywhere(list(model.parameters()))

    tap.case("DDP's constructor broadcasts rank 0's weights", constructor_broadcast)
    rc = tap.done()
    dist.destroy_process_group()
    if rc:
        raise SystemExit(rc)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--spawn":
        common.spawn(main, int(sys.argv[2]), 23)
    else:
        main()
