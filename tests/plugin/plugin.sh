#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Transports loaded at run time (docs/TRANSPORTS.md):
#  - libtutti.so links no UCX, rdma-core or CUDA library;
#  - the example plugin (examples/transport/) builds out of tree against the
#    installed headers alone, is found by file, by name and by scanning
#    TUTTI_PLUGIN_PATH, and runs the collective matrix (test_coll) and a
#    job without MPI with every peer over it;
#  - plugins with a wrong version, a short table, a NULL operation, a taken
#    name, a failing entry point or probe, no entry symbol, or that are no
#    shared object at all are left out with the reason, without harming the
#    others, and naming one in TUTTI_TRANSPORTS fails creation with it;
#  - with UCX's and rdma-core's libraries hidden (a mount namespace with
#    /dev/null bound over them, as root) the library loads, leaves ucx and
#    verbs out with the reason, and runs over shm and tcp.
. "${top_srcdir:-.}/tests/mpi/tap.sh"
top=${top_builddir:-.}
src=${top_srcdir:-.}
cc=${TEST_CC:-cc}
info="$top/tutti-info"
job="$top/tests/plugin/plugin_job"
run="$src/tests/mpi/run.sh"
if [ -z "$MPIRUN" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found (configure looked for it)"
    exit 0
fi
tmp=$(mktemp -d /tmp/tutti-plugin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
unset TUTTI_TRANSPORTS TUTTI_TRANSPORT_PLUGINS TUTTI_PLUGIN_PATH

# -- the library itself
lib="$top/.libs/libtutti.so"
deps=$(ldd "$lib" 2>&1)
tap "$(echo "$deps" | grep -qE 'libuc[pstm]|libibverbs|libcuda|libnccl|not found' || echo 1)" \
    "libtutti.so loads no UCX, rdma-core or CUDA library (ldd)" "$deps"

# -- the example, out of tree: only the installed headers
out=$(make -s -C "$top" install-includeHEADERS install-tuttiincludeHEADERS includedir="$tmp/include" 2>&1)
tap "$([ -f "$tmp/include/tutti/transport.h" ] && [ -f "$tmp/include/tutti.h" ] && echo 1)" \
    "make install puts tutti.h and tutti/transport.h in the include directory" "$out"
mkdir -p "$tmp/good" "$tmp/bad"
out=$($cc -std=c11 -Wall -Wextra -Werror -O2 -fPIC -shared -I"$tmp/include" "$src/examples/transport/tutti_tp_example.c" \
    -o "$tmp/good/tutti_tp_example.so" 2>&1)
tap "$([ -f "$tmp/good/tutti_tp_example.so" ] && echo 1)" \
    "the example plugin builds with -Wall -Wextra -Werror against the installed headers alone" "$out"
good="$tmp/good/tutti_tp_example.so"
for v in VERSION SIZE NULLOP DUP ENTRYFAIL PROBEFAIL; do
    n=$(echo "$v" | tr 'A-Z' 'a-z')
    case $v in VERSION | SIZE) n=bad$n ;; esac
    $cc -std=c11 -O2 -fPIC -shared -I"$tmp/include" -I"$src/examples/transport" -DVARIANT_$v \
        "$src/tests/plugin/variant.c" -o "$tmp/bad/tutti_tp_$n.so" >>"$tmp/variants.log" 2>&1
done
echo 'int not_a_plugin(void) { return 0; }' >"$tmp/nosym.c"
$cc -fPIC -shared "$tmp/nosym.c" -o "$tmp/bad/tutti_tp_nosym.so" >>"$tmp/variants.log" 2>&1
echo 'this is not a shared object' >"$tmp/bad/tutti_tp_garbage.so"
nbad=$(ls "$tmp/bad" | wc -l)
tap "$([ "$nbad" = 8 ] && echo 1)" "eight broken or refusing variants built" "$(ls "$tmp/bad"; cat "$tmp/variants.log")"

# -- found by file, by name, by scanning
out=$(TUTTI_TRANSPORT_PLUGINS="$good" "$info" 2>&1)
tap "$(echo "$out" | grep -E "^  example +usable +plugin $good, interface v1, example 1.0" >/dev/null && echo 1)" \
    "tutti-info lists the plugin named by file: usable, its path, interface and version" "$out"
out=$(TUTTI_TRANSPORT_PLUGINS=example TUTTI_PLUGIN_PATH="$tmp/none:$tmp/good" "$info" 2>&1)
tap "$(echo "$out" | grep -qE "^  example +usable +plugin $good" && echo 1)" \
    "a plugin named by name is found in TUTTI_PLUGIN_PATH" "$out"
out=$(TUTTI_PLUGIN_PATH="$tmp/good" "$info" 2>&1)
tap "$(echo "$out" | grep -qE "^  example +usable +plugin $good" && echo 1)" \
    "every tutti_tp_*.so of TUTTI_PLUGIN_PATH loads without being named" "$out"
out=$(TUTTI_TRANSPORT_PLUGINS=nosuch TUTTI_PLUGIN_PATH="$tmp/good" "$info" 2>&1)
tap "$(echo "$out" | grep -qE "^  nosuch +left out +plugin \(not found\): TUTTI_TRANSPORT_PLUGINS names it, but no tutti_tp_nosuch.so" && echo 1)" \
    "a named plugin that is nowhere is listed as left out, saying where it was looked for" "$out"

# -- the collective matrix and a job without MPI, every peer over the plugin
out=$(TUTTI_TRANSPORT_PLUGINS="$good" TUTTI_TRANSPORTS=example "$run" 3 "$top/tests/mpi/test_coll" --quick 2>&1)
rc=$?
tap "$([ $rc = 0 ] && echo "$out" | grep -q "every peer over example" && ! echo "$out" | grep -q "^not ok" && echo 1)" \
    "test_coll --quick, 3 ranks, TUTTI_TRANSPORTS=example: every case passes, every byte over the plugin ($(echo "$out" | grep -c '^ok') cases)" \
    "$(echo "$out" | grep -v '^ok' | head -20)"
out=$(TUTTI_TRANSPORT_PLUGINS="$good" TUTTI_TRANSPORTS=example "$run" 4 "$job" 2>&1)
tap "$([ "$(echo "$out" | grep -c 'ok: example$')" = 4 ] && echo 1)" \
    "a job without MPI (tutti_comm_init_env), 4 ranks over the plugin: all-reduce and broadcast right" "$out"
out=$(TUTTI_TRANSPORT_PLUGINS="$good" "$run" 2 "$job" 2>&1)
tap "$([ "$(echo "$out" | grep -c 'ok: shm$')" = 2 ] && echo 1)" \
    "with the plugin loaded but not named, shm still serves the node (plugins come after shm)" "$out"

# -- refused and left out, with the reason, without harming the others
out=$(TUTTI_PLUGIN_PATH="$tmp/bad:$tmp/good" "$info" 2>&1)
for pat in "badversion +left out +plugin .*built for transport interface version 99; this tutti speaks version 1" \
    "badsize +left out +plugin .*its table is 64 bytes; interface version 1 needs at least" \
    "nullop +left out +plugin .*incomplete table: operation progress is NULL" \
    "dup +left out +plugin .*a transport named 'shm' is already registered \(built in\)" \
    "entryfail +left out +plugin .*entryfail: no device found" \
    "nosym +left out +plugin .*not a tutti transport plugin: no symbol tutti_transport_plugin" \
    "garbage +left out +plugin .*cannot load it: " \
    "probefail +loaded +plugin .*not chosen here: probefail: no fabric" \
    "example +usable +plugin $good"; do
    tap "$(echo "$out" | grep -qE "^  $pat" && echo 1)" "tutti-info: $(echo "$pat" | sed 's/ +/ /g; s/\\//g; s/\.\*/.../')" "$out"
done
out=$(TUTTI_PLUGIN_PATH="$tmp/bad:$tmp/good" "$run" 2 "$job" 2>&1)
tap "$([ "$(echo "$out" | grep -c 'ok: shm$')" = 2 ] && echo 1)" \
    "eight bad plugins beside a good one: a job still runs (shm)" "$out"
out=$(TUTTI_PLUGIN_PATH="$tmp/bad:$tmp/good" TUTTI_TRANSPORTS=example "$run" 2 "$job" 2>&1)
tap "$([ "$(echo "$out" | grep -c 'ok: example$')" = 2 ] && echo 1)" \
    "eight bad plugins beside a good one: the good one carries a job" "$out"
out=$(TUTTI_PLUGIN_PATH="$tmp/bad" TUTTI_TRANSPORTS=badversion,tcp "$run" 2 "$job" 2>&1)
tap "$(echo "$out" | grep -q "asks for badversion, but rank 0 .* cannot use it (badversion: left out: built for transport interface version 99" && echo 1)" \
    "TUTTI_TRANSPORTS naming a refused plugin fails creation with the reason" "$out"
out=$(TUTTI_PLUGIN_PATH="$tmp/bad" TUTTI_TRANSPORTS=probefail "$run" 2 "$job" 2>&1)
tap "$(echo "$out" | grep -q "asks for probefail, but rank 0 .* cannot use it (probefail: probefail: no fabric" && echo 1)" \
    "TUTTI_TRANSPORTS naming a plugin whose probe fails: creation fails with its reason" "$out"
out=$(TUTTI_TRANSPORTS=nosuch "$run" 2 "$job" 2>&1)
tap "$(echo "$out" | grep -q "unknown transport 'nosuch' (registered here: shm" && echo 1)" \
    "TUTTI_TRANSPORTS naming a transport nobody registered fails, listing what is there" "$out"

# -- UCX's and rdma-core's libraries hidden
base=$("$info" 2>&1)
hide=""
for l in libucp.so.0 libucs.so.0 libuct.so.0 libucm.so.0 libibverbs.so.1; do
    f=$(ldconfig -p 2>/dev/null | awk -v l="$l" '$1 == l { print $NF; exit }')
    [ -n "$f" ] && hide="$hide $(readlink -f "$f")"
done
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null 2>&1 || ! unshare -m true 2>/dev/null; then
    skip "ucx and verbs left out with their libraries hidden" "needs root and unshare -m (a mount namespace)"
elif [ -z "$hide" ]; then
    skip "ucx and verbs left out with their libraries hidden" "neither UCX nor rdma-core is installed here"
else
    cat >"$tmp/hidden.sh" <<HIDDEN
for f in $hide; do mount --bind /dev/null "\$f" || exit 3; done
echo "== info"; "$info" 2>&1
echo "== default"; "$run" 2 "$job" 2>&1
echo "== tcp"; TUTTI_TRANSPORTS=tcp "$run" 2 "$job" 2>&1
echo "== ucx"; TUTTI_TRANSPORTS=ucx,tcp "$run" 2 "$job" 2>&1
echo "== verbs"; TUTTI_TRANSPORTS=verbs,tcp "$run" 2 "$job" 2>&1
echo "== end"
HIDDEN
    out=$(unshare -m sh "$tmp/hidden.sh" 2>&1)
    sect() { echo "$out" | sed -n "/^== $1\$/,/^== /p"; }
    tap "$(sect info | grep -qE '^transports: +shm, tcp$' && echo 1)" \
        "libraries hidden: tutti-info loads, shm and tcp usable" "$(sect info)"
    if echo "$base" | grep -qE '^  ucx '; then
        tap "$(sect info | grep -qE "^  ucx +left out +built in: UCX's library is not loadable \(.*libucp.so.0" && echo 1)" \
            "libraries hidden: ucx is left out, naming libucp.so.0" "$(sect info)"
        tap "$(sect ucx | grep -q "asks for ucx, but rank 0 .* cannot use it (ucx: left out: UCX's library is not loadable" && echo 1)" \
            "libraries hidden: TUTTI_TRANSPORTS=ucx,tcp fails creation with the reason" "$(sect ucx)"
    else
        skip "libraries hidden: ucx left out" "this build has no UCX transport"
        skip "libraries hidden: TUTTI_TRANSPORTS=ucx fails" "this build has no UCX transport"
    fi
    if echo "$base" | grep -qE '^  verbs '; then
        tap "$(sect info | grep -qE "^  verbs +left out +built in: rdma-core's library is not loadable \(.*libibverbs.so.1" && echo 1)" \
            "libraries hidden: verbs is left out, naming libibverbs.so.1" "$(sect info)"
        tap "$(sect verbs | grep -q "asks for verbs, but rank 0 .* cannot use it (verbs: left out: rdma-core's library" && echo 1)" \
            "libraries hidden: TUTTI_TRANSPORTS=verbs,tcp fails creation with the reason" "$(sect verbs)"
    else
        skip "libraries hidden: verbs left out" "this build has no verbs transport"
        skip "libraries hidden: TUTTI_TRANSPORTS=verbs fails" "this build has no verbs transport"
    fi
    tap "$([ "$(sect default | grep -c 'ok: shm$')" = 2 ] && echo 1)" \
        "libraries hidden: a 2-rank job runs over shm" "$(sect default)"
    tap "$([ "$(sect tcp | grep -c 'ok: tcp$')" = 2 ] && echo 1)" \
        "libraries hidden: a 2-rank job runs over tcp" "$(sect tcp)"
fi
tap_end
