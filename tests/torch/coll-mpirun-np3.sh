#!/bin/sh
# torch.distributed over tutti against gloo, every collective, 3 ranks under mpirun (tutti.torch.init_process_group)
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_mpirun 3 "$torch_dir/test_coll.py"
