# SPDX-License-Identifier: BSD-3-Clause
# Simulated hosts for multi-host tests, sourced by the cluster test scripts.
#
#   tt_cluster_up N       N hosts node1..nodeN: each a network namespace
#                         with one veth interface "tt0" (10.231.0.i/24 and
#                         fd00:7474::i/64) on a
#                         bridge that lives in a namespace of its own; the
#                         root namespace's network is not touched
#   tt_on HOST CMD...     runs CMD on HOST (its namespace, host name, IPC
#                         namespace and private /dev/shm), killed after
#                         $TT_TIMEOUT seconds (300)
#   tt_mpirun HOSTFILE NP PROG...
#                         the real mpirun, started on node1, reaching the
#                         other hosts through ./agent
#   tt_cluster_down       kills what runs in the namespaces, removes them
#
# tt_cluster_up installs a trap so that the namespaces go away however the
# script ends.  tt_cluster_can explains, on stdout, why hosts cannot be made
# here (not root, no ip, no namespaces) and fails; it prints nothing when
# they can.
TT_HERE=${TT_HERE:-$(cd "$(dirname "$0")" && pwd)}
TT_PREFIX="tt$$"

tt_cluster_can()
{
    if [ "$(id -u)" != 0 ]; then echo "not root: network namespaces need root"; return 1; fi
    for c in ip unshare mount; do
        command -v $c >/dev/null 2>&1 || { echo "no '$c' command (iproute2, util-linux)"; return 1; }
    done
    if ! ip netns add "${TT_PREFIX}probe" 2>/dev/null; then
        echo "cannot create network namespaces here (ip netns add failed: a container without CAP_SYS_ADMIN?)"
        return 1
    fi
    ip netns del "${TT_PREFIX}probe"
    return 0
}

tt_cluster_down()
{
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${TT_PREFIX}"); do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    [ -n "$TT_CLUSTER_DIR" ] && rm -rf "$TT_CLUSTER_DIR"
    TT_CLUSTER_DIR=
}

tt_cluster_up()
{
    n=$1
    TT_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tutti-cluster.XXXXXX") || return 1
    export TT_CLUSTER_DIR
    trap 'tt_cluster_down' EXIT
    trap 'tt_cluster_down; exit 1' INT TERM HUP
    br="${TT_PREFIX}br"
    ip netns add "$br" || return 1
    ip -n "$br" link set lo up
    ip -n "$br" link add br0 type bridge || return 1
    ip -n "$br" link set br0 up
    hosts="127.0.0.1 localhost
"
    i=1
    while [ $i -le "$n" ]; do
        hosts="${hosts}10.231.0.$i node$i
"
        i=$((i + 1))
    done
    : >"$TT_CLUSTER_DIR/hosts"
    i=1
    while [ $i -le "$n" ]; do
        ns="${TT_PREFIX}n$i"
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up
        ip link add "${TT_PREFIX}p$i" netns "$br" type veth peer name tt0 netns "$ns" || return 1
        ip -n "$br" link set "${TT_PREFIX}p$i" master br0 up
        ip -n "$ns" addr add "10.231.0.$i/24" dev tt0
        ip -n "$ns" addr add "fd00:7474::$i/64" dev tt0 nodad
        ip -n "$ns" link set tt0 up
        mkdir -p "/etc/netns/$ns"
        printf '%s' "$hosts" >"/etc/netns/$ns/hosts"
        echo "node$i $ns 10.231.0.$i" >>"$TT_CLUSTER_DIR/hosts"
        i=$((i + 1))
    done
    # wait until every host's link is up (carrier from the bridge)
    i=1
    tries=0
    while [ $i -le "$n" ]; do
        if ip -n "${TT_PREFIX}n$i" link show tt0 | grep -q "state UP"; then
            i=$((i + 1))
        else
            tries=$((tries + 1))
            [ $tries -lt 100 ] || { echo "# node$i: link tt0 never came up"; return 1; }
            sleep 0.1
        fi
    done
    return 0
}

tt_ns() { awk -v h="$1" '$1 == h { print $2 }' "$TT_CLUSTER_DIR/hosts"; }

tt_on()
{
    h=$1
    shift
    ns=$(tt_ns "$h")
    timeout -k 5 "${TT_TIMEOUT:-300}" ip netns exec "$ns" unshare --uts --ipc sh -c \
        "hostname $h && mount -t tmpfs -o mode=1777 tmpfs /dev/shm && exec \"\$0\" \"\$@\"" "$@"
}

# tt_hostfile "node1:2 node2:2" -> path of a hostfile with those slots
tt_hostfile()
{
    f="$TT_CLUSTER_DIR/hostfile.$(echo "$1" | tr ' :' '_x')"
    : >"$f"
    for hs in $1; do echo "${hs%%:*} slots=${hs##*:}" >>"$f"; done
    echo "$f"
}

# Every TUTTI_* variable of the caller goes to every rank.
tt_mpirun()
{
    hf=$1
    np=$2
    shift 2
    xs=""
    for v in $(env | sed -n 's/^\(TUTTI_[A-Z0-9_]*\)=.*/\1/p'); do xs="$xs -x $v"; done
    # shellcheck disable=SC2086
    tt_on node1 "${MPIRUN:-mpirun}" --allow-run-as-root --oversubscribe --bind-to none \
        --hostfile "$hf" --mca plm_rsh_agent "$TT_HERE/agent" \
        --mca btl tcp,self,vader --mca btl_tcp_if_include 10.231.0.0/24 \
        --mca oob_tcp_if_include 10.231.0.0/24 $xs ${TT_MPIRUN_EXTRA:-} -np "$np" "$@"
}
