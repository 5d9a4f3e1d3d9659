#!/bin/sh
# Runs the fuzz target for FUZZ_SECONDS (default 10) from the committed
# corpus (in a scratch copy) and reports TAP: executions, coverage, crashes.
top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
bin="$(cd "$top_builddir" && pwd)/tests/fuzz/fuzz_wire"
secs=${FUZZ_SECONDS:-10}
if [ ! -x "$bin" ]; then
    echo "1..0 # SKIP no fuzzer: configure found no clang with -fsanitize=fuzzer (Debian: clang libclang-rt-14-dev)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/corpus"
cp "$(cd "$top_srcdir" && pwd)"/tests/fuzz/corpus/* "$tmp/corpus/" 2>/dev/null
(cd "$tmp" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=5 -rss_limit_mb=2048 corpus) >"$tmp/log" 2>&1
rc=$?
runs=$(awk '/stat::number_of_executed_units/{print $2}' "$tmp/log")
cov=$(grep -o "cov: [0-9]*" "$tmp/log" | tail -1)
if [ $rc -eq 0 ]; then
    echo "ok 1 - fuzz_wire: ${runs:-?} executions in $secs s ($cov), no crash, no leak, no undefined behaviour"
else
    echo "not ok 1 - fuzz_wire crashed (rc $rc)"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written|Base64" "$tmp/log" | head -20 | sed 's/^/# /'
    for c in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-*; do [ -f "$c" ] && echo "# input: $(base64 -w0 "$c")"; done
fi
echo "1..1"
