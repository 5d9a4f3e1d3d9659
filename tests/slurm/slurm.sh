#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A real Slurm, started by this test (Debian's slurmctld, slurmd, srun and
# munge, with a generated configuration in a scratch directory), and
# tutti_comm_init_env under srun with nothing exported:
#   srun --mpi=pmi2 and --mpi=pmix on this node (-O: more tasks than CPUs);
#   the same across two simulated hosts (tests/cluster/lib.sh), one slurmd
#   per host with its own host name, slurmctld and srun on node1.
# Each runs tests/launch/env_job (the collective matrix on a few sizes, a
# split, a second communicator) and checks the route the log names.
# Skips, saying why, where Slurm or munge is not installed or not root.
. "${top_srcdir:-.}/tests/mpi/tap.sh"
# Sanitizer build: LeakSanitizer's exit-time tracer can crash once libpmix
# or libucp is opened with dlopen and their threads hold dynamic TLS (see
# tests/mpi/ucx-env.sh); TLS is not scanned as roots (can only add false
# reports), and remote ranks get the same options.
if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then
    LSAN_OPTIONS="${LSAN_OPTIONS:-}:use_tls=0"
    export LSAN_OPTIONS
    TT_MPIRUN_EXTRA="${TT_MPIRUN_EXTRA:-} -x LSAN_OPTIONS -x ASAN_OPTIONS"
    export TT_MPIRUN_EXTRA
fi
B="${top_builddir:-.}"
TT_HERE="${top_srcdir:-.}/tests/cluster"
job="$(cd "$B" && pwd)/tests/launch/env_job"
for p in slurmctld slurmd srun munged; do
    command -v "$p" >/dev/null 2>&1 || { echo "1..0 # SKIP $p not found (Debian: slurmctld slurmd slurm-client munge)"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP Slurm's daemons run as root here"; exit 0; }
unset TUTTI_ROOT_ADDR TUTTI_RANK TUTTI_NRANKS TUTTI_SECRET TUTTI_LAUNCHER MASTER_ADDR MASTER_PORT
unset SLURM_JOB_ID SLURM_JOBID SLURM_PROCID SLURM_NTASKS SLURM_NNODES
export TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=INIT
sl=$(mktemp -d /tmp/tutti-slurm.XXXXXX)
port=$((17000 + ($$ % 400) * 2))
cleanup()
{
    munged --stop --socket="$sl/munge.sock" >/dev/null 2>&1
    pkill -f "munged --socket=$sl/munge.sock" 2>/dev/null
    for f in "$sl"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
    sleep 0.5
    for f in "$sl"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
    [ -n "${TT_CLUSTER_DIR:-}" ] && tt_cluster_down >/dev/null 2>&1
    rm -rf "$sl"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM HUP

# munge: our own key, socket and daemon
mkdir -p "$sl/log"
dd if=/dev/urandom of="$sl/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$sl/munge.key"
munged --socket="$sl/munge.sock" --key-file="$sl/munge.key" --pid-file="$sl/munged.pid" \
    --log-file="$sl/log/munged.log" --seed-file="$sl/munged.seed" --force >"$sl/log/munged.out" 2>&1
# conf CTLHOST NODELINES: a slurm.conf for this run
conf()
{
    d="$sl/$1"
    mkdir -p "$d/state" "$d/spool/$(hostname)"
    cat >"$d/slurm.conf" <<CONF
ClusterName=tutti
SlurmctldHost=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sl/munge.sock
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool/%n
SlurmctldPidFile=$sl/$1-slurmctld.pid
SlurmdPidFile=$sl/$1-slurmd-%n.pid
SlurmctldLogFile=$sl/log/$1-slurmctld.log
SlurmdLogFile=$sl/log/$1-slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
$3
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
    echo "$d/slurm.conf"
}
# wait_idle N: until sinfo shows N idle nodes (30 s)
wait_idle()
{
    i=0
    while [ $i -lt 150 ]; do
        n=$($1 sinfo -h -t idle -o '%D' 2>/dev/null | head -1)
        [ "${n:-0}" = "$2" ] && return 0
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}
route() { echo "$1" | grep -q "rendezvous through $2" && echo 1; }
nok() { echo "$1" | grep -c "^rank [0-9]* of $2 ok"; }

# -- one node
h=$(hostname)
SLURM_CONF=$(conf local "$h" "NodeName=$h CPUs=$(nproc) State=UNKNOWN")
export SLURM_CONF
slurmctld -c -i >"$sl/log/local-ctld.out" 2>&1
slurmd >"$sl/log/local-slurmd.out" 2>&1
if wait_idle "" 1; then
    for mpi in pmi2 pmix; do
        want=PMI-1
        [ $mpi = pmix ] && want=PMIx
        out=$(timeout 120 srun -n 3 -O --mpi=$mpi "$job" 2>&1)
        tap "$([ "$(nok "$out" 3)" = 3 ] && route "$out" "$want")" \
            "srun -n 3 --mpi=$mpi on one node, nothing exported: $want route, matrix, split, second communicator" "$out"
    done
else
    tap 0 "a one-node Slurm came up" "$(tail -n 5 "$sl"/log/local-*.log "$sl"/log/*.out 2>&1)"
fi
for f in "$sl"/local-*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
unset SLURM_CONF

# -- two simulated hosts
. "$TT_HERE/lib.sh"
if why=$(tt_cluster_can); then
    if tt_cluster_up 2 >"$sl/log/cluster-up.out" 2>&1; then
        trap cleanup EXIT # tt_cluster_up set its own; cleanup takes the hosts down too
        trap 'cleanup; exit 1' INT TERM HUP
        c=$(conf cluster node1 "NodeName=node1 NodeAddr=10.231.0.1 CPUs=$(nproc) State=UNKNOWN
NodeName=node2 NodeAddr=10.231.0.2 CPUs=$(nproc) State=UNKNOWN")
        tt_on node1 env SLURM_CONF="$c" slurmctld -c -i >"$sl/log/cluster-ctld.out" 2>&1
        # each slurmd: the host's cgroup v1 hierarchies again (ip netns
        # exec gives the namespace a fresh /sys), and its own copy of the
        # configuration whose mpi.conf gives its PMIx server a directory of
        # its own (the simulated hosts share /tmp)
        cg=""
        for m in $(awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/mounts); do
            o=$(awk -v m="$m" '$2 == m { print $4 }' /proc/mounts | tr ',' '\n' | grep -v '^rw$\|^relatime$' | paste -sd, -)
            cg="$cg mkdir -p $m && mount -t cgroup -o $o cgroup $m;"
        done
        if [ -n "$cg" ]; then
            cg="mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup;$cg"
        else
            cg="mount -t cgroup2 none /sys/fs/cgroup;"
        fi
        for n in 1 2; do
            mkdir -p "$sl/cluster$n" "$sl/cluster/spool/node$n" "$sl/pmix$n"
            cp "$c" "$sl/cluster$n/slurm.conf"
            echo "PMIxCliTmpDirBase=$sl/pmix$n" >"$sl/cluster$n/mpi.conf"
            tt_on node$n sh -c "$cg exec env SLURM_CONF=$sl/cluster$n/slurm.conf slurmd -N node$n" \
                >"$sl/log/cluster-slurmd$n.out" 2>&1
        done
        if wait_idle "tt_on node1 env SLURM_CONF=$c" 2; then
            for mpi in pmi2 pmix; do
                want=PMI-1
                [ $mpi = pmix ] && want=PMIx
                out=$(tt_on node1 env SLURM_CONF="$c" timeout 120 srun -N 2 -n 4 -O --mpi=$mpi "$job" 2>&1)
                hosts=$(echo "$out" | sed -n 's/^rank [0-9]* of 4 ok (host \(.*\))$/\1/p' | sort -u | wc -l)
                tap "$([ "$(nok "$out" 4)" = 4 ] && [ "$hosts" = 2 ] && route "$out" "$want")" \
                    "srun -N 2 -n 4 --mpi=$mpi across 2 simulated hosts, nothing exported: $want route ($hosts hosts)" "$out"
            done
        else
            tap 0 "a two-host Slurm came up" "$(tail -n 5 "$sl"/log/cluster-*.log "$sl"/log/cluster-*.out 2>&1)"
        fi
    else
        tap 0 "2 simulated hosts set up" "$(cat "$sl/log/cluster-up.out")"
    fi
else
    skip "srun --mpi=pmi2 across 2 simulated hosts" "$why"
    skip "srun --mpi=pmix across 2 simulated hosts" "$why"
fi
tap_end
