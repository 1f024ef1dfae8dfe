#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a small
# program against it using only pkg-config, as C and as C++: what a user
# of the installed library does.
#
#   downstream.sh BUILDDIR SRCDIR CC [CXX] [shared|static]
#
# shared: `pkg-config --cflags --libs gmmprior`, and the cflags name no
#         BLAS include directory (the public headers include no BLAS header).
# static: `pkg-config --static --cflags --libs gmmprior` with the shared
#         library removed from the prefix, so libgmmprior.a is what links:
#         its Libs.private must name BLAS, LAPACKE, libm, threads and libdl.
set -eu
builddir=$1
srcdir=$2
cc=$3
cxx=${4:-}
mode=${5:-shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/root" meson install -C "$builddir" --no-rebuild >"$tmp/install.log" 2>&1 ||
    { tail -n 20 "$tmp/install.log"; echo "meson install failed"; exit 1; }
pcfile=$(find "$tmp/root" -name gmmprior.pc | head -n 1)
[ -n "$pcfile" ] || { echo "gmmprior.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
# The .pc names the real prefix; point it at the temporary one. (Not
# PKG_CONFIG_SYSROOT_DIR, which would also move the system BLAS's -L.)
prefix=$(sed -n 's/^prefix=//p' "$pcfile")
pc() { pkg-config --define-variable=prefix="$tmp/root$prefix" "$@" gmmprior; }
libdir=$(dirname "$(dirname "$pcfile")")
echo "gmmprior.pc:"
sed 's/^/    /' "$pcfile"

cflags=$(pc --cflags)
echo "pkg-config --cflags gmmprior: $cflags"
for f in $cflags; do
    case $f in
    -I"$tmp/root"*) ;;
    -I*) echo "FAIL: --cflags names an include directory outside the library's: $f"; exit 1 ;;
    esac
done
if grep -q '^Requires' "$pcfile"; then
    echo "FAIL: gmmprior.pc has a Requires line: its packages' Cflags leak into --cflags"
    exit 1
fi

run() { # program: runs it with the temporary libdir first
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"
}

case $mode in
shared)
    flags=$(pc --cflags --libs)
    ;;
static)
    [ -f "$libdir/libgmmprior.a" ] || { echo "SKIP: no libgmmprior.a installed"; exit 77; }
    rm -f "$libdir"/libgmmprior.so*
    flags=$(pc --static --cflags --libs)
    ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
echo "pkg-config ($mode) --cflags --libs gmmprior: $flags"

# shellcheck disable=SC2086
$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/downstream_c" "$srcdir/downstream.c" $flags
run "$tmp/downstream_c"
if [ "$mode" = static ]; then
    if readelf -d "$tmp/downstream_c" | grep -q 'NEEDED.*libgmmprior'; then
        echo "FAIL: the static build still needs libgmmprior.so"
        exit 1
    fi
    echo "linked with libgmmprior.a: $(readelf -d "$tmp/downstream_c" | grep NEEDED | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')"
fi
if [ -n "$cxx" ]; then
    cp "$srcdir/downstream.c" "$tmp/downstream.cpp"
    # shellcheck disable=SC2086
    $cxx -std=c++11 -Wall -Wextra -Werror -o "$tmp/downstream_cxx" "$tmp/downstream.cpp" $flags
    run "$tmp/downstream_cxx"
else
    echo "no C++ compiler: C++ build skipped"
fi
