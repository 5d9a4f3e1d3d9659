#!/bin/sh
# point-to-point over the TCP transport only (loopback), 3 ranks
TUTTI_TRANSPORTS=tcp
export TUTTI_TRANSPORTS
exec "${top_srcdir:-.}/tests/mpi/run.sh" 3 "${top_builddir:-.}/tests/mpi/test_p2p"
