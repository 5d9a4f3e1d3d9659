#!/bin/sh
# every collective x algorithm x datatype x op x size, 1 rank(s)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 1 "${top_builddir:-.}/tests/mpi/test_coll"
