#!/bin/sh
# Runs the MNIST demo from scratch in a temporary directory and checks its
# RESULT line: MMSE at least 27.5 dB, above the noisy input, 1000 images.
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/examples/gmmp-mnist-demo" --cache "$tmp/model.gmmp" --figure "$tmp/fig.png" >"$tmp/out"
cat "$tmp/out"
[ -s "$tmp/fig.png" ] || { echo "no figure written"; exit 1; }
# The cached model records what it is (format 2: patch description and text).
grep -a -q "gmmp-mnist-demo: K = 11, 16x16 patches" "$tmp/model.gmmp" ||
    { echo "the cached model does not describe itself"; exit 1; }
# A second run must load the cached model instead of training.
"$build/examples/gmmp-mnist-demo" --cache "$tmp/model.gmmp" --figure "$tmp/fig.png" >"$tmp/out2"
grep -q "training: skipped" "$tmp/out2" || { echo "second run did not use the cache"; exit 1; }
"$build/tests/check_demo_result" "$tmp/out"
