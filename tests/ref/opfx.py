"""tests/ref/opfx.py — the fixture file format the C tests read (tests/fixtures.c).

b"OPFX", u32 version 1, u32 count, then per tensor: u32 name length, name (utf-8), u32 ndim,
u32 dims[ndim], float32 data — all little endian. Written to a temporary name, then renamed.
"""
import os
import struct

import numpy as np


def write_opfx(path, tensors):
    """tensors: (name, array or torch tensor) pairs, stored as float32"""
    with open(path + ".tmp", "wb") as f:
        f.write(b"OPFX" + struct.pack("<II", 1, len(tensors)))
        for name, t in tensors:
            if hasattr(t, "detach"):
                t = t.detach().contiguous().numpy()
            a = np.ascontiguousarray(t, dtype="<f4")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", a.ndim))
            f.write(struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes())
    os.replace(path + ".tmp", path)
