#!/bin/sh
# Compares the built library's ABI with the committed baseline
# (abi/libgmmprior.abi, from abidw): additions pass, anything else fails.
# usage: scripts/check-abi.sh BUILD_DIR          check
#        scripts/check-abi.sh --update BUILD_DIR  rewrite the baseline (a release)
# The build must have debug information (debug or debugoptimized buildtype,
# not stripped): without it the check refuses to run (exit status 2).
set -eu
cd "$(dirname "$0")/.."
update=0
[ $# -ge 1 ] || { echo "usage: $0 [--update] BUILD_DIR" >&2; exit 2; }
if [ "$1" = "--update" ]; then update=1; shift; fi
build=$1
lib=$(ls "$build"/lib/libgmmprior.so.*.*.* 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
    echo "check-abi: no shared library $build/lib/libgmmprior.so.X.Y.Z: build with default_library=shared or both" >&2
    exit 2
fi
# abidw describes types and functions from the DWARF debug information; a
# library without it (--buildtype release, or stripped) gives an ABI
# description with no types, and abidiff would pass it vacuously.
if ! readelf -S --wide "$lib" | grep -q '[[:space:]]\.debug_info[[:space:]]'; then
    echo "check-abi: $lib has no debug information (.debug_info section):" >&2
    echo "  abidiff would compare nothing and pass. Check a build with debug info" >&2
    echo "  (--buildtype debug or debugoptimized, or -Ddebug=true), not stripped." >&2
    exit 2
fi
baseline=abi/libgmmprior.abi
# The opaque handles' layouts are the library's own (docs/abi.md).
suppressions=abi/opaque.suppr
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw --headers-dir include/gmmprior --headers-dir include --no-corpus-path \
    --drop-private-types "$lib" >"$tmp/current.abi"
if [ "$update" -eq 1 ]; then
    mkdir -p abi
    cp "$tmp/current.abi" "$baseline"
    echo "baseline updated from $lib"
    exit 0
fi
status=0
abidiff --no-added-syms --suppressions "$suppressions" "$baseline" "$tmp/current.abi" \
    >"$tmp/report" || status=$?
if [ "$status" -ne 0 ]; then
    echo "ABI check FAILED: changes other than additions (abidiff status $status):"
    cat "$tmp/report"
    exit 1
fi
abidiff --suppressions "$suppressions" "$baseline" "$tmp/current.abi" >"$tmp/all" || true
added=$(grep -c "^  \[A\]" "$tmp/all" || true)
echo "ABI check passed: no change to the baseline's ABI; $added additions"
