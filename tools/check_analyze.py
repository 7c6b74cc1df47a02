#!/usr/bin/python3
"""Cross-checks `ffnscope analyze` against the numpy float64 pipeline
(np.cov + np.linalg.eigvalsh, tools/np_metrics.py) on random, well-conditioned
activation matrices: .npy in float16/32/64, 2-D and 3-D, and safetensors files
holding several tensors (F16, BF16, F32, F64). Every metric must agree to
1e-6 relative; the CSV output must carry the same numbers as the JSON.

usage: check_analyze.py FFNSCOPE [--seed S] [--quick]
Exit status 0 when every case agrees, 1 otherwise.
"""
import argparse
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import np_metrics  # noqa: E402
import npsafetensors  # noqa: E402

RTOL = 1e-6
FLOAT_KEYS = ["hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha"]
EXACT_KEYS = ["tokens", "width", "concentration_k", "warnings"]


def activations(rng, rows, width, decay, dtype=np.float32):
    """Rows with a clearly non-degenerate spectrum: independent Gaussian
    coordinates scaled by i^-decay/2 (eigenvalues ~ i^-decay), rotated by a
    random orthogonal matrix, plus a mean offset so centring matters."""
    scales = np.arange(1, width + 1, dtype=np.float64) ** (-decay / 2)
    q, _ = np.linalg.qr(rng.standard_normal((width, width)))
    offset = rng.standard_normal(width) * 0.5 + 1.0
    out = np.empty((rows, width), dtype=dtype)
    for i in range(0, rows, 8192):
        n = min(8192, rows - i)
        z = rng.standard_normal((n, width)) * scales
        out[i:i + n] = (z @ q.T + offset).astype(dtype)
    return out


def run_analyze(exe, path, fmt, extra=()):
    p = subprocess.run([exe, "analyze", path, "--format", fmt, *extra], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (path, p.returncode, p.stderr.strip()))
    return p.stdout


def close(got, want):
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None
    if got is None:
        return False
    return abs(got - want) <= RTOL * max(abs(want), 1e-300)


def compare(label, got, want):
    bad = []
    for k in EXACT_KEYS:
        if got[k] != want[k]:
            bad.append("%s: got %r want %r" % (k, got[k], want[k]))
    for k in FLOAT_KEYS:
        if not close(got[k], want[k]):
            rel = abs(got[k] - want[k]) / abs(want[k]) if got[k] is not None and want[k] else float("inf")
            bad.append("%s: got %r want %r (rel %.2e)" % (k, got[k], want[k], rel))
    worst = max((abs(got[k] - want[k]) / abs(want[k]) for k in FLOAT_KEYS
                 if got[k] is not None and want[k] not in (None, 0.0) and not math.isnan(want[k])), default=0.0)
    print("%-58s %s  worst rel %.1e" % (label, "ok  " if not bad else "FAIL", worst))
    for b in bad:
        print("    " + b)
    return not bad


def check_csv(text, rows):
    parsed = list(csv.DictReader(io.StringIO(text)))
    if len(parsed) != len(rows):
        return False
    for p, r in zip(parsed, rows):
        for k in FLOAT_KEYS:
            want = r[k]
            if (p[k] == "") != (want is None) or (want is not None and float(p[k]) != want):
                print("    csv %s: %r vs json %r" % (k, p[k], want))
                return False
        if int(p["tokens"]) != r["tokens"] or p["warnings"] != r["warnings"] or p["tensor"] != r["tensor"]:
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ffnscope")
    ap.add_argument("--seed", type=int, default=20250521)
    ap.add_argument("--quick", action="store_true", help="skip the largest cases")
    args = ap.parse_args()
    exe = os.path.abspath(args.ffnscope)
    rng = np.random.default_rng(args.seed)
    ok = True
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="ffnscope-check-") as tmp:
        cases = []  # (label, path, [(tensor name, reference array)], extra args)

        def npy(label, arr, extra=()):
            path = os.path.join(tmp, "case%d.npy" % len(cases))
            np.save(path, arr)
            cases.append((label, path, [("", arr)], extra))

        npy("npy f32 2-D 5000x64", activations(rng, 5000, 64, 1.0))
        npy("npy f64 2-D 3000x200", activations(rng, 3000, 200, 0.8, np.float64))
        npy("npy f16 3-D 40x128x256", activations(rng, 40 * 128, 256, 0.7, np.float16).reshape(40, 128, 256))
        npy("npy f32 3-D 25x200x128, k=20", activations(rng, 5000, 128, 1.2).reshape(25, 200, 128),
            ("--concentration-k", "20"))
        npy("npy f64 3-D 7x300x64", activations(rng, 2100, 64, 1.5, np.float64).reshape(7, 300, 64))
        npy("npy f32 rank-limited 100x128", activations(rng, 100, 128, 0.5))
        bad_rows = activations(rng, 4000, 96, 1.0)
        bad_rows[[3, 17, 1000, 3999], [0, 40, 95, 7]] = [np.nan, np.inf, -np.inf, np.nan]
        bad_rows[2500, 5] = np.nan
        npy("npy f32 with 5 NaN/Inf rows 4000x96", bad_rows)
        if not args.quick:
            npy("npy f32 2-D 100000x96", activations(rng, 100000, 96, 1.0))
            npy("npy f32 2-D 12000x1100", activations(rng, 12000, 1100, 1.0))
            npy("npy f16 2-D 9000x640", activations(rng, 9000, 640, 0.9, np.float16))

        st = os.path.join(tmp, "acts.safetensors")
        a32 = activations(rng, 2000, 128, 1.0)
        a16 = activations(rng, 16 * 128, 96, 0.8, np.float16).reshape(16, 128, 96)
        a64 = activations(rng, 1500, 80, 1.1, np.float64)
        abf = activations(rng, 3000, 64, 1.3)
        bits = npsafetensors.bf16_bits(abf)
        npsafetensors.save(st, {
            "blocks.0.mlp.hook_post": a32,
            "model.layers.1.mlp.pre": a16,
            "h.2.mlp.post": a64,
            "transformer.h.3.mlp.hook_pre": (bits, "BF16"),
        }, metadata={"format": "ffnscope-test"})
        cases.append(("safetensors F32/F16/F64/BF16, 4 tensors", st, [
            ("blocks.0.mlp.hook_post", a32), ("model.layers.1.mlp.pre", a16),
            ("h.2.mlp.post", a64), ("transformer.h.3.mlp.hook_pre", npsafetensors.bf16_to_f32(bits).reshape(abf.shape)),
        ], ()))

        for label, path, tensors, extra in cases:
            k_param = float(extra[1]) if extra else 0.1
            rows = json.loads(run_analyze(exe, path, "json", extra))
            if len(rows) != len(tensors):
                print("%s: %d objects for %d tensors" % (label, len(rows), len(tensors)))
                ok = False
                continue
            by_name = {r["tensor"]: r for r in rows}
            for name, arr in tensors:
                want = np_metrics.metrics(arr, k_param)
                if isinstance(want["alpha"], float) and math.isnan(want["alpha"]):
                    want["alpha"] = None
                got = by_name.get(name)
                if got is None or got["file"] != path:
                    print("%s: tensor %r missing or file wrong" % (label, name))
                    ok = False
                    continue
                ok &= compare(label + (" " + name if name else ""), got, want)
            if not check_csv(run_analyze(exe, path, "csv", extra), rows):
                print("%s: CSV output differs from JSON" % label)
                ok = False
        one = json.loads(run_analyze(exe, st, "json", ("--tensor", "h.2.mlp.post")))
        if [r["tensor"] for r in one] != ["h.2.mlp.post"]:
            print("--tensor did not select exactly one tensor: %r" % [r["tensor"] for r in one])
            ok = False
    print("%s in %.1fs" % ("all agree" if ok else "MISMATCH", time.time() - t0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
