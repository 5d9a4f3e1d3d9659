#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The tests run inside the soft-RoCE VM (tests/rxe/rxe.sh starts it with
# tests/rxe/vm.sh, in the build directory).  Prints one TAP stream:
#   - rxe0 and its /dev/infiniband/uverbs0 are there
#   - tests/rxe/pingpong on rxe0 (raw verbs, no tutti)
#   - tutti over its verbs transport (TUTTI_TRANSPORTS=verbs) under the real
#     mpirun: tests/mpi/test_coll --quick --big 100003 with 2, 3 and 4 ranks, and
#     again with 2 ranks and single-copy sends (TUTTI_IB_ZCOPY_MIN=16K), and
#     tests/mpi/test_kill with 3 ranks (a rank SIGKILLed mid-collective), and
#     with a second HCA (rxe1 added on dummy1): 2 ranks set up on rxe0 and
#     rxe1 (the log must show it), and test_coll on rxe1 (TUTTI_IB_HCA);
#     each an explicit SKIP when libtutti has no verbs transport
# The TAP of each program is renumbered into this stream, its other output
# becomes comments; a missing or short plan, a timeout or (where it
# matters) a non-zero exit is a failure of its own.  Every program runs
# under `timeout`.
#
# Environment: top_builddir, top_srcdir, MPIRUN, TUTTI_TIMEOUT,
# TUTTI_INIT_TIMEOUT (as make check sets them), and
#   TUTTI_RXE_CASE_TIMEOUT=300   seconds per program
#   TUTTI_RXE_TRANSPORT=verbs    the transport the MPI cases force; another
#                                one (tcp) checks this harness itself
set -u
B=${top_builddir:-.}
S=${top_srcdir:-.}
case_timeout=${TUTTI_RXE_CASE_TIMEOUT:-300}
transport=${TUTTI_RXE_TRANSPORT:-verbs}
# the harness's own knobs are no tutti parameters (libtutti warns of those)
for v in $(compgen -v TUTTI_RXE_); do unset "$v"; done
n=0
out=$(mktemp /tmp/guest-tests.XXXXXX) || exit 1
trap 'rm -f "$out"' EXIT

result() { # result ok|not-ok DESCRIPTION [DIRECTIVE]
    n=$((n + 1))
    if [ "$1" = ok ]; then echo "ok $n - $2${3:+ # $3}"; else echo "not ok $n - $2${3:+ # $3}"; fi
}

# run_tap NAME WANT_EXIT0 CMD...: runs CMD under timeout, its TAP merged into
# ours with NAME before each description
run_tap() {
    local name=$1 want_exit0=$2 rc planned='' got=0 line rest t0
    shift 2
    echo "# $name: $*"
    t0=$(date +%s)
    timeout -k 10 "$case_timeout" "$@" >"$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        "ok "[0-9]* | "not ok "[0-9]*)
            rest=${line#not }
            rest=${rest#ok }
            rest=${rest#"${rest%%[!0-9]*}"} # drop the number
            rest=${rest# }
            rest=${rest#- }
            got=$((got + 1))
            n=$((n + 1))
            case $line in
            ok*) echo "ok $n - $name: $rest" ;;
            *) echo "not ok $n - $name: $rest" ;;
            esac
            ;;
        1..[0-9]*)
            planned=${line#1..}
            planned=${planned%%[!0-9]*}
            case $line in
            *"# SKIP"* | *"# skip"*)
                rest=${line#*# [Ss][Kk][Ii][Pp]}
                result ok "$name" "SKIP ${rest# }"
                ;;
            esac
            ;;
        "") ;;
        "#"*) echo "$line" ;;
        *) echo "# $line" ;;
        esac
    done <"$out"
    t0=$(($(date +%s) - t0))
    echo "# $name: exit $rc after $t0 s"
    if [ "$rc" = 124 ] || { [ "$rc" = 137 ] && [ "$t0" -ge "$case_timeout" ]; }; then
        result not-ok "$name: finished within $case_timeout s (TUTTI_RXE_CASE_TIMEOUT)"
    elif [ -z "$planned" ]; then
        result not-ok "$name: printed a TAP plan (exit status $rc)"
    elif [ "$got" != "$planned" ]; then
        result not-ok "$name: $got results for a plan of $planned (exit status $rc)"
    elif [ "$want_exit0" = 1 ] && [ "$rc" != 0 ]; then
        result not-ok "$name: exit status 0 (got $rc)"
    fi
}

# ---- the device ------------------------------------------------------------------
ibv_devinfo -d rxe0 2>&1 | grep -E "hca_id|state|active_mtu|link_layer" | sed 's/^/# /'
if ibv_devices 2>/dev/null | grep -qw rxe0 && [ -c /dev/infiniband/uverbs0 ]; then
    result ok "soft-RoCE device rxe0 and /dev/infiniband/uverbs0 are there"
else
    result not-ok "soft-RoCE device rxe0 and /dev/infiniband/uverbs0 are there"
fi
echo "# memlock limit: $(ulimit -l)"

# ---- raw verbs -------------------------------------------------------------------
run_tap pingpong 1 "$B/tests/rxe/pingpong" -d rxe0

# ---- tutti over verbs --------------------------------------------------------------
cases="coll-np2 coll-np3 coll-np4 zcopy-np2 kill-np3 hca2-np2"
skip=
if [ "$transport" = verbs ] && ! "$B/tutti-info" 2>/dev/null | grep -q '^transports:.*verbs'; then
    skip="verbs transport not built"
elif [ -z "${MPIRUN:-}" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    skip="mpirun not found (configure looked for it)"
fi
"$B/tutti-info" 2>/dev/null | grep '^transports:' | sed 's/^/# tutti-info: /'
# MPI itself only starts the ranks and carries verdicts: keep Open MPI off
# the RDMA device (no UCX, no openib), which is not what is under test.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_osc=pt2pt,rdma,sm
export TUTTI_TRANSPORTS=$transport
export TUTTI_TIMEOUT=${TUTTI_TIMEOUT:-60} TUTTI_INIT_TIMEOUT=${TUTTI_INIT_TIMEOUT:-60}
for c in $cases; do
    np=${c#*-np}
    if [ -n "$skip" ]; then
        result ok "$c over $transport" "SKIP $skip"
        continue
    fi
    case $c in
    coll-*)
        run_tap "$c over $transport" 1 env MPIRUN_EXTRA= \
            "$S/tests/mpi/run.sh" "$np" "$B/tests/mpi/test_coll" --quick --big 100003
        ;;
    zcopy-*)
        # single-copy sends: stable slices of 16 KiB and more go straight
        # from the user's buffers (registered per send)
        run_tap "$c over $transport" 1 env MPIRUN_EXTRA= TUTTI_IB_ZCOPY_MIN=16K \
            "$S/tests/mpi/run.sh" "$np" "$B/tests/mpi/test_coll" --quick --big 100003
        ;;
    hca2-*)
        # a second device: ranks take the HCA nearest them, dealt over
        # equally near ones by local rank (rxe has no NUMA node: all are)
        if ! { ip link add dummy1 type dummy && ip link set dummy1 up && ip addr add 10.98.0.1/24 dev dummy1 &&
            rdma link add rxe1 type rxe netdev dummy1; } >"$out" 2>&1; then
            result not-ok "$c over $transport: a second soft-RoCE device (rxe1 on dummy1): $(tr '\n' ' ' <"$out")"
            continue
        fi
        # One kernel cannot carry RoCE between two rxe devices (a packet
        # to a local address arrives on lo, where no rxe listens), so the
        # spread is checked at set-up only (--init-only: QPs created and
        # connected, no traffic), and traffic on the second device alone.
        logs=$(mktemp -d /tmp/hca2.XXXXXX)
        run_tap "$c over $transport: set-up" 1 env MPIRUN_EXTRA= TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=TRANSPORT \
            TUTTI_DEBUG_FILE="$logs/log.%p" "$S/tests/mpi/run.sh" "$np" "$B/tests/mpi/test_coll" --init-only
        used=$(cat "$logs"/log.* 2>/dev/null | sed -n 's/.*verbs: \(rxe[0-9]\):1 of 2 active ports.*/\1/p' | sort |
            uniq -c | tr -s ' \n' ' ')
        if cat "$logs"/log.* 2>/dev/null | grep -q "verbs: rxe0:1 of 2" &&
            cat "$logs"/log.* 2>/dev/null | grep -q "verbs: rxe1:1 of 2"; then
            result ok "$c over $transport: local ranks 0 and 1 take rxe0 and rxe1 ($used)"
        else
            result not-ok "$c over $transport: local ranks 0 and 1 take rxe0 and rxe1 (log: ${used:-nothing})"
        fi
        run_tap "$c over $transport: TUTTI_IB_HCA=rxe1" 1 env MPIRUN_EXTRA= TUTTI_IB_HCA=rxe1 \
            "$S/tests/mpi/run.sh" "$np" "$B/tests/mpi/test_coll" --quick --big 100003
        rm -rf "$logs"
        rdma link delete rxe1 >/dev/null 2>&1
        ip link delete dummy1 >/dev/null 2>&1
        ;;
    kill-*)
        # mpirun exits with the victim's status (137): the verdict is the TAP.
        # TUTTI_IB_TIMEOUT=14: the verbs transport's QP timeout exponent
        # (4.096 us * 2^14 = 67 ms per retry), so that the dead peer shows.
        run_tap "$c over $transport" 0 env MPIRUN_EXTRA="--mca orte_abort_on_non_zero_status 0" TUTTI_IB_TIMEOUT=14 \
            "$S/tests/mpi/run.sh" "$np" "$B/tests/mpi/test_kill"
        ;;
    esac
done
echo "1..$n"
exit 0
