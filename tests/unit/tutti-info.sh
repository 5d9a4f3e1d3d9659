#!/bin/sh
# tutti-info as users call it: the table for a job shape, with reasons and
# a topology file; bad arguments and a bad TUTTI_ALGO fail with a message.
B="${top_builddir:-.}"
S="${top_srcdir:-.}"
n=0
fail=0
check()
{ # check DESC COMMAND... (succeeds when COMMAND does)
    desc=$1
    shift
    n=$((n + 1))
    if "$@" >/dev/null 2>&1; then echo "ok $n - $desc"; else
        echo "not ok $n - $desc"
        fail=1
    fi
}
out=$("$B/tutti-info" --tune --nodes 4 --ppn 8 2>&1)
check "--tune --nodes 4 --ppn 8: hierarchical all-reduce for small calls, ring for large, with model times" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-[0-9]*[KM] hier.*-max ring$" &&
        echo "$0" | grep -q "^allreduce  *8 B  hier  .* us >= .* us  *[0-9.]*  model (defaults for shm and tcp): .*\*hier [0-9.]* us"' "$out"
# 4096 ranks: every explained line (6 collectives x 7 sizes, and barrier)
# has the model's time, the lower bound and their ratio, and no ratio is
# below 1 (a model time under the bound: the model or the bound is wrong)
out=$("$B/tutti-info" --tune --nodes 512 --ppn 8 2>&1)
res=$(echo "$out" | awk '$3 == "B" { n++; if ($6 != "us" || $7 != ">=" || $9 != "us" || $10 !~ /^[0-9.]+$/ || $10 < 1) bad++ }
    END { print n + 0, bad + 0 }')
check "--tune --nodes 512 --ppn 8: model time >= alpha-beta lower bound on all 43 lines (lines, below 1: $res)" \
    sh -c '[ "$0" = "43 0" ] && echo "$1" | grep -q "^# collective .* model .* lower bound .* ratio  why$"' "$res" "$out"
out=$("$B/tutti-info" --tune --nodes 1 --ppn 4 2>&1)
check "--tune --nodes 1 --ppn 4: the model gives the node's windows from small calls on" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-.*window$" && echo "$0" | grep -q "^reduce_scatter: .*window$"' "$out"
out=$(TUTTI_SHM_WIN_SIZE=0 "$B/tutti-info" --tune --nodes 1 --ppn 4 2>&1)
check "TUTTI_SHM_WIN_SIZE=0: no windows, so rd for small calls, ring for large" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-[0-9]*K rd, [0-9]*K-max ring$"' "$out"
out=$("$B/tutti-info" --tune --nodes 64 --ppn 1 --net verbs 2>&1)
check "--tune --nodes 64 --ppn 1 --net verbs: tree broadcast for small calls on many nodes, ring for large" \
    sh -c 'echo "$0" | grep -q "^broadcast: 0-[0-9]*[KM] tree,.* [0-9]*[KM]-max ring/[0-9]*K$" &&
        echo "$0" | grep -q "other node   alpha   2.50 us"' "$out"
out=$(TUTTI_SMALL_MSG_SIZE=32K "$B/tutti-info" --tune --nodes 1 --ppn 4 2>&1)
check "TUTTI_SMALL_MSG_SIZE set: the threshold decides instead of the model" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-32K+1 rd, 32K+1-max ring" &&
        echo "$0" | grep -q "TUTTI_SMALL_MSG_SIZE threshold"' "$out"
out=$(TUTTI_ALGO="allreduce:tree@0-64K,ring@64K-max" "$B/tutti-info" --tune --nodes 2 --ppn 2 2>&1)
check "TUTTI_ALGO ranges show in the table and beat the job shape" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-64K tree, 64K-max ring"' "$out"
out=$("$B/tutti-info" --tune --nodes 2 --ppn 8 --topo "$S/tests/topologies/gpu8-nic4.xml" 2>&1)
check "--topo: GPUs and NICs with their NUMA node and switch" \
    sh -c 'echo "$0" | grep -q "8 GPUs, 4 NICs" && echo "$0" | grep -q "NIC 3: NUMA node 1, PCIe switch 1"' "$out"
out=$(TUTTI_ALGO="allreduce:tree@0-64K,ring@32K-max" "$B/tutti-info" --tune 2>&1)
rc=$?
check "a bad TUTTI_ALGO fails, pointing at the overlap" sh -c '[ "$1" != 0 ] && echo "$0" | grep -q overlap' "$out" "$rc"
check "--nodes 0 is refused" sh -c '! "$0/tutti-info" --tune --nodes 0' "$B"
rules="${TMPDIR:-/tmp}/tutti-rules-$$.json"
printf '{"version": 1, "rules": [{"collective": "allreduce", "algorithm": "tree", "max_bytes": "64K", "min_nodes": 2}]}\n' >"$rules"
out=$(TUTTI_TUNE_FILE="$rules" "$B/tutti-info" --tune --nodes 4 --ppn 2 2>&1)
check "TUTTI_TUNE_FILE: the rule shows in the table, with its number as the reason" \
    sh -c 'echo "$0" | grep -q "^allreduce: 0-[0-9]*K tree\(, [0-9K]*-[0-9K]* tree/[0-9]*K\)*, 64K-[0-9KM]* [a-z]" && echo "$0" | grep -q "TUTTI_TUNE_FILE rule 1"' "$out"
printf '{"version": 1, "rules": [{"collective": "allreduce", "algorithm": "tree", "max_bytes": "64K", "nodes": 2}]}\n' >"$rules"
out=$(TUTTI_TUNE_FILE="$rules" "$B/tutti-info" --tune 2>&1)
rc=$?
check "a rules file with an unknown key fails, naming line, column and file" \
    sh -c '[ "$1" != 0 ] && echo "$0" | grep -q "line 1, column" && echo "$0" | grep -q "unknown key"' "$out" "$rc"
rm -f "$rules"
echo "1..$n"
exit $fail
