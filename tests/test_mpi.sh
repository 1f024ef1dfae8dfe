#!/bin/sh
# Distributed EM: gmmp-mpi-train on 2 and 3 ranks of one machine gives the
# single-process streamed fit from the same initial model: the same
# parameters to 1e-10 and the same number of iterations.
# usage: test_mpi.sh BUILD_DIR SOURCE_DIR MPIRUN
set -eu
build=$1
src=$2
mpirun=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data="$src/data/mnist/t10k-images-idx3-ubyte.gz"
common="--patch 8 --step 2 --tol 1e-4 --chunk 1000"
"$build/tools/gmmp-train" --patch 8 --step 2 --components 5 --max-iter 1 --seed 4 -q \
    -o "$tmp/init.gmmp" "$data"
# shellcheck disable=SC2086
"$build/tools/gmmp-train" $common --init-model "$tmp/init.gmmp" -o "$tmp/one.gmmp" "$data" \
    2>"$tmp/one.log"
one=$(grep -c '^iteration' "$tmp/one.log")
status=0
for ranks in 2 3; do
    # As root in a container: allowed explicitly; more ranks than cores.
    # shellcheck disable=SC2086
    "$mpirun" --allow-run-as-root --oversubscribe -np "$ranks" \
        "$build/examples/gmmp-mpi-train" $common --init-model "$tmp/init.gmmp" \
        -o "$tmp/mpi$ranks.gmmp" "$data" 2>"$tmp/mpi$ranks.log"
    got=$(grep -c '^iteration' "$tmp/mpi$ranks.log")
    tail -n 1 "$tmp/mpi$ranks.log"
    if [ "$got" -ne "$one" ]; then
        echo "FAIL: $ranks ranks ran $got iterations, one process $one"
        status=1
    fi
    if "$build/tests/compare_models" "$tmp/mpi$ranks.gmmp" "$tmp/one.gmmp" 1e-10; then
        echo "ok: $ranks ranks equal one process ($one iterations)"
    else
        echo "FAIL: $ranks ranks differ from one process"
        status=1
    fi
done
exit $status
