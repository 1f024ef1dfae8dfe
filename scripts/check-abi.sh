#!/bin/sh
# Compares the built library's ABI with the committed baseline
# (abi/libgmmprior.abi, from abidw): additions pass, anything else fails.
# usage: scripts/check-abi.sh BUILD_DIR          check
#        scripts/check-abi.sh --update BUILD_DIR  rewrite the baseline (a release)
set -eu
cd "$(dirname "$0")/.."
update=0
if [ "$1" = "--update" ]; then update=1; shift; fi
build=$1
lib=$(ls "$build"/lib/libgmmprior.so.*.*.* | head -n 1)
baseline=abi/libgmmprior.abi
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
abidiff --no-added-syms "$baseline" "$tmp/current.abi" >"$tmp/report" || status=$?
if [ "$status" -ne 0 ]; then
    echo "ABI check FAILED: changes other than additions (abidiff status $status):"
    cat "$tmp/report"
    exit 1
fi
abidiff "$baseline" "$tmp/current.abi" >"$tmp/all" || true
added=$(grep -c "^  \[A\]" "$tmp/all" || true)
echo "ABI check passed: no change to the baseline's ABI; $added additions"
