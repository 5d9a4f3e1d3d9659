#!/bin/sh
# a rank SIGKILLed mid-collective, every peer over UCX's tcp (see kill-np4.sh):
# UCX's own error report names it
. "${top_srcdir:-.}/tests/mpi/ucx-env.sh"
TUTTI_UCX_TLS=tcp
MPIRUN_EXTRA="--mca orte_abort_on_non_zero_status 0"
export TUTTI_UCX_TLS MPIRUN_EXTRA
"${top_srcdir:-.}/tests/mpi/run.sh" 3 "${top_builddir:-.}/tests/mpi/test_kill"
exit 0
