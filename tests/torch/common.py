# SPDX-License-Identifier: BSD-3-Clause
"""What the PyTorch tests share: starting a job under whichever launcher
ran them (torchrun, mpirun, or torch.multiprocessing.spawn), a gloo group
for verdicts, and the TAP stream (rank 0 writes it; to $TAP_FILE when
set, since torchrun prefixes every line of a rank's output)."""
import datetime
import os
import sys

import torch
import torch.distributed as dist

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import tutti.torch  # noqa: E402,F401  (registers the backend)
from taputil import Tap  # noqa: E402


class Out:
    """Rank 0's TAP lines: to $TAP_FILE (appended) or stdout."""

    def __init__(self):
        path = os.environ.get("TAP_FILE")
        self.f = open(path, "a") if path else sys.__stdout__

    def write(self, s):
        self.f.write(s)
        self.f.flush()

    def flush(self):
        self.f.flush()


def launcher():
    if "OMPI_COMM_WORLD_RANK" in os.environ or "PMI_RANK" in os.environ or "SLURM_PROCID" in os.environ:
        return "mpirun"
    if "TORCHELASTIC_RUN_ID" in os.environ or "RANK" in os.environ:
        return "torchrun"
    return "spawn"


def init(timeout=60, rank=None, size=None):
    """The default group over tutti, from whichever launcher started us."""
    td = datetime.timedelta(seconds=timeout)
    if rank is not None:  # spawned: the parent chose MASTER_ADDR / MASTER_PORT
        dist.init_process_group("tutti", rank=rank, world_size=size, timeout=td)
    elif launcher() == "mpirun":
        tutti.torch.init_process_group(timeout=td)  # maps the launcher's variables
    else:
        dist.init_process_group("tutti", timeout=td)


def make_tap():
    """A Tap whose verdicts travel over a gloo group of every rank."""
    gloo = dist.new_group(backend="gloo")
    rank, size = dist.get_rank(), dist.get_world_size()

    def agree(ok, msg):
        flags = torch.tensor([1 if ok else 0], dtype=torch.int32)
        allf = [torch.zeros(1, dtype=torch.int32) for _ in range(size)]
        dist.all_gather(allf, flags, group=gloo)
        if all(int(f) for f in allf):
            return True, ""
        msgs = [None] * size
        dist.all_gather_object(msgs, msg, group=gloo)
        return False, next(m for m, f in zip(msgs, allf) if not int(f))

    tap = Tap(rank, agree)
    if rank == 0:
        out = Out()
        sys.stdout = out  # Tap prints; rank 0's TAP goes where the harness reads it
    return tap, gloo


def spawn(main, nprocs, port_seed):
    """torch.multiprocessing.spawn with a fresh store port."""
    import torch.multiprocessing as mp
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(20000 + (os.getpid() * 7 + port_seed) % 20000)
    mp.spawn(main, args=(nprocs,), nprocs=nprocs)
