#!/usr/bin/python3
"""The usual Python pipeline that `ffnscope run` replaces, timed: PyTorch forward with hooks that
collect every layer's FFN activations (tools/reference.py), then per layer numpy float64
covariance, eigvalsh and the metrics (tools/np_metrics.py).

usage: capture_reference.py --model DIR --ids IDS.json --seq-len T --batch B --threads N [--sites post]
                            [--layers 0,5,11]
Prints one JSON object: tokens, seconds per phase and in total.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--sites", default="post")
    ap.add_argument("--layers", default=None, help="comma-separated layers (default: all)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    import numpy as np
    import torch
    torch.set_num_threads(a.threads)
    import np_metrics
    import reference
    with open(a.ids) as f:
        ids = np.array(json.load(f), dtype=np.int64)
    t1 = time.perf_counter()
    model = reference.load_model(a.model)
    t2 = time.perf_counter()
    acts = reference.capture(model, ids, a.seq_len, a.batch, a.layers, tuple(a.sites.split(",")))
    t3 = time.perf_counter()
    out = []
    for key in sorted(acts):
        eig, n, dropped = np_metrics.spectrum(acts[key])
        out.append(np_metrics.metrics_from_eigenvalues(eig, n, dropped)["soft_rank"])
    t4 = time.perf_counter()
    print(json.dumps({"tokens": int(next(iter(acts.values())).shape[0]), "import_s": t1 - t0, "load_s": t2 - t1,
                      "forward_s": t3 - t2, "spectra_s": t4 - t3, "total_s": t4 - t0,
                      "median_soft_rank": float(np.median(out))}))


if __name__ == "__main__":
    main()
