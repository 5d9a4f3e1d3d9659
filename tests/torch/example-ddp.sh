#!/bin/sh
# examples/ddp_train.py --check (parameters identical on every rank, loss down 10x), 2 ranks under
# torchrun, spawn and mpirun
. "${top_srcdir:-.}/tests/torch/launch.sh"
. "${top_srcdir:-.}/tests/mpi/tap.sh"
ex="${top_srcdir:-.}/examples/ddp_train.py"
out=$(torchrun --standalone --redirects 1 --tee 1 --nproc_per_node 2 "$ex" --check 2>&1)
tap "$(echo "$out" | grep -q 'check: ok' && echo 1)" "ddp_train.py under torchrun, 2 ranks" "$out"
out=$("$PYTHON" "$ex" --spawn 2 --check 2>&1)
tap "$(echo "$out" | grep -q 'check: ok' && echo 1)" "ddp_train.py under torch.multiprocessing.spawn, 2 ranks" "$out"
out=$("${top_srcdir:-.}/tests/mpi/run.sh" 2 "$PYTHON" "$ex" --check 2>&1)
tap "$(echo "$out" | grep -q 'check: ok' && echo 1)" "ddp_train.py under mpirun, 2 ranks" "$out"
tap_end
