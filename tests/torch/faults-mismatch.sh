#!/bin/sh
# mismatched calls raise on every rank; groups made again on the same store (3 ranks, mpirun)
. "${top_srcdir:-.}/tests/torch/launch.sh"
TEST_TMPDIR=$(mktemp -d /tmp/tutti-faults.XXXXXX); export TEST_TMPDIR
launch_mpirun 3 "$torch_dir/test_faults.py" --case mismatch
rc=$?; rm -rf "$TEST_TMPDIR"; exit $rc
