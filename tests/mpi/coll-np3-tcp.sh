#!/bin/sh
# every collective over the TCP transport only (loopback), 3 ranks, with
# stable data written to the sockets straight from the user's buffers
# (TUTTI_TCP_ZCOPY_MIN; the multi-host tests cover the default, staged path)
TUTTI_TRANSPORTS=tcp
TUTTI_TCP_ZCOPY_MIN=4096
export TUTTI_TRANSPORTS TUTTI_TCP_ZCOPY_MIN
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "${top_builddir:-.}/tests/mpi/test_coll"
