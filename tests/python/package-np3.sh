#!/bin/sh
# the Python package alone (numpy), 3 rank(s) under mpirun
. "${top_srcdir:-.}/tests/python/pyenv.sh"
py_need_numpy
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "$PYTHON" "${top_srcdir:-.}/tests/python/test_package.py"
