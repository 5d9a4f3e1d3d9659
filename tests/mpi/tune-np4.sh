#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The cost model under mpirun, 4 ranks (TAP): with TUTTI_TUNE_PROBE=1 every
# collective still gives the right results (test_coll --quick), rank 0 logs
# the calibration and its decisions name the probed model with every
# candidate's time and the slice it chose for pipelined calls; every rank
# logged the same decision table.  With TUTTI_CHUNK_SIZE=4K every
# collective is still right.
B="${top_builddir:-.}"
S="${top_srcdir:-.}"
if [ -z "$MPIRUN" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found (configure looked for it)"
    exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
TUTTI_TUNE_PROBE=1 TUTTI_DEBUG=INFO TUTTI_DEBUG_SUBSYS=TUNE TUTTI_DEBUG_FILE="$dir/log.%p" \
    "$S/tests/mpi/run.sh" 4 -x TUTTI_TUNE_PROBE -x TUTTI_DEBUG -x TUTTI_DEBUG_SUBSYS -x TUTTI_DEBUG_FILE \
    "$B/tests/mpi/test_coll" --quick --big 100003 >"$dir/out" 2>&1
. "$S/tests/mpi/tap.sh"
ok=1
grep -q "^not ok" "$dir/out" && ok=0
grep -q "^1\.\." "$dir/out" || ok=0
tap $ok "TUTTI_TUNE_PROBE=1: every collective right on 4 ranks ($(grep -c '^ok' "$dir/out") cases)" \
    "$(grep -v '^ok' "$dir/out")"
cat "$dir"/log.* >"$dir/all" 2>/dev/null
ok=0
grep -q "TUTTI_TUNE_PROBE: 8 B rd [0-9.]* us, 1 MiB ring [0-9.]* us (slowest rank) -> probed: alpha" "$dir/all" && ok=1
tap $ok "the calibration is logged with its measurements" "$(grep -i probe "$dir/all" | head -5)"
ok=0
grep -q "model (probed: alpha [0-9.]* us, [0-9.]* GB/s):.*\*" "$dir/all" && ok=1
tap $ok "decisions name the probed model and every candidate's time" "$(grep "model" "$dir/all" | head -5)"
# every rank explains its decisions (first call of each collective and
# size class): the same words and model times on all 4
ok=1
for f in "$dir"/log.*; do
    sed -n 's/.*TUNE: \([a-z_]* of [0-9]* B: .*model (probed.*\)/\1/p' "$f" | sort >"$f.why"
    [ -s "$f.why" ] || ok=0
done
set -- "$dir"/log.*.why
first=$1
for f in "$@"; do cmp -s "$first" "$f" || ok=0; done
tap $ok "all $# ranks made the same decisions for the same reasons ($(wc -l <"$first") explained)" \
    "$(diff "$first" "$2" | head -10)"
ok=0
grep -q "of [0-9]* B: [a-z]* .*slices of [0-9]*K (model" "$dir/all" && ok=1
tap $ok "pipelined calls say which slice the model chose" "$(grep "slices of" "$dir/all" | head -3)"
# every pipelined algorithm cut in the smallest slices the tuner allows
TUTTI_CHUNK_SIZE=4K "$S/tests/mpi/run.sh" 4 -x TUTTI_CHUNK_SIZE "$B/tests/mpi/test_coll" --quick --big 100003 \
    >"$dir/out4k" 2>&1
ok=1
grep -q "^not ok" "$dir/out4k" && ok=0
grep -q "^1\.\." "$dir/out4k" || ok=0
tap $ok "TUTTI_CHUNK_SIZE=4K: every collective right on 4 ranks ($(grep -c '^ok' "$dir/out4k") cases)" \
    "$(grep -v '^ok' "$dir/out4k" | head -20)"
tap_end
