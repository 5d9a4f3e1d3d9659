#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Transport choice under mpirun, 2 ranks (TAP):
#   - by default, built transports that need a device (verbs, ucx) and find
#     none are left out, said at INFO, and the job runs over shm/tcp
#   - a transport named in TUTTI_TRANSPORTS that a rank cannot use fails
#     init on every rank, naming the rank and why
#   - an unknown name fails init listing the transports built
B="${top_builddir:-.}"
S="${top_srcdir:-.}"
if [ -z "$MPIRUN" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found (configure looked for it)"
    exit 0
fi
built=$("$B/tutti-info" | sed -n 's/^transports: *//p')
rdma=$(ls /sys/class/infiniband 2>/dev/null | head -1)
. "$S/tests/mpi/tap.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# default: device-less transports left out, the job still works
TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=TRANSPORT "$S/tests/mpi/run.sh" 2 -x TUTTI_DEBUG -x TUTTI_DEBUG_SUBSYS \
    "$B/tests/mpi/test_init" >"$out" 2>&1
ok=1
grep -q "^not ok" "$out" && ok=0
grep -q "^1\.\." "$out" || ok=0
tap $ok "default transports (built: $built): the job runs" "$(grep -v '^ok' "$out")"
for t in verbs ucx; do
    case ", $built," in *", $t,"*) ;; *)
        skip "default leaves out $t without an RDMA device" "$t not built"
        continue
        ;;
    esac
    if [ -n "$rdma" ]; then
        skip "default leaves out $t without an RDMA device" "this machine has one ($rdma)"
        continue
    fi
    ok=0
    grep -q "transport $t not usable on this rank: .*" "$out" && grep -q "transport $t left out: rank" "$out" && ok=1
    tap $ok "default leaves out $t without an RDMA device, saying why at INFO" "$(grep -i "$t" "$out")"
done

# named but unusable: every rank fails init, the message names rank and reason
case ", $built," in
*", verbs,"*)
    if [ -n "$rdma" ]; then
        skip "TUTTI_TRANSPORTS=verbs without a device fails init naming the rank" "this machine has one ($rdma)"
    else
        TUTTI_TRANSPORTS=verbs "$S/tests/mpi/run.sh" 2 -x TUTTI_TRANSPORTS "$B/tests/mpi/test_init" >"$out" 2>&1
        ok=0
        grep -q "TUTTI_TRANSPORTS='verbs' asks for verbs, but rank [01] (host [^)]*) cannot use it (verbs: " "$out" &&
            ok=1
        tap $ok "TUTTI_TRANSPORTS=verbs without a device fails init naming the rank and why" "$(cat "$out")"
    fi
    ;;
*) skip "TUTTI_TRANSPORTS=verbs without a device fails init naming the rank" "verbs not built" ;;
esac

# unknown name
TUTTI_TRANSPORTS=shm,rdma "$S/tests/mpi/run.sh" 2 -x TUTTI_TRANSPORTS "$B/tests/mpi/test_init" >"$out" 2>&1
ok=0
grep -q "unknown transport 'rdma' (registered here: shm" "$out" && ok=1
tap $ok "TUTTI_TRANSPORTS=shm,rdma fails init: unknown transport, listing those registered" "$(cat "$out")"
tap_end
