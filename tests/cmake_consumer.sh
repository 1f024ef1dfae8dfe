#!/bin/sh
# Installs the build into a temporary prefix, then configures, builds and
# runs a small CMake project that finds it with find_package(gmmprior 1.0)
# and links the imported target gmmprior::gmmprior (and, when libgmmprior.a
# is installed, gmmprior::gmmprior_static). Also checks the version file:
# find_package(gmmprior 2.0) must fail.
#
#   cmake_consumer.sh BUILDDIR SRCDIR
set -eu
builddir=$1
srcdir=$2
command -v cmake >/dev/null || { echo "SKIP: no cmake"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/root" meson install -C "$builddir" --no-rebuild >"$tmp/install.log" 2>&1 ||
    { tail -n 20 "$tmp/install.log"; echo "meson install failed"; exit 1; }
config=$(find "$tmp/root" -path '*/cmake/gmmprior/gmmprior-config.cmake' | head -n 1)
[ -n "$config" ] || { echo "gmmprior-config.cmake was not installed"; exit 1; }
[ -f "$(dirname "$config")/gmmprior-config-version.cmake" ] ||
    { echo "gmmprior-config-version.cmake was not installed"; exit 1; }
prefix=$(meson introspect --buildoptions "$builddir" |
    python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
root="$tmp/root$prefix"
libdir=$(dirname "$(dirname "$(dirname "$config")")")

configure() { # build dir, then cmake arguments
    cmake -S "$srcdir/consumers/cmake" -B "$1" -DCMAKE_PREFIX_PATH="$root" \
        -DDOWNSTREAM_SOURCE="$srcdir/downstream.c" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" \
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        "$@"
}

configure "$tmp/build" >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
grep 'found gmmprior' "$tmp/configure.log"
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/build/downstream"
echo "gmmprior::gmmprior: built and ran"
if [ -x "$tmp/build/downstream_static" ]; then
    if readelf -d "$tmp/build/downstream_static" | grep -q 'NEEDED.*libgmmprior'; then
        echo "FAIL: gmmprior::gmmprior_static links libgmmprior.so"
        exit 1
    fi
    "$tmp/build/downstream_static"
    echo "gmmprior::gmmprior_static: built and ran"
fi

if configure "$tmp/build2" -DGMMPRIOR_WANT_VERSION=2.0 >"$tmp/configure2.log" 2>&1; then
    cat "$tmp/configure2.log"
    echo "FAIL: find_package(gmmprior 2.0) accepted version 1"
    exit 1
fi
echo "find_package(gmmprior 2.0) refused, as it should be"
