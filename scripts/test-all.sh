#!/bin/sh
# The project's whole test run, as CI runs it (.ci/run calls this script):
# installs what is missing, then builds and tests every configuration.
# Build trees go under build-ci/ (override with GMMP_CI_DIR).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
root=${GMMP_CI_DIR:-build-ci}
mkdir -p "$root"

stage() { printf '\n=== %s ===\n' "$*"; }

configure() { # dir, then meson options
    dir=$1
    shift
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
    else
        meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
    fi
}

stage "gcc, OpenBLAS: build with warnings as errors, all tests"
configure "$root/gcc-openblas" -Dblas=openblas --werror
ninja -C "$root/gcc-openblas"
meson test -C "$root/gcc-openblas" --print-errorlogs

stage "gcc, reference BLAS/LAPACK (netlib): all tests"
configure "$root/gcc-netlib" -Dblas=netlib --werror
ninja -C "$root/gcc-netlib"
meson test -C "$root/gcc-netlib" --print-errorlogs

stage "clang, OpenBLAS: build with warnings as errors, all tests"
CC=clang CXX=clang++ configure "$root/clang-openblas" -Dblas=openblas --werror
ninja -C "$root/clang-openblas"
meson test -C "$root/clang-openblas" --print-errorlogs

stage "all stages passed"
