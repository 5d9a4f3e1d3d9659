# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the PyTorch tests: launch_torchrun NP SCRIPT ARGS, launch_mpirun
# NP SCRIPT ARGS, launch_spawn NP SCRIPT ARGS run a test under that launcher;
# the TAP stream is rank 0's (torchrun prefixes every output line with the
# rank, so there rank 0 writes it to a file, printed afterwards).
. "${top_srcdir:-.}/tests/python/pyenv.sh"
py_need_torch
torch_dir="${top_srcdir:-.}/tests/torch"
launch_torchrun()
{
    np=$1
    shift
    command -v torchrun >/dev/null 2>&1 || py_skip "torchrun not found"
    TAP_FILE=$(mktemp /tmp/tutti-tap.XXXXXX)
    export TAP_FILE
    # Debian 12's torchrun (Python 3.11) dies parsing its default --redirects
    # and --tee values ('NoneType' object has no attribute 'get'): give both
    torchrun --standalone --redirects 1 --tee 1 --nproc_per_node "$np" "$@" >"$TAP_FILE.log" 2>&1
    rc=$?
    cat "$TAP_FILE"
    [ $rc -ne 0 ] && tail -30 "$TAP_FILE.log" | sed 's/^/# /'
    rm -f "$TAP_FILE" "$TAP_FILE.log"
    return $rc
}
launch_mpirun()
{
    np=$1
    shift
    "${top_srcdir:-.}/tests/mpi/run.sh" "$np" "$PYTHON" "$@"
}
launch_spawn()
{
    np=$1
    script=$2
    shift 2
    "$PYTHON" "$script" --spawn "$np" "$@"
}
