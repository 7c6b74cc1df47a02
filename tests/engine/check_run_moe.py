#!/usr/bin/python3
"""`ffnscope run` on mixture-of-experts checkpoints against the PyTorch reference and numpy.

Random-weight checkpoints of the four MoE layouts (tools/make_random_model.py) run through the
real binary, both sites of every layer. The reference side cuts the same token stream the same
way and captures every expert's rows with tools/reference.py; from those activations numpy
computes, per routed layer (README "Mixture of experts"):
  load          rows routed to each expert: must equal ffnscope's counts exactly, and every
                expert (those with 0 or 1 token included) has its row in metrics.csv/json
  entropy       -sum p_e ln p_e of the load, and over ln E: within 1e-6
  overlap       mean over pairs of experts with more than k rows of ||U_a^T U_b||_F^2 / k,
                U_e the top-k eigenvectors (numpy eigh) of expert e's float64 covariance:
                within 1e-5
An expert with fewer than 2 tokens (the olmoe layout's expert 4 gets none) must show its count,
empty metrics and the warning no_tokens / too_few_tokens; and the results directory must load
back (`ffnscope report` reads it through the same loader as the dashboard). Each layout is also
written as transformers 5 saves it (each layer's experts stacked into mlp.experts.gate_up_proj
[E, 2 x width, d], gate rows first, and mlp.experts.down_proj [E, d, width]; Mixtral's
block_sparse_moe renamed mlp), and must give exactly the per-expert files' rows.

usage: check_run_moe.py FFNSCOPE
"""
import csv
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_run_models as crm  # noqa: E402  (corpus, ids and context helpers)

make_random_model, reference = crm.make_random_model, crm.reference

LAYOUTS = ("mixtral", "qwen2-moe", "qwen3-moe", "olmoe")
TOKENS, SEQ_LEN, BATCH, K = 1000, 100, 4, 8
ENTROPY_TOL, OVERLAP_TOL = 1e-6, 1e-5
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def np_overlap(acts, k):
    """Mean over pairs of experts with > k rows of ||U_a^T U_b||_F^2 / k; (nan, 0) without a pair."""
    bases = []
    for x in acts:
        if x.shape[0] <= k:
            continue
        c = np.cov(x.astype(np.float64), rowvar=False, ddof=1)
        w, v = np.linalg.eigh(c)
        bases.append(v[:, np.argsort(w)[::-1][:k]])
    pairs = [np.sum((a.T @ b) ** 2) / k for a, b in itertools.combinations(bases, 2)]
    return (float(np.mean(pairs)) if pairs else math.nan), len(pairs)


def close(a, b, tol):
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None
    return a is not None and abs(a - b) <= tol


def compare(name, d, seqs, rows, moe, k):
    acts = reference.capture(reference.load_model(d), seqs.reshape(-1), seqs.shape[1], BATCH, None, ("post", "pre"))
    routed = sorted({key[0] for key in acts if len(key) == 3})
    check(routed, "%s: no routed layer captured" % name)
    got = {(int(r["layer"]), r["site"], r["expert"] or None): r for r in rows if r["model"] == name}
    for key, x in acts.items():
        ck = key if len(key) == 3 else key + (None,)
        ck = (ck[0], ck[1], None if ck[2] is None else str(ck[2]))
        r = got.get(ck)
        check(r is not None, "%s: no metrics.csv row for %s" % (name, ck))
        if r is None:
            continue
        check(int(r["tokens"]) == x.shape[0], "%s %s: tokens %s vs reference %d" % (name, ck, r["tokens"], x.shape[0]))
        if x.shape[0] < 2:
            want = "no_tokens" if x.shape[0] == 0 else "too_few_tokens"
            check(r["warnings"] == want, "%s %s: warnings %r, expected %r" % (name, ck, r["warnings"], want))
            check(r["soft_rank"] == "" and r["hard_rank"] == "", "%s %s: metrics not empty" % (name, ck))
    entries = {e["layer"]: e for e in moe if e["model"] == name}
    check(sorted(entries) == routed, "%s: moe layers %s vs routed %s" % (name, sorted(entries), routed))
    worst = 0.0
    for layer in routed:
        e = entries.get(layer)
        if e is None:
            continue
        experts = sorted(key[2] for key in acts if len(key) == 3 and key[0] == layer and key[1] == "post"
                         and key[2] != "shared")
        load = [acts[(layer, "post", x)].shape[0] for x in experts]
        check(e["load"] == load, "%s layer %d: load %s vs reference %s" % (name, layer, e["load"], load))
        check(e["experts"] == len(experts), "%s layer %d: experts %s" % (name, layer, e["experts"]))
        p = np.asarray(load, dtype=np.float64) / sum(load)
        h = float(-np.sum(p[p > 0] * np.log(p[p > 0])))
        check(close(e["entropy"], h, ENTROPY_TOL), "%s layer %d: entropy %r vs %r" % (name, layer, e["entropy"], h))
        hn = h / math.log(len(experts))
        check(close(e["entropy_norm"], hn, ENTROPY_TOL),
              "%s layer %d: entropy_norm %r vs %r" % (name, layer, e["entropy_norm"], hn))
        check(e["overlap_k"] == k, "%s layer %d: overlap_k %r" % (name, layer, e["overlap_k"]))
        for site in ("post", "pre"):
            want, pairs = np_overlap([acts[(layer, site, x)] for x in experts], k)
            got_o = e["overlap"][site]
            check(e["overlap_pairs"][site] == pairs,
                  "%s layer %d %s: overlap pairs %r vs %d" % (name, layer, site, e["overlap_pairs"][site], pairs))
            check(close(got_o, want, OVERLAP_TOL), "%s layer %d %s: overlap %r vs numpy %r"
                  % (name, layer, site, got_o, want))
            if got_o is not None and not math.isnan(want):
                worst = max(worst, abs(got_o - want))
    n_few = sum(1 for key, x in acts.items() if len(key) == 3 and x.shape[0] < 2)
    print("%-10s routed layers %s, overlap max |diff| %.2e, %d expert captures with < 2 tokens"
          % (name, routed, worst, n_few))
    return n_few


def write_v5(src, dst):
    """src's checkpoint in transformers 5's layout of the experts, same dtype, same config."""
    import shutil
    import npsafetensors
    os.makedirs(dst)
    for f in ("config.json", "tokenizer.json"):
        shutil.copy(os.path.join(src, f), dst)
    w, _ = npsafetensors.load(os.path.join(src, "model.safetensors"))
    w = {k.replace(".block_sparse_moe.", ".mlp."): np.asarray(v, np.float32) for k, v in w.items()}
    names = {"w1": "gate_proj", "w3": "up_proj", "w2": "down_proj"}
    out, experts = {}, {}
    for k, v in w.items():
        parts = k.split(".")
        if "experts" in parts and parts[parts.index("experts") + 1].isdigit():
            i = parts.index("experts")
            experts.setdefault(".".join(parts[:i]), {})[(int(parts[i + 1]), names.get(parts[i + 2], parts[i + 2]))] = v
        else:
            out[k] = v
    for mlp, ex in experts.items():
        n = 1 + max(e for e, _ in ex)
        out[mlp + ".experts.gate_up_proj"] = np.stack([np.concatenate([ex[(e, "gate_proj")], ex[(e, "up_proj")]])
                                                       for e in range(n)])
        out[mlp + ".experts.down_proj"] = np.stack([ex[(e, "down_proj")] for e in range(n)])
    with open(os.path.join(src, "model.safetensors"), "rb") as f:   # the stored dtype, kept (BF16 or F32)
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    dtype = next(v["dtype"] for k, v in header.items() if k != "__metadata__")
    make_random_model.write_checkpoint(dst, sorted(out.items()), dtype, 1)
    return len(experts)


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-runmoe-")
    models_dir = os.path.join(tmp, "models")
    crm.ROOT_MODELS.append(models_dir)
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            make_random_model.main(["--out", models_dir, "--only", ",".join(LAYOUTS)])
        finally:
            sys.stdout = old
    stacked = {name: write_v5(os.path.join(models_dir, name), os.path.join(models_dir, name + "-v5"))
               for name in LAYOUTS}
    text = crm.corpus_text()
    text_path = os.path.join(tmp, "corpus.txt")
    with open(text_path, "w") as f:
        f.write(text)
    cfg = os.path.join(tmp, "moe.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\n"
                "corpus: {path: corpus.txt, tokens: %d, seq_len: %d, batch: %d}\n"
                "capture: {sites: [post, pre], layers: all, refresh_tokens: 256}\n"
                "metrics: {overlap_k: %d}\n"
                "models:\n  - glob: models/*\n" % (TOKENS, SEQ_LEN, BATCH, K))
    out = os.path.join(tmp, "out")
    p = subprocess.run([ffn, "run", cfg, "--out", out], cwd=tmp, capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, "run: exit %d: %s" % (p.returncode, p.stderr))
    if p.returncode == 0:
        rows = list(csv.DictReader(open(os.path.join(out, "metrics.csv"))))
        js = json.load(open(os.path.join(out, "metrics.json")))
        few = {}
        for name in LAYOUTS:
            d = os.path.join(models_dir, name)
            seq_len = min(SEQ_LEN, crm.context_of(d))
            ids = np.array(crm.ids_for(ffn, d, text_path, text), dtype=np.int64)
            n_seq = TOKENS // seq_len
            seqs = ids[: n_seq * seq_len].reshape(n_seq, seq_len)
            few[name] = compare(name, d, seqs, rows, js.get("moe", []), K)
        check(few["olmoe"] > 0, "olmoe: no expert with < 2 tokens to check (its expert 4 should get none)")
        # transformers 5's stacked experts: the PyTorch reference (capture_torch.py's model) reads them
        # into the same parameters, and ffnscope gives the very same rows
        for name in LAYOUTS:
            ra = reference.load_model(os.path.join(models_dir, name)).hf_tensors()
            rb = reference.load_model(os.path.join(models_dir, name + "-v5")).hf_tensors()
            check(set(ra) == set(rb) and all(np.array_equal(np.asarray(ra[k]), np.asarray(rb[k])) for k in ra),
                  "%s: the reference reads the transformers 5 layout into the same parameters" % name)
        cols = ("layer", "site", "expert", "width", "tokens", "hard_rank", "soft_rank", "sui", "alpha", "warnings")
        for name in LAYOUTS:
            a = sorted(tuple(r[c] for c in cols) for r in rows if r["model"] == name)
            b = sorted(tuple(r[c] for c in cols) for r in rows if r["model"] == name + "-v5")
            check(stacked[name] > 0 and a and a == b, "%s: transformers 5 layout (%d routed layers stacked) gives "
                  "%d rows, the per-expert files %d, %d differ" % (name, stacked[name], len(b), len(a),
                                                                  sum(x != y for x, y in zip(a, b))))
        # the printed table: one line per metrics.csv row, its expert and token count ("-" when dense)
        lines = p.stdout.split("\n\nscaling fits")[0].strip().splitlines()
        head = lines[0].split()
        check(head[4:7] == ["site", "expert", "tokens"], "run table header %r" % lines[0])
        printed = sorted((f[0], f[3], f[4], f[5], f[6]) for f in (l.split() for l in lines[1:]))
        want = sorted((r["model"], r["layer"], r["site"], r["expert"] or "-", r["tokens"]) for r in rows)
        check(printed == want, "run table rows (model, layer, site, expert, tokens) differ from metrics.csv: "
              "%d printed, %d in the file; first differences %r" %
              (len(printed), len(want), [x for x in zip(printed, want) if x[0] != x[1]][:3]))
        # the written results load back, rows without a spectrum included
        r = subprocess.run([ffn, "report", out, "-o", os.path.join(tmp, "report.html")], capture_output=True,
                           text=True, timeout=300)
        check(r.returncode == 0, "report on the results: exit %d: %s" % (r.returncode, r.stderr))
    if failures:
        print("%d check(s) failed; files kept in %s" % (len(failures), tmp))
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("ok: %d MoE layouts: load, entropy and overlap against numpy" % len(LAYOUTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
