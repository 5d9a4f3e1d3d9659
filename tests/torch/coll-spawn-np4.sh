#!/bin/sh
# torch.distributed over tutti against gloo, every collective, 4 ranks under torch.multiprocessing.spawn
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_spawn 4 "$torch_dir/test_coll.py"
