#!/bin/sh
# Runs every benchmark of the project, with OpenBLAS's own choice of
# kernel and with OPENBLAS_CORETYPE=SkylakeX, and the scikit-learn and
# numpy comparisons where there are some. Needs python3-sklearn,
# python3-numpy and python3-skimage for the comparisons.
# usage: bench/run-all.sh BUILD_DIR > results.txt
set -u
# Debian's python3 has numpy, scikit-learn and scikit-image; another
# python3 first on PATH may not.
python=${PYTHON:-/usr/bin/python3}
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for core in default SkylakeX; do
    if [ "$core" = default ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$core; fi
    echo "##### OpenBLAS kernel: $core"
    for threads in 1 2; do
        echo "### bench_em, $threads thread(s)"
        "$build/bench/bench_em" "$threads" 1e-12 init.f64
    done
    echo "### bench_em, 2 threads, exact M-step (skip 0)"
    "$build/bench/bench_em" 2 0 init.f64
    echo "### scikit-learn, same workload and initial model"
    "$python" "$src/bench/sklearn_em.py" init.f64 2>/dev/null
    for method in eigen cholesky; do
        for threads in 1 2; do
            echo "### bench_posterior, $method, $threads thread(s)"
            "$build/bench/bench_posterior" "$threads" 1e-12 "$method"
        done
    done
    echo "### numpy, same model and patches"
    "$python" "$src/bench/numpy_posterior.py"
done
unset OPENBLAS_CORETYPE
echo "##### quality and speed across configurations (default kernel)"
"$build/bench/bench_configs"
echo "##### EPLL on MNIST (default kernel)"
"$src/bench/epll_mnist.sh" "$build"
echo "##### natural images (default kernel)"
"$python" "$src/bench/natural_images.py" "$build" "$src/data/models/natural-8x8-k50.gmmp"
