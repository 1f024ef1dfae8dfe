#!/usr/bin/env python3
"""scikit-learn side of the EM benchmark (bench/bench_em.c): the same
patches (all 16x16 patches of the first 300 training digits, raster order),
the same initial model (the file bench_em writes), 10 EM iterations with
tol=0. Prints seconds per iteration and the final lower bound, for float64
input (as users run it) and for float32 input, to compare with bench_em
run on the same BLAS and kernel.

Usage: python3 bench/sklearn_em.py bench-em-init.f64
Needs Debian's python3-sklearn (scikit-learn 1.2.1) and python3-numpy.
"""
import gzip
import os
import sys
import time
import resource

import numpy as np
from sklearn.mixture import GaussianMixture

K, P, DIGITS, ITERS = 11, 16, 300, 10
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with gzip.open(os.path.join(root, "data/mnist/train-images-idx3-ubyte.gz")) as f:
    raw = f.read()
images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:DIGITS].astype(float)
win = np.lib.stride_tricks.sliding_window_view(images, (P, P), axis=(1, 2))
X = np.ascontiguousarray(win.reshape(-1, P * P))
d = P * P
params = np.fromfile(sys.argv[1] if len(sys.argv) > 1 else "bench-em-init.f64")
w = params[:K]
mu = params[K:K + K * d].reshape(K, d)
cov = params[K + K * d:].reshape(K, d, d)
prec = np.linalg.inv(cov)
prec = 0.5 * (prec + np.transpose(prec, (0, 2, 1)))
print(f"workload: N = {X.shape[0]} patches, d = {d}, K = {K}, {ITERS} iterations")
print("numpy BLAS:", np.__config__.get_info("blas_opt_info").get("libraries", "?")
      if hasattr(np.__config__, "get_info") else "?")
print("OPENBLAS_CORETYPE:", os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
# float64 as users run it, then the same data as float32 (scikit-learn keeps
# float32 input in float32), for the single-precision comparison.
# The initial precisions stay float64: rounded to float32 they fail
# scikit-learn's own positive-definiteness check on this model (their
# condition numbers reach 1e11), which the script reports.
for dtype in (np.float64, np.float32):
    Xt = X.astype(dtype)
    if dtype == np.float32:
        try:
            GaussianMixture(n_components=K, max_iter=1, weights_init=w, means_init=mu,
                            precisions_init=prec.astype(np.float32)).fit(Xt[:2000])
        except ValueError as e:
            print(f"float32 initial precisions refused by scikit-learn: {e}")
    gm = GaussianMixture(n_components=K, covariance_type="full", max_iter=ITERS, tol=0.0,
                         weights_init=w, means_init=mu, precisions_init=prec)
    t0 = time.perf_counter()
    gm.fit(Xt)
    secs = time.perf_counter() - t0
    print(f"scikit-learn {__import__('sklearn').__version__}, {np.dtype(dtype).name} input: "
          f"{gm.n_iter_} iterations in {secs:.2f} s: {secs / ITERS:.3f} s/iteration")
    print(f"  final lower bound {gm.lower_bound_:.10f}, score {gm.score(Xt):.10f} "
          f"(parameters in {gm.means_.dtype})")
print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")
