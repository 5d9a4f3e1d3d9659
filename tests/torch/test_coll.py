# SPDX-License-Identifier: BSD-3-Clause
"""torch.distributed over tutti, every collective x dtype x op x size (0, 1,
odd, 1 Mi elements), compared element by element with gloo's result in the
same job where gloo has the call (gloo 1.13 lacks AVG, PREMUL_SUM, int16,
bfloat16, bool reductions, reduce_scatter, all_gather_into_tensor and
all_to_all lists: those are compared with the exact result computed from
the ranks' known inputs); plus async Works and Futures, point-to-point
independent of collectives, and bad input.  Runs under torchrun, mpirun or
`python3 test_coll.py --spawn N`."""
import os
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

R = dist.ReduceOp
FLOAT = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
INT = (torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64)
ALL = FLOAT + INT + (torch.bool,)
GLOO_RED = {torch.float32, torch.float64, torch.float16, torch.int8, torch.uint8, torch.int32, torch.int64}
GLOO_MOVE = GLOO_RED
SIZES = (0, 1, 7, 65537)
BIG = 1 << 20
BITWISE = ("BAND", "BOR", "BXOR")
UNSIGNED = (torch.uint8, torch.bool)


def ops_for(dt):
    ops = ["SUM", "PRODUCT", "MIN", "MAX"]
    if dt != torch.bool:
        ops.append("AVG")
    if dt in FLOAT:
        ops += ["PREMUL", "PREMUL_T"]
    else:
        ops += list(BITWISE)
    return ops


def make_op(name):
    if name == "PREMUL":
        return dist._make_nccl_premul_sum(0.5)
    if name == "PREMUL_T":
        return dist._make_nccl_premul_sum([torch.tensor([2.0], dtype=torch.float64)])
    return getattr(R, name)


def inp(dt, op, r, n, seed):
    g = (torch.arange(n, dtype=torch.int64) * 2654435761 + r * 40503 + seed * 97) & 0xFFFFFFFF
    if dt == torch.bool:
        v = (g % 3 == 0)
    elif op in BITWISE:
        v = g & 0xFF if dt in UNSIGNED else (g & 0xFF) - 128
    elif op == "PRODUCT":
        v = torch.where(g % 7 == 0, 2, 1) if dt in UNSIGNED else torch.where(g % 2 == 1, -1, 1)
    else:
        v = g % 9 if dt in UNSIGNED else g % 9 - 4
    return v.to(dt)


def reference(dt, op, n, seed, p, factor=None):
    """The exact result (inputs are small integers: every order gives it)."""
    xs = [inp(dt, op, r, n, seed) for r in range(p)]
    if dt == torch.bool:
        acc = xs[0].clone()
        for x in xs[1:]:
            acc = {"SUM": acc | x, "PRODUCT": acc & x, "MIN": acc & x, "MAX": acc | x,
                   "BAND": acc & x, "BOR": acc | x, "BXOR": acc ^ x}[op]
        return acc
    if op in ("PREMUL", "PREMUL_T"):
        f = 0.5 if op == "PREMUL" else 2.0
        xs = [(x * f).to(dt) for x in xs]
    wide = torch.float64 if dt in FLOAT else torch.int64
    acc = xs[0].to(wide)
    for x in xs[1:]:
        x = x.to(wide)
        if op in ("SUM", "AVG", "PREMUL", "PREMUL_T"):
            acc = acc + x
        elif op == "PRODUCT":
            acc = acc * x
        elif op == "MIN":
            acc = torch.minimum(acc, x)
        elif op == "MAX":
            acc = torch.maximum(acc, x)
        elif op == "BAND":
            acc = acc & x
        elif op == "BOR":
            acc = acc | x
        elif op == "BXOR":
            acc = acc ^ x
    if op != "AVG":
        return acc.to(dt)
    if dt == torch.float64:
        return acc / p
    if dt in FLOAT:
        return (acc.to(torch.float32) / p).to(dt)  # tutti: float32 division, one rounding
    w = acc.to(dt).to(torch.int64)  # the wrapped sum, divided toward zero
    return torch.div(w, p, rounding_mode="trunc").to(dt)


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and \
        torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


def gloo_reduces(dt, op):
    return dt in GLOO_RED and op in ("SUM", "PRODUCT", "MIN", "MAX") + (BITWISE if dt in INT else ())


def main(rank=None, size=None):
    common.init(timeout=float(os.environ.get("TEST_PG_TIMEOUT", 60)), rank=rank, size=size)
    tap, gloo = common.make_tap()
    me, p = dist.get_rank(), dist.get_world_size()

    def allreduce_matrix(async_op):
        seed = 1 + 1000 * async_op
        for dt in ALL:
            for op in ops_for(dt):
                for n in SIZES:
                    seed += 1
                    x = inp(dt, op, me, n, seed)
                    work = dist.all_reduce(x, op=make_op(op), async_op=async_op)
                    if async_op:
                        fut = work.get_future()
                        work.wait()
                        if not fut.done() or not same(fut.value()[0], x):
                            return "all_reduce %s %s n=%d: future value" % (dt, op, n)
                    want = reference(dt, op, n, seed, p)
                    if not same(x, want):
                        return "all_reduce %s %s n=%d differs from the exact result" % (dt, op, n)
                    if gloo_reduces(dt, op):
                        y = inp(dt, op, me, n, seed)
                        dist.all_reduce(y, op=make_op(op), group=gloo)
                        if not same(x, y):
                            return "all_reduce %s %s n=%d differs from gloo's" % (dt, op, n)
        # the large size: datatype and op rotate
        for k, dt in enumerate(ALL):
            op = ops_for(dt)[k % len(ops_for(dt))]
            x = inp(dt, op, me, BIG, k)
            dist.all_reduce(x, op=make_op(op))
            if not same(x, reference(dt, op, BIG, k, p)):
                return "all_reduce %s %s n=%d (large) differs" % (dt, op, BIG)

    def reduce_family():
        seed = 3000
        for dt in ALL:
            for op in ops_for(dt):
                for n in SIZES[:3] + (4099,):
                    seed += 1
                    root = seed % p
                    x = inp(dt, op, me, n, seed)
                    dist.reduce(x, root, op=make_op(op))
                    if me == root and not same(x, reference(dt, op, n, seed, p)):
                        return "reduce %s %s n=%d root %d" % (dt, op, n, root)
                    if gloo_reduces(dt, op):
                        y = inp(dt, op, me, n, seed)
                        dist.reduce(y, root, op=make_op(op), group=gloo)
                        if me == root and not same(x, y):
                            return "reduce %s %s n=%d: differs from gloo's" % (dt, op, n)
                    # reduce_scatter_tensor and the list form
                    full = inp(dt, op, me, n * p, seed)
                    keep = full.clone()
                    out = torch.empty(n, dtype=dt)
                    dist.reduce_scatter_tensor(out, full, op=make_op(op))
                    want = reference(dt, op, n * p, seed, p)[me * n:(me + 1) * n]
                    if not same(out, want):
                        return "reduce_scatter_tensor %s %s n=%d" % (dt, op, n)
                    if not same(full, keep):
                        return "reduce_scatter_tensor %s %s: the input changed" % (dt, op)
                    out2 = torch.empty(n, dtype=dt)
                    dist.reduce_scatter(out2, list(full.chunk(p)) if n else [torch.empty(0, dtype=dt)] * p,
                                        op=make_op(op))
                    if not same(out2, want):
                        return "reduce_scatter (list) %s %s n=%d" % (dt, op, n)

    def moves():
        seed = 6000
        for dt in ALL + (torch.complex64,):
            for n in SIZES:
                seed += 1
                root = seed % p
                x = inp(dt if dt != torch.complex64 else torch.float32, "SUM", me, 2 * n, seed)
                if dt == torch.complex64:
                    x = torch.view_as_complex(x.view(n, 2)) if n else torch.zeros(0, dtype=dt)
                rootv = inp(dt if dt != torch.complex64 else torch.float32, "SUM", root, 2 * n, seed)
                want = rootv if dt != torch.complex64 else (
                    torch.view_as_complex(rootv.view(n, 2)) if n else torch.zeros(0, dtype=dt))
                b = x.clone()
                dist.broadcast(b, root)
                if not same(b, want):
                    return "broadcast %s n=%d root %d" % (dt, n, root)
                if dt in GLOO_MOVE:
                    g = x.clone()
                    dist.broadcast(g, root, group=gloo)
                    if not same(b, g):
                        return "broadcast %s n=%d: differs from gloo's" % (dt, n)
                # all_gather (list), all_gather_into_tensor, in place
                outs = [torch.empty_like(x) for _ in range(p)]
                dist.all_gather(outs, x)
                mine = [inp(dt if dt != torch.complex64 else torch.float32, "SUM", q, 2 * n, seed) for q in range(p)]
                wants = mine if dt != torch.complex64 else [
                    torch.view_as_complex(m.view(n, 2)) if n else torch.zeros(0, dtype=dt) for m in mine]
                if not all(same(o, w) for o, w in zip(outs, wants)):
                    return "all_gather %s n=%d" % (dt, n)
                flat = torch.empty(p * x.numel(), dtype=dt)
                dist.all_gather_into_tensor(flat, x.reshape(-1))
                if not same(flat, torch.cat([w.reshape(-1) for w in wants])):
                    return "all_gather_into_tensor %s n=%d" % (dt, n)
                flat2 = torch.empty(p * x.numel(), dtype=dt)
                flat2.narrow(0, me * x.numel(), x.numel()).copy_(x.reshape(-1))
                dist.all_gather_into_tensor(flat2, flat2.narrow(0, me * x.numel(), x.numel()))
                if not same(flat2, flat):
                    return "all_gather_into_tensor in place %s n=%d" % (dt, n)
                # all_to_all_single (even), all_to_all (list)
                blocks = [inp(dt if dt != torch.complex64 else torch.float32, "SUM", me * p + q, n, seed).to(
                    torch.float32 if dt == torch.complex64 else dt) for q in range(p)]
                send = torch.cat(blocks)
                recv = torch.empty_like(send)
                dist.all_to_all_single(recv, send)
                want = torch.cat([inp(dt if dt != torch.complex64 else torch.float32, "SUM", q * p + me, n, seed).to(
                    torch.float32 if dt == torch.complex64 else dt) for q in range(p)])
                if not same(recv, want):
                    return "all_to_all_single %s n=%d" % (dt, n)
                if dt in GLOO_MOVE:
                    recvg = torch.empty_like(send)
                    dist.all_to_all_single(recvg, send, group=gloo)
                    if not same(recv, recvg):
                        return "all_to_all_single %s n=%d: differs from gloo's" % (dt, n)
                outl = [torch.empty_like(b) for b in blocks]
                dist.all_to_all(outl, blocks)
                if not same(torch.cat(outl), want):
                    return "all_to_all (lists) %s n=%d" % (dt, n)

    def uneven():
        # all_gather with a size per rank, all_to_all_single with split sizes,
        # gather / scatter, compared with gloo's (float32) and the exact values
        sizes = [3 + 5 * q for q in range(p)]
        x = torch.arange(sizes[me], dtype=torch.float32) + 100 * me
        outs = [torch.empty(sizes[q]) for q in range(p)]
        dist.all_gather(outs, x)
        if not all(torch.equal(outs[q], torch.arange(sizes[q], dtype=torch.float32) + 100 * q) for q in range(p)):
            return "uneven all_gather"
        insp = [(me + q) % 3 + q for q in range(p)]
        outsp = [(q + me) % 3 + me for q in range(p)]
        send = torch.cat([torch.full((insp[q], 2), float(me * 10 + q)) for q in range(p)])
        recv = torch.empty(sum(outsp), 2)
        dist.all_to_all_single(recv, send, outsp, insp)
        want = torch.cat([torch.full((outsp[q], 2), float(q * 10 + me)) for q in range(p)])
        recvg = torch.empty_like(recv)
        dist.all_to_all_single(recvg, send, outsp, insp, group=gloo)
        if not torch.equal(recv, want) or not torch.equal(recv, recvg):
            return "all_to_all_single with split sizes"
        for root in range(p):
            g = torch.full((4,), float(me))
            lst = [torch.empty(4) for _ in range(p)] if me == root else None
            dist.gather(g, lst, dst=root)
            if me == root and not all(torch.equal(lst[q], torch.full((4,), float(q))) for q in range(p)):
                return "gather to root %d" % root
            s = torch.empty(6)
            src = [torch.full((6,), float(q + root)) for q in range(p)] if me == root else None
            dist.scatter(s, src, src=root)
            if not torch.equal(s, torch.full((6,), float(me + root))):
                return "scatter from root %d" % root
        objs = [None] * p
        dist.all_gather_object(objs, {"rank": me, "s": "x" * me})
        if objs != [{"rank": q, "s": "x" * q} for q in range(p)]:
            return "all_gather_object"
        lst = [{"a": 1}, "two", 3] if me == 0 else [None, None, None]
        dist.broadcast_object_list(lst, 0)
        if lst != [{"a": 1}, "two", 3]:
            return "broadcast_object_list"

    def coalesced_and_barrier():
        s = sum(range(p))
        ts = [torch.full((5,), float(me)), torch.full((3, 2), float(me) + 1), torch.full((7,), float(me) + 2)]
        dist.all_reduce_coalesced(ts)
        if not (torch.equal(ts[0], torch.full((5,), float(s))) and torch.equal(ts[1], torch.full((3, 2), float(s + p)))
                and torch.equal(ts[2], torch.full((7,), float(s + 2 * p)))):
            return "all_reduce_coalesced (float32)"
        ts = [torch.full((4,), me, dtype=torch.int64), torch.full((2,), me + 1, dtype=torch.int64)]
        dist.all_reduce_coalesced(ts, op=R.MAX)
        if not (torch.equal(ts[0], torch.full((4,), p - 1)) and torch.equal(ts[1], torch.full((2,), p))):
            return "all_reduce_coalesced (int64 MAX)"
        for _ in range(3):
            dist.barrier()
        w = dist.barrier(async_op=True)
        w.wait()
        if not w.is_completed() or not w.is_success():
            return "async barrier"
        # several async operations, waited in reverse
        works, xs = [], []
        for k in range(16):
            x = torch.full((1000 + k,), float(me + k))
            xs.append(x)
            works.append(dist.all_reduce(x, async_op=True))
        for w in reversed(works):
            w.wait()
        if not all(torch.equal(xs[k], torch.full((1000 + k,), float(s + p * k))) for k in range(16)):
            return "16 async all_reduces"

    def p2p():
        right, left = (me + 1) % p, (me - 1) % p
        for n in (0, 1, 1000, 1 << 22):  # up to 16 MiB: far beyond the transports' slots
            out = torch.arange(n, dtype=torch.float32) + me
            got = torch.empty(n)
            reqs = dist.batch_isend_irecv([dist.P2POp(dist.isend, out, right), dist.P2POp(dist.irecv, got, left)])
            for r in reqs:
                r.wait()
            if not torch.equal(got, torch.arange(n, dtype=torch.float32) + left):
                return "batch_isend_irecv ring n=%d" % n
        # point-to-point independent of collectives: isend on rank 0, an
        # all_reduce on all, then the recv (16 MiB: cannot sit in any slot)
        big = 1 << 22
        if me == 0:
            w = dist.isend(torch.full((big,), 7.0), p - 1)
        x = torch.ones(10)
        dist.all_reduce(x)
        if me == p - 1:
            r = torch.empty(big)
            dist.recv(r, 0)
            if not torch.equal(r, torch.full((big,), 7.0)):
                return "isend / all_reduce / recv: wrong data"
        if me == 0:
            w.wait()
        if not torch.equal(x, torch.full((10,), float(p))):
            return "isend / all_reduce / recv: the all_reduce"
        # blocking send / recv with tags, every dtype
        if p >= 2:
            for dt in ALL:
                t = inp(dt, "SUM", 0, 33, 5)
                if me == 0:
                    dist.send(t, 1, tag=3)
                elif me == 1:
                    r = torch.empty_like(t)
                    src = dist.recv(r, 0, tag=3)
                    if not same(r, t) or src != 0:
                        return "send/recv %s" % dt

    def bad_input():
        cases = [
            ("a sparse tensor", lambda: dist.all_reduce(torch.zeros(4, 4).to_sparse())),
            ("a non-contiguous all_gather input",
             lambda: dist.all_gather([torch.empty(4) for _ in range(p)], torch.zeros(4, 2)[:, 0])),
            ("a non-dense all_reduce tensor", lambda: dist.all_reduce(torch.zeros(8, 8)[:, ::2])),
            ("a bitwise op on float32", lambda: dist.all_reduce(torch.zeros(3), op=R.BAND)),
            ("AVG on bool", lambda: dist.all_reduce(torch.zeros(3, dtype=torch.bool), op=R.AVG)),
            ("an all_gather list of the wrong length", lambda: dist.all_gather([torch.empty(2)], torch.zeros(2))),
            ("all_gather_into_tensor of the wrong size",
             lambda: dist.all_gather_into_tensor(torch.empty(3 * p + 1), torch.zeros(3))),
            ("mismatched dtypes in a list",
             lambda: dist.all_gather([torch.empty(2, dtype=torch.int32) for _ in range(p)], torch.zeros(2))),
            ("reduce_scatter_tensor of the wrong size",
             lambda: dist.reduce_scatter_tensor(torch.empty(2), torch.zeros(2 * p + 1))),
            ("split sizes that do not add up",
             lambda: dist.all_to_all_single(torch.empty(4 * p), torch.zeros(4 * p), [1] * p, [1] * p)),
            ("a send to itself", lambda: dist.send(torch.zeros(2), me)),
            ("a quantized tensor reduced",
             lambda: dist.all_reduce(torch.quantize_per_tensor(torch.zeros(4), 0.1, 0, torch.quint8))),
        ]
        for desc, fn in cases:
            try:
                fn()
            except (RuntimeError, ValueError, TypeError):
                continue
            return "%s was accepted" % desc
        x = torch.ones(3)
        dist.all_reduce(x)  # still usable: refused calls touched nothing
        if not torch.equal(x, torch.full((3,), float(p))):
            return "the group after refused calls"

    def subgroups():
        evens = dist.new_group([q for q in range(p) if q % 2 == 0], backend="tutti")
        odds = dist.new_group([q for q in range(p) if q % 2 == 1], backend="tutti")
        g = evens if me % 2 == 0 else odds
        x = torch.tensor([float(me)])
        dist.all_reduce(x, group=g)
        if x.item() != sum(q for q in range(p) if q % 2 == me % 2):
            return "all_reduce on a new_group"
        if "rank" not in tutti.torch.describe(g):
            return "describe(group)"

    n = p
    tap.case("all_reduce on %d ranks: %d dtypes x SUM/AVG/PRODUCT/MIN/MAX/bitwise/PREMUL_SUM x sizes 0,1,7,65537 and "
             "1 Mi elements, against gloo and the exact result" % (n, len(ALL)), lambda: allreduce_matrix(False))
    tap.case("all_reduce async_op=True: Work.wait and the Future's value", lambda: allreduce_matrix(True))
    tap.case("reduce, reduce_scatter_tensor (input untouched), reduce_scatter (lists): every dtype x op",
             reduce_family)
    tap.case("broadcast, all_gather, all_gather_into_tensor (and in place), all_to_all_single, all_to_all: every dtype "
             "incl. bool, int16, bfloat16, complex64", moves)
    tap.case("uneven all_gather, all_to_all_single with split sizes (against gloo), gather, scatter, object "
             "collectives", uneven)
    tap.case("all_reduce_coalesced (float32 of several shapes, int64 MAX), barriers, 16 async all_reduces waited "
             "in reverse",
             coalesced_and_barrier)
    tap.case("point-to-point: batch_isend_irecv rings to 16 MiB; isend, all_reduce, recv does not deadlock; "
             "send/recv every dtype", p2p)
    tap.case("bad input: 12 kinds raise before anything moves; the group stays usable", bad_input)
    tap.case("new_group(backend='tutti') subgroups", subgroups)
    rc = tap.done()
    dist.destroy_process_group()
    if rank is None:
        sys.exit(rc)
    if rc:
        raise SystemExit(rc)


import tutti.torch  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--spawn":
        common.spawn(main, int(sys.argv[2]), 11)
    else:
        main()
