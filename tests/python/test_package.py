# SPDX-License-Identifier: BSD-3-Clause
"""The Python package alone (numpy, no torch), under mpirun: every
collective and point-to-point call, blocking and nonblocking, every
datatype and op, sizes 0, 1, odd and about 1 MiB, in place and out of
place, results compared element by element with numpy's; unique ids,
split, abort from another thread, timeouts, bad input and errors."""
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tutti  # noqa: E402
from taputil import Tap  # noqa: E402

DT = tutti.DataType
OP = tutti.Op
NP = {DT.INT8: np.int8, DT.UINT8: np.uint8, DT.INT16: np.int16, DT.UINT16: np.uint16, DT.INT32: np.int32,
      DT.UINT32: np.uint32, DT.INT64: np.int64, DT.UINT64: np.uint64, DT.FLOAT16: np.float16,
      DT.BFLOAT16: np.uint16, DT.FLOAT32: np.float32, DT.FLOAT64: np.float64}
FLOATS = (DT.FLOAT16, DT.BFLOAT16, DT.FLOAT32, DT.FLOAT64)
SIZES = (0, 1, 7, 4099, 262147)

comm = tutti.Comm.from_env()
rank, size = comm.rank, comm.size
verdict = comm.split(0, rank)  # the verdicts' own communicator


def agree(ok, msg):
    flags = np.zeros(size, np.int32)
    verdict.allgather(np.array([1 if ok else 0], np.int32), flags)
    if flags.all():
        return True, ""
    text = np.zeros(600, np.uint8)
    b = msg.encode()[:599]
    text[:len(b)] = np.frombuffer(b, np.uint8)
    allt = np.zeros(600 * size, np.uint8)
    verdict.allgather(text, allt)
    first = int(np.argmin(flags))
    return False, bytes(allt[first * 600:(first + 1) * 600]).rstrip(b"\0").decode(errors="replace")


tap = Tap(rank, agree)


# ---- reference data: small integers, so every reduction is exact -----------

def bf16_from_f32(x):
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even


def values(dt, op, r, n, seed):
    i = np.arange(n, dtype=np.int64)
    h = (i * 2654435761 + r * 40503 + seed * 97) & 0xFFFFFFFF
    if op in (OP.BAND, OP.BOR, OP.BXOR):
        v = h & 0xFFFF
        v = v | (h >> 7) & 0xFFFF if op == OP.BAND else v & (h >> 7) & 0xFFFF if op == OP.BOR else v
        return v  # bits, wrapped to the type below
    if op == OP.PROD:
        return np.where(h % 7 == 0, 2, 1) if dt in (DT.UINT8, DT.UINT16, DT.UINT32, DT.UINT64) \
            else np.where(h & 1, -1, 1)
    v = h % 9
    return v if dt in (DT.UINT8, DT.UINT16, DT.UINT32, DT.UINT64) else v - 4


def as_buffer(dt, v):
    if dt == DT.BFLOAT16:
        return bf16_from_f32(v.astype(np.float32))
    if dt in FLOATS:
        return v.astype(NP[dt])
    return v.astype(np.int64).astype(NP[dt])  # (C casts: wrap to the width)


def reduced(dt, op, n, seed, p=None):
    p = size if p is None else p
    vs = [values(dt, op, r, n, seed) for r in range(p)]
    acc = vs[0].copy()
    for v in vs[1:]:
        if op in (OP.SUM, OP.AVG):
            acc = acc + v
        elif op == OP.PROD:
            acc = acc * v
        elif op == OP.MIN:
            acc = np.minimum(acc, v)
        elif op == OP.MAX:
            acc = np.maximum(acc, v)
        elif op == OP.BAND:
            acc = acc & v
        elif op == OP.BOR:
            acc = acc | v
        elif op == OP.BXOR:
            acc = acc ^ v
    if op != OP.AVG:
        return as_buffer(dt, acc)
    if dt == DT.FLOAT64:
        return (acc.astype(np.float64) / p)
    if dt in FLOATS:
        q = acc.astype(np.float32) / np.float32(p)
        return bf16_from_f32(q) if dt == DT.BFLOAT16 else q.astype(NP[dt])
    w = as_buffer(dt, acc)  # the wrapped sum, divided truncating toward zero
    if dt in (DT.UINT8, DT.UINT16, DT.UINT32, DT.UINT64):
        return (w // p).astype(NP[dt])
    wi = w.astype(np.int64)
    return (np.sign(wi) * (np.abs(wi) // p)).astype(NP[dt])


def same(got, want):
    if got.shape != want.shape or not np.array_equal(got.view(np.uint8), want.view(np.uint8)):
        bad = np.nonzero(got.view(np.uint8) != want.view(np.uint8))[0] if got.shape == want.shape else []
        return "differs (%d bytes; first at byte %s)" % (len(bad), bad[0] if len(bad) else "?")
    return None


def ops_for(dt):
    return [o for o in OP if not (dt in FLOATS and o in (OP.BAND, OP.BOR, OP.BXOR))]


def explicit(dt):
    return dt if dt == DT.BFLOAT16 else None  # numpy has no bfloat16: uint16 buffers with dtype=


# ---- collectives ------------------------------------------------------------

def check_allreduce(nb):
    seed = 1
    for dt in DT:
        for op in ops_for(dt):
            for n in SIZES:
                seed += 1
                for inplace in (0, 1):
                    x = as_buffer(dt, values(dt, op, rank, n, seed))
                    want = reduced(dt, op, n, seed)
                    out = x if inplace else np.zeros_like(x)
                    if nb:
                        req = comm.iallreduce(x, None if inplace else out, op=op, dtype=explicit(dt))
                        req.wait()
                    else:
                        comm.allreduce(x, None if inplace else out, op=op, dtype=explicit(dt))
                    bad = same(out, want)
                    if bad:
                        return "allreduce %s %s n=%d inplace=%d: %s" % (dt.name, op.name, n, inplace, bad)


def check_reduce_scatter_reduce(nb):
    seed = 500
    for dt in DT:
        for op in ops_for(dt):
            for n in (0, 1, 7, 4099):
                seed += 1
                x = as_buffer(dt, values(dt, op, rank, n * size, seed))
                out = np.zeros(n, x.dtype)
                r = comm.ireduce_scatter(x, out, op=op, dtype=explicit(dt)) if nb else None
                r.wait() if nb else comm.reduce_scatter(x, out, op=op, dtype=explicit(dt))
                want = reduced(dt, op, n * size, seed)[rank * n:(rank + 1) * n]
                bad = same(out, want)
                if bad:
                    return "reduce_scatter %s %s n=%d: %s" % (dt.name, op.name, n, bad)
                root = seed % size
                x = as_buffer(dt, values(dt, op, rank, n, seed))
                out = np.zeros_like(x) if rank == root else None
                r = comm.ireduce(x, out, op=op, root=root, dtype=explicit(dt)) if nb else None
                r.wait() if nb else comm.reduce(x, out, op=op, root=root, dtype=explicit(dt))
                if rank == root:
                    bad = same(out, reduced(dt, op, n, seed))
                    if bad:
                        return "reduce %s %s n=%d root=%d: %s" % (dt.name, op.name, n, root, bad)


def check_moves(nb):
    seed = 900
    for dt in DT:
        for n in SIZES:
            seed += 1
            root = seed % size
            buf = as_buffer(dt, values(dt, OP.SUM, rank, n, seed))
            r = comm.ibroadcast(buf, root=root, dtype=explicit(dt)) if nb else None
            r.wait() if nb else comm.broadcast(buf, root=root, dtype=explicit(dt))
            bad = same(buf, as_buffer(dt, values(dt, OP.SUM, root, n, seed)))
            if bad:
                return "broadcast %s n=%d root=%d: %s" % (dt.name, n, root, bad)
            if n > 4099:
                continue
            mine = as_buffer(dt, values(dt, OP.SUM, rank, n, seed))
            allv = [as_buffer(dt, values(dt, OP.SUM, q, n, seed)) for q in range(size)]
            out = np.zeros(n * size, mine.dtype)
            r = comm.iallgather(mine, out, dtype=explicit(dt)) if nb else None
            r.wait() if nb else comm.allgather(mine, out, dtype=explicit(dt))
            bad = same(out, np.concatenate(allv) if n else out)
            if bad:
                return "allgather %s n=%d: %s" % (dt.name, n, bad)
            # in place: this rank's block of the output
            out2 = np.zeros(n * size, mine.dtype)
            out2[rank * n:(rank + 1) * n] = mine
            comm.allgather(out2[rank * n:(rank + 1) * n], out2, dtype=explicit(dt))
            bad = same(out2, np.concatenate(allv) if n else out2)
            if bad:
                return "allgather in place %s n=%d: %s" % (dt.name, n, bad)
            # all-to-all: block q to rank q
            send = np.concatenate([as_buffer(dt, values(dt, OP.SUM, rank * size + q, n, seed)) for q in range(size)]) \
                if n else np.zeros(0, mine.dtype)
            want = np.concatenate([as_buffer(dt, values(dt, OP.SUM, q * size + rank, n, seed)) for q in range(size)]) \
                if n else send
            recv = np.zeros_like(send)
            r = comm.ialltoall(send, recv, dtype=explicit(dt)) if nb else None
            r.wait() if nb else comm.alltoall(send, recv, dtype=explicit(dt))
            bad = same(recv, want)
            if bad:
                return "alltoall %s n=%d: %s" % (dt.name, n, bad)
            comm.alltoall(send, dtype=explicit(dt))  # in place
            bad = same(send, want)
            if bad:
                return "alltoall in place %s n=%d: %s" % (dt.name, n, bad)


def check_alltoallv():
    # rank r sends (r + q) % 3 * 5 + q elements to rank q
    cnt = lambda src, dst: ((src + dst) % 3) * 5 + dst  # noqa: E731
    sc = [cnt(rank, q) for q in range(size)]
    rc = [cnt(q, rank) for q in range(size)]
    send = np.concatenate([np.full(sc[q], rank * 100 + q, np.int32) for q in range(size)])
    recv = np.zeros(sum(rc), np.int32)
    comm.alltoallv(send, sc, recv, rc)
    want = np.concatenate([np.full(rc[q], q * 100 + rank, np.int32) for q in range(size)])
    bad = same(recv, want)
    if bad:
        return "alltoallv packed: " + bad
    # displacements: blocks reversed, with gaps
    rd = []
    at = 0
    for q in reversed(range(size)):
        rd.insert(0, at)
        at += rc[q] + 2
    recv = np.full(at, -1, np.int32)
    comm.ialltoallv(send, sc, recv, rc, rdispls=rd).wait()
    for q in range(size):
        if not (recv[rd[q]:rd[q] + rc[q]] == q * 100 + rank).all():
            return "alltoallv with displacements: block %d wrong" % q


def check_overlap():
    # several nonblocking operations, waited in reverse order
    reqs, outs, wants = [], [], []
    for k in range(12):
        x = np.full(1000 + k, rank + k, np.float64)
        out = np.zeros_like(x)
        reqs.append(comm.iallreduce(x, out))
        outs.append(out)
        wants.append(np.full(1000 + k, sum(q + k for q in range(size)), np.float64))
    reqs.append(comm.ibarrier())
    for r in reversed(reqs):
        r.wait()
    for k in range(12):
        if not np.array_equal(outs[k], wants[k]):
            return "iallreduce %d wrong" % k
    # test() until done
    x = np.ones(100000, np.float32)
    r = comm.iallreduce(x)
    deadline = time.time() + 30
    while not r.test():
        if time.time() > deadline:
            return "test() never reported completion"
    if not r.done or not (x == size).all():
        return "test(): wrong result"
    # a request dropped without waiting: its buffers stay held until it completes
    y = np.ones(5000, np.float32)
    comm.iallreduce(y)
    comm.barrier()
    return None if (y == size).all() else "a dropped request's operation did not complete"


# ---- point-to-point ------------------------------------------------------------

def check_p2p():
    right, left = (rank + 1) % size, (rank - 1) % size
    for n in (0, 1, 4099, 300001):
        out = np.arange(n, dtype=np.float32) + rank
        got = np.zeros(n, np.float32)
        with comm.group():
            comm.send(out, right)
            comm.recv(got, left)
        if not np.array_equal(got, np.arange(n, dtype=np.float32) + left):
            return "ring group n=%d wrong" % n
        if size == 1:
            continue  # (a rank sends to itself inside groups only)
        r1 = comm.irecv(got, left)
        r2 = comm.isend(out, right)
        r2.wait()
        r1.wait()
        if not np.array_equal(got, np.arange(n, dtype=np.float32) + left):
            return "isend/irecv n=%d wrong" % n
    if size >= 2:
        a = np.arange(64, dtype=np.int64)
        if rank == 0:
            comm.send(a, 1)
            comm.recv(a, 1)
            if not (a == np.arange(64) * 2).all():
                return "ping-pong wrong"
        elif rank == 1:
            comm.recv(a, 0)
            comm.send(a * 2, 0)
    # igroup_end
    got = np.zeros(10, np.int16)
    comm.group_start()
    comm.send(np.full(10, rank, np.int16), right)
    comm.recv(got, left)
    comm.igroup_end().wait()
    return None if (got == left).all() else "igroup_end wrong"


# ---- communicators ------------------------------------------------------------------

def check_unique_id_and_split():
    uid = np.zeros(tutti.UNIQUE_ID_BYTES, np.uint8)
    if rank == 0:
        uid[:] = np.frombuffer(tutti.unique_id(init_timeout=30), np.uint8)
    comm.broadcast(uid, root=0)
    with tutti.Comm.init_rank(size, bytes(uid), rank, init_timeout=30, timeout=20) as c2:
        if (c2.rank, c2.size) != (rank, size):
            return "init_rank: rank/size"
        x = np.ones(3, np.int32)
        c2.allreduce(x)
        if not (x == size).all():
            return "init_rank communicator: wrong sum"
    if not c2.closed:
        return "the with block did not destroy the communicator"
    sub = comm.split(rank % 2, key=-rank)
    try:
        members = [q for q in range(size) if q % 2 == rank % 2]
        if sub.size != len(members) or sub.rank != len(members) - 1 - members.index(rank):
            return "split: rank %d size %d" % (sub.rank, sub.size)
        x = np.array([rank], np.int64)
        sub.allreduce(x)
        if x[0] != sum(members):
            return "split allreduce wrong"
    finally:
        sub.destroy()
    if comm.split(-1) is not None:
        return "split with a negative color must give None"
    if "rank" not in comm.describe() or not isinstance(comm.algorithm("allreduce", 8), str):
        return "describe / algorithm"


def check_errors():
    x = np.zeros(4, np.float32)
    expect = [
        (lambda: comm.allreduce(x, np.zeros(5, np.float32)), ValueError),
        (lambda: comm.allreduce(x, np.zeros(4, np.int32)), TypeError),
        (lambda: comm.allreduce(np.zeros((4, 4), np.float32)[:, 1]), TypeError),  # not contiguous
        (lambda: comm.allreduce(np.zeros(4, np.float32), np.frombuffer(bytes(16), np.float32)), TypeError),
        (lambda: comm.allreduce(np.zeros(2, np.complex64)), TypeError),  # no inferable type
        (lambda: comm.allreduce(np.zeros(3, np.bool_)), TypeError),  # sum of booleans
        (lambda: comm.allreduce(x, op=99), ValueError),
        (lambda: comm.allreduce(x, dtype=77), ValueError),
        (lambda: comm.allreduce(np.zeros(3, np.uint8), dtype=DT.FLOAT32), ValueError),  # 3 bytes
        (lambda: comm.allgather(x, np.zeros(3, np.float32)), ValueError),
        (lambda: comm.reduce_scatter(x, np.zeros(3, np.float32)), ValueError),
        (lambda: comm.alltoallv(x, [1] * (size + 1), x, [1] * size), ValueError),
        (lambda: comm.alltoallv(x, [5] * size, np.zeros(9 * size, np.float32), [5] * size), ValueError),
        (lambda: comm.alltoallv(x, [-1] * size, x, [1] * size), ValueError),
        (lambda: tutti.Comm.init_rank(2, b"short", 0), ValueError),
        (lambda: comm.set_timeout(-1), tutti.Error),
        (lambda: comm.set_algorithms("nonsense"), tutti.Error),
        (lambda: comm.broadcast(x, root=size), tutti.Error),
        (lambda: comm.send(x, size), tutti.Error),
        (lambda: comm.group_end(), tutti.Error),
    ]
    for k, (fn, exc) in enumerate(expect):
        try:
            fn()
        except exc:
            continue
        except Exception as e:  # noqa: BLE001
            return "case %d raised %s (%s), not %s" % (k, type(e).__name__, e, exc.__name__)
        return "case %d raised nothing (expected %s)" % (k, exc.__name__)
    try:
        comm.allreduce(x, op=OP.BXOR)
    except tutti.Error as e:
        if e.result != "TUTTI_ERR_INVALID_ARGUMENT" or "bitwise" not in e.detail or e.code != -1:
            return "a bitwise op on float32: %r %r %r" % (e.result, e.detail, e.code)
    else:
        return "a bitwise op on float32 was accepted"
    comm.allreduce(x)  # the communicator is still usable after refused calls
    return None if (x == 0).all() else "a refused call touched the buffer"


def check_failures():
    """A timeout, and an abort from another thread, on communicators of their own."""
    # only rank 0 calls: it times out naming the peer; the others never call
    sub = comm.split(0, rank)
    sub.set_timeout(0.5)
    res = None
    if rank == 0:
        t0 = time.time()
        try:
            sub.allreduce(np.ones(10, np.float32))
            res = "no timeout"
        except tutti.Error as e:
            took = time.time() - t0
            if e.result != "TUTTI_ERR_TIMEOUT" or not (0.4 < took < 10) or "rank" not in e.detail:
                res = "timeout: %s after %.2f s: %s" % (e.result, took, e.detail)
        try:
            sub.allreduce(np.ones(1, np.float32))
            res = res or "a broken communicator accepted a call"
        except tutti.Error as e:
            if e.result != "TUTTI_ERR_INVALID_USAGE":
                res = res or "after a timeout: %s" % e.result
    comm.barrier()
    sub.abort()
    # abort from another thread ends a blocking wait (here: a peer that never joins)
    sub = comm.split(0, rank)
    box = {}

    def blocked():
        t0 = time.time()
        try:
            sub.allreduce(np.ones(1000, np.float32) if rank == 0 else np.ones(1000, np.float32))
            box["r"] = "completed"
        except tutti.Error as e:
            box["r"] = e.result
        box["t"] = time.time() - t0

    if rank == 0:
        th = threading.Thread(target=blocked)
        th.start()
        time.sleep(0.3)
        sub.abort()
        th.join(10)
        if th.is_alive() or box.get("r") != "TUTTI_ERR_ABORTED" or box.get("t", 99) > 5:
            res = res or "abort from another thread: %s after %s s" % (box.get("r"), box.get("t"))
        try:
            sub.allreduce(np.ones(1, np.float32))
            res = res or "an aborted communicator accepted a call"
        except tutti.Error as e:
            if e.result != "TUTTI_ERR_INVALID_USAGE":
                res = res or "after abort: %s" % e.result
    comm.barrier()
    if rank != 0:
        sub.abort()
    return res


tap.case("allreduce: every datatype x op x size (0, 1, 7, 4099, 262147) x placement, blocking", lambda: check_allreduce(0))
tap.case("iallreduce: the same, nonblocking", lambda: check_allreduce(1))
tap.case("reduce_scatter and reduce: every datatype x op x size, blocking",
         lambda: check_reduce_scatter_reduce(0))
tap.case("ireduce_scatter and ireduce: nonblocking", lambda: check_reduce_scatter_reduce(1))
tap.case("broadcast, allgather (and in place), alltoall (and in place): every datatype x size",
         lambda: check_moves(0))
tap.case("ibroadcast, iallgather, ialltoall: nonblocking", lambda: check_moves(1))
tap.case("alltoallv: uneven counts, packed and with displacements", check_alltoallv)
tap.case("12 nonblocking all-reduces and a barrier waited in reverse; test() polling; a dropped request",
         check_overlap)
tap.case("point-to-point: ring groups, isend/irecv, ping-pong, igroup_end (0 to 300001 elements)", check_p2p)
tap.case("unique_id + init_rank with timeouts, with-block destroy, split with keys, describe",
         check_unique_id_and_split)
tap.case("bad input: 20 kinds refused with ValueError / TypeError / tutti.Error, nothing touched, still usable",
         check_errors)
if size > 1:
    tap.case("a timeout (0.5 s) names the peer and breaks the communicator; abort from another thread ends a wait",
             check_failures)
else:
    tap.skip("a timeout names the peer; abort from another thread ends a wait", "needs 2 ranks")
rc = tap.done()
verdict.destroy()
comm.destroy()
sys.exit(rc)
