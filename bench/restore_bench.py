#!/usr/bin/python3
"""The photographs protocol of issues 13 and 14 on a folder of PNGs.

For every image (grey or RGB PNG, 8-bit) and every sigma: Gaussian noise
N(0, sigma^2) is added to the 0..255 image with a fixed seed, not clipped,
and stored as a float64 IDX file for the tool; each method's result is
clipped to 0..255 and rounded before PSNR (peak 255, over all channels);
the table gives per-image PSNR and the mean over images, and seconds per
image. Methods: `gmmp-restore` (full), `gmmp-restore --fast`, and
scikit-image's non-local means (fast_mode, h = 0.8 sigma, sigma given,
patch 5 and distance 6 as scikit-image's documentation example uses; with
channel_axis=-1 for RGB). The tool's time is the whole process (reading,
restoring, writing), measured around the subprocess.

Run with Debian's python (numpy, scikit-image, PIL):
    /usr/bin/python3 bench/restore_bench.py --tool build/tools/gmmp-restore \
        --sigmas 15 25 50 /path/to/set12
Extra tool options (a model, threads) go after --tool-args.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import skimage
from skimage.restoration import denoise_nl_means

from imagefiles import read_idx, read_png, write_idx  # noqa: F401 (restore_figure)


# label and gmmp-restore options of each method; None is scikit-image's NL-means
METHODS = {
    'full': ('gmmp-restore', []),
    'fast': ('gmmp-restore --fast', ['--fast']),
    'full-single': ('gmmp-restore --precision single', ['--precision', 'single']),
    'fast-single': ('gmmp-restore --fast --precision single', ['--fast', '--precision', 'single']),
    'nlm': ('NL-means', None),
}


def psnr(estimate, clean):
    est = np.clip(np.round(estimate), 0, 255)
    mse = np.mean((est - clean) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse) if mse > 0 else float('inf')


def machine():
    cpu = platform.processor() or 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu, os.cpu_count()


def blas_of(tool):
    """The BLAS the tool's library loads (from ldd), and numpy's."""
    try:
        out = subprocess.run(['ldd', tool], capture_output=True, text=True).stdout
        libs = [l.split('=>')[1].split()[0] for l in out.splitlines()
                if ('blas' in l or 'lapack' in l) and '=>' in l]
        gmmp = [l.split('=>')[1].split()[0] for l in out.splitlines()
                if 'gmmprior' in l and '=>' in l]
        if gmmp:
            out2 = subprocess.run(['ldd', gmmp[0]], capture_output=True, text=True).stdout
            libs += [l.split('=>')[1].split()[0] for l in out2.splitlines()
                     if ('blas' in l or 'lapack' in l) and '=>' in l]
        return ', '.join(sorted(set(libs))) or 'unknown'
    except OSError:
        return 'unknown'


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('folder', help='folder of PNG images (grey or RGB)')
    ap.add_argument('--tool', default='build/tools/gmmp-restore', help='path to gmmp-restore')
    ap.add_argument('--sigmas', type=float, nargs='+', default=[15, 25, 50])
    ap.add_argument('--limit', type=int, default=0, help='first N images only (0: all)')
    ap.add_argument('--seed', type=int, default=0, help='noise seed (image i uses seed + i)')
    ap.add_argument('--nlm-h', type=float, default=0.8,
                    help='non-local means h as a multiple of sigma (default 0.8)')
    ap.add_argument('--methods', default='full,fast,nlm',
                    help='comma-separated, of %s (default full,fast,nlm); the -single ones '
                         'run gmmp-restore with --precision single' % ', '.join(sorted(METHODS)))
    ap.add_argument('--tool-args', nargs=argparse.REMAINDER, default=[],
                    help='extra options for gmmp-restore (e.g. --model M --threads 2)')
    a = ap.parse_args()

    names = sorted(n for n in os.listdir(a.folder) if n.lower().endswith('.png'))
    if a.limit:
        names = names[:a.limit]
    if not names:
        sys.exit('no PNG images in %s' % a.folder)
    cpu, cores = machine()
    print('# gmmp-restore benchmark: %d images of %s' % (len(names), a.folder))
    print('machine: %s, %d cores; BLAS (tool): %s' % (cpu, cores, blas_of(a.tool)))
    print('numpy %s, scikit-image %s; tool %s %s' % (np.__version__, skimage.__version__, a.tool,
                                                    ' '.join(a.tool_args)))
    print('protocol: N(0, sigma^2) noise on 0..255, not clipped, float64 IDX in; output '
          'clipped to 0..255 and rounded; PSNR peak 255; noise seed %d + image index' % a.seed)
    unknown = [m for m in a.methods.split(',') if m not in METHODS]
    if unknown:
        sys.exit('--methods: unknown %s (expected some of %s)' % (', '.join(unknown),
                                                                  ', '.join(sorted(METHODS))))
    methods = [METHODS[m] for m in a.methods.split(',')]
    with tempfile.TemporaryDirectory() as tmp:
        for sigma in a.sigmas:
            rows = []
            for i, name in enumerate(names):
                clean = read_png(os.path.join(a.folder, name))
                rng = np.random.default_rng(a.seed + i)
                noisy = clean + rng.normal(0.0, sigma, clean.shape)
                src = os.path.join(tmp, 'noisy.idx')
                write_idx(src, noisy)
                row = [name, psnr(noisy, clean)]
                for label, extra in methods:
                    t0 = time.perf_counter()
                    if extra is None:
                        est = denoise_nl_means(noisy, h=a.nlm_h * sigma, sigma=sigma,
                                               patch_size=5, patch_distance=6, fast_mode=True,
                                               channel_axis=-1 if noisy.ndim == 3 else None)
                    else:
                        dst = os.path.join(tmp, 'out.idx')
                        cmd = [a.tool, '-q', '--sigma', repr(sigma)] + extra + a.tool_args + \
                              [src, dst]
                        subprocess.run(cmd, check=True)
                        est = read_idx(dst).reshape(clean.shape)
                    row += [psnr(est, clean), time.perf_counter() - t0]
                rows.append(row)
                sys.stderr.write('sigma %g: %s done\n' % (sigma, name))
            print('\n## sigma = %g\n' % sigma)
            head = ['image', 'noisy'] + ['%s dB | s' % m for m, _ in methods]
            print('| ' + ' | '.join(head) + ' |')
            print('|' + '---|' * (2 + 2 * len(methods)))
            for r in rows:
                cells = [r[0], '%.2f' % r[1]] + ['%.2f | %.2f' % (r[2 + 2 * k], r[3 + 2 * k])
                                                 for k in range(len(methods))]
                print('| ' + ' | '.join(cells) + ' |')
            mean = np.mean([r[1:] for r in rows], axis=0)
            cells = ['**mean**', '%.2f' % mean[0]] + \
                    ['**%.2f** | %.2f' % (mean[1 + 2 * k], mean[2 + 2 * k])
                     for k in range(len(methods))]
            print('| ' + ' | '.join(cells) + ' |')
            sys.stdout.flush()


if __name__ == '__main__':
    main()
