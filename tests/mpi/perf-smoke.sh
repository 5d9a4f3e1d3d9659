#!/bin/sh
# A short run of every benchmark under mpirun (2 and 3 ranks, small sizes):
# #wrong must be 0, "Out of bounds values : 0 OK", every row must parse, the
# JSON must load, and --mpi / --sweep / -I / --cache-cold must work.
top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
run="$top_srcdir/tests/mpi/run.sh"
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$MPIRUN" ] || ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "1..0 # SKIP mpirun not found"
    exit 0
fi

# check_table FILE NP [W]: every data row has the nccl-tests columns and
# #wrong 0; W is the number of columns per placement (4, +3 with -I, +3 with --mpi)
check_table() {
    awk -v np="$2" -v w="${3:-4}" '
        /^#/ { if ($0 ~ /Out of bounds values : 0 OK/) oob = 1; next }
        NF == 0 { next }
        { rows++
          # size count type redop root | time algbw busbw wrong | time algbw busbw wrong
          if (NF != 5 + 2 * w || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/) { bad++; print "# bad row: " $0; next }
          if ($9 != "0" || $(9 + w) != "0") { wrong++; print "# wrong values: " $0 } }
        END { if (!oob) print "# no \"Out of bounds values : 0 OK\" line";
              exit (rows > 0 && !bad && !wrong && oob) ? 0 : 1 }' "$1"
}

# the table is stdout only; stderr (progress, sanitizer reports) is shown on failure
tap() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else
        echo "not ok $n - $2"
        sed 's/^/#   /' "$3" | tail -30
        [ -f "$3.err" ] && sed 's/^/#   stderr: /' "$3.err" | tail -20
    fi
}

for np in 2 3; do
    for b in all_reduce broadcast all_gather reduce_scatter reduce alltoall sendrecv; do
        out=$tmp/$b.$np.out
        "$run" "$np" "$top_builddir/perf/${b}_perf" -b 8 -e 256K -f 8 -n 3 -w 1 -c 1 -T 30 -J "$tmp/$b.$np.json" >"$out" 2>"$out.err"
        rc=$?
        check_table "$out" "$np" >>"$out"
        ok=$?
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['results'] and all(r['out_of_place']['nwrong']==0 and r['in_place']['nwrong']==0 for r in d['results'])" "$tmp/$b.$np.json" >>"$out" 2>&1
        js=$?
        [ $rc = 0 ] && [ $ok = 0 ] && [ $js = 0 ]
        tap $? "np=$np ${b}_perf: table parses, #wrong 0, no out-of-bounds writes, JSON loads" "$out"
    done
done

# every datatype and op once, with MPI side by side and percentiles
out=$tmp/all.out
"$run" 2 "$top_builddir/perf/all_reduce_perf" -b 1K -e 1K -n 2 -w 1 -d all -o all --mpi -I 1 -T 30 >"$out" 2>"$out.err"
rc=$?
check_table "$out" 2 10 >>"$out" && [ $rc = 0 ] && grep -q "mpi:time" "$out" && grep -q "bfloat16" "$out" && grep -q " avg " "$out"
tap $? "np=2 all_reduce_perf -d all -o all --mpi -I 1: 50 rows checked, MPI columns present" "$out"

out=$tmp/sweep.out
"$run" 3 "$top_builddir/perf/all_reduce_perf" -b 8 -e 1M -f 32 -n 2 -w 1 --sweep -J "$tmp/sweep.json" >"$out" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "tutti picks" "$out" && grep -q '\*' "$out" && ! grep -q "wrong)" "$out" &&
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['results'])==4 and all(r['fastest'] in r['times'] for r in d['results'])" "$tmp/sweep.json" >>"$out" 2>&1
tap $? "np=3 all_reduce_perf --sweep: every algorithm timed and checked, fastest marked, JSON" "$out"

out=$tmp/cold.out
"$run" 2 "$top_builddir/perf/broadcast_perf" -b 4K -e 64K -f 4 -n 3 -w 1 --cache-cold -r all >"$out" 2>"$out.err"
rc=$?
check_table "$out" 2 >>"$out" && [ $rc = 0 ] && grep -q "cache-cold" "$out"
tap $? "np=2 broadcast_perf --cache-cold -r all" "$out"

out=$tmp/v.out
"$run" 3 "$top_builddir/perf/alltoall_perf" -b 8 -e 64K -f 8 -n 3 -w 1 --mpi --vcounts -T 30 >"$out" 2>"$out.err"
rc=$?
check_table "$out" 3 7 >>"$out" && [ $rc = 0 ] && grep -q "tutti_alltoallv against MPI_Alltoallv" "$out"
tap $? "np=3 alltoall_perf --vcounts --mpi: alltoallv against MPI_Alltoallv, checked" "$out"

out=$tmp/tp.out
"$run" 2 "$top_builddir/perf/transport_perf" -b 8 -e 1M -f 16 -n 20 >"$out" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(grep -cE '^ +[0-9]+ +[0-9.]+ +[0-9.]+$' "$out")" -ge 4 ]
tap $? "np=2 transport_perf: latency and bandwidth rows for shm" "$out"

out=$tmp/badflag.out
"$run" 2 "$top_builddir/perf/all_reduce_perf" -b 1X >"$out" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "bad value '1X' for -b" "$out"
tap $? "a bad size is refused with a message naming it" "$out"

echo "1..$n"
