# SPDX-License-Identifier: BSD-3-Clause
"""tutti as a torch.distributed backend.

    import tutti.torch                      # registers "tutti" (PyTorch >= 2.5: `import torch` is enough)
    import torch.distributed as dist
    dist.init_process_group("tutti")        # instead of "gloo": the one word to change

Works with torchrun, torch.multiprocessing.spawn and any init_method; under
mpirun or srun (which export no RANK / MASTER_ADDR) use
:func:`init_process_group` here, which maps the launcher's variables first.
CPU tensors only (mix with NCCL: ``init_process_group("cpu:tutti,cuda:nccl")``
on PyTorch 2.x).  Every failure (a dead peer, a deadline, mismatched calls)
is a RuntimeError (``DistBackendError`` on 2.x) naming the peer and the
operation, raised by ``wait()`` or, under DDP, by ``loss.backward()``.
The group's ``timeout`` is tutti's deadline: an operation fails once it has
made no progress for that long (NCCL's counts from the start instead).
"""

import datetime as _datetime
import hashlib as _hashlib
import inspect as _inspect
import os as _os

import torch as _torch  # noqa: F401  (the extension needs torch's libraries loaded)
import torch.distributed as _dist

from . import _C

__all__ = ["init_process_group", "describe", "launcher_env", "BACKEND"]

BACKEND = "tutti"


def _register():
    if not _dist.is_available():
        raise ImportError("tutti.torch: this PyTorch was built without torch.distributed")
    if BACKEND.upper() in getattr(_dist.Backend, "_plugins", {}):
        return
    kw = {}
    if "devices" in _inspect.signature(_dist.Backend.register_backend).parameters:
        kw["devices"] = ["cpu"]  # a list: a bare string was iterated letter by letter (pytorch#186660)
    _dist.Backend.register_backend(BACKEND, _C.create_backend, **kw)


_register()


def _autoload():
    """The torch.backends entry point (PyTorch >= 2.5 calls it at `import
    torch`): importing this module registered the backend; nothing else."""


def _backend_of(group):
    pg = group if group is not None else _dist.distributed_c10d._get_default_group()
    get = getattr(pg, "_get_backend", None)
    if get is not None:  # 2.x: the backend inside PyTorch's ProcessGroup
        try:
            return get(_torch.device("cpu"))
        except Exception:
            pass
    return pg


def describe(group=None):
    """One line describing a tutti group (default: the default group):
    ranks, nodes, and which transport serves how many peers."""
    return _C.describe(_backend_of(group))


def _job_port(job):
    # a port for the store derived from the launcher's job id, the same on
    # every rank (tutti's own derived port for tutti_comm_init_env differs)
    h = int.from_bytes(_hashlib.sha256(("tutti-torch|" + job).encode()).digest()[:4], "little")
    return 30000 + h % 20000


def launcher_env(environ=None):
    """RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT from what
    mpirun (Open MPI, MPICH) or srun exported, as a dict (nothing already
    set is overridden).  On one node MASTER_ADDR defaults to 127.0.0.1 and
    MASTER_PORT to a port derived from the job id; across nodes export
    MASTER_ADDR (rank 0's host) yourself, e.g. ``mpirun -x MASTER_ADDR=node1``."""
    env = dict(_os.environ if environ is None else environ)
    out = {}
    found = None
    for rank, size, local, local_size, src in (
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE",
         "Open MPI"),
        ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", "MPICH"),
        ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None, "Slurm"),
    ):
        if rank in env and size in env:
            found = (rank, size, local, local_size, src)
            break
    if "RANK" in env and "WORLD_SIZE" in env:
        return {}  # torchrun, or set by hand: nothing to map
    if found is None:
        raise RuntimeError("tutti.torch.init_process_group: no RANK/WORLD_SIZE, and no launcher variables "
                           "(OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID): start with torchrun, mpirun or srun")
    rank, size, local, local_size, src = found
    out["RANK"] = env[rank]
    out["WORLD_SIZE"] = env[size]
    if local and local in env:
        out["LOCAL_RANK"] = env[local]
    one_node = (local_size and env.get(local_size) == env[size]) or \
        (src == "Slurm" and env.get("SLURM_NNODES") == "1")
    if "MASTER_ADDR" not in env:
        if not one_node:
            raise RuntimeError("tutti.torch.init_process_group: the %s job spans several nodes: export MASTER_ADDR "
                               "(rank 0's host name or address) to every rank, e.g. mpirun -x MASTER_ADDR=<host>" % src)
        out["MASTER_ADDR"] = "127.0.0.1"
    if "MASTER_PORT" not in env:
        job = env.get("OMPI_MCA_ess_base_jobid") or env.get("PMIX_NAMESPACE") or env.get("SLURM_JOB_ID") or \
            env.get("PMI_KVSNAME") or env.get("PMI_FD")
        if not job:
            raise RuntimeError("tutti.torch.init_process_group: no MASTER_PORT and no job id to derive one from: "
                               "export MASTER_PORT")
        out["MASTER_PORT"] = str(_job_port(job + "|" + env.get("MASTER_ADDR", out.get("MASTER_ADDR", ""))))
    return out


def init_process_group(backend=BACKEND, timeout=None, **kwargs):
    """torch.distributed.init_process_group for any launcher: under mpirun or
    srun it first maps the launcher's rank variables (:func:`launcher_env`)
    into the environment, then initialises with ``init_method="env://"``
    unless another is given.  ``timeout`` (a timedelta or seconds) is the
    group's, and tutti's deadline."""
    if kwargs.get("init_method") is None and kwargs.get("store") is None:
        _os.environ.update(launcher_env())
    if timeout is not None:
        if not isinstance(timeout, _datetime.timedelta):
            timeout = _datetime.timedelta(seconds=float(timeout))
        kwargs["timeout"] = timeout
    return _dist.init_process_group(backend, **kwargs)
