#!/bin/sh
# Installs the Debian 12 packages the build, the tests and the demo need,
# if any is missing. Needs root (or sudo) only when something is missing.
set -eu
packages="meson ninja-build pkg-config gcc g++ clang libclang-rt-14-dev binutils
  python3 libopenblas-dev libblas-dev liblapack-dev liblapacke-dev check
  zlib1g-dev libpng-dev valgrind abigail-tools doxygen openmpi-bin libopenmpi-dev cmake
  cython3 python3-dev python3-numpy python3-pytest python3-sklearn python3-threadpoolctl"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
