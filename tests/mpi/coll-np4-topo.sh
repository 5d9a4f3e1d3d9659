#!/bin/sh
# every collective, 4 ranks, each seeing the 8-GPU / 4-NIC fixture as its
# machine (TUTTI_TOPO_FILE) and dumping what it used (TUTTI_TOPO_DUMP_FILE)
TUTTI_TOPO_FILE="${top_srcdir:-.}/tests/topologies/gpu8-nic4.xml"
TUTTI_TOPO_DUMP_FILE="${TMPDIR:-/tmp}/tutti-topo-dump-$$.%r.xml"
export TUTTI_TOPO_FILE TUTTI_TOPO_DUMP_FILE
"${top_srcdir:-.}/tests/mpi/run.sh" 4 "${top_builddir:-.}/tests/mpi/test_coll" --big 300007
rc=$?
n=$(grep -l 'TuttiNodeRanks' "${TMPDIR:-/tmp}/tutti-topo-dump-$$".*.xml 2>/dev/null | wc -l)
rm -f "${TMPDIR:-/tmp}/tutti-topo-dump-$$".*.xml
# every rank wrote its dump, or the script fails (the TAP driver reports it)
if [ -n "$MPIRUN" ] && [ "$n" -lt 4 ]; then
    echo "# coll-np4-topo: expected 4 topology dumps with Tutti* facts, found $n"
    exit 1
fi
exit $rc
