#!/bin/sh
# communicator creation under mpirun (env, MPI, split, missing rank), 4 ranks
exec "${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_init"
