#!/bin/sh
# communicator creation under mpirun (env, MPI, split, missing rank), 2 ranks
exec "${top_srcdir:-.}/tests/mpi/run.sh" 2 "${top_builddir:-.}/tests/mpi/test_init"
