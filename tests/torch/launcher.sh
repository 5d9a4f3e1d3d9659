#!/bin/sh
# tutti.torch.launcher_env: the variables of mpirun (Open MPI, MPICH) and srun mapped for env://
. "${top_srcdir:-.}/tests/torch/launch.sh"
exec "$PYTHON" "$torch_dir/test_launcher.py"
