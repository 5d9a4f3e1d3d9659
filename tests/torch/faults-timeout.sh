#!/bin/sh
# a rank that hangs under DDP: the survivors time out naming it (3 ranks, mpirun)
. "${top_srcdir:-.}/tests/torch/launch.sh"
TEST_TMPDIR=$(mktemp -d /tmp/tutti-faults.XXXXXX); export TEST_TMPDIR
launch_mpirun 3 "$torch_dir/test_faults.py" --case timeout
rc=$?; rm -rf "$TEST_TMPDIR"; exit $rc
