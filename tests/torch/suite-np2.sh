#!/bin/sh
# PyTorch's own distributed_test.py with the backend set to tutti, world size 2, every test
. "${top_srcdir:-.}/tests/torch/launch.sh"
exec "$PYTHON" "$torch_dir/suite.py" --world-size 2 --subset all
