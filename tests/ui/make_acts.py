#!/usr/bin/python3
"""Writes a small width sweep of activation files and a config for the
dashboard tests: families alpha (widths 32, 64, 128) and beta (48, 96, 192),
3 layers, post site, power-law spectra; deterministic (seeded).

usage: make_acts.py DIR [--big D N]
  writes DIR/acts/*.safetensors and DIR/dash.yaml (results in DIR/results,
  exports in DIR/exports). --big adds one model of width D with N rows per
  layer (the latency benchmark's D=3072 layer).
"""
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import npsafetensors  # noqa: E402


def layer_acts(rng, n, d, decay):
    scale = np.arange(1, d + 1, dtype=np.float64) ** (-decay / 2)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return ((rng.standard_normal((n, d)) * scale) @ q.T + 0.1 * rng.standard_normal(d)).astype(np.float32)


def main():
    out = sys.argv[1]
    big = None
    if "--big" in sys.argv:
        i = sys.argv.index("--big")
        big = (int(sys.argv[i + 1]), int(sys.argv[i + 2]))
    acts = os.path.join(out, "acts")
    os.makedirs(acts, exist_ok=True)
    rng = np.random.default_rng(7)
    specs = [("alpha", w, 0.9) for w in (32, 64, 128)] + [("beta", w, 1.1) for w in (48, 96, 192)]
    for fam, d, decay in specs:
        tensors = {"blocks.%d.mlp.hook_post" % l: layer_acts(rng, 12 * d, d, decay + 0.1 * l) for l in range(3)}
        npsafetensors.save(os.path.join(acts, "%s-w%d.safetensors" % (fam, d)), tensors)
    models = "".join("  - glob: acts/%s-w*.safetensors\n    family: %s\n" % (f, f) for f in ("alpha", "beta"))
    if big:
        d, n = big
        # written layer by layer: the file is large, the rows cheap
        tensors = {"blocks.%d.mlp.hook_post" % l: (rng.standard_normal((n, d)) *
                   (np.arange(1, d + 1) ** -0.5)).astype(np.float32) for l in range(2)}
        npsafetensors.save(os.path.join(out, "big-w%d.safetensors" % d), tensors)
        models += "  - path: big-w%d.safetensors\n    family: big\n" % d
    with open(os.path.join(out, "dash.yaml"), "w") as f:
        f.write("version: 1\ncapture:\n  sites: [post]\n  refresh_tokens: 512\nmodels:\n" + models +
                "output:\n  dir: results\n  export_dir: exports\n")


if __name__ == "__main__":
    main()
