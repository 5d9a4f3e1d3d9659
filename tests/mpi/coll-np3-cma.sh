#!/bin/sh
# every collective with the single-copy (process_vm_readv) path on, 3 ranks
TUTTI_SHM_CMA=1
export TUTTI_SHM_CMA
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "${top_builddir:-.}/tests/mpi/test_coll"
