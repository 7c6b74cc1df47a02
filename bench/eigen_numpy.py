#!/usr/bin/python3
"""numpy's side of the eigensolver benchmark: np.linalg.eigvalsh on the covariance of 2D x D
standard normal rows, median of REPS timed calls (the same kind of matrix spectrum_bench eigen
solves). usage: eigen_numpy.py D REPS   (prints one JSON object)"""
import json
import os
import sys
import time

_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
import numpy as np  # noqa: E402

D, reps = int(sys.argv[1]), int(sys.argv[2])
x = np.random.default_rng(3).standard_normal((2 * D, D)).astype(np.float32)
c = np.cov(x, rowvar=False)
ts = []
for _ in range(reps):
    t = time.perf_counter()
    np.linalg.eigvalsh(c)
    ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({"D": D, "reps": reps, "median_s": ts[reps // 2], "min_s": ts[0]}))
