#!/bin/sh
# the Python package alone (numpy), 3 ranks under mpirun, every peer over TCP
. "${top_srcdir:-.}/tests/python/pyenv.sh"
py_need_numpy
TUTTI_TRANSPORTS=tcp; export TUTTI_TRANSPORTS
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "$PYTHON" "${top_srcdir:-.}/tests/python/test_package.py"
