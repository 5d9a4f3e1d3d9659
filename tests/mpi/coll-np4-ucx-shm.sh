#!/bin/sh
# every collective over the UCX transport, 4 ranks, UCX's System V shared
# memory transport only (no peer-failure reports from UCX on this path)
. "${top_srcdir:-.}/tests/mpi/ucx-env.sh"
TUTTI_UCX_TLS=sysv
export TUTTI_UCX_TLS
exec "${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_coll" --big 500003
