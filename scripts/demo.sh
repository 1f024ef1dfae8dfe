#!/bin/sh
# The main job: builds the library and runs the MNIST denoising demo.
# Installs what is missing on Debian 12 first. The trained model is cached
# in build/ (a second run skips training); the figure is written to
# build/mnist-denoise.png. Extra arguments go to the demo (--help).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ ! -f build/build.ninja ]; then
    meson setup build >build-setup.log 2>&1 || { cat build-setup.log; exit 1; }
    rm -f build-setup.log
fi
ninja -C build >/dev/null
exec build/examples/gmmp-mnist-demo --cache build/gmmp-mnist-k11-p16.gmmp \
    --figure build/mnist-denoise.png "$@"
