#!/bin/sh
# a rank SIGKILLed mid-collective, every peer over TCP (see kill-np4.sh)
TUTTI_TRANSPORTS=tcp
MPIRUN_EXTRA="--mca orte_abort_on_non_zero_status 0"
export TUTTI_TRANSPORTS MPIRUN_EXTRA
"${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_kill"
exit 0
