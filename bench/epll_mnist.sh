#!/bin/sh
# MNIST at sigma = 25 (noise clipped to 0..255): one-pass denoising with the
# original 16x16, K = 11 configuration against EPLL with an 8x8, K = 30
# prior, both trained on the shipped training digits. Prints a table.
# usage: bench/epll_mnist.sh BUILD_DIR
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
train="$src/data/mnist/train-images-idx3-ubyte.gz"
test_images="$src/data/mnist/t10k-images-idx3-ubyte.gz"
"$build/tools/gmmp-train" -q --patch 16 --components 11 --max-patches 40000 --seed 1 \
    -o "$tmp/p16k11.gmmp" "$train"
t0=$(date +%s)
"$build/tools/gmmp-train" -q --patch 8 --components 30 --max-patches 200000 --seed 5 \
    -o "$tmp/p8k30.gmmp" "$train"
echo "8x8 K=30 prior trained in $(($(date +%s) - t0)) s"
"$build/tests/make_noisy" "$test_images" "$tmp/clean.idx" 0 1000 idx
"$build/tests/make_noisy" "$test_images" "$tmp/noisy.idx" 25 1000 idx
echo "| method | prior | PSNR (dB) |"
echo "|---|---|---:|"
for est in mmse map; do
    p=$("$build/tools/gmmp-denoise" --model "$tmp/p16k11.gmmp" --sigma 25 --estimator $est \
        --clean "$tmp/clean.idx" "$tmp/noisy.idx" "$tmp/out.idx" | awk '{ print $(NF-1) }')
    echo "| one pass, $est | 16x16, K = 11 | $p |"
done
noisy=$("$build/tools/gmmp-denoise" --model "$tmp/p16k11.gmmp" --sigma 25 \
    --clean "$tmp/clean.idx" "$tmp/noisy.idx" "$tmp/out.idx" | awk '{ print $7 }')
echo "| noisy input | | $noisy |"
for args in "--estimator map" "--estimator mmse" "--estimator map --grid 3"; do
    # shellcheck disable=SC2086
    line=$("$build/examples/gmmp-epll" --model "$tmp/p8k30.gmmp" --sigma 25 \
        --steps 7 $args --clean "$tmp/clean.idx" "$tmp/noisy.idx" "$tmp/out.idx")
    p=$(echo "$line" | awk '/restored/ { print $(NF-5) }')
    s=$(echo "$line" | awk '/^EPLL/ { for (i = 1; i <= NF; i++) if ($i == "s,") print $(i-1) }')
    echo "| EPLL ($args), $s s | 8x8, K = 30 | $p |"
done
