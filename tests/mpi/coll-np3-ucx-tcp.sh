#!/bin/sh
# every collective over the UCX transport, 3 ranks, UCX's tcp only, with
# stable data sent straight from the user's buffers above 16 KiB
. "${top_srcdir:-.}/tests/mpi/ucx-env.sh"
TUTTI_UCX_TLS=tcp
TUTTI_UCX_ZCOPY_MIN=16K
export TUTTI_UCX_TLS TUTTI_UCX_ZCOPY_MIN
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "${top_builddir:-.}/tests/mpi/test_coll"
