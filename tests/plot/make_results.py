#!/usr/bin/python3
"""Writes a results directory with known values for the figure tests.

usage: make_results.py DIR

Families alpha (widths 64..512, 3 layers), beta (32..512, 4 layers, sites
post and pre) and gamma (2 models: too few for a fit). Every spectrum is a
closed-form power law lambda_i = s * i^-a, so the metrics are exact numpy
float64 values; fits.csv is computed here with numpy (OLS on log10, the 95%
t-interval), independently of ffnscope.
"""
import json
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import npsafetensors  # noqa: E402

# two-sided 95% Student t critical values by degrees of freedom (tables)
T975 = {1: 12.706204736174, 2: 4.302652729749, 3: 3.182446305284, 4: 2.776445105198}

FAMILIES = [("alpha", [64, 128, 256, 512], 3, 0.9, ["post"]),
            ("beta", [32, 64, 128, 256, 512], 4, 1.2, ["post", "pre"]),
            ("gamma", [100, 200], 2, 0.7, ["post"])]


def spectrum(d, a, s):
    return s * np.arange(1, d + 1, dtype=np.float64) ** (-a)


def metrics(lam, k):
    d = len(lam)
    tot = lam.sum()
    p = lam / tot
    hr = tot * tot / (lam * lam).sum()
    sr = math.exp(-(p * np.log(p)).sum())
    c = np.cumsum(p)
    eee = min(max(((c - np.arange(1, d + 1) / d).sum()) / (d / 2), 0.0), 1.0)
    r = int((lam > 1e-12 * lam[0]).sum())
    m = max(r // 2, 2)
    i = np.arange(1, m + 1)
    alpha = -np.polyfit(np.log(i), np.log(lam[:m]), 1)[0]
    return {"hard_rank": hr, "soft_rank": sr, "hard_util": hr / d, "soft_util": sr / d,
            "concentration": float(c[k - 1]), "eee": eee, "sui": math.sqrt(hr * sr) / d, "alpha": alpha}


def fit(x, y):
    lx, ly = np.log10(x), np.log10(y)
    n = len(lx)
    xb = lx.mean()
    sxx = ((lx - xb) ** 2).sum()
    beta = ((lx - xb) * (ly - ly.mean())).sum() / sxx
    a = ly.mean() - beta * xb
    res = ly - (a + beta * lx)
    s2 = (res ** 2).sum() / (n - 2)
    h = T975[n - 2] * math.sqrt(s2 / sxx)
    r2 = 1 - (res ** 2).sum() / ((ly - ly.mean()) ** 2).sum()
    return beta, beta - h, beta + h, a, r2


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    models, rows, tensors, fits = [], [], {}, []
    for fam, widths, n_layers, a0, sites in FAMILIES:
        for mi, d in enumerate(widths):
            name = "%s-w%d" % (fam, d)
            models.append({"name": name, "family": fam, "format": "npy", "path": name, "width": d,
                           "n_layers": n_layers, "status": "done", "tokens": 40 * d, "tokens_target": 40 * d,
                           "tokens_per_s": 1000.0, "elapsed_s": 1.0, "error": None})
            for site in sites:
                for layer in range(n_layers):
                    # a wobble per model so that the fits are not exact
                    a = a0 + 0.15 * layer + (0.03 if mi % 2 else -0.02) + (0.1 if site == "pre" else 0)
                    lam = spectrum(d, a, 1.0 + layer)
                    k = math.ceil(0.1 * d)
                    row = {"model": name, "family": fam, "width": d, "layer": layer, "site": site,
                           "tokens": 40 * d, **metrics(lam, k), "concentration_k": k, "warnings": "",
                           "nonfinite_rows": 0}
                    rows.append(row)
                    tensors["%s/%s/layer%d" % (name, site, layer)] = lam
    for fam, widths, n_layers, a0, sites in FAMILIES:
        for site in sites:
            for metric in ("soft_rank", "hard_rank"):
                x = np.array(widths, dtype=np.float64)
                y = np.array([np.median([r[metric] for r in rows if r["family"] == fam and r["width"] == d and
                                         r["site"] == site]) for d in widths])
                f = {"family": fam, "site": site, "metric": metric, "n_models": len(widths)}
                if len(widths) >= 3:
                    b, lo, hi, la, r2 = fit(x, y)
                    f.update(beta=b, beta_ci_low=lo, beta_ci_high=hi, log10_a=la, r2=r2)
                else:
                    f.update(beta=None, beta_ci_low=None, beta_ci_high=None, log10_a=None, r2=None)
                fits.append(f)
    npsafetensors.save(os.path.join(out, "spectra.safetensors"), tensors)
    cols = ["model", "family", "width", "layer", "site", "tokens", "hard_rank", "soft_rank", "hard_util",
            "soft_util", "concentration", "eee", "sui", "alpha", "warnings"]
    with open(os.path.join(out, "metrics.csv"), "w") as fp:
        fp.write(",".join(cols) + "\n")
        for r in rows:
            fp.write(",".join(repr(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols) + "\n")
    fcols = ["family", "site", "metric", "n_models", "beta", "beta_ci_low", "beta_ci_high", "log10_a", "r2"]
    with open(os.path.join(out, "fits.csv"), "w") as fp:
        fp.write(",".join(fcols) + "\n")
        for f in fits:
            fp.write(",".join("" if f[c] is None else repr(f[c]) if isinstance(f[c], float) else str(f[c])
                              for c in fcols) + "\n")
    with open(os.path.join(out, "run.yaml"), "w") as fp:
        fp.write("config: \"known-values fixture\"\nstate: done\n")
    doc = {"ffnscope_version": "test", "source": "fixture", "state": "done", "elapsed_s": 12.0,
           "concentration_k": 0.1, "models": models, "rows": rows, "fits": fits, "delta_beta": [], "errors": []}
    with open(os.path.join(out, "metrics.json"), "w") as fp:
        json.dump(doc, fp, indent=1)


if __name__ == "__main__":
    main()
