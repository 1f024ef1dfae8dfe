#!/bin/sh
# The project's whole test run, as CI runs it (.ci/run calls this script):
# installs what is missing (Debian 12), then builds and tests every
# configuration. Build trees go under build-ci/ (GMMP_CI_DIR to change).
#
#   1. gcc + OpenBLAS, warnings as errors: every test (the demo's quality
#      floor included; the build suite builds consumers through pkg-config,
#      CMake and a Meson subproject), the Python package's pytest suite
#      (docs/python.md), the API reference (fails on
#      undocumented symbols), the ABI against abi/libgmmprior.abi; then the
#      release and debug buildtypes, warnings as errors, built with a quick
#      unit-test run of the release build
#   2. the same build under valgrind memcheck (unit tests, no leaks)
#   3. gcc + reference BLAS/LAPACK (netlib)
#   4. clang + OpenBLAS, warnings as errors
#   5. AddressSanitizer + UndefinedBehaviorSanitizer
#   6. ThreadSanitizer on the thread tests
#   7. libFuzzer: each parser and the tools' option parser fuzzed for a
#      minute (GMMP_FUZZ_SECONDS), built with the examples where that lives
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
root=${GMMP_CI_DIR:-build-ci}
fuzz_seconds=${GMMP_FUZZ_SECONDS:-60}
mkdir -p "$root"
start=$(date +%s)

stage() { printf '\n=== %s (%ss so far) ===\n' "$*" "$(($(date +%s) - start))"; }

configure() { # dir, then meson options
    dir=$1
    shift
    if [ -d "$dir" ]; then set -- --reconfigure "$@"; fi
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
}

build() { ninja -C "$1" >"$1.build.log" 2>&1 || { cat "$1.build.log"; exit 1; }; }

stage "1. gcc, OpenBLAS: all tests, API reference, ABI"
configure "$root/gcc-openblas" -Dblas=openblas -Ddocs=enabled -Dpython=enabled --werror
build "$root/gcc-openblas"
meson test -C "$root/gcc-openblas" --no-suite python --print-errorlogs
# the Python package's pytest suite (docs/python.md, python/tests/)
meson test -C "$root/gcc-openblas" --suite python --print-errorlogs
ninja -C "$root/gcc-openblas" docs
scripts/check-abi.sh "$root/gcc-openblas"
# Every buildtype the README names builds warning-free (the optimiser's
# flow analysis warns about things debugoptimized does not see).
for buildtype in release debug; do
    configure "$root/gcc-$buildtype" -Dbuildtype=$buildtype -Dblas=openblas -Ddocs=disabled \
        -Dmpi=disabled --werror
    build "$root/gcc-$buildtype"
done
meson test -C "$root/gcc-release" --suite unit --print-errorlogs

stage "2. valgrind memcheck (unit tests)"
meson test -C "$root/gcc-openblas" --setup valgrind --suite unit --print-errorlogs

stage "3. gcc, reference BLAS/LAPACK (netlib)"
configure "$root/gcc-netlib" -Dblas=netlib --werror
build "$root/gcc-netlib"
meson test -C "$root/gcc-netlib" --no-suite demo --print-errorlogs

stage "4. clang, OpenBLAS"
CC=clang CXX=clang++ configure "$root/clang-openblas" -Dblas=openblas --werror
build "$root/clang-openblas"
meson test -C "$root/clang-openblas" --no-suite demo --print-errorlogs

stage "5. AddressSanitizer + UndefinedBehaviorSanitizer"
configure "$root/asan" -Db_sanitize=address,undefined -Dc_args=-fno-sanitize-recover=all \
    -Dbuildtype=debug
build "$root/asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$root/asan" --no-suite demo --print-errorlogs

stage "6. ThreadSanitizer (thread tests)"
# OpenBLAS's own worker threads synchronise in ways ThreadSanitizer cannot
# see; with one OpenBLAS thread every BLAS call runs in the calling
# thread, and the library's own threading is what is checked.
configure "$root/tsan" -Db_sanitize=thread -Dbuildtype=debug -Dexamples=false
build "$root/tsan"
CK_INCLUDE_TAGS=threads OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 \
    meson test -C "$root/tsan" --suite unit --print-errorlogs

stage "7. libFuzzer, ${fuzz_seconds}s per target"
CC=clang CXX=clang++ configure "$root/fuzz" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link -Ddefault_library=static \
    -Ddocs=disabled -Dpython=disabled -Dmpi=disabled
build "$root/fuzz"
for target in model idx pgm png cli; do
    work="$root/fuzz-$target"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp fuzz/corpus/$target/* "$work/corpus/"
    if ! "$root/fuzz/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
        -timeout=20 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1; then
        tail -n 40 "$work/log"
        echo "fuzz_$target failed: add the input in $work/artifacts/ to fuzz/regressions/$target/"
        exit 1
    fi
    echo "fuzz_$target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$work/log")"
done

stage "all stages passed"
