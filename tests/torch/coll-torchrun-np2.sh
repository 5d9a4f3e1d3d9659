#!/bin/sh
# torch.distributed over tutti against gloo, every collective, 2 ranks under torchrun
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_torchrun 2 "$torch_dir/test_coll.py"
