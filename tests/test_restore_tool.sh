#!/bin/sh
# gmmp-restore as a user runs it (issues 13 and 14): every format in and
# out (PNG, PGM/PPM, IDX; grey and RGB; 8 and 16-bit kept), --sigma auto,
# --mask, and the refusals: a mask of the wrong size, a truncated PNG, a
# model whose patches do not fit or whose channels differ from the
# image's, an output suffix of no format, bad option values (status 2).
# Small images and one EPLL step, with synthetic 4x4 test priors made by
# make_test_model: seconds.
# usage: test_restore_tool.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
restore=$build/tools/gmmp-restore
mkmodel=$build/tests/make_test_model
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"
: "${GMMPRIOR_MODEL_DIR:=$src/data/models}"
export GMMPRIOR_MODEL_DIR

same() { # description, got, expected
    if [ "$2" = "$3" ]; then echo "ok: $1"; else
        echo "FAIL: $1: got '$2', expected '$3'"; failures=$((failures + 1)); fi
}

bytes() { # file, offset, count: decimal bytes separated by spaces
    od -An -tu1 -j"$2" -N"$3" "$1" | tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}

# Inputs: 24x24 images of random values, PGM and PPM, 8 and 16-bit.
pnm() { # magic, maxval, bytes per sample, channels, file
    n=$((24 * 24 * $3 * $4))
    { printf '%s\n24 24\n%s\n' "$1" "$2"; head -c "$n" /dev/urandom; } >"$5"
}
pnm P5 255 1 1 "$tmp/g8.pgm"
pnm P5 65535 2 1 "$tmp/g16.pgm"
pnm P6 255 1 3 "$tmp/c8.ppm"
pnm P6 65535 2 3 "$tmp/c16.ppm"

check "grey test prior" 0 "$mkmodel" "$tmp/grey.gmmp" 4 1 2
check "colour test prior" 0 "$mkmodel" "$tmp/rgb.gmmp" 4 3 2
check "prior of 16x16 patches" 0 "$mkmodel" "$tmp/big.gmmp" 16 1 1
run="$restore -q --sigma 20 --steps 1 --threads 1"

# Every format out, then every output back in.
for depth in 8 16; do
    for out in png pgm idx; do
        check "grey $depth-bit PGM -> $out" 0 $run --model "$tmp/grey.gmmp" "$tmp/g$depth.pgm" "$tmp/g$depth-out.$out"
        check "grey $depth-bit $out -> pgm" 0 $run --model "$tmp/grey.gmmp" "$tmp/g$depth-out.$out" "$tmp/g$depth-back-$out.pgm"
    done
    for out in png ppm idx; do
        check "RGB $depth-bit PPM -> $out" 0 $run --model "$tmp/rgb.gmmp" "$tmp/c$depth.ppm" "$tmp/c$depth-out.$out"
        check "RGB $depth-bit $out -> ppm" 0 $run --model "$tmp/rgb.gmmp" "$tmp/c$depth-out.$out" "$tmp/c$depth-back-$out.ppm"
    done
done
# PNG headers: bit depth (byte 24) and colour type (byte 25: 0 grey, 2 RGB).
same "8-bit grey PNG out" "$(bytes "$tmp/g8-out.png" 24 2)" "8 0"
same "16-bit grey kept in PNG" "$(bytes "$tmp/g16-out.png" 24 2)" "16 0"
same "8-bit RGB PNG out" "$(bytes "$tmp/c8-out.png" 24 2)" "8 2"
same "16-bit RGB kept in PNG" "$(bytes "$tmp/c16-out.png" 24 2)" "16 2"
same "16-bit PGM kept" "$(sed -n 3p "$tmp/g16-out.pgm" | head -c 5)" "65535"
same "16-bit PNG back to PGM stays 16-bit" "$(sed -n 3p "$tmp/g16-back-png.pgm" | head -c 5)" "65535"
same "16-bit RGB PNG back to PPM stays 16-bit" "$(sed -n 3p "$tmp/c16-back-png.ppm" | head -c 5)" "65535"
same "8-bit PPM stays 8-bit" "$(sed -n 3p "$tmp/c8-out.ppm" | head -c 3)" "255"
same "grey IDX: 3 dimensions of doubles" "$(bytes "$tmp/g8-out.idx" 0 4)" "0 0 14 3"
same "RGB IDX: n x h x w x 3 doubles" "$(bytes "$tmp/c8-out.idx" 0 4)" "0 0 14 4"
same "RGB IDX last dimension" "$(bytes "$tmp/c8-out.idx" 16 4)" "0 0 0 3"
same "PPM output size" "$(wc -c <"$tmp/c8-out.ppm" | tr -d ' ')" "$((13 + 24 * 24 * 3))"

# Channel order survives: a pure red image stays red.
{ printf 'P6\n24 24\n255\n'; i=0; while [ $i -lt 576 ]; do printf '\310\000\000'; i=$((i + 1)); done; } >"$tmp/red.ppm"
check "pure red through PNG" 0 $run --sigma 1 --model "$tmp/rgb.gmmp" "$tmp/red.ppm" "$tmp/red.png"
check "and back to PPM" 0 $run --sigma 1 --model "$tmp/rgb.gmmp" "$tmp/red.png" "$tmp/red2.ppm"
same "red stays red, green and blue stay 0" "$(bytes "$tmp/red2.ppm" 13 3)" "200 0 0"

# --sigma auto (the default) with the shipped grey prior: the estimate is printed.
check "--sigma auto with the installed prior" 0 "$restore" --steps 1 --threads 1 --fast "$tmp/g8.pgm" "$tmp/auto.png"
expect_in "the estimate is printed" "$tmp/err" "estimated sigma"
check "--quiet prints nothing" 0 "$restore" -q --steps 1 --fast "$tmp/g8.pgm" "$tmp/auto.png"
same "quiet stderr" "$(wc -c <"$tmp/err" | tr -d ' ')" "0"

# --fast's default prior: the K = 200 one for grey images (with its 6
# steps), the K = 50 one for colour (tools/gmmp-restore.c says why).
fast="$restore -q --sigma 20 --threads 1 --fast"
check "--fast, grey, the default prior" 0 $fast "$tmp/g8.pgm" "$tmp/fast-def.pgm"
check "--fast, grey, K = 200 named" 0 $fast --model natural-8x8-k200.gmmp --steps 6 "$tmp/g8.pgm" "$tmp/fast-200.pgm"
check "--fast, grey, K = 50 named" 0 $fast --model natural-8x8-k50.gmmp "$tmp/g8.pgm" "$tmp/fast-50.pgm"
same "--fast takes the K = 200 prior for grey" "$(cmp -s "$tmp/fast-def.pgm" "$tmp/fast-200.pgm" && echo same)" "same"
same "and not the K = 50 one" "$(cmp -s "$tmp/fast-def.pgm" "$tmp/fast-50.pgm" && echo same)" ""
check "--fast, colour, the default prior" 0 $fast "$tmp/c8.ppm" "$tmp/fast-def.ppm"
check "--fast, colour, K = 50 named" 0 $fast --model natural-8x8-k50.gmmp --steps 5 "$tmp/c8.ppm" "$tmp/fast-50.ppm"
same "--fast takes the K = 50 prior for colour" "$(cmp -s "$tmp/fast-def.ppm" "$tmp/fast-50.ppm" && echo same)" "same"

# Colour with a grey prior (the default for RGB): channel by channel in a
# colour basis, every basis; channel order kept.
mkdir "$tmp/greyonly"
cp "$src/data/models/natural-8x8-k50.gmmp" "$tmp/greyonly/"
check "RGB with the installed grey prior (the default)" 0 env GMMPRIOR_MODEL_DIR="$tmp/greyonly" $run --fast "$tmp/c8.ppm" "$tmp/c8-grey.png"
same "and written as RGB" "$(bytes "$tmp/c8-grey.png" 24 2)" "8 2"
for basis in pca opponent rgb; do
    check "RGB with a grey model, --colour-basis $basis" 0 $run --model "$tmp/grey.gmmp" --colour-basis $basis "$tmp/c8.ppm" "$tmp/c8-$basis.ppm"
    check "pure red, grey model, $basis" 0 $run --sigma 1 --model "$tmp/grey.gmmp" --colour-basis $basis "$tmp/red.ppm" "$tmp/red-$basis.ppm"
    same "red stays red with a grey model, $basis" "$(bytes "$tmp/red-$basis.ppm" 13 3)" "200 0 0"
done

# Inpainting: a mask of the input's size works, any other size is refused.
{ printf 'P5\n24 24\n255\n'; head -c 576 /dev/zero | tr '\0' '\377'; } >"$tmp/mask.pgm"
printf '\0\0\0\0\0\0\0\0\0\0' | dd of="$tmp/mask.pgm" bs=1 seek=200 conv=notrunc 2>/dev/null
check "--mask of the right size" 0 $run --model "$tmp/grey.gmmp" --mask "$tmp/mask.pgm" "$tmp/g8.pgm" "$tmp/inpainted.png"
check "--mask on colour" 0 $run --model "$tmp/rgb.gmmp" --mask "$tmp/mask.pgm" "$tmp/c8.ppm" "$tmp/inpainted-rgb.png"
check "--mask on colour with a grey model" 0 $run --model "$tmp/grey.gmmp" --mask "$tmp/mask.pgm" "$tmp/c8.ppm" "$tmp/inpainted-rgb-grey.png"
{ printf 'P5\n20 24\n255\n'; head -c 480 /dev/zero | tr '\0' '\377'; } >"$tmp/mask-small.pgm"
check "--mask of the wrong size refused" 1 $run --model "$tmp/grey.gmmp" --mask "$tmp/mask-small.pgm" "$tmp/g8.pgm" "$tmp/x.png"
expect_in "the size mismatch is explained" "$tmp/err" "same size"

# Bad inputs and models.
head -c 60 "$tmp/g8-out.png" >"$tmp/trunc.png"
check "truncated PNG refused" 1 $run --model "$tmp/grey.gmmp" "$tmp/trunc.png" "$tmp/x.png"
expect_in "truncated PNG named" "$tmp/err" "trunc.png"
{ printf 'P5\n12 12\n255\n'; head -c 144 /dev/urandom; } >"$tmp/g12.pgm"
check "model whose patches do not fit refused" 1 $run --model "$tmp/big.gmmp" "$tmp/g12.pgm" "$tmp/x.png"
expect_in "the patch mismatch is explained" "$tmp/err" "do not fit"
check "grey image with a colour model refused" 1 $run --model "$tmp/rgb.gmmp" "$tmp/g8.pgm" "$tmp/x.png"
expect_in "grey vs colour explained" "$tmp/err" "colour (3 channels, RGB) prior, but .* is grey"
mkdir "$tmp/empty"
check "RGB without an installed prior refused" 1 env GMMPRIOR_MODEL_DIR="$tmp/empty" $run "$tmp/c8.ppm" "$tmp/x.png"
expect_in "says no grey prior is installed, for colour" "$tmp/err" "no grey prior is installed.*colour images are restored with one"
check "missing model named" 1 $run --model "$tmp/nothing.gmmp" "$tmp/g8.pgm" "$tmp/x.png"
expect_in "missing model is named" "$tmp/err" "nothing.gmmp"
check "RGB input to a .pgm refused" 1 $run --model "$tmp/rgb.gmmp" "$tmp/c8.ppm" "$tmp/x.pgm"
check "grey input to a .ppm refused" 1 $run --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/x.ppm"
check "output suffix of no format refused" 2 $run --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/x.jpg"
expect_in "the suffixes are listed" "$tmp/err" ".png, .pgm, .ppm"
[ -e "$tmp/x.png" ] || [ -e "$tmp/x.jpg" ] && { echo "FAIL: a refused run left an output"; failures=$((failures + 1)); }

# Options.
check "--version" 0 "$restore" --version
expect_in "--version names the library" "$tmp/out" "libgmmprior"
check "--help" 0 "$restore" --help
expect_in "--help documents GMMPRIOR_MODEL_DIR" "$tmp/out" "GMMPRIOR_MODEL_DIR"
for bad in "--sigma -1" "--sigma abc" "--sigma nan" "--steps 0" "--steps 65" "--threads 0" \
    "--estimator MMSE" "--seed -1" "--max-elements 0" "--precision half" "--colour-basis yuv" \
    "--adapt -1" "--adapt 9" "--adapt x" "--adapt-after -1" "--adapt-after 65" \
    "--adapt-after 1.5" "--refine -0.1" "--refine 1.5" "--refine x" "--frobnicate"; do
    # shellcheck disable=SC2086
    check "bad value: $bad" 2 "$restore" $bad "$tmp/g8.pgm" "$tmp/x.png"
done
check "missing OUTPUT" 2 "$restore" "$tmp/g8.pgm"
check "--precision single" 0 $run --precision single --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/single.png"
# Adapting the prior changes the result; --adapt 0 is the prior as it is.
check "--adapt 0" 0 $run --adapt 0 --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/adapt0.pgm"
check "--adapt 1" 0 $run --adapt 1 --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/adapt1.pgm"
if cmp -s "$tmp/adapt0.pgm" "$tmp/adapt1.pgm"; then
    echo "FAIL: --adapt 1 gave the same image as --adapt 0"
    failures=$((failures + 1))
fi
# --fast adapts within its steps (after the first of the 3 here) unless told
# not to.
check "--fast" 0 $run --fast --steps 3 --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/fast.pgm"
check "--fast --adapt-after 0" 0 $run --fast --steps 3 --adapt-after 0 --model "$tmp/grey.gmmp" \
    "$tmp/g8.pgm" "$tmp/fast0.pgm"
if cmp -s "$tmp/fast.pgm" "$tmp/fast0.pgm"; then
    echo "FAIL: --fast --adapt-after 0 gave the same image as --fast"
    failures=$((failures + 1))
fi
# With a prior of 100 components or more, --fast's last step takes a grid
# of 6 where the patch holds it (GMMP_OPT_EPLL_LAST_GRID): not with 5x5
# patches, which a grid of 6 would leave pixels without estimates.
check "prior of 100 components, 5x5" 0 "$mkmodel" "$tmp/k100p5.gmmp" 5 1 100
check "--fast with it" 0 $run --fast --steps 2 --model "$tmp/k100p5.gmmp" "$tmp/g8.pgm" \
    "$tmp/k100p5.pgm"

# Full quality refines colour images by groups of similar patches, not grey
# ones unless asked; --refine 0 does not, and neither does --fast (nor
# --mask, which refuses an explicit --refine).
check "--refine 0" 0 $run --refine 0 --model "$tmp/grey.gmmp" "$tmp/c8.ppm" "$tmp/refine0.ppm"
check "default refinement" 0 $run --model "$tmp/grey.gmmp" "$tmp/c8.ppm" "$tmp/refined.ppm"
check "--refine auto" 0 $run --refine auto --model "$tmp/grey.gmmp" "$tmp/c8.ppm" "$tmp/refine-auto.ppm"
check "--refine 1" 0 $run --refine 1 --model "$tmp/grey.gmmp" "$tmp/c8.ppm" "$tmp/refine1.ppm"
if cmp -s "$tmp/refine0.ppm" "$tmp/refined.ppm" || cmp -s "$tmp/refined.ppm" "$tmp/refine1.ppm" ||
    ! cmp -s "$tmp/refined.ppm" "$tmp/refine-auto.ppm"; then
    echo "FAIL: colour: --refine 0, the default (= auto) and --refine 1 are not three images"
    failures=$((failures + 1))
fi
check "grey --refine 0" 0 $run --refine 0 --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/grey-refine0.pgm"
check "grey default" 0 $run --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/grey-default.pgm"
check "grey --refine auto" 0 $run --refine auto --model "$tmp/grey.gmmp" "$tmp/g8.pgm" "$tmp/grey-auto.pgm"
if ! cmp -s "$tmp/grey-refine0.pgm" "$tmp/grey-default.pgm" ||
    cmp -s "$tmp/grey-default.pgm" "$tmp/grey-auto.pgm"; then
    echo "FAIL: grey: the default is not --refine 0, or --refine auto changed nothing"
    failures=$((failures + 1))
fi
check "--fast --refine 0" 0 $run --fast --steps 3 --refine 0 --model "$tmp/grey.gmmp" "$tmp/c8.ppm" \
    "$tmp/fast-refine0.ppm"
check "--fast colour" 0 $run --fast --steps 3 --model "$tmp/grey.gmmp" "$tmp/c8.ppm" "$tmp/fast-c.ppm"
if ! cmp -s "$tmp/fast-c.ppm" "$tmp/fast-refine0.ppm"; then
    echo "FAIL: --fast refined (it differs from --fast --refine 0)"
    failures=$((failures + 1))
fi
check "--refine with --mask refused" 2 $run --refine 0.5 --model "$tmp/grey.gmmp" \
    --mask "$tmp/mask.pgm" "$tmp/c8.ppm" "$tmp/x.png"
expect_in "--refine with --mask explained" "$tmp/err" "every pixel observed"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
