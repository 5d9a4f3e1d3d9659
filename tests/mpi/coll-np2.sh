#!/bin/sh
# every collective x algorithm x datatype x op x size, 2 rank(s)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 2 "${top_builddir:-.}/tests/mpi/test_coll"
