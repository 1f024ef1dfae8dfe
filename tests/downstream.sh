#!/bin/sh
# Installs the build into a temporary prefix, then builds and runs a small
# program against it using only pkg-config, as C and as C++: what a user
# of the installed library does.
set -eu
builddir=$1
srcdir=$2
cc=$3
cxx=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

DESTDIR="$tmp/root" meson install -C "$builddir" --no-rebuild --quiet >/dev/null
pcfile=$(find "$tmp/root" -name gmmprior.pc | head -n 1)
[ -n "$pcfile" ] || { echo "gmmprior.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
libdir=$(dirname "$(dirname "$pcfile")")
flags=$(pkg-config --cflags --libs gmmprior)
echo "pkg-config --cflags --libs gmmprior: $flags"

$cc -std=c11 -Wall -Wextra -Werror -o "$tmp/downstream_c" "$srcdir/downstream.c" $flags
LD_LIBRARY_PATH="$libdir" "$tmp/downstream_c"
if [ -n "$cxx" ]; then
    cp "$srcdir/downstream.c" "$tmp/downstream.cpp"
    $cxx -std=c++11 -Wall -Wextra -Werror -o "$tmp/downstream_cxx" "$tmp/downstream.cpp" $flags
    LD_LIBRARY_PATH="$libdir" "$tmp/downstream_cxx"
else
    echo "no C++ compiler: C++ build skipped"
fi
