#!/usr/bin/env python3
"""Convert a fitted scikit-learn GaussianMixture into a libgmmprior model file.

    python3 sklearn_to_gmmp.py MODEL.pkl OUTPUT.gmmp

MODEL.pkl is a pickled (or joblib-dumped) sklearn.mixture.GaussianMixture.
Any covariance_type works: 'diag', 'spherical' and 'tied' covariances are
expanded to full matrices. From Python, call write_gmmp(gm, path).

The format (docs/model-format.md): the 8-byte magic 89 47 4D 50 0D 0A 1A
0A, uint32 version 1, uint32 flags 0, uint64 K, uint64 d, then K weights,
K*d means and K*d*d covariances as little-endian float64, and a uint32
CRC-32 (zlib's) of everything before it. Needs only numpy.
"""
import pickle
import struct
import sys
import zlib

import numpy as np

MAGIC = b"\x89GMP\r\n\x1a\n"
VERSION = 1


def full_covariances(gm):
    """The K x d x d covariances of a GaussianMixture, whatever its type."""
    K, d = gm.means_.shape
    kind = gm.covariance_type
    c = np.asarray(gm.covariances_, dtype=np.float64)
    if kind == "full":
        return c
    if kind == "tied":
        return np.broadcast_to(c, (K, d, d)).copy()
    if kind == "diag":
        return np.stack([np.diag(row) for row in c])
    if kind == "spherical":
        return np.stack([v * np.eye(d) for v in c])
    raise ValueError(f"unknown covariance_type {kind!r}")


def write_gmmp(gm, path):
    weights = np.ascontiguousarray(gm.weights_, dtype="<f8")
    means = np.ascontiguousarray(gm.means_, dtype="<f8")
    covs = np.ascontiguousarray(full_covariances(gm), dtype="<f8")
    K, d = means.shape
    if weights.shape != (K,) or covs.shape != (K, d, d):
        raise ValueError("inconsistent mixture shapes")
    data = (MAGIC + struct.pack("<IIQQ", VERSION, 0, K, d) + weights.tobytes() +
            means.tobytes() + covs.tobytes())
    with open(path, "wb") as f:
        f.write(data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF))


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    with open(argv[1], "rb") as f:
        gm = pickle.load(f)
    write_gmmp(gm, argv[2])
    print(f"wrote {argv[2]}: K={gm.means_.shape[0]}, d={gm.means_.shape[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
