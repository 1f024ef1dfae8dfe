#!/usr/bin/python3
"""Whole-process time of `gmmp-restore --fast`, measured against a yardstick.

Issue 13 asks for at most 0.3 s per 481x321 grey photograph at sigma 25
"on this 2-core machine", whose speed drifts by up to 1.8 times from hour
to hour (docs/performance.md): one figure alone says more about the hour
than about the code. This script times, in alternating rounds so that
every command meets the same drift:

  - scikit-image's fast non-local means on the same noisy image, in this
    process (the issue measured it at 0.18 s when it was written): the
    yardstick, single-threaded and memory-light;
  - each tool given (--tool, repeatable: several builds side by side),
    whole process, `--fast --sigma S` on the grey image and, with --rgb,
    on an RGB one.

It prints the medians and minima, and each median as a ratio to the
yardstick's, with the ratio times 0.18 s: the time in the hour the issue
was written. The inputs: the top-left 481x321 of a grey PNG (default
set12's 09) and 500x500 of an RGB one, with N(0, sigma^2) noise rounded
and clipped to 8 bits (a photograph as a person has it), seed 0.

    /usr/bin/python3 bench/fast_speed.py --tool build/tools/gmmp-restore \
        --grey ../shared/data/natural/set12/09.png \
        --rgb ../shared/data/natural/mcmaster/1.png --rounds 20

GMMPRIOR_MODEL_DIR must name the models (data/models in the source tree).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image
from skimage.restoration import denoise_nl_means

from restore_bench import blas_of, machine

ISSUE_NLM_SECONDS = 0.18  # issue 13's figure for scikit-image's NL-means


def noisy_crop(path, width, height, sigma, rgb):
    image = Image.open(path).convert('RGB' if rgb else 'L')
    clean = np.asarray(image, dtype=np.float64)[:height, :width]
    if clean.shape[:2] != (height, width):
        sys.exit('%s: %dx%d, smaller than the %dx%d this benchmark crops' %
                 (path, image.width, image.height, width, height))
    rng = np.random.default_rng(0)
    return np.clip(np.round(clean + rng.normal(0.0, sigma, clean.shape)), 0, 255)


def openblas_core(tool, env, src, dst):
    """The kernel OpenBLAS picked for the tool (OPENBLAS_VERBOSE=2)."""
    run = subprocess.run([tool, '-q', '--fast', '--sigma', '25', src, dst], capture_output=True,
                         text=True, env=dict(env, OPENBLAS_VERBOSE='2'))
    cores = [l.split(':', 1)[1].strip() for l in run.stdout.splitlines() + run.stderr.splitlines()
             if l.startswith('Core:')]
    return cores[0] if cores else 'not reported (not OpenBLAS?)'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', action='append', required=True,
                    help='a gmmp-restore to time (repeat to compare builds)')
    ap.add_argument('--grey', required=True, help='grey PNG, 481x321 or larger')
    ap.add_argument('--rgb', help='RGB PNG, 500x500 or larger (optional)')
    ap.add_argument('--sigma', type=float, default=25.0)
    ap.add_argument('--rounds', type=int, default=20)
    a = ap.parse_args()
    if a.rounds < 1:
        sys.exit('--rounds must be at least 1')
    if 'GMMPRIOR_MODEL_DIR' not in os.environ:
        sys.exit('set GMMPRIOR_MODEL_DIR (data/models in the source tree)')
    env = dict(os.environ)
    cpu, cores = machine()
    print('# gmmp-restore --fast, whole process, against scikit-image NL-means')
    print('machine: %s, %s cores; BLAS: %s' % (cpu, cores or 'unknown', blas_of(a.tool[0])))
    with tempfile.TemporaryDirectory() as tmp:
        grey = noisy_crop(a.grey, 481, 321, a.sigma, False)
        inputs = [('grey 481x321', os.path.join(tmp, 'grey.png'), grey)]
        if a.rgb:
            inputs.append(('RGB 500x500', os.path.join(tmp, 'rgb.png'),
                           noisy_crop(a.rgb, 500, 500, a.sigma, True)))
        for _, path, image in inputs:
            Image.fromarray(image.astype(np.uint8)).save(path)
        out = os.path.join(tmp, 'out.png')
        print('OpenBLAS core: %s; OPENBLAS_CORETYPE %s' %
              (openblas_core(a.tool[0], env, inputs[0][1], out),
               env.get('OPENBLAS_CORETYPE', 'not set')))

        def nlm():
            denoise_nl_means(grey, h=0.8 * a.sigma, sigma=a.sigma, patch_size=5,
                             patch_distance=6, fast_mode=True)

        runs = [('NL-means (scikit-image, fast, grey 481x321)', nlm)]
        for tool in a.tool:
            for label, path, _ in inputs:
                cmd = [tool, '-q', '--fast', '--sigma', repr(a.sigma), path, out]
                runs.append(('%s --fast, %s' % (tool, label),
                             lambda cmd=cmd: subprocess.run(cmd, env=env, check=True)))
        for _, run in runs:  # warm the page cache and the models
            run()
        times = [[] for _ in runs]
        for _ in range(a.rounds):
            for i, (_, run) in enumerate(runs):
                start = time.perf_counter()
                run()
                times[i].append(time.perf_counter() - start)
    yardstick = statistics.median(times[0])
    print('\n%d alternating rounds, sigma %g\n' % (a.rounds, a.sigma))
    print('| command | median (s) | min (s) | median / NL-means | x %.2f s |' % ISSUE_NLM_SECONDS)
    print('|---|---:|---:|---:|---:|')
    for (label, _), t in zip(runs, times):
        ratio = statistics.median(t) / yardstick
        print('| %s | %.3f | %.3f | %.2f | %.3f |' % (label, statistics.median(t), min(t), ratio,
                                                    ratio * ISSUE_NLM_SECONDS))


if __name__ == '__main__':
    main()
