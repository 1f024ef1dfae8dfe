# SPDX-License-Identifier: MIT
"""Shared helpers: the source tree, the reference fixtures, MNIST."""
import gzip
import os

import numpy as np
import pytest

ROOT = os.environ.get("GMMP_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


def fixture(*parts, shape=None):
    a = np.fromfile(os.path.join(FIXTURES, *parts) + ".f64", dtype="<f8")
    return a if shape is None else a.reshape(shape)


def meta(name):
    out = {}
    with open(os.path.join(FIXTURES, name, "meta.txt")) as f:
        for line in f:
            line = line.split("#")[0]
            if "=" in line:
                k, v = (s.strip() for s in line.split("=", 1))
                try:
                    out[k] = float(v) if any(c in v for c in ".e") else int(v)
                except ValueError:
                    out[k] = v
    return out


def mnist(n, train=True):
    name = "train-images-idx3-ubyte.gz" if train else "t10k-images-idx3-ubyte.gz"
    with gzip.open(os.path.join(ROOT, "data", "mnist", name)) as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:n].astype(float)


def mnist8_patches():
    """The em_mnist8 fixture's data: all 8x8 patches of the first 100 digits."""
    win = np.lib.stride_tricks.sliding_window_view(mnist(100), (8, 8), axis=(1, 2))
    return np.ascontiguousarray(win.reshape(-1, 64))


@pytest.fixture(scope="session")
def mnist8():
    return mnist8_patches()


@pytest.fixture(scope="session")
def mnist8_model():
    import gmmprior
    K, d = 6, 64
    return gmmprior.Model(fixture("em_mnist8", "final_weights"),
                          fixture("em_mnist8", "final_means", shape=(K, d)),
                          fixture("em_mnist8", "final_covariances", shape=(K, d, d)))
