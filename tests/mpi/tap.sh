# SPDX-License-Identifier: BSD-3-Clause
# Sourced by test scripts that print TAP themselves:
#   tap OK DESC [DIAG]   a case (OK: 1 passes), DIAG shown when it fails
#   skip DESC REASON     an explicit skip
#   tap_end              the plan; exits 1 when a case failed
tap_n=0
tap_failed=0
tap()
{
    tap_n=$((tap_n + 1))
    if [ "$1" = 1 ]; then echo "ok $tap_n - $2"; else
        echo "not ok $tap_n - $2"
        tap_failed=1
        [ -n "${3:-}" ] && printf '%s\n' "$3" | head -20 | sed 's/^/# /'
    fi
    return 0
}
skip()
{
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}
tap_end()
{
    echo "1..$tap_n"
    exit $tap_failed
}
