#!/usr/bin/env python3
"""EPLL on natural images against scikit-image's non-local means and
wavelet denoisers, on the same noisy images.

For each test image (never trained on) and sigma in 15, 25, 50: Gaussian
noise (numpy, seeded, not clipped), then
  - skimage denoise_nl_means: fast mode, patch 5, distance 6, h = 0.8 sigma
  - skimage denoise_wavelet: BayesShrink, soft thresholds
  - gmmp-epll (all patches), and gmmp-epll --grid 3 (fast EPLL, jittered grid)
and a table of PSNR (dB, peak 255) and seconds.

Usage: python3 bench/natural_images.py BUILD_DIR MODEL [IMAGE.pgm ...]
MODEL: an 8x8 mixture trained with patch means removed on other images
(data/models/natural-8x8-k50.gmmp; see data/models/README.md).
Needs Debian's python3-skimage and python3-numpy.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from skimage.restoration import denoise_nl_means, denoise_wavelet

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build, model = sys.argv[1], sys.argv[2]
images = sys.argv[3:] or [os.path.join(root, "data/images", n + ".pgm") for n in ("camera", "clock")]
epll = os.path.join(build, "examples", "gmmp-epll")


def read_pgm(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, w, h, maxval = re.match(rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s", data).groups()
    offset = len(re.match(rb"P5\s+\d+\s+\d+\s+\d+\s", data).group(0))
    return np.frombuffer(data, np.uint8, offset=offset).reshape(int(h), int(w)).astype(float)


def write_idx(path, img):
    h, w = img.shape
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x0E, 3]) + struct.pack(">III", 1, h, w))
        f.write(img.astype(">f8").tobytes())


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    _, h, w = struct.unpack(">III", data[4:16])
    return np.frombuffer(data, ">f8", offset=16).reshape(h, w).astype(float)


def psnr(x, ref):
    return 10 * np.log10(255.0 ** 2 / np.mean((x - ref) ** 2))


def run_epll(noisy_path, clean_path, out_path, sigma, extra):
    t0 = time.perf_counter()
    subprocess.run([epll, "--model", model, "--remove-mean", "--sigma", str(sigma)] + extra +
                   [noisy_path, out_path], check=True, capture_output=True)
    return read_idx(out_path), time.perf_counter() - t0


print("| image | sigma | noisy | NL-means | wavelet | EPLL | EPLL s | fast EPLL (grid 3) | fast s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
with tempfile.TemporaryDirectory() as tmp:
    for path in images:
        clean = read_pgm(path)
        name = os.path.splitext(os.path.basename(path))[0]
        write_idx(os.path.join(tmp, "clean.idx"), clean)
        for sigma in (15, 25, 50):
            rng = np.random.RandomState(sigma)
            noisy = clean + sigma * rng.standard_normal(clean.shape)
            noisy_path = os.path.join(tmp, "noisy.idx")
            write_idx(noisy_path, noisy)
            nlm = denoise_nl_means(noisy, h=0.8 * sigma, sigma=sigma, fast_mode=True,
                                   patch_size=5, patch_distance=6)
            wav = denoise_wavelet(noisy / 255.0, method="BayesShrink", mode="soft",
                                  sigma=sigma / 255.0, rescale_sigma=True) * 255.0
            out = os.path.join(tmp, "out.idx")
            full, t_full = run_epll(noisy_path, os.path.join(tmp, "clean.idx"), out, sigma, [])
            fast, t_fast = run_epll(noisy_path, os.path.join(tmp, "clean.idx"), out, sigma,
                                    ["--grid", "3"])
            print(f"| {name} | {sigma} | {psnr(noisy, clean):.2f} | {psnr(nlm, clean):.2f} | "
                  f"{psnr(wav, clean):.2f} | {psnr(full, clean):.2f} | {t_full:.1f} | "
                  f"{psnr(fast, clean):.2f} | {t_fast:.1f} |", flush=True)
