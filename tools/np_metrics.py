#!/usr/bin/python3
"""numpy float64 reference for every spectral metric of ffnscope (README "What it measures").

The ordinary pipeline: rows with NaN/Inf dropped, np.cov (centred, unbiased)
in float64, np.linalg.eigvalsh, then the metric formulas written out here
independently of the C code. Other tools and tests import it:

    from np_metrics import metrics
    m = metrics(X)            # X: [N, D] or [B, T, D], any float dtype
    m["soft_rank"], m["warnings"], ...

Keys are those of metrics.csv (tokens, width, hard_rank, soft_rank, hard_util,
soft_util, concentration, eee, sui, alpha, warnings) plus concentration_k.
alpha is NaN when fewer than two eigenvalues enter its fit.

Run as a script on .npy files to print the metrics as JSON.
"""
import json
import math
import sys

import numpy as np


def concentration_k(k_param, width):
    """k of C_k: ceil(fraction * D) when the parameter is < 1 (with 1e-9 of
    slack against 0.1 * 640 = 64.00000000000001), else the rounded count;
    always within [1, D]."""
    if k_param < 1:
        k = math.ceil(k_param * width - 1e-9)
    else:
        k = math.floor(k_param + 0.5)
    return int(min(max(k, 1), width))


def spectrum(X):
    """Eigenvalues of the float64 covariance, sorted descending, negatives
    clamped to 0. Returns (eigenvalues, rows used, rows dropped)."""
    X = np.asarray(X)
    X = X.reshape(-1, X.shape[-1]).astype(np.float64)
    finite = np.isfinite(X).all(axis=1)
    dropped = int((~finite).sum())
    X = X[finite]
    if X.shape[0] < 2:
        raise ValueError("fewer than 2 finite rows")
    C = np.cov(X, rowvar=False)
    C = np.atleast_2d(C)
    eig = np.linalg.eigvalsh(C)[::-1]
    return np.maximum(eig, 0.0), X.shape[0], dropped


def metrics_from_eigenvalues(eig, tokens, dropped=0, k_param=0.1):
    eig = np.maximum(np.sort(np.asarray(eig, dtype=np.float64))[::-1], 0.0)
    D = eig.size
    k = concentration_k(k_param, D)
    warn = []
    if tokens < 10 * D:
        warn.append("rank_limited")
    if dropped > 0:
        warn.append("nonfinite=%d" % dropped)
    total = eig.sum()
    out = dict(tokens=int(tokens), width=int(D), concentration_k=k)
    if not total > 0:
        warn.append("zero_variance")
        out.update(hard_rank=0.0, soft_rank=0.0, hard_util=0.0, soft_util=0.0, concentration=0.0,
                   eee=0.0, sui=0.0, alpha=float("nan"), warnings=";".join(warn))
        return out
    p = eig / total
    hard = total ** 2 / np.sum(eig ** 2)
    nz = p[p > 0]
    soft = math.exp(-np.sum(nz * np.log(nz)))
    cum = np.cumsum(p)
    eee = np.sum(cum - np.arange(1, D + 1) / D) / (D / 2)
    eee = min(max(eee, 0.0), 1.0)
    # alpha: log(lambda_i) = c - alpha log(i), i = 1 .. floor(r/2)
    r = int(np.sum(eig > 1e-12 * eig[0]))
    m = r // 2
    if m >= 2:
        i = np.arange(1, m + 1, dtype=np.float64)
        slope = np.polyfit(np.log(i), np.log(eig[:m]), 1)[0]
        alpha = -float(slope)
    else:
        alpha = float("nan")
    out.update(hard_rank=float(hard), soft_rank=float(soft), hard_util=float(hard / D),
               soft_util=float(soft / D), concentration=float(p[:k].sum()), eee=float(eee),
               sui=float(math.sqrt(hard * soft) / D), alpha=alpha, warnings=";".join(warn))
    return out


def metrics(X, concentration_k=0.1):
    eig, used, dropped = spectrum(X)
    return metrics_from_eigenvalues(eig, used, dropped, concentration_k)


if __name__ == "__main__":
    rows = []
    for path in sys.argv[1:]:
        m = metrics(np.load(path))
        m["file"] = path
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in m.items()})
    print(json.dumps(rows, indent=2))
