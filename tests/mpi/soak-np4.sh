#!/bin/sh
# the soak test, bounded for make check (SOAK_OPS / SOAK_SECONDS for longer: make soak)
exec "${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_soak" --ops "${SOAK_OPS:-10000}" --seconds "${SOAK_SECONDS:-90}"
