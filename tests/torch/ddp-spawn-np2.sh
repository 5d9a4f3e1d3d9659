#!/bin/sh
# DDP over tutti and over gloo: bit-identical parameters, 2 ranks
. "${top_srcdir:-.}/tests/torch/launch.sh"
launch_spawn 2 "$torch_dir/test_ddp.py"
