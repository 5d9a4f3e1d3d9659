#!/bin/sh
# libtutti_mpi_mpich: every collective x algorithm x datatype x op (the
# quick matrix), 3 ranks under MPICH's mpiexec
exec "${top_srcdir:-.}/tests/mpich/run.sh" 3 "${top_builddir:-.}/tests/mpich/test_coll" --quick
