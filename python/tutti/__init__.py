# SPDX-License-Identifier: BSD-3-Clause
"""tutti: collective communication for distributed training, from Python.

A thin layer over the C library (``include/tutti.h``): communicators, every
collective and point-to-point call, blocking and nonblocking, on any object
with the buffer protocol (numpy arrays, bytearray, memoryview).

    import numpy as np, tutti
    comm = tutti.Comm.from_env()                 # under mpirun, srun or torchrun
    x = np.ones(1024, dtype=np.float32)
    comm.allreduce(x)                            # in place, Op.SUM
    req = comm.iallgather(x, out)                # nonblocking: a Request
    req.wait()

or, with an id passed around by any means (it is a credential)::

    uid = tutti.unique_id() if rank == 0 else None      # bytes
    comm = tutti.Comm.init_rank(nranks, uid, rank, timeout=60)

Every failure raises :class:`tutti.Error` (a ``RuntimeError``) with the
result's name (``err.result``, e.g. ``"TUTTI_ERR_TIMEOUT"``) and the
communicator's detail (``err.detail``: which call, which rank and peer).
``tutti.torch`` is the PyTorch backend (``import tutti.torch``).
"""

import contextlib as _contextlib
import enum as _enum

from . import _core

__all__ = ["Comm", "Request", "Error", "DataType", "Op", "unique_id", "version", "UNIQUE_ID_BYTES"]

Request = _core.Request
UNIQUE_ID_BYTES = _core.UNIQUE_ID_BYTES
version = _core.version
__version__ = _core.version()


class DataType(_enum.IntEnum):
    """Element types (``tutti_datatype_t``).  Buffers carry their own
    (numpy's formats); pass ``dtype=`` for BFLOAT16 (a uint16 buffer) or to
    move any buffer as bytes (``DataType.UINT8``)."""

    INT8 = _core.INT8
    UINT8 = _core.UINT8
    INT16 = _core.INT16
    UINT16 = _core.UINT16
    INT32 = _core.INT32
    UINT32 = _core.UINT32
    INT64 = _core.INT64
    UINT64 = _core.UINT64
    FLOAT16 = _core.FLOAT16
    BFLOAT16 = _core.BFLOAT16
    FLOAT32 = _core.FLOAT32
    FLOAT64 = _core.FLOAT64


class Op(_enum.IntEnum):
    """Reduction operators (``tutti_op_t``); the bitwise ones need integers."""

    SUM = _core.SUM
    PROD = _core.PROD
    MIN = _core.MIN
    MAX = _core.MAX
    AVG = _core.AVG
    BAND = _core.BAND
    BOR = _core.BOR
    BXOR = _core.BXOR


# The one exception (made by the C layer, a RuntimeError), with readable attributes.
Error = _core.Error
Error.result = property(lambda self: self.args[0], doc="the result's name, e.g. 'TUTTI_ERR_TIMEOUT'")
Error.detail = property(lambda self: self.args[1], doc="the communicator's last-error text")
Error.code = property(lambda self: self.args[2], doc="the tutti_result_t value (negative)")
Error.__str__ = lambda self: "%s: %s" % (self.args[0], self.args[1]) if len(self.args) >= 2 else str(self.args)


class Comm(_core.Comm):
    """A tutti communicator.  Create it with :meth:`init_rank`,
    :meth:`from_env` or :meth:`split`; destroy it with :meth:`destroy`
    (waits for outstanding operations), :meth:`abort` (any thread, at once),
    or a ``with`` block (destroy on normal exit, abort on an exception)."""

    @_contextlib.contextmanager
    def group(self):
        """``with comm.group(): comm.send(a, 1); comm.recv(b, 1)``: the
        sends and receives of the block run together at its end, so
        exchanges cannot deadlock."""
        self.group_start()
        ok = False
        try:
            yield self
            ok = True
        finally:
            if ok:
                self.group_end()
            else:
                # the block failed: close the group without running half of it
                try:
                    self.group_end()
                except _core.Error:
                    pass


def unique_id(init_timeout=0.0):
    """A new communicator's id (``UNIQUE_ID_BYTES`` bytes).  Call it on one
    process (it starts the rendezvous there, which waits ``init_timeout``
    seconds, default ``TUTTI_INIT_TIMEOUT``, for the ranks) and give it to
    every rank; treat it as a credential."""
    return _core.unique_id(init_timeout=init_timeout)
