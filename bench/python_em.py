#!/usr/bin/python3
"""Seconds per EM iteration: scikit-learn's GaussianMixture against
gmmprior.GaussianMixture, in one run, on the same data, from the same
initial model, with the same BLAS (docs/python.md, issue 15).

Workload (the reference one): all 16x16 patches of the first 300 MNIST
training digits (300 x 13 x 13 = 50,700 patches, d = 256), K = 11, full
covariances, ITERS EM iterations with tol = 0 (default 5).

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/python_em.py [ITERS]

Both fits start from the same parameters without any k-means:
gmmprior through weights_init/means_init/precisions_init, scikit-learn
through warm_start (its fit would otherwise run a KMeans on the data even
when all three *_init are given). scikit-learn's fit also ends with one
more E-step (for fit_predict's labels); the figures "per iteration" below
remove it, measured as one score_samples call.
"""
import gzip
import os
import platform
import sys
import time
import warnings

import numpy as np

import gmmprior

K, P, DIGITS = 11, 16, 300
ITERS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return "%s, %d CPUs, %s %s, load average %s" % (
        cpu, os.cpu_count(), platform.system(), platform.release(),
        " ".join("%.2f" % x for x in load))


def blas():
    try:
        from threadpoolctl import threadpool_info
        return ["%s %s (%s, %s threads) %s" % (i.get("internal_api"), i.get("version"),
                                               i.get("threading_layer", "?"),
                                               i.get("num_threads"), i.get("filepath"))
                for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        info = np.__config__.get_info("blas_opt_info") if hasattr(np.__config__,
                                                                   "get_info") else {}
        return ["numpy: %s (threadpoolctl not installed)" % info.get("libraries", "?")]


with gzip.open(os.path.join(root, "data/mnist/train-images-idx3-ubyte.gz")) as f:
    raw = f.read()
images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:DIGITS].astype(float)
X = np.concatenate([gmmprior.Extractor(P).extract(im) for im in images])
n, d = X.shape

import sklearn  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGM  # noqa: E402

print("machine:", machine())
print("python %s, numpy %s, scikit-learn %s, gmmprior %s (library %s)"
      % (platform.python_version(), np.__version__, sklearn.__version__,
         gmmprior.__version__, gmmprior._core.__version__))
for line in blas():
    print("BLAS:", line)
print("OPENBLAS_NUM_THREADS:", os.environ.get("OPENBLAS_NUM_THREADS", "(unset)"))
print("workload: N = %d patches, d = %d, K = %d, %d EM iterations, tol = 0" % (n, d, K, ITERS))

# The common initial model: two EM iterations from the library's k-means.
init, _ = gmmprior.fit(X, K, max_iter=2, tol=0.0, seed=1)
w0, m0, c0 = init.parameters()
p0 = np.linalg.inv(c0)
p0 = 0.5 * (p0 + np.transpose(p0, (0, 2, 1)))

# scikit-learn, warm-started from the initial model (no KMeans).
sk = SkGM(K, covariance_type="full", max_iter=ITERS, tol=0.0, warm_start=True)
sk.weights_, sk.means_, sk.covariances_ = w0, m0, c0
sk.precisions_cholesky_ = np.array([np.linalg.inv(np.linalg.cholesky(c)).T for c in c0])
sk.converged_, sk.lower_bound_ = False, -np.inf
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    sk.fit(X)
    t_sk = time.perf_counter() - t0
t0 = time.perf_counter()
sk.score_samples(X)
e_sk = time.perf_counter() - t0

# gmmprior with its defaults (n_threads=1, OpenBLAS's threads, skip 1e-12)
gm = gmmprior.GaussianMixture(K, max_iter=ITERS, tol=0.0, weights_init=w0, means_init=m0,
                              precisions_init=p0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    gm.fit(X)
    t_gm = time.perf_counter() - t0
t0 = time.perf_counter()
gm.score_samples(X)
e_gm = time.perf_counter() - t0

# the same with the library's own 2 threads and OpenBLAS serial meanwhile
gm2 = gmmprior.GaussianMixture(K, max_iter=ITERS, tol=0.0, weights_init=w0, means_init=m0,
                               precisions_init=p0)
gm2.n_threads, gm2.blas_serial = 2, True
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    gm2.fit(X)
    t_gm2 = time.perf_counter() - t0

assert sk.n_iter_ == gm.n_iter_ == gm2.n_iter_ == ITERS
it_sk = (t_sk - e_sk) / ITERS
it_gm = t_gm / ITERS
diff = np.max(np.abs(gm.means_ - sk.means_)) / np.max(np.abs(sk.means_))
print("scikit-learn:             fit %.2f s, %.3f s/iteration (E-step alone %.3f s)"
      % (t_sk, it_sk, e_sk))
print("gmmprior (defaults):      fit %.2f s, %.3f s/iteration (E-step alone %.3f s)"
      % (t_gm, it_gm, e_gm))
print("gmmprior, n_threads=2, blas_serial: fit %.2f s, %.3f s/iteration (%.1fx)"
      % (t_gm2, t_gm2 / ITERS, it_sk / (t_gm2 / ITERS)))
print("load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
print("speed-up per iteration, defaults: %.1fx (target >= 4x); lower bounds %.10f / %.10f; "
      "means differ by %.1e of their scale" % (it_sk / it_gm, sk.lower_bound_, gm.lower_bound_,
                                               diff))
