#!/bin/sh
# every collective x algorithm x datatype x op x size, 8 rank(s)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 8 "${top_builddir:-.}/tests/mpi/test_coll"
