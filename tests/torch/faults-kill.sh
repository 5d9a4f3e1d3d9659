#!/bin/sh
# a rank SIGKILLed under DDP: every survivor raises, naming it (3 ranks, torch.multiprocessing)
. "${top_srcdir:-.}/tests/torch/launch.sh"
TEST_TMPDIR=$(mktemp -d /tmp/tutti-faults.XXXXXX); export TEST_TMPDIR
"$PYTHON" "$torch_dir/test_faults.py" --case kill
rc=$?; rm -rf "$TEST_TMPDIR"; exit $rc
