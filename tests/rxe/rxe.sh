#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# make check's soft-RoCE test (make check-rxe runs it alone): boots one VM
# with tests/rxe/vm.sh, runs tests/rxe/guest-tests.sh inside it in the build
# directory, and passes its TAP on.  See tests/rxe/README.md.
#   - a machine that cannot run the VM: "1..0 # SKIP <why>", exit 0
#   - the sanitizer build (TUTTI_SANITIZERS=1 from make check): skipped with
#     that reason unless TUTTI_RXE_SANITIZERS=1 (ASan/UBSan under full
#     emulation is slow, and the plain build runs the same tests)
#   - the VM failing or running past its deadline, before the stream is
#     complete: a "not ok" of its own
# Environment: what make check sets (top_builddir, top_srcdir, MPIRUN,
# TUTTI_TIMEOUT, TUTTI_INIT_TIMEOUT); every TUTTI_* variable is passed on
# into the guest; TUTTI_RXE_TIMEOUT (default: make check's per-test limit
# TUTTI_TEST_TIMEOUT, 900 s, less 45 s) bounds the whole VM run, so that a
# slow run still ends with TAP; the other TUTTI_RXE_* knobs are vm.sh's and
# guest-tests.sh's.
set -u
TUTTI_RXE_TIMEOUT=${TUTTI_RXE_TIMEOUT:-$((${TUTTI_TEST_TIMEOUT:-900} - 45))}
export TUTTI_RXE_TIMEOUT
B=$(cd "${top_builddir:-.}" && pwd -P) || exit 1
S=$(cd "${top_srcdir:-.}" && pwd -P) || exit 1

if [ "${TUTTI_SANITIZERS:-0}" = 1 ] && [ "${TUTTI_RXE_SANITIZERS:-0}" != 1 ]; then
    echo "1..0 # SKIP sanitizer build: the soft-RoCE VM runs in the plain build (TUTTI_RXE_SANITIZERS=1 forces it)"
    exit 0
fi
if [ ! -x "$B/tests/rxe/pingpong" ]; then
    echo "1..1"
    echo "not ok 1 - tests/rxe/pingpong is built (make tests/rxe/pingpong)"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tutti-rxe-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT HUP

# the guest's command line: its environment, then the test script
cmd="env"
for v in top_builddir=$B top_srcdir=$S "MPIRUN=${MPIRUN:-}" $(env | grep -o '^TUTTI_[A-Za-z0-9_]*=' | grep -v '^TUTTI_RXE_TIMEOUT='); do
    case $v in
    TUTTI_*=) # a name from env: add its value
        v=${v%=}
        v="$v=${!v}"
        ;;
    esac
    cmd="$cmd $(printf '%q' "$v")"
done
cmd="$cmd bash $(printf '%q' "$S/tests/rxe/guest-tests.sh")"

TUTTI_RXE_SHARES=$S TUTTI_RXE_REASON_FILE=$tmp/why \
    "$S/tests/rxe/vm.sh" "$B" "$cmd" >"$tmp/tap"
rc=$?
if [ "$rc" = 77 ] && [ -s "$tmp/why" ]; then
    echo "1..0 # SKIP cannot run the soft-RoCE VM here: $(head -1 "$tmp/why")"
    exit 0
fi
cat "$tmp/tap"
if ! grep -q '^1\.\.[0-9]' "$tmp/tap"; then
    # the stream stopped early: say why, after the results it has
    n=$(grep -cE '^(not )?ok [0-9]' "$tmp/tap")
    case $rc in
    124) why="ran past TUTTI_RXE_TIMEOUT=$TUTTI_RXE_TIMEOUT s" ;;
    125) why="failed (vm.sh exit 125, its reason is on stderr)" ;;
    *) why="stopped early (exit $rc)" ;;
    esac
    echo "not ok $((n + 1)) - the soft-RoCE VM $why"
    echo "1..$((n + 1))"
    exit 1
fi
exit 0
