#!/bin/sh
# Builds a small Meson project that has this source tree as its subproject
# subprojects/libgmmprior and gets the library with
# dependency('gmmprior', fallback: 'libgmmprior'), then runs its program.
# Also checks that a subproject build defines no tests, examples or docs of
# libgmmprior and looks for none of their dependencies (Check, zlib,
# libpng, MPI, Doxygen): a consumer needs only BLAS and LAPACKE.
#
#   subproject_consumer.sh SRCROOT TESTSDIR
set -eu
srcroot=$(cd "$1" && pwd)
testsdir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

proj="$tmp/consumer"
mkdir -p "$proj/subprojects"
cp "$testsdir/consumers/meson/meson.build" "$testsdir/downstream.c" "$proj/"
ln -s "$srcroot" "$proj/subprojects/libgmmprior"

# --force-fallback-for: the subproject even when gmmprior is installed.
meson setup "$tmp/build" "$proj" --force-fallback-for=gmmprior >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; exit 1; }
grep -A3 '^libgmmprior' "$tmp/setup.log" | grep -E 'subproject|tests|examples' || true
if grep -E 'dependency (check|zlib|libpng|mpi)|Program doxygen found' "$tmp/setup.log"; then
    echo "FAIL: the subproject build looked for a dependency of its tests, examples or docs"
    exit 1
fi
if meson introspect --targets "$tmp/build" | python3 -c '
import json, sys
names = [t["name"] for t in json.load(sys.stdin)]
extra = [n for n in names if n.startswith(("test_", "gmmp-", "bench_", "replay_"))]
print("targets:", " ".join(sorted(names)))
sys.exit(1 if extra else 0)'; then :; else
    echo "FAIL: the subproject build defines test, tool or example targets"
    exit 1
fi
ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
meson test -C "$tmp/build" --print-errorlogs
