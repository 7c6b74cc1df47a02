#!/usr/bin/python3
"""Would a float32-block covariance be worth it? Captures real-ish FFN activations (post site) of a
model with tools/reference.py (PyTorch hooks, the same forward pass the tests compare ffnscope
with), then runs bench/cov_f32_blocks.c on them: ffnscope's float64 update (covaccAddF32) against
float32 blocks of BLOCK rows promoted into a float64 scatter, timed alternately, and compares the
eigenvalues and every metric of both covariances with numpy float64 (np.cov + eigvalsh,
tools/np_metrics.py).

usage: cov_f32_blocks.py MODEL_DIR IDS.json --tokens N --layers 0,23 --block 862 --reps 3 --bin PATH
Prints one JSON object per layer.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("ids")
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--layers", default="0,23")
    ap.add_argument("--block", type=int, default=862)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bin", required=True)
    a = ap.parse_args()
    import torch
    import np_metrics
    import reference
    torch.set_num_threads(os.cpu_count())
    ids = np.array(json.load(open(a.ids))[:a.tokens], dtype=np.int64)
    model = reference.load_model(a.model)
    acts = reference.capture(model, ids, 128, 16, a.layers, ("post",))
    del model
    work = tempfile.mkdtemp()
    for key in sorted(acts):
        X = np.ascontiguousarray(acts[key], dtype=np.float32)
        n, d = X.shape
        X.tofile(os.path.join(work, "x.f32"))
        r = json.loads(subprocess.check_output([a.bin, os.path.join(work, "x.f32"), str(n), str(d), str(a.block),
                                                str(a.reps), os.path.join(work, "c")]))
        t0 = time.perf_counter()
        ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64), rowvar=False))[::-1]
        r["numpy_cov_eigvalsh_s"] = time.perf_counter() - t0
        mref = np_metrics.metrics_from_eigenvalues(np.maximum(ref, 0), n)
        for name in ("f64", "f32blk"):
            C = np.fromfile(os.path.join(work, "c.%s.bin" % name), dtype=np.float64).reshape(d, d)
            r[name + "_cov_max_abs_err_over_max"] = float(np.abs(C - np.cov(X.astype(np.float64), rowvar=False)).max()
                                                          / np.abs(C).max())
            e = np.linalg.eigvalsh(C)[::-1]
            m = np_metrics.metrics_from_eigenvalues(np.maximum(e, 0), n)
            rel = {}
            for k, v in mref.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v != 0:
                    rel[k] = abs(m[k] - v) / abs(v)
            r[name + "_metric_rel_err"] = rel
            r[name + "_metric_max_rel_err"] = max(rel.values())
            half = d // 2
            r[name + "_eig_rel_err"] = {"lambda_1": float(abs(e[0] - ref[0]) / ref[0]),
                                        "lambda_D/2": float(abs(e[half] - ref[half]) / ref[half]),
                                        "lambda_D*0.9": float(abs(e[int(d * .9)] - ref[int(d * .9)]) /
                                                              ref[int(d * .9)])}
        r["layer"] = list(key)
        r["lambda_1_over_lambda_D/2"] = float(ref[0] / ref[d // 2])
        r["loadavg"] = open("/proc/loadavg").read().split()[:3]
        print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
