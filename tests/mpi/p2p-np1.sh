#!/bin/sh
# point-to-point: sends, receives and groups, 1 rank(s)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 1 "${top_builddir:-.}/tests/mpi/test_p2p"
