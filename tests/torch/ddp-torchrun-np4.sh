#!/bin/sh
# DDP over tutti and over gloo: within float tolerance, 4 ranks
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_torchrun 4 "$torch_dir/test_ddp.py"
