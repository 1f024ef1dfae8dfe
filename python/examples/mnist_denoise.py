#!/usr/bin/python3
"""The reference workflow from Python (issue 15), as examples/mnist_demo.c
does it in C: fit K = 11 on 40,000 random 16x16 patches of the MNIST
training digits, add noise of sigma = 20 (clipped to 0..255) to the 1,000
test digits, denoise them with the MAP and MMSE estimators (all
overlapping patches, averaged), print the mean PSNR per digit.

Usage: PYTHONPATH=build/python /usr/bin/python3 python/examples/mnist_denoise.py
           [--model FILE]   load a trained model (e.g. the C demo's cache,
                            build/gmmp-mnist-k11-p16.gmmp) instead of fitting
           [--save FILE]    save the fitted model

The random draws (patch subset, noise) are numpy's, not the C demo's, so
the figures agree with its RESULT line to about 0.05 dB, not exactly.
Training takes minutes (about 100 EM iterations on 40,000 x 256).
"""
import argparse
import gzip
import os
import time

import numpy as np

import gmmprior

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def digits(name):
    with gzip.open(os.path.join(root, "data", "mnist", name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28).astype(float)


def psnr(a, ref):
    return 10 * np.log10(255.0 ** 2 / np.mean((a - ref) ** 2))


ap = argparse.ArgumentParser()
ap.add_argument("--model")
ap.add_argument("--save")
ap.add_argument("--train-patches", type=int, default=40000)
ap.add_argument("--sigma", type=float, default=20.0)
args = ap.parse_args()

ex = gmmprior.Extractor(16)
if args.model:
    model = gmmprior.Model.load(args.model)
else:
    train = digits("train-images-idx3-ubyte.gz")
    per = ex.count((28, 28))
    rng = np.random.default_rng(2011)
    pick = np.sort(rng.choice(len(train) * per, size=args.train_patches, replace=False))
    X = np.empty((len(pick), 256))
    for j, (img, idx) in enumerate(zip(pick // per, pick % per)):
        X[j] = ex.extract(train[img], first=int(idx), count=1)[0]
    t0 = time.perf_counter()
    gm = gmmprior.GaussianMixture(11, random_state=1, verbose=1, verbose_interval=10).fit(X)
    print("fit: %d EM iterations, converged %s, lower bound %.4f, %.1f s"
          % (gm.n_iter_, gm.converged_, gm.lower_bound_, time.perf_counter() - t0))
    model = gm.gmmp_model()
    model.set_patch(16, 16, 1, remove_mean=False)
    model.description = "mnist_denoise.py: K = 11, 16x16, %d random training patches" % len(X)
    if args.save:
        model.save(args.save)
if model.patch is None:
    model.set_patch(16, 16, 1, remove_mean=False)

clean = digits("t10k-images-idx3-ubyte.gz")[:1000]
noisy = np.clip(clean + np.random.default_rng(20).normal(0, args.sigma, clean.shape), 0, 255)
plan = gmmprior.Plan.create_denoise(model, args.sigma)
t0 = time.perf_counter()
scores = {"noisy": [], "map": [], "mmse": []}
rc = gmmprior.Reconstructor(ex, (28, 28))
for c, y in zip(clean, noisy):
    post = plan.execute(ex.extract(y), resp=False, log_evidence=False)
    scores["noisy"].append(psnr(y, c))
    for name in ("map", "mmse"):
        rc.reset()
        rc.add(getattr(post, name))
        scores[name].append(psnr(rc.finish(), c))
print("denoised %d digits in %.1f s" % (len(clean), time.perf_counter() - t0))
print("RESULT noisy_psnr=%.2f map_psnr=%.2f mmse_psnr=%.2f images=%d"
      % (np.mean(scores["noisy"]), np.mean(scores["map"]), np.mean(scores["mmse"]), len(clean)))
