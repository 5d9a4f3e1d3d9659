# SPDX-License-Identifier: BSD-3-Clause
# perf/hosts.sh: sourced by the perf scripts (from the source tree's top)
# that also measure between simulated hosts (tests/cluster/lib.sh: network
# namespaces on a bridge; needs root).
#   perf_local NP PROG ARGS...   PROG on NP ranks of this machine
#   perf_hosts_up TAG N SPEC     N namespace hosts up, ranks per SPEC
#                                ("node1:2 node2:2"); then perf_hosts NP
#                                PROG ARGS... runs on them.  Without them:
#                                "[TAG] no namespace hosts: why" on stderr,
#                                status 1.  They go away when the script exits.
# TUTTI_* variables set in the caller's environment reach the ranks.
TT_HERE=$PWD/tests/cluster
. tests/cluster/lib.sh
perf_local()
{
    local np=$1
    shift
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$np" "$@"
}
perf_hosts_up()
{
    local why
    if why=$(tt_cluster_can) && tt_cluster_up "$2" >/dev/null 2>&1; then
        perf_hostfile=$(tt_hostfile "$3")
        return 0
    fi
    echo "[$1] no namespace hosts: ${why:-set-up failed}" >&2
    return 1
}
perf_hosts()
{
    tt_mpirun "$perf_hostfile" "$@"
}
