#!/bin/sh
# libtutti_mpi_mpich: communicator creation under MPICH's mpiexec (env
# through hydra's PMI-1, from MPI communicators, split, missing rank), 2 ranks
exec "${top_srcdir:-.}/tests/mpich/run.sh" 2 "${top_builddir:-.}/tests/mpich/test_init"
