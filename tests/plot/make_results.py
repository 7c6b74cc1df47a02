#!/usr/bin/python3
"""Writes a results directory with known values for the figure tests.

usage: make_results.py DIR          the dense families below
       make_results.py --moe DIR    mixture-of-experts models (MOE_MODELS)

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


# Mixture of experts: (name, family, layers, routed layers, experts, expert width, shared width,
# model width). Expert e of layer l decays with a = 0.5 + 0.9 * ((7 e + 3 l) % 11) / 10 and gets
# 40 + 17 * ((5 e + l) % 9) tokens, except the ones in MOE_FEW (0 or 1 token: no spectrum).
MOE_MODELS = [("dense-w64", "gpt2", 3, [], 0, 0, 0, 64),
              ("moe-e6", "qwen2_moe", 3, [0, 2], 6, 32, 64, 96),
              ("moe-e128", "olmoe", 2, [0, 1], 128, 8, 0, 8)]
MOE_FEW = {("moe-e6", 2, 3): 0, ("moe-e6", 0, 4): 1, ("moe-e128", 1, 77): 0}


def moe_main(out):
    os.makedirs(out, exist_ok=True)
    models, rows, tensors = [], [], {}
    for name, fam, n_layers, routed, n_exp, ew, sw, d in MOE_MODELS:
        models.append({"name": name, "family": fam, "format": "hf", "path": name, "width": d,
                       "n_layers": n_layers, "status": "done", "tokens": 4000, "tokens_target": 4000,
                       "tokens_per_s": 1000.0, "elapsed_s": 1.0, "error": None})
        for layer in range(n_layers):
            if layer not in routed:
                entries = [("", d, 0.7 + 0.2 * layer, 4000)]
            else:
                entries = [(str(e), ew, 0.5 + 0.9 * ((7 * e + 3 * layer) % 11) / 10,
                            MOE_FEW.get((name, layer, e), 40 + 17 * ((5 * e + layer) % 9))) for e in range(n_exp)]
                if sw:
                    entries.append(("shared", sw, 0.4, 4000))
            for expert, w, a, tokens in entries:
                k = math.ceil(0.1 * w)
                row = {"model": name, "family": fam, "width": w, "layer": layer, "site": "post",
                       "expert": expert or None, "tokens": tokens, "concentration_k": k, "nonfinite_rows": 0}
                if tokens < 2:
                    row.update({m: None for m in ("hard_rank", "soft_rank", "hard_util", "soft_util",
                                                  "concentration", "eee", "sui", "alpha")})
                    row["warnings"] = "no_tokens" if tokens == 0 else "too_few_tokens"
                else:
                    lam = spectrum(w, a, 1.0 + layer)
                    row.update(metrics(lam, k), warnings="")
                    tensors["%s/post/layer%d%s" % (name, layer, "/expert" + expert if expert else "")] = lam
                rows.append(row)
    npsafetensors.save(os.path.join(out, "spectra.safetensors"), tensors)
    cols = ["model", "family", "width", "layer", "site", "expert", "tokens", "hard_rank", "soft_rank", "hard_util",
            "soft_util", "concentration", "eee", "sui", "alpha", "warnings"]
    with open(os.path.join(out, "metrics.csv"), "w") as fp:
        fp.write(",".join(cols) + "\n")
        for r in rows:
            fp.write(",".join("" if r[c] is None else repr(r[c]) if isinstance(r[c], float) else str(r[c])
                              for c in cols) + "\n")
    with open(os.path.join(out, "run.yaml"), "w") as fp:
        fp.write("config: \"known-values fixture\"\nstate: done\n")
    doc = {"ffnscope_version": "test", "source": "fixture", "state": "done", "elapsed_s": 12.0,
           "concentration_k": 0.1, "models": models, "rows": rows, "fits": [], "delta_beta": [], "errors": []}
    with open(os.path.join(out, "metrics.json"), "w") as fp:
        json.dump(doc, fp, indent=1)


def main():
    if sys.argv[1] == "--moe":
        moe_main(sys.argv[2])
        return
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
