# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the Python tests: the interpreter configure found ($PYTHON),
# the package built in this tree ($TEST_PY_LIB) and its libtutti first on
# the paths; in the sanitizer build ASan is preloaded into the interpreter
# (which is not built with it) and leak checks are off (the interpreter's
# own allocations at exit).  Skips, saying why, where something is missing.
# py_need_torch: also skip without tutti.torch; py_need_numpy: without numpy.
py_skip() { echo "1..0 # SKIP $1"; exit 0; }
if [ -z "${PYTHON:-}" ] || [ "$PYTHON" = ":" ]; then py_skip "no python3 with headers and setuptools (configure)"; fi
if [ ! -f "${TEST_PY_LIB:-/nonexistent}/tutti/__init__.py" ]; then py_skip "the Python package was not built (make)"; fi
PYTHONPATH="$TEST_PY_LIB${PYTHONPATH:+:$PYTHONPATH}"
LD_LIBRARY_PATH="${top_builddir}/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH LD_LIBRARY_PATH
if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then
    asan=$(${CC:-gcc} -print-file-name=libasan.so 2>/dev/null)
    [ -f "$asan" ] || py_skip "sanitizer build: libasan.so not found to preload into python"
    LD_PRELOAD="$asan${LD_PRELOAD:+:$LD_PRELOAD}"
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
    export LD_PRELOAD ASAN_OPTIONS
fi
py_need_torch()
{
    if [ "${TEST_PY_TORCH:-0}" != 1 ]; then
        if [ "${TUTTI_SANITIZERS:-0}" = 1 ]; then py_skip "tutti.torch is not built in the sanitizer build (its tests run in the plain build)"; fi
        py_skip "tutti.torch was not built: torch with torch.distributed and libtorch-dev's headers not found (configure)"
    fi
}
py_need_numpy()
{
    "$PYTHON" -c "import numpy" >/dev/null 2>&1 || py_skip "numpy is not importable by $PYTHON (Debian: apt-get install python3-numpy)"
}
