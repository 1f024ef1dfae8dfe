#!/usr/bin/env python3
"""Prototype, not part of the library: NL-Bayes' second step (Lebrun,
Buades and Morel, SIAM J. Imaging Sciences 2013) run on gmmp-restore's
output, for RGB images.

gmmp-restore's full-quality result is the "basic estimate". For each
reference patch on a grid (every STEP pixels), the N patches of the
basic estimate most similar to it within +-S pixels form a group; a
Gaussian is fitted to the group (the basic estimate's covariance, the
noisy patches' mean), and every noisy patch of the group is replaced by
its Wiener estimate, mean + C (C + sigma^2 I)^-1 (y - mean); the
estimates are averaged where they overlap. Patches are P x P x 3 in the
image's PCA colour basis. The table gives PSNR (protocol of
restore_bench.py: the same noise, clipped and rounded) of the basic
estimate, of this step alone, and of blends w * step + (1 - w) * basic.

Findings on held-out Kodak crops (docs/performance.md, colour): the
blend gains at sigma 15 and 25 and not at 50. Numpy, about 10 s per
320x256 crop; restorations are cached in --cache.

    GMMPRIOR_MODEL_DIR=data/models /usr/bin/python3 bench/nlbayes_prototype.py \
        --tool build/tools/gmmp-restore --sigma 25 --patch 7 --group 90 CROPS_DIR
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imagefiles import read_idx, read_png, write_idx  # noqa: E402


def psnr(x, clean):
    x = np.clip(np.round(x), 0, 255)
    return 10 * np.log10(255.0 ** 2 / np.mean((x - clean) ** 2))


def pca_basis(img):
    """Principal colour axes of the image, largest first (3 x 3)."""
    X = img.reshape(-1, 3) - img.reshape(-1, 3).mean(0)
    return np.linalg.eigh(X.T @ X)[1][:, ::-1]


def grid(n, step):
    g = list(range(0, n, step))
    return g if g[-1] == n - 1 else g + [n - 1]


def second_step(noisy, basic, sigma, P, N, S, step):
    """NL-Bayes' second step on H x W x C arrays (one basis)."""
    H, W, C = noisy.shape
    Y = sliding_window_view(noisy, (P, P), axis=(0, 1)).reshape(H - P + 1, W - P + 1, -1)
    B = sliding_window_view(basic, (P, P), axis=(0, 1)).reshape(H - P + 1, W - P + 1, -1)
    h, w, d = Y.shape
    num = np.zeros((H, W, C))
    den = np.zeros((H, W))
    for i in grid(h, step):
        i0, i1 = max(0, i - S), min(h, i + S + 1)
        for j in grid(w, step):
            j0, j1 = max(0, j - S), min(w, j + S + 1)
            dist = np.sum((B[i0:i1, j0:j1].reshape(-1, d) - B[i, j]) ** 2, axis=1)
            k = min(N, dist.size)
            idx = np.argpartition(dist, k - 1)[:k]
            gi, gj = idx // (j1 - j0) + i0, idx % (j1 - j0) + j0
            G, Gb = Y[gi, gj], B[gi, gj]
            cov = np.cov(Gb, rowvar=False)
            mean = G.mean(0)
            est = mean + np.linalg.solve(cov + sigma ** 2 * np.eye(d), cov @ (G - mean).T).T
            for t, patch in enumerate(est.reshape(k, C, P, P)):
                num[gi[t]:gi[t] + P, gj[t]:gj[t] + P] += np.moveaxis(patch, 0, -1)
                den[gi[t]:gi[t] + P, gj[t]:gj[t] + P] += 1.0
    return num / den[:, :, None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('folder', help='folder of RGB PNG images')
    ap.add_argument('--tool', default='build/tools/gmmp-restore')
    ap.add_argument('--sigma', type=float, default=25.0)
    ap.add_argument('--patch', type=int, default=5)
    ap.add_argument('--group', type=int, default=60)
    ap.add_argument('--search', type=int, default=16)
    ap.add_argument('--step', type=int, default=3)
    ap.add_argument('--cache', default='/tmp/nlbayes_prototype')
    ap.add_argument('--tool-args', nargs=argparse.REMAINDER, default=['--precision', 'single'])
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    blends = (1.0, 0.5, 0.35, 0.25)
    rows = []
    for i, name in enumerate(sorted(f for f in os.listdir(a.folder) if f.endswith('.png'))):
        clean = read_png(os.path.join(a.folder, name)).astype(np.float64)
        noisy = clean + np.random.default_rng(i).normal(0.0, a.sigma, clean.shape)
        out = os.path.join(a.cache, '%s_%g.idx' % (name, a.sigma))
        if not os.path.exists(out):
            src = os.path.join(a.cache, 'noisy.idx')
            write_idx(src, noisy)
            subprocess.run([a.tool, '-q', '--sigma', str(a.sigma)] + a.tool_args + [src, out],
                           check=True)
        basic = read_idx(out).reshape(clean.shape)
        V = pca_basis(basic)
        step2 = second_step(noisy @ V, basic @ V, a.sigma, a.patch, a.group, a.search,
                            a.step) @ V.T
        rows.append([psnr(basic, clean)] + [psnr(w * step2 + (1 - w) * basic, clean)
                                            for w in blends])
        print('%-12s' % name, ' '.join('%.3f' % v for v in rows[-1]), flush=True)
    print('%-12s' % 'mean', ' '.join('%.3f' % v for v in np.mean(rows, 0)))
    print('columns: basic, then w * step + (1 - w) * basic for w =', blends)


if __name__ == '__main__':
    main()
