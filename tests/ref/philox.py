"""tests/ref/philox.py — engine/core/rng.h's draws, written again from the paper's definition.

Philox-4x32-10 (Salmon et al., SC'11) and the engine's float conversion, so that fixtures can
check the engine's random streams (dropout masks) and regenerate values the C tests draw
themselves (weights of the larger model fixtures, which are then never stored). Scalar functions
as rng.h reads, and `uniform`, the same draws for a whole stream at once with numpy.
"""
import numpy as np

M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def philox4x32(ctr, key):
    k0, k1 = key & M32, key >> 32
    c = list(ctr)
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c[3] ^ k1) & M32, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


def rng_uniform(key, hi, i):
    """rng.h's rng_uniform: draw i of stream (key, hi), a float in [0, 1) with 24 random bits"""
    lo = i >> 2
    block = philox4x32([lo & M32, lo >> 32, hi & M32, hi >> 32], key)
    return (block[i & 3] >> 8) / 16777216.0


def uniform(key, hi, n):
    """rng_uniform(key, hi, i) for i in [0, n), as float64 (exact: 24-bit values)"""
    lo = np.arange((n + 3) // 4, dtype=np.uint64)
    m32 = np.uint64(M32)
    c = [lo & m32, lo >> np.uint64(32), np.full_like(lo, hi & M32), np.full_like(lo, hi >> 32)]
    k0, k1 = key & M32, key >> 32
    for _ in range(10):
        p0, p1 = np.uint64(0xD2511F53) * c[0], np.uint64(0xCD9E8D57) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0)) & m32, p1 & m32,
             ((p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1)) & m32, p0 & m32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    bits = np.stack(c, axis=1).reshape(-1)[:n]
    return (bits >> np.uint64(8)).astype(np.float64) / 16777216.0


def fnv1a(s):
    """64-bit FNV-1a of a string's bytes: a stream number per name"""
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def check_philox():
    """the published known-answer vectors (Random123 kat_vectors), as tests/test_core.c checks"""
    assert philox4x32([0, 0, 0, 0], 0) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    assert philox4x32([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], 0x299F31D0A4093822) == \
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]
    key, hi = 0x299F31D0A4093822, 0x1234567890ABCDEF
    assert list(uniform(key, hi, 11)) == [rng_uniform(key, hi, i) for i in range(11)]
