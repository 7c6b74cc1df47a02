#!/usr/bin/python3
"""The memory limit, the plan and the layer-group schedule, end to end.

Random-weight checkpoints (tools/make_random_model.py: a BF16 LLaMA and a GPT-2, whose learned
positions take the embedding path) run through `ffnscope run` without a limit (one pass) and
under limits the plan itself says force several passes: hidden states between passes in memory,
then in a temporary file. Every metric of the grouped runs must equal the single pass to 1e-6
relative (the same layers see the same inputs in the same batches, so in practice they are
identical), the plan line must say how many passes ran, nothing may be left in the results folder
but the results, and peak RSS as /usr/bin/time -v reports it must stay under the limit. A limit
below one layer's need is refused by `plan` (exit 2) and by `run`, naming the model.

usage: check_memory.py FFNSCOPE
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_random_model  # noqa: E402

TOL = 1e-6
# Under AddressSanitizer (scripts/test.sh exports ASAN_OPTIONS for that build) peak RSS includes
# the shadow memory and the quarantine: the limits are checked by the release build's run.
SANITIZED = "ASAN_OPTIONS" in os.environ
KEYS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")
failures = []



def streamed_resident(o):
    """Streamed BF16 weights (layers of equal size): the mapped file's globals and one layer, as
    stored, and that layer in float32; the other layers' stored bytes are dropped once widened."""
    layer_f32 = o["weights_layer_f32_bytes"]
    return o["weights_stored_bytes"] - (o["n_layers"] - 1) * layer_f32 // 2 + layer_f32


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def quiet(argv):
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            make_random_model.main(argv)
        finally:
            sys.stdout = old


def timed(argv, cwd):
    """Runs argv under /usr/bin/time -v: (returncode, stdout, stderr without time's report, peak RSS bytes)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    err = p.stderr.split("\tCommand being timed")[0]
    return p.returncode, p.stdout, err, int(m.group(1)) * 1024 if m else None


def metrics(out):
    rows = {}
    for r in csv.DictReader(open(os.path.join(out, "metrics.csv"))):
        rows[(r["model"], int(r["layer"]), r["site"])] = r
    return rows


def same(a, b, what):
    check(set(a) == set(b), "%s: rows %s vs %s" % (what, sorted(a), sorted(b)))
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        check(x["tokens"] == y["tokens"] and x["warnings"] == y["warnings"], "%s %s: tokens/warnings" % (what, key))
        for k in KEYS:
            u, v = float(x[k] or "nan"), float(y[k] or "nan")
            ok = (np.isnan(u) and np.isnan(v)) or abs(u - v) <= TOL * max(abs(v), 1e-12)
            check(ok, "%s %s %s: %.12g vs single pass %.12g" % (what, key, k, u, v))


def streamed(ffn, tmp, tok):
    """A BF16 model whose weights dominate (d 512, FFN 96): the plan keeps them stored and widens
    one layer at a time. Under a limit that widening them all would break, its metrics must equal
    the unbounded run's (1e-6) and the PyTorch reference's over the same token ids (1e-4, numpy
    float64 metrics), with peak RSS under the limit."""
    import reference  # noqa: E402  (torch: only this case needs it)
    import np_metrics  # noqa: E402
    quiet(["--out", os.path.join(tmp, "models"), "--shape", "llama", "--name", "wide-bf16", "--d", "512",
           "--layers", "4", "--heads", "8", "--ffn", "96", "--vocab", "1024", "--context", "64", "--dtype", "BF16"])
    cfg = os.path.join(tmp, "wide.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\ncorpus: {path: corpus.txt, tokens: 1024, seq_len: 64, batch: 2}\n"
                "capture: {sites: [post, pre]}\nmodels:\n  - {path: models/wide-bf16, tokenizer: %s}\n" % tok)
    p = subprocess.run([ffn, "plan", cfg, "--format", "json"], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 0, "wide plan: " + p.stderr)
    if p.returncode:
        return
    o = json.loads(p.stdout)[0]
    check(o["stream_weights"] is True, "a BF16 checkpoint keeps its weights stored")
    check(o["weights_resident_bytes"] == streamed_resident(o),
          "stored globals and one stored layer plus one float32 layer: %r" % o)
    saved = o["weights_stored_bytes"] - o["weights_layer_f32_bytes"]   # what widening all would add
    check(saved > 4 << 20, "streaming saves %d bytes" % saved)
    # a limit below what the float32 weights alone would need beside everything else
    limit = o["need_bytes"] + saved // 2
    p = subprocess.run([ffn, "plan", cfg, "--format", "json", "--memory-limit", str(limit)], cwd=tmp,
                       capture_output=True, text=True)
    s = json.loads(p.stdout)[0] if p.returncode == 0 else {}
    check(s.get("stream_weights") is True and s.get("fits") is True and s.get("peak_bytes", limit + 1) <= limit,
          "under %d: streamed plan %r" % (limit, s))
    rc, _, err, _ = timed([ffn, "run", cfg, "--out", os.path.join(tmp, "wide-free")], tmp)
    check(rc == 0, "wide unbounded: " + err)
    rc2, _, err2, rss = timed([ffn, "run", cfg, "--out", os.path.join(tmp, "wide-streamed"), "--memory-limit",
                               str(limit)], tmp)
    check(rc2 == 0 and "one layer at a time" in err2, "wide streamed: exit %d: %s" % (rc2, err2))
    check(SANITIZED or (rss is not None and rss < limit), "streamed: peak RSS %s over the limit %d" % (rss, limit))
    if rc or rc2:
        return
    got = metrics(os.path.join(tmp, "wide-streamed"))
    same(got, metrics(os.path.join(tmp, "wide-free")), "streamed")
    ids = json.loads(subprocess.run([ffn, "tokenize", tok, os.path.join(tmp, "corpus.txt"), "--format", "json"],
                                    capture_output=True, text=True).stdout)
    seqs = np.array(ids[:1024], dtype=np.int64)
    acts = reference.capture(reference.load_model(os.path.join(tmp, "models", "wide-bf16")), seqs, 64, 2, None,
                             ("post", "pre"))
    worst = 0.0
    for (layer, site), x in acts.items():
        ref = np_metrics.metrics(x.astype(np.float64), concentration_k=0.1)
        row = got.get(("wide-bf16", layer, site))
        check(row is not None, "streamed: row %d %s" % (layer, site))
        for k in KEYS:
            if row is not None and not np.isnan(ref[k]):
                worst = max(worst, abs(float(row[k] or "nan") - ref[k]) / max(abs(ref[k]), 1e-12))
    check(worst <= 1e-4, "streamed vs the PyTorch reference: %.3g relative" % worst)
    print("streamed weights: peak RSS %d KiB under %d; vs reference %.2g" % (rss // 1024, limit, worst))


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-memory-")
    models = os.path.join(tmp, "models")
    quiet(["--out", models, "--shape", "llama", "--name", "llama-bf16", "--d", "64", "--layers", "6", "--heads",
           "4", "--ffn", "384", "--vocab", "1024", "--context", "64", "--dtype", "BF16"])
    quiet(["--out", models, "--shape", "gpt2", "--name", "gpt2", "--d", "64", "--layers", "5", "--heads", "4",
           "--ffn", "320", "--vocab", "1024", "--context", "64"])
    rng = np.random.default_rng(3)
    words = ["anne", "walked", "to", "the", "sea", "and", "captain", "wentworth", "said", "nothing", "of", "it",
             "lady", "russell", "thought", "persuasion", "was", "a", "duty", "then", "evening", "came", "on"]
    with open(os.path.join(tmp, "corpus.txt"), "w") as f:
        f.write(" ".join(words[i] for i in rng.integers(len(words), size=6000)))
    tok = os.path.join(ROOT, "models", "tokenizer.json")
    cfg = os.path.join(tmp, "mem.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\n"
                "corpus: {path: corpus.txt, tokens: 4096, seq_len: 64, batch: 6}\n"
                "capture: {sites: [post, pre], layers: all}\n"
                "models:\n"
                "  - {path: models/llama-bf16, tokenizer: %s}\n"
                "  - {path: models/gpt2, tokenizer: %s}\n" % (tok, tok))

    p = subprocess.run([ffn, "plan", cfg, "--format", "json"], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 0, "plan: exit %d: %s" % (p.returncode, p.stderr))
    plans = {o["model"]: o for o in json.loads(p.stdout)}
    check(set(plans) == {"llama-bf16", "gpt2"}, "plan models %s" % sorted(plans))
    for o in plans.values():
        check(o["passes"] == 1 and o["peak_bytes"] <= o["limit_bytes"], "%s: unbounded plan %r" % (o["model"], o))
        check(o["accumulator_bytes"] == 8 * o["ffn_width"] ** 2 + 8 * o["ffn_width"], o["model"] + " accumulator")
        check(o["residual_bytes"] == o["tokens"] * o["d_model"] * 4, o["model"] + " residual")
    bf16 = plans["llama-bf16"]
    check(bf16["stream_weights"] and bf16["weights_resident_bytes"] == streamed_resident(bf16),
          "BF16 weights stay stored, one layer widened: %r" % bf16)

    base = os.path.join(tmp, "single")
    rc, _, err, _ = timed([ffn, "run", cfg, "--out", base], tmp)
    check(rc == 0, "single pass: exit %d: %s" % (rc, err))
    check(re.search(r"^llama-bf16: plan: 1 pass, 6 layers", err, re.M) is not None, "plan line: " + err)
    ref = metrics(base) if rc == 0 else {}

    # the largest need decides: every model's one layer fits, and each runs in several passes
    layer = max(2 * o["accumulator_bytes"] for o in plans.values())
    need = max(o["need_bytes"] for o in plans.values())
    residual = max(o["residual_bytes"] for o in plans.values())
    cases = [("in-memory", need + residual + layer, False), ("spilled", need + residual // 2, True)]
    for name, limit, disk in cases:
        out = os.path.join(tmp, name)
        limit_arg = str(limit)
        p = subprocess.run([ffn, "plan", cfg, "--format", "json", "--memory-limit", limit_arg], cwd=tmp,
                           capture_output=True, text=True)
        check(p.returncode == 0, "%s plan: exit %d: %s" % (name, p.returncode, p.stderr))
        for o in json.loads(p.stdout) if p.returncode == 0 else []:
            check(o["passes"] > 1, "%s: %s plans %d passes" % (name, o["model"], o["passes"]))
            check(o["residual_on_disk"] == (disk and o["need_bytes"] + o["residual_bytes"] > limit),
                  "%s: %s residual_on_disk %r" % (name, o["model"], o["residual_on_disk"]))
            check(o["peak_bytes"] <= limit, "%s: %s peak %d over %d" % (name, o["model"], o["peak_bytes"], limit))
        rc, _, err, rss = timed([ffn, "run", cfg, "--out", out, "--memory-limit", limit_arg], tmp)
        check(rc == 0, "%s: exit %d: %s" % (name, rc, err))
        check(re.search(r"^llama-bf16: plan: \d+ passes \(layers 0-\d+,", err, re.M) is not None,
              "%s plan line: %s" % (name, err))
        if disk:
            check("hidden states" in err and "temporary file" in err, name + ": the plan says the file: " + err)
        check(SANITIZED or (rss is not None and rss < limit), "%s: peak RSS %s over the limit %d" % (name, rss, limit))
        if rc == 0:
            same(metrics(out), ref, name)
            left = sorted(f for f in os.listdir(out) if f.startswith("."))
            check(not left, "%s: left behind %s" % (name, left))

    # below one layer: refused by name, before loading
    small = str(min(o["need_bytes"] for o in plans.values()) - 4096)
    p = subprocess.run([ffn, "plan", cfg, "--memory-limit", small], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 2, "plan under one layer: exit %d" % p.returncode)
    check(re.search(r"ffnscope: error: .*(llama-bf16|gpt2): needs at least .* the memory limit is", p.stderr)
          is not None, "plan refusal line: " + p.stderr)
    check(p.stderr.count("\n") == 1, "one error line: " + p.stderr)
    p = subprocess.run([ffn, "run", cfg, "--memory-limit", small, "--out", os.path.join(tmp, "refused")], cwd=tmp,
                       capture_output=True, text=True)
    check(p.returncode == 2, "run under one layer: exit %d: %s" % (p.returncode, p.stderr))
    check("needs at least" in p.stderr and "gpt2" in p.stderr and "llama-bf16" in p.stderr,
          "run lists both refusals: " + p.stderr)
    p = subprocess.run([ffn, "run", cfg, "--memory-limit", "12X"], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 2 and "--memory-limit" in p.stderr, "bad size: exit %d %s" % (p.returncode, p.stderr))

    streamed(ffn, tmp, tok)

    if failures:
        print("%d failure(s); files kept in %s" % (len(failures), tmp))
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("memory: grouped runs equal the single pass; limits kept; refusals named; streamed weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
