#!/bin/sh
# The README's demo: 4-rank logistic regression matches the single-process run.
out=$("${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/examples/logreg" --epochs 10 --check 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
case "$out" in
*"1..0 # SKIP"*) echo "1..0 # SKIP mpirun not found"; exit 0 ;;
esac
if [ $rc -eq 0 ] && echo "$out" | grep -q "matches the single-process result: yes"; then
    echo "ok 1 - examples/logreg on 4 ranks matches the single-process training"
else
    echo "not ok 1 - examples/logreg on 4 ranks matches the single-process training (rc $rc)"
fi
echo "1..1"
