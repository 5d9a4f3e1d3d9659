#!/bin/sh
# every collective over the UCX transport, 2 ranks, UCX's shared memory
# (posix) and single-copy (cma) transports only
. "${top_srcdir:-.}/tests/mpi/ucx-env.sh"
TUTTI_UCX_TLS=posix,cma
export TUTTI_UCX_TLS
exec "${top_srcdir:-.}/tests/mpi/run.sh" 2 "${top_builddir:-.}/tests/mpi/test_coll"
