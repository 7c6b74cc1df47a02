#!/usr/bin/python3
"""Writes an N x D float32 .npy of synthetic activations for the benchmarks:
Gaussian coordinates with a power-law spectrum (eigenvalues ~ i^-1), rotated
by a random orthogonal matrix, plus a mean offset. Generated in slices so the
writer itself needs little memory.

usage: make_acts.py PATH N D [SEED]
"""
import os
import sys

import numpy as np


def main():
    path, n, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    scales = (np.arange(1, d + 1) ** -0.5).astype(np.float32)
    q = np.linalg.qr(rng.standard_normal((d, d)))[0].astype(np.float32)
    offset = (rng.standard_normal(d) * 0.3).astype(np.float32)
    out = np.lib.format.open_memmap(path + ".part", mode="w+", dtype=np.float32, shape=(n, d))
    for i in range(0, n, 8192):
        z = rng.standard_normal((min(8192, n - i), d), dtype=np.float32) * scales
        out[i:i + len(z)] = z @ q + offset
    out.flush()
    del out
    os.replace(path + ".part", path)


if __name__ == "__main__":
    main()
