#!/usr/bin/python3
"""Writes a synthetic width sweep of FFN activations for configs/example-activations.yaml.

For each width D in 64, 128, 256, 512 one safetensors file
data/example-acts/sweep-wD.safetensors with 4 layers and both sites:
  blocks.L.mlp.hook_pre  = Z diag(i^(-a/2)) Q^T + b    (a = 0.9 + 0.1 L: a power-law spectrum)
  blocks.L.mlp.hook_post = gelu_tanh(hook_pre)
float16, 12 D rows each (enough rows: no rank_limited warning). Deterministic (seeded).

usage: make_example_acts.py [OUT_DIR]     (default data/example-acts)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import npsafetensors  # noqa: E402


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "example-acts")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1234)
    for d in (64, 128, 256, 512):
        tensors = {}
        n = 12 * d
        for layer in range(4):
            a = 0.9 + 0.1 * layer
            scale = np.arange(1, d + 1, dtype=np.float64) ** (-a / 2)
            q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            pre = (rng.standard_normal((n, d)) * scale) @ q.T * 2.0 + 0.3 * rng.standard_normal(d)
            tensors["blocks.%d.mlp.hook_pre" % layer] = pre.astype(np.float16)
            tensors["blocks.%d.mlp.hook_post" % layer] = gelu_tanh(pre).astype(np.float16)
        path = os.path.join(out, "sweep-w%d.safetensors" % d)
        npsafetensors.save(path, tensors, metadata={"source": "tools/make_example_acts.py"})
        print(path)


if __name__ == "__main__":
    main()
