#!/usr/bin/env python3
"""numpy side of the posterior benchmark (bench/bench_posterior.c): the same
model and noisy patches (the files bench_posterior writes in the current
directory), sigma = 20, MMSE. Two numpy versions:

  batch: the eigenbasis form on the whole batch of 16,900 patches (the
         best numpy version): per component one product for the
         responsibilities and one for the Wiener filter.
  digit: the same code, one digit (169 patches) at a time.

Prints patches per second for each, and how far the MMSE estimates are
from each other. Usage: python3 bench/numpy_posterior.py
Needs Debian's python3-numpy.
"""
import os
import time

import numpy as np

K, d, s2 = 11, 256, 400.0
params = np.fromfile("bench-posterior-model.f64")
w = params[:K]
mu = params[K:K + K * d].reshape(K, d)
cov = params[K + K * d:].reshape(K, d, d)
Y = np.fromfile("bench-posterior-patches.f64").reshape(-1, d)
lam, U = np.linalg.eigh(cov)
var = lam + s2
gain = lam / var
log_norm = np.log(w) - 0.5 * (d * np.log(2 * np.pi) + np.log(var).sum(axis=1))


def mmse(Yb):
    T = [(Yb - mu[k]) @ U[k] for k in range(K)]
    lp = np.stack([log_norm[k] - 0.5 * (T[k] ** 2 / var[k]).sum(axis=1) for k in range(K)],
                  axis=1)
    lp -= lp.max(axis=1, keepdims=True)
    r = np.exp(lp)
    r /= r.sum(axis=1, keepdims=True)
    out = np.zeros_like(Yb)
    for k in range(K):
        out += r[:, k:k + 1] * (mu[k] + (T[k] * gain[k]) @ U[k].T)
    return out


print("OPENBLAS_CORETYPE:", os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
for name, step in (("batch", len(Y)), ("digit", 169)):
    best = 1e30
    for _ in range(3):
        t0 = time.perf_counter()
        out = np.concatenate([mmse(Y[i:i + step]) for i in range(0, len(Y), step)])
        best = min(best, time.perf_counter() - t0)
    print(f"numpy {name:5s} ({step} patches per call): {len(Y) / best:8.0f} patches/s "
          f"({best:.2f} s for {len(Y)})")
if os.path.exists("bench-posterior-mmse.f64"):
    ours = np.fromfile("bench-posterior-mmse.f64").reshape(-1, d)
    print("largest relative difference from libgmmprior's MMSE: "
          f"{np.abs(ours - out).max() / np.abs(out).max():.2e}")
