#!/usr/bin/python3
"""ffnscope's forward passes against the PyTorch reference (tools/reference.py).

For every random-weight layout of tools/make_random_model.py, and for one bundled model per
family under models/ (ids from `ffnscope tokenize` on held-out text), runs the same token ids
through tests/model/model_dump (ffnscope) and reference.capture (PyTorch), and checks EVERY
layer and site:
  activations: max |ffnscope - reference| / max |reference| <= 1e-4
  metrics:     ffnscope's metrics of its own activations vs numpy float64 (tools/np_metrics.py)
               on the reference activations, relative difference <= 1e-5

usage: check_forward.py --dump MODEL_DUMP --ffnscope FFNSCOPE [--keep DIR] [--only LAYOUT,...]
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import make_random_model  # noqa: E402
import np_metrics  # noqa: E402
import reference  # noqa: E402

ACT_TOL = 1e-4
METRIC_TOL = 1e-5
METRICS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")
# 1024 tokens in batches of 9 and 7 sequences (buffers reused, shrunk); with THREADS the first
# batch's 576 rows are split among threads mid-sequence (products split from 512 rows up).
SEQ_LEN, BATCH, N_SEQ = 64, 9, 16
THREADS = "3"

HELD_OUT = ("Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who, for his own "
            "amusement, never took up any book but the Baronetage; there he found occupation for an "
            "idle hour, and consolation in a distressed one.")


def run_dump(dump, model_dir, ids, out):
    ids_path = os.path.join(out, "ids.json")
    with open(ids_path, "w") as f:
        json.dump([int(i) for i in ids], f)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=THREADS)   # the split, whatever the cores
    p = subprocess.run([dump, model_dir, ids_path, str(SEQ_LEN), str(BATCH), os.path.join(out, "c")],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise AssertionError("model_dump %s failed (%d): %s" % (model_dir, p.returncode, p.stderr.strip()))
    with open(os.path.join(out, "c", "metrics.json")) as f:
        return {key_of(r): r for r in json.load(f)}


def key_of(r):
    """(layer, site) of a dense FFN, (layer, site, expert) of a routed one (expert an index or
    "shared"), as reference.capture names them."""
    if r.get("expert") is None:
        return (r["layer"], r["site"])
    return (r["layer"], r["site"], r["expert"])


def npy_name(key):
    tag = "" if len(key) == 2 else "_expert%s" % key[2]
    return "layer%d_%s%s.npy" % (key[0], key[1], tag)


def key_text(key):
    return "layer %d %s" % key[:2] + ("" if len(key) == 2 else " expert %s" % key[2])


def is_nan(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def rel_metric(a, b):
    """Relative difference; NaN (alpha of a too short spectrum) must match NaN."""
    if is_nan(a) or is_nan(b):
        return 0.0 if is_nan(a) and is_nan(b) else math.inf
    return abs(a - b) / max(abs(b), 1e-300)


def compare(name, model_dir, ids, dump, work):
    out = os.path.join(work, name)
    os.makedirs(out, exist_ok=True)
    ours = run_dump(dump, model_dir, ids, out)
    model = reference.load_model(model_dir)
    ref = reference.capture(model, np.asarray(ids), SEQ_LEN, BATCH, None, ("post", "pre"))
    if set(ref) != set(ours):
        raise AssertionError("%s: captured (layer, site, expert) sets differ: %s vs %s"
                             % (name, sorted(map(str, ours)), sorted(map(str, ref))))
    worst_act, worst_metric, failures, experts, empty = 0.0, 0.0, [], 0, 0
    for key in sorted(ref, key=lambda k: tuple(str(p) for p in k)):
        what = key_text(key)
        r = ref[key]
        c = np.load(os.path.join(out, "c", npy_name(key)))
        experts += len(key) == 3
        if c.shape != r.shape or ours[key]["tokens"] != r.shape[0]:
            failures.append("%s: shape %s (%d tokens), reference %s" % (what, c.shape, ours[key]["tokens"], r.shape))
            continue
        if r.shape[0] < 2:  # an expert no token (or one) was routed to: its count is all there is
            empty += 1
            continue
        scale = float(np.max(np.abs(r)))
        act = float(np.max(np.abs(c.astype(np.float64) - r))) / scale
        worst_act = max(worst_act, act)
        if not act <= ACT_TOL:
            failures.append("%s: activations differ by %.3g relative" % (what, act))
        want = np_metrics.metrics(r.astype(np.float64), concentration_k=0.1)
        for m in METRICS:
            d = rel_metric(ours[key][m], want[m])
            worst_metric = max(worst_metric, d)
            if not d <= METRIC_TOL:
                failures.append("%s: %s %.10g vs numpy %.10g (%.3g relative)"
                                % (what, m, ours[key][m], want[m], d))
    print("%-24s %2d layer-sites  activations %.2e  metrics %.2e  %s%s"
          % (name, len(ref), worst_act, worst_metric, "ok" if not failures else "FAIL",
             "  (%d expert captures, %d with < 2 tokens)" % (experts, empty) if experts else ""))
    for f in failures:
        print("    " + f)
    return not failures


def bundled_models():
    """One bundled model per family (the narrowest), when the demo models exist."""
    picks = []
    for fam in ("gpt2", "llama", "ngpt"):
        dirs = [d for d in glob.glob(os.path.join(ROOT, "models", fam + "-*w*"))
                if os.path.isfile(os.path.join(d, "config.json"))]
        if dirs:
            width = lambda d: int(re.search(r"w(\d+)$", d).group(1)) if re.search(r"w(\d+)$", d) else 1 << 30
            picks.append(min(dirs, key=width))
    return picks


def held_out_ids(ffnscope, model_dir, work):
    text = HELD_OUT
    austen = os.path.join(ROOT, "data", "austen", "persuasion.txt")
    if os.path.isfile(austen):
        with open(austen, encoding="utf-8") as f:
            text = f.read(20000)
    path = os.path.join(work, "held_out.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    p = subprocess.run([ffnscope, "tokenize", model_dir, path, "--format", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("ffnscope tokenize %s failed: %s" % (model_dir, p.stderr.strip()))
    ids = json.loads(p.stdout)
    need = SEQ_LEN * N_SEQ
    if len(ids) < need:
        ids = (ids * (need // max(len(ids), 1) + 1))
    return ids[:need]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--ffnscope", required=True)
    ap.add_argument("--keep", help="work in this folder and keep it")
    ap.add_argument("--only", help="comma-separated random layouts")
    a = ap.parse_args()
    reference.torch.set_num_threads(1)
    work = a.keep or tempfile.mkdtemp(prefix="ffnscope-model-")
    ok = True
    try:
        layouts = a.only.split(",") if a.only else list(make_random_model.LAYOUTS)
        rng = np.random.default_rng(7)
        for i, name in enumerate(layouts):
            d = make_random_model.make(os.path.join(work, "models"), name, make_random_model.LAYOUTS[name], 100 + i)
            with open(os.path.join(d, "config.json")) as f:
                vocab = json.load(f)["vocab_size"]
            ids = rng.integers(0, vocab, SEQ_LEN * N_SEQ)
            try:
                ok &= compare(name, d, ids, a.dump, work)
            except AssertionError as e:  # one layout failing must not hide how the others fare
                print("%-24s FAIL\n    %s" % (name, e))
                ok = False
        if not a.only:
            bundled = bundled_models()
            if not bundled:
                print("bundled models: none under models/ yet")
            for d in bundled:
                ok &= compare("bundled/" + os.path.basename(d), d, held_out_ids(a.ffnscope, d, work), a.dump, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
