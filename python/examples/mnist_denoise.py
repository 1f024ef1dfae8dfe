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

The random draws (the training subset: a seeded LCG permutation; the
noise: splitmix64 and Box-Muller) are the C demo's, ported to numpy, and
the fit is the same trainer with the same seed (gmmprior.fit, the
library's default options), so the RESULT line is the C demo's. Training
takes minutes (about 50 EM iterations on 40,000 x 256).
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
    total = len(train) * per
    n = min(args.train_patches, total)
    # the C demo's draw: the prefix of a random permutation (64-bit LCG, seed 2011)
    order = np.arange(total)
    s, mask = 2011, (1 << 64) - 1
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & mask
        j = i + (s >> 33) % (total - i)
        order[i], order[j] = order[j], order[i]
    win = np.lib.stride_tricks.sliding_window_view(train, (16, 16), axis=(1, 2))
    X = np.ascontiguousarray(win.reshape(total, 256)[order[:n]])
    t0 = time.perf_counter()
    model, info = gmmprior.fit(X, 11, seed=1)  # the C demo's trainer and options
    print("fit: %d EM iterations, converged %s, lower bound %.4f, %.1f s"
          % (info.n_iter, info.converged, info.mean_loglik, time.perf_counter() - t0))
    model.set_patch(16, 16, 1, remove_mean=False)
    model.description = "mnist_denoise.py: K = 11, 16x16, %d random training patches" % len(X)
    if args.save:
        model.save(args.save)
if model.patch is None:
    model.set_patch(16, 16, 1, remove_mean=False)

clean = digits("t10k-images-idx3-ubyte.gz")[:1000]


def c_demo_noise(shape, sigma, seed):
    """The C demo's noise: Box-Muller pairs from a splitmix64 stream."""
    n = int(np.prod(shape))
    m = (n + 1) // 2 * 2
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, m + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u1 = ((z[0::2] >> np.uint64(11)).astype(float) + 0.5) * 2.0 ** -53
    u2 = (z[1::2] >> np.uint64(11)).astype(float) * 2.0 ** -53
    r = sigma * np.sqrt(-2.0 * np.log(u1))
    out = np.empty(m)
    out[0::2], out[1::2] = r * np.cos(6.283185307179586 * u2), r * np.sin(6.283185307179586 * u2)
    return out[:n].reshape(shape)


noisy = np.clip(clean + c_demo_noise(clean.shape, args.sigma, 20), 0, 255)
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
