#!/bin/sh
# the PyTorch benchmarks run (a few sizes and steps, no timing checked): perf/torch_allreduce.py, perf/ddp_bench.py
. "${top_srcdir:-.}/tests/torch/launch.sh"
. "${top_srcdir:-.}/tests/mpi/tap.sh"
out=$("$PYTHON" "${top_srcdir:-.}/perf/torch_allreduce.py" --spawn 2 -b 8 -e 64K -f 64 --rounds 1 --iters 20 2>&1)
tap "$(echo "$out" | grep -q "backend's own cost" && echo "$out" | grep -qE '^ +65536 ' && echo 1)" \
    "perf/torch_allreduce.py: tutti and gloo side by side, 2 ranks" "$out"
out=$("$PYTHON" "${top_srcdir:-.}/perf/ddp_bench.py" --spawn 2 --steps 3 --rounds 1 2>&1)
tap "$(echo "$out" | grep -q "tutti against gloo: bit-identical" && echo 1)" \
    "perf/ddp_bench.py: DDP epochs over tutti, gloo and no communication, parameters bit-identical" "$out"
tap_end
