#!/bin/sh
# every collective x algorithm x datatype x op x size, 4 rank(s)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_coll"
