#!/bin/sh
# DDP over tutti and over gloo: within float tolerance, 3 ranks
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_mpirun 3 "$torch_dir/test_ddp.py"
