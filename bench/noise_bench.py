#!/usr/bin/python3
"""gmmp_estimate_noise on a folder of PNGs: the protocol of issue 13.

For every image (grey or RGB PNG, 8-bit, read as 0..255) and every sigma,
Gaussian noise N(0, sigma^2) is added as float64, not clipped, with numpy's
default_rng(seed + image index); the noisy image goes to bench/bench_noise
(built with the examples) as a float64 IDX file, which estimates sigma from
it and times the call (the fastest of --repeats). Printed: the machine and
BLAS, a table of each image's estimate and relative error (estimate /
sigma - 1) at every sigma, then a summary per sigma: mean error, mean
absolute error, the worst image, how many are within 10%, and the mean and
largest time per call.

Run with Debian's python (numpy, PIL):
    /usr/bin/python3 bench/noise_bench.py --tool build/bench/bench_noise \\
        /path/to/set12
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from imagefiles import read_png, write_idx


def estimate(tool, paths, repeats):
    """Runs the tool on the files: (machine lines, [(sigma, seconds)])."""
    out = subprocess.run([tool, '-r', str(repeats)] + paths, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    head = [l for l in out if not l.startswith(tuple(paths))]
    rows = [l.split() for l in out if l.startswith(tuple(paths))]
    return head, [(float(r[2]), float(r[3])) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('folder', help='folder of PNG images (grey or RGB)')
    ap.add_argument('--tool', default='build/bench/bench_noise', help='path to bench_noise')
    ap.add_argument('--sigmas', type=float, nargs='+', default=[5, 15, 25, 50])
    ap.add_argument('--limit', type=int, default=0, help='first N images only (0: all)')
    ap.add_argument('--seed', type=int, default=0, help='noise seed (image i uses seed + i)')
    ap.add_argument('--repeats', type=int, default=3, help='calls per image, the fastest timed')
    ap.add_argument('--summary', action='store_true', help='the summary only, no table per image')
    a = ap.parse_args()

    names = sorted(n for n in os.listdir(a.folder) if n.lower().endswith('.png'))
    if a.limit:
        names = names[:a.limit]
    if not names:
        sys.exit('no PNG images in %s' % a.folder)
    clean = [read_png(os.path.join(a.folder, n)) for n in names]
    est, secs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for sigma in a.sigmas:
            paths = []
            for i, img in enumerate(clean):
                rng = np.random.default_rng(a.seed + i)
                paths.append(os.path.join(tmp, '%d.idx' % i))
                write_idx(paths[-1], img + rng.normal(0.0, sigma, img.shape))
            head, res = estimate(a.tool, paths, a.repeats)
            est[sigma] = np.array([r[0] for r in res])
            secs[sigma] = np.array([r[1] for r in res])
            for p in paths:
                os.remove(p)
    shapes = sorted(set('x'.join(map(str, c.shape)) for c in clean))
    print('# gmmp_estimate_noise: %d images of %s (%s)' % (len(names), a.folder, ', '.join(shapes)))
    for line in head:
        print(line)
    print('protocol: N(0, sigma^2) noise on 0..255, float64, not clipped; seed %d + image index; '
          'error = estimate / sigma - 1; time: fastest of %d calls' % (a.seed, a.repeats))
    if not a.summary:
        print('\n| image | ' + ' | '.join('σ = %g' % s for s in a.sigmas) + ' |')
        print('|---|' + '---:|' * len(a.sigmas))
        for i, n in enumerate(names):
            cells = ['%.2f (%+.1f%%)' % (est[s][i], 100 * (est[s][i] / s - 1)) for s in a.sigmas]
            print('| %s | %s |' % (n, ' | '.join(cells)))
    print('\n| σ | mean error | mean abs. error | worst | within 10% | s per call (mean, max) |')
    print('|---:|---:|---:|---|---:|---:|')
    for s in a.sigmas:
        err = est[s] / s - 1
        k = int(np.argmax(np.abs(err)))
        print('| %g | %+.1f%% | %.1f%% | %+.1f%% (%s) | %d/%d | %.3f, %.3f |' % (
            s, 100 * err.mean(), 100 * np.abs(err).mean(), 100 * err[k], names[k],
            int(np.sum(np.abs(err) <= 0.1)), len(err), secs[s].mean(), secs[s].max()))


if __name__ == '__main__':
    main()
