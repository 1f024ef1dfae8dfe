#!/usr/bin/python3
"""Settings of the group refinement (gmmp_group_refine_image, NL-Bayes'
second step on gmmp-restore's output), measured on a folder of PNGs.

For every image and sigma, under restore_bench.py's protocol (noise of
seed + i on image i, unclipped; results clipped and rounded; PSNR peak
255): the pilot is gmmp-restore's full-quality result without refinement
(`--refine 0`, cached in --cache), then the library refines it with every
combination of --patch, --group and --weight. The table gives the mean
PSNR of the pilot and of each combination, and the seconds per image of
one refinement. Choose settings on training images (Kodak crops), not on
the test set.

    PYTHONPATH=build/python GMMPRIOR_MODEL_DIR=data/models /usr/bin/python3 \
        bench/refine_bench.py --sigmas 25 --patch 5 7 --group 60 90 CROPS_DIR
"""
import argparse
import itertools
import os
import subprocess
import sys
import time

import numpy as np

import gmmprior
from imagefiles import read_idx, read_png, write_idx
from restore_bench import blas_of, machine, psnr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('folder', help='folder of PNG images (grey or RGB)')
    ap.add_argument('--tool', default='build/tools/gmmp-restore')
    ap.add_argument('--sigmas', type=float, nargs='+', default=[15, 25, 50])
    ap.add_argument('--seed', type=int, default=0, help='noise seed (image i uses seed + i)')
    ap.add_argument('--patch', type=int, nargs='+', default=[0], help='0: by sigma')
    ap.add_argument('--group', type=int, nargs='+', default=[0], help='0: by sigma')
    ap.add_argument('--search', type=int, nargs='+', default=[16])
    ap.add_argument('--step', type=int, nargs='+', default=[3])
    ap.add_argument('--weight', type=float, nargs='+', default=[1.0, 0.75, 0.5, 0.25])
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--cache', default='/tmp/gmmp_refine_bench')
    ap.add_argument('--tool-args', nargs=argparse.REMAINDER, default=[],
                    help='extra options for the pilot (e.g. --precision single)')
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    names = sorted(f for f in os.listdir(a.folder) if f.lower().endswith('.png'))
    print('machine: %s; BLAS: %s' % (machine(), blas_of(a.tool)))
    combos = list(itertools.product(a.patch, a.group, a.search, a.step))
    for sigma in a.sigmas:
        pilot_psnr, rows, seconds = [], {}, {}
        for i, name in enumerate(names):
            clean = read_png(os.path.join(a.folder, name)).astype(np.float64)
            noisy = clean + np.random.default_rng(a.seed + i).normal(0.0, sigma, clean.shape)
            tag = '%s_%g_%d_%s.idx' % (name, sigma, a.seed, '_'.join(a.tool_args))
            out = os.path.join(a.cache, tag.replace('/', '_'))
            if not os.path.exists(out):
                src = os.path.join(a.cache, 'noisy.idx')
                write_idx(src, noisy)
                subprocess.run([a.tool, '-q', '--sigma', repr(sigma), '--refine', '0'] +
                               a.tool_args + [src, out], check=True)
            pilot = read_idx(out).reshape(clean.shape)
            pilot_psnr.append(psnr(pilot, clean))
            for combo in combos:
                p, g, s, st = combo
                t = time.perf_counter()
                step = gmmprior.group_refine_image(noisy, pilot, sigma, weight=1.0, patch=p,
                                                   group=g, search=s, step=st,
                                                   threads=a.threads)
                seconds.setdefault(combo, []).append(time.perf_counter() - t)
                for wt in a.weight:
                    rows.setdefault(combo + (wt,), []).append(
                        psnr(wt * step + (1 - wt) * pilot, clean))
        print('\nsigma %g, %d images: pilot %.3f dB' % (sigma, len(names), np.mean(pilot_psnr)))
        print('| patch | group | search | step | weight | PSNR | gain | s/image |')
        print('|---:|---:|---:|---:|---:|---:|---:|---:|')
        for key, vals in rows.items():
            print('| %d | %d | %d | %d | %.2f | %.3f | %+.3f | %.2f |'
                  % (key + (np.mean(vals), np.mean(vals) - np.mean(pilot_psnr),
                            np.mean(seconds[key[:4]]))))
        sys.stdout.flush()


if __name__ == '__main__':
    main()
