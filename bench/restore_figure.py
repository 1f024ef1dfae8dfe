#!/usr/bin/python3
"""The pictures of docs/guide.md: one photograph (grey or RGB), noisy
(sigma 25), restored by scikit-image's non-local means and by
gmmp-restore, and clean, with the PSNR of each, under the protocol of
bench/restore_bench.py.

    /usr/bin/python3 bench/restore_figure.py build/tools/gmmp-restore \
        [data/images/camera.pgm] [docs/images/restore-camera.png] [TOOL OPTIONS...]

The grey photograph is scikit-image's "camera", the colour one its
"coffee" (both CC0: data/images/README.md), so the pictures may be
shipped; the benchmark sets themselves may not.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from restore_bench import psnr, write_idx  # noqa: E402
from skimage.restoration import denoise_nl_means  # noqa: E402


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) > 1 else 2)
    tool = sys.argv[1]
    src = sys.argv[2] if len(sys.argv) > 2 else "data/images/camera.pgm"
    out = sys.argv[3] if len(sys.argv) > 3 else "docs/images/restore-camera.png"
    sigma = 25.0
    extra = sys.argv[4:]
    image = Image.open(src)
    colour = image.mode not in ("L", "I", "I;16")
    clean = np.asarray(image.convert("RGB" if colour else "L"), dtype=np.float64)
    noisy = clean + np.random.default_rng(25).normal(0.0, sigma, clean.shape)
    with tempfile.TemporaryDirectory() as tmp:
        write_idx(os.path.join(tmp, "noisy.idx"), noisy)
        subprocess.run([tool, "-q", "--sigma", str(sigma)] + extra + [os.path.join(tmp, "noisy.idx"),
                        os.path.join(tmp, "ours.idx")], check=True)
        with open(os.path.join(tmp, "ours.idx"), "rb") as f:
            data = f.read()
        ours = np.frombuffer(data[-clean.size * 8:], dtype=">f8").reshape(clean.shape)
    # As bench/restore_bench.py runs it.
    nlm = denoise_nl_means(noisy, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                           fast_mode=True, channel_axis=-1 if colour else None)
    label = "gmmp-restore " + " ".join(extra) if extra else "gmmp-restore"
    panels = [("noisy", noisy), ("NL-means", nlm), (label.strip(), ours), ("clean", clean)]
    # A crop with texture and edges, at twice the size.
    r0, c0, size = clean.shape[0] // 5, clean.shape[1] // 4, min(clean.shape[:2]) // 2
    tiles = []
    for name, img in panels:
        shown = np.clip(np.round(img), 0, 255).astype(np.uint8)[r0:r0 + size, c0:c0 + size]
        tile = Image.fromarray(shown).resize((2 * size, 2 * size), Image.NEAREST)
        tile = tile.convert("RGB")
        label = name if name == "clean" else "%s  %.2f dB" % (name, psnr(img, clean))
        draw = ImageDraw.Draw(tile)
        draw.rectangle([0, 0, 8 * len(label) + 12, 22], fill=(0, 0, 0))
        draw.text((6, 5), label, fill=(255, 255, 255))
        tiles.append(tile)
    w = tiles[0].width
    sheet = Image.new("RGB", (2 * w + 8, 2 * w + 8), (255, 255, 255))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % 2) * (w + 8), (i // 2) * (w + 8)))
    sheet.save(out)
    print("%s: sigma %g, noisy %.2f dB, NL-means %.2f dB, gmmp-restore %.2f dB" %
          (out, sigma, psnr(noisy, clean), psnr(nlm, clean), psnr(ours, clean)))


if __name__ == "__main__":
    main()
