#!/bin/sh
# The command-line tools as a user runs them: help, bad options and
# values, a small training run with exactly N iterations, models that
# record their patch geometry (and refuse data it does not fit), and
# denoising of IDX and PGM files with a PSNR that must improve on the
# noisy input.
# usage: test_tools.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
train=$build/tools/gmmp-train
denoise=$build/tools/gmmp-denoise
noisy=$build/tests/make_noisy
data=$src/data/mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

for tool in "$train" "$denoise"; do
    name=$(basename "$tool")
    check "$name --help" 0 "$tool" --help
    expect_in "$name --help prints usage" "$tmp/out" "usage: $name"
    check "$name rejects an unknown option" 2 "$tool" --frobnicate
    check "$name without arguments" 2 "$tool"
done
check "gmmp-train --version" 0 "$train" --version
expect_in "--version names the library's version" "$tmp/out" "gmmp-train (libgmmprior) [0-9]"
check "gmmp-denoise --version" 0 "$denoise" --version
expect_in "--version names the library's version" "$tmp/out" "gmmp-denoise (libgmmprior) [0-9]"
check "bad --patch" 2 "$train" --patch 0 -o "$tmp/m" "$data/train-images-idx3-ubyte.gz"
expect_in "bad --patch names the option" "$tmp/err" "patch"
check "bad --tol" 2 "$train" --tol abc -o "$tmp/m" "$data/train-images-idx3-ubyte.gz"
check "bad --init" 2 "$train" --init magic -o "$tmp/m" "$data/train-images-idx3-ubyte.gz"
check "negative --components" 2 "$train" --components -3 -o "$tmp/m" "$data/t10k-images-idx3-ubyte.gz"
check "missing input" 1 "$train" -o "$tmp/m" "$tmp/nothing.idx"
expect_in "missing input is named" "$tmp/err" "nothing.idx"
check "input that is no image" 1 "$train" -o "$tmp/m" "$src/meson.build"
check "patch larger than the images" 1 "$train" --patch 40 -o "$tmp/m" "$data/t10k-images-idx3-ubyte.gz"

check "train 3 iterations exactly" 0 "$train" --patch 8 --components 5 --max-patches 4000 \
    --tol 0 --max-iter 3 --seed 1 -o "$tmp/model.gmmp" "$data/train-images-idx3-ubyte.gz"
lines=$(grep -c '^iteration' "$tmp/err")
if [ "$lines" -eq 3 ]; then echo "ok: one progress line per iteration"; else
    echo "FAIL: $lines progress lines, expected 3"; failures=$((failures + 1)); fi
check "train in single precision" 0 "$train" --patch 8 --components 5 --max-patches 4000 \
    --tol 0 --max-iter 3 --seed 1 --precision single -o "$tmp/single.gmmp" \
    "$data/train-images-idx3-ubyte.gz"
expect_in "the passes in single precision are reported" "$tmp/err" "single precision: [0-9]* of 15 E-step passes"
check "train bad --precision" 2 "$train" --precision half -o "$tmp/m" "$data/t10k-images-idx3-ubyte.gz"
check "train a usable model" 0 "$train" --patch 8 --components 6 --max-patches 20000 --seed 2 \
    -q -o "$tmp/model.gmmp" "$data/train-images-idx3-ubyte.gz"

# The model records what it was trained on (stored as text in the file).
if grep -a -q "gmmp-train --patch 8 --components 6 --max-patches 20000 --seed 2 on train-images-idx3-ubyte.gz ([0-9]* images)" "$tmp/model.gmmp"; then
    echo "ok: the model describes its training"
else
    echo "FAIL: no description of the training in the model"; failures=$((failures + 1))
fi

# The model carries its 16 leading eigenpairs by default (format 3, flag 1),
# none with --spectra 0 (format 2); d = 64 caps a larger --spectra.
byte() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
if [ "$(byte "$tmp/model.gmmp" 8)$(byte "$tmp/model.gmmp" 12)" = 31 ]; then
    echo "ok: the model file carries eigenpairs (version 3)"
else
    echo "FAIL: version $(byte "$tmp/model.gmmp" 8), flags $(byte "$tmp/model.gmmp" 12)"
    failures=$((failures + 1))
fi
check "train --spectra 0" 0 "$train" --patch 8 --components 2 --max-patches 2000 --max-iter 2 \
    --spectra 0 -q -o "$tmp/plain.gmmp" "$data/t10k-images-idx3-ubyte.gz"
if [ "$(byte "$tmp/plain.gmmp" 8)$(byte "$tmp/plain.gmmp" 12)" = 20 ]; then
    echo "ok: --spectra 0 writes version 2"
else
    echo "FAIL: --spectra 0 wrote version $(byte "$tmp/plain.gmmp" 8)"; failures=$((failures + 1))
fi
check "train --spectra beyond d" 0 "$train" --patch 4 --components 2 --max-patches 2000 \
    --max-iter 2 --spectra 100 -q -o "$tmp/all.gmmp" "$data/t10k-images-idx3-ubyte.gz"
# K = 2, d = 16, r = 16: r (u32) sits 8 + 8 K r (d + 1) + 4 bytes before the end.
size=$(wc -c <"$tmp/all.gmmp")
if [ "$(byte "$tmp/all.gmmp" $((size - 4 - 4360)))" = 16 ]; then
    echo "ok: --spectra beyond d writes all d pairs"
else
    echo "FAIL: --spectra 100 with d = 16 wrote r = $(byte "$tmp/all.gmmp" $((size - 4 - 4360)))"
    failures=$((failures + 1))
fi
check "train bad --spectra" 2 "$train" --spectra -1 -o "$tmp/m" "$data/t10k-images-idx3-ubyte.gz"
expect_in "bad --spectra names the option" "$tmp/err" "spectra"

check "make noisy IDX" 0 "$noisy" "$data/t10k-images-idx3-ubyte.gz" "$tmp/noisy.idx" 20 200 idx
check "make clean IDX" 0 "$noisy" "$data/t10k-images-idx3-ubyte.gz" "$tmp/clean.idx" 0 200 idx

# The model knows its patches: no --patch or --remove-mean needed; given,
# they must agree; a patch larger than the images is refused.
check "denoise without --patch" 0 "$denoise" --model "$tmp/model.gmmp" --sigma 20 "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise with the model's --patch" 0 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --patch 8 \
    "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise with a mismatching --patch" 1 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --patch 6 \
    "$tmp/noisy.idx" "$tmp/o.idx"
expect_in "mismatching --patch: the model's geometry is named" "$tmp/err" "8x8 patches"
check "denoise with a mismatching --remove-mean" 1 "$denoise" --model "$tmp/model.gmmp" --sigma 20 \
    --remove-mean "$tmp/noisy.idx" "$tmp/o.idx"
expect_in "mismatching --remove-mean: the model's mean removal is named" "$tmp/err" "means kept"
{ printf 'P5\n6 6\n255\n'; head -c 36 /dev/zero | tr '\000' '\200'; } >"$tmp/tiny.pgm"
check "denoise images smaller than the model's patch" 1 "$denoise" --model "$tmp/model.gmmp" --sigma 20 \
    "$tmp/tiny.pgm" "$tmp/o.pgm"
expect_in "too small: says the patches do not fit" "$tmp/err" "do not fit"
expect_in "too small: names both sizes" "$tmp/err" "8x8 patches.*6x6 images"
# A version 1 file (no patch description): --patch is required.
v1=$src/fuzz/corpus/model/k1d1.gmmp
check "version 1 model without --patch" 1 "$denoise" --model "$v1" --sigma 20 "$tmp/noisy.idx" "$tmp/o.idx"
expect_in "version 1 model: asks for --patch" "$tmp/err" "give --patch"
check "version 1 model with a wrong --patch" 1 "$denoise" --model "$v1" --sigma 20 --patch 8 \
    "$tmp/noisy.idx" "$tmp/o.idx"
check "version 1 model with --patch" 0 "$denoise" --model "$v1" --sigma 20 --patch 1 "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise bad --sigma" 2 "$denoise" --model "$tmp/model.gmmp" --sigma -1 "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise bad --estimator" 2 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --estimator best "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise with a missing model" 1 "$denoise" --model "$tmp/none.gmmp" --sigma 20 "$tmp/noisy.idx" "$tmp/o.idx"
check "denoise with a corrupt model" 1 "$denoise" --model "$src/meson.build" --sigma 20 "$tmp/noisy.idx" "$tmp/o.idx"
expect_in "corrupt model explained" "$tmp/err" "not a libgmmprior model"
check "denoise bad --precision" 2 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --precision half "$tmp/noisy.idx" "$tmp/o.idx"
for est in mmse map "mmse --precision single"; do
    # shellcheck disable=SC2086
    check "denoise IDX ($est)" 0 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --estimator $est \
        --clean "$tmp/clean.idx" "$tmp/noisy.idx" "$tmp/den.idx.gz"
    # "mean PSNR over 200 images: noisy A dB, denoised (X) B dB": B must beat A by 1 dB.
    awk '/mean PSNR/ { n = $7 + 0; d = $(NF-1) + 0; exit !(d > n + 1.0) }' "$tmp/out" &&
        echo "ok: $est improves PSNR ($(cat "$tmp/out"))" ||
        { echo "FAIL: $est: $(cat "$tmp/out")"; failures=$((failures + 1)); }
done
check "denoised IDX reads back" 0 "$noisy" "$tmp/den.idx.gz" "$tmp/copy.idx" 0 200 idx
check "make noisy PGM" 0 "$noisy" "$data/t10k-images-idx3-ubyte.gz" "$tmp/noisy.pgm" 20 1 pgm
check "make clean PGM" 0 "$noisy" "$data/t10k-images-idx3-ubyte.gz" "$tmp/clean.pgm" 0 1 pgm
check "denoise PGM" 0 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --clean "$tmp/clean.pgm" \
    "$tmp/noisy.pgm" "$tmp/den.pgm"
if [ "$(head -c 2 "$tmp/den.pgm")" = "P5" ]; then echo "ok: PGM in, PGM out"; else
    echo "FAIL: output is not a PGM"; failures=$((failures + 1)); fi
minimal=$build/examples/minimal
check "minimal example denoises a PGM" 0 "$minimal" "$tmp/model.gmmp" 20 "$tmp/noisy.pgm" "$tmp/min.pgm"
if [ "$(head -c 2 "$tmp/min.pgm")" = "P5" ]; then echo "ok: minimal writes a PGM"; else
    echo "FAIL: minimal output is not a PGM"; failures=$((failures + 1)); fi
check "minimal output reads back" 0 "$noisy" "$tmp/min.pgm" "$tmp/min.idx" 0 1 idx
check "minimal with a bad image" 1 "$minimal" "$tmp/model.gmmp" 20 "$tmp/noisy.idx" "$tmp/min.pgm"
check "mismatched --clean" 1 "$denoise" --model "$tmp/model.gmmp" --sigma 20 --clean "$tmp/clean.idx" \
    "$tmp/noisy.pgm" "$tmp/den.pgm"

# Out of core: the same EM, streamed through chunks of 777 patches, gives
# the in-memory model (the issue's tolerance: 1e-10), with the same number
# of iterations.
compare=$build/tests/compare_models
test_images="$data/t10k-images-idx3-ubyte.gz"
check "initial model" 0 "$train" --patch 8 --step 2 --components 5 --max-iter 1 --seed 3 -q \
    -o "$tmp/init.gmmp" "$test_images"
check "in-memory fit" 0 "$train" --patch 8 --step 2 --init-model "$tmp/init.gmmp" --tol 1e-4 \
    -o "$tmp/memory.gmmp" "$test_images"
grep -c '^iteration' "$tmp/err" >"$tmp/iters_memory"
check "streamed fit" 0 "$train" --patch 8 --step 2 --init-model "$tmp/init.gmmp" --tol 1e-4 \
    --chunk 777 -o "$tmp/streamed.gmmp" "$test_images"
grep -c '^iteration' "$tmp/err" >"$tmp/iters_streamed"
if cmp -s "$tmp/iters_memory" "$tmp/iters_streamed"; then
    echo "ok: same iteration count ($(cat "$tmp/iters_memory"))"
else
    echo "FAIL: iterations $(cat "$tmp/iters_memory") in memory, $(cat "$tmp/iters_streamed") streamed"
    failures=$((failures + 1))
fi
check "streamed model equals the in-memory one" 0 "$compare" "$tmp/streamed.gmmp" "$tmp/memory.gmmp" 1e-10
cat "$tmp/out"
check "streamed training from scratch" 0 "$train" --patch 8 --step 3 --components 4 --chunk 500 \
    --init-patches 3000 --max-iter 4 -o "$tmp/s2.gmmp" "$test_images" "$tmp/noisy.pgm"
expect_in "initialised on a sample" "$tmp/err" "initialised on 3000 sampled patches"

# EPLL with the same small prior: better than one pass over the patches,
# the jittered grid close to the full one, inpainting that restores.
epll=$build/examples/gmmp-epll
check "gmmp-epll --help" 0 "$epll" --help
check "gmmp-epll without arguments" 2 "$epll"
check "gmmp-epll with a mismatching --patch" 1 "$epll" --model "$tmp/model.gmmp" --sigma 20 --patch 6 \
    "$tmp/noisy.pgm" "$tmp/e.pgm"
expect_in "gmmp-epll: the model's geometry is named" "$tmp/err" "8x8 patches"
check "gmmp-epll with images smaller than the patch" 1 "$epll" --model "$tmp/model.gmmp" --sigma 20 \
    "$tmp/tiny.pgm" "$tmp/e.pgm"
expect_in "gmmp-epll: says the patches do not fit" "$tmp/err" "do not fit"
check "make noisy sigma 25" 0 "$noisy" "$data/t10k-images-idx3-ubyte.gz" "$tmp/n25.idx" 25 200 idx
check "one-pass denoising" 0 "$denoise" --model "$tmp/model.gmmp" --sigma 25 --clean "$tmp/clean.idx" \
    "$tmp/n25.idx" "$tmp/one.idx"
one=$(awk '/mean PSNR/ { print $(NF-1) }' "$tmp/out")
check "EPLL denoising" 0 "$epll" --model "$tmp/model.gmmp" --sigma 25 --clean "$tmp/clean.idx" \
    "$tmp/n25.idx" "$tmp/epll.idx"
full=$(awk '/restored/ { print $(NF-5) }' "$tmp/out")
check "fast EPLL (grid 3)" 0 "$epll" --model "$tmp/model.gmmp" --sigma 25 --grid 3 \
    --clean "$tmp/clean.idx" "$tmp/n25.idx" "$tmp/fast.idx"
fast=$(awk '/restored/ { print $(NF-5) }' "$tmp/out")
if awk -v a="$one" -v b="$full" -v c="$fast" 'BEGIN { exit !(b > a + 0.5 && c > b - 0.3) }'; then
    echo "ok: EPLL $full dB beats one pass $one dB; grid 3 $fast dB"
else
    echo "FAIL: EPLL $full dB, one pass $one dB, grid 3 $fast dB"
    failures=$((failures + 1))
fi
check "EPLL inpainting, half the pixels missing" 0 "$epll" --model "$tmp/model.gmmp" --sigma 2 \
    --missing 0.5 --simulate "$tmp/clean.idx" "$tmp/inpainted.idx"
awk '/degraded/ { exit !($(NF-5) > $3 + 8) }' "$tmp/out" &&
    echo "ok: inpainting: $(cat "$tmp/out" | tail -n 1)" ||
    { echo "FAIL: inpainting: $(cat "$tmp/out")"; failures=$((failures + 1)); }

echo "$failures failures"
[ "$failures" -eq 0 ]
