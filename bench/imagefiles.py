"""Image files of the benchmark scripts: PNG in, float64 IDX to and from
the tools (big-endian, h x w grey or 1 x h x w x 3 RGB)."""
import struct

import numpy as np
from PIL import Image


def write_idx(path, array):
    """float64 IDX: h x w (grey) or 1 x h x w x 3 (RGB), big-endian."""
    a = np.asarray(array, dtype='>f8')
    if a.ndim == 3:
        a = a[None]
    with open(path, 'wb') as f:
        f.write(bytes([0, 0, 0x0E, a.ndim]))
        f.write(struct.pack('>%dI' % a.ndim, *a.shape))
        f.write(a.tobytes())


def read_png(path):
    return np.asarray(Image.open(path), dtype=np.float64)


def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    ndim, kind = data[3], data[2]
    shape = struct.unpack('>%dI' % ndim, data[4:4 + 4 * ndim])
    dtype = {0x08: '>u1', 0x0D: '>f4', 0x0E: '>f8'}[kind]
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(shape).astype(np.float64)
