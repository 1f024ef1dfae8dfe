# Shared by the shell tests of the tools (sourced): a check of a command's
# exit status and of what it printed, counting failures in $failures. The
# caller sets $tmp (a scratch directory) first. CHECK_TIMEOUT, when set, is
# a guard against a hang (seconds), not a measure of speed.
failures=0

check() { # description, expected status, command...
    what=$1
    want=$2
    shift 2
    if [ -n "${CHECK_TIMEOUT:-}" ]; then
        timeout "$CHECK_TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err"
    else
        "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -40
        failures=$((failures + 1))
    else
        echo "ok: $what"
    fi
}

expect_in() { # description, file, pattern
    if grep -q -- "$3" "$2"; then
        echo "ok: $1"
    else
        echo "FAIL: $1: no '$3' in"
        sed 's/^/  | /' "$2" | head -40
        failures=$((failures + 1))
    fi
}

says() { # description, pattern (in the last check's stderr)
    expect_in "$1" "$tmp/err" "$2"
}
