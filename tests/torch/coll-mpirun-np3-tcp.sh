#!/bin/sh
# the same, every peer over TCP
. "${top_srcdir:-.}/tests/torch/launch.sh"
TUTTI_TRANSPORTS=tcp; export TUTTI_TRANSPORTS
launch_mpirun 3 "$torch_dir/test_coll.py"
