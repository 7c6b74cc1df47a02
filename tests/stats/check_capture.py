#!/usr/bin/python3
"""Distributed capture against ffnscope's own capture, end to end.

For a GPT-2, a LLaMA and a Pythia (GPT-NeoX) random model (tools/make_random_model.py):
  - ffnscope run (single process, C forward pass) with --save-stats;
  - tools/capture_torch.py under torch.distributed.run, 2 ranks, gloo on the CPU, and plain
    /usr/bin/python3 (world size 1);
  - ffnscope analyze of the distributed file equals ffnscope run's metrics.csv to 1e-6 relative
    and numpy's eigvalsh of the same statistics to 1e-9; its statistics equal a numpy float64
    reference over tools/reference.py's activations; 2 ranks equal 1 rank to float64 rounding;
  - the file as a config model source, ffnscope merge of PyTorch and ffnscope statistics;
  - malformed statistics and disagreeing shards exit 2 naming the file;
  - a Qwen2-MoE model (routed layers 0 and 2, dense layer 1, a shared expert): capture_torch's
    per-expert entries (layers.N.SITE.expertE, expertshared) equal ffnscope run --save-stats's to
    1e-4 relative, and ffnscope analyze of the file equals ffnscope run's metrics.csv row of every
    expert; ffnscope merge combines them expert by expert.
usage: check_capture.py FFNSCOPE
"""
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.getcwd()
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import np_metrics  # noqa: E402
import reference  # noqa: E402

PY = "/usr/bin/python3"
METRICS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")
TOKENS, SEQ_LEN, BATCH = 4096, 64, 8
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(cmd, expect=0, env=None, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    if expect is not None and p.returncode != expect:
        print("$ " + " ".join(cmd))
        print(p.stdout[-3000:])
        print(p.stderr[-3000:])
        raise SystemExit("exit status %d, expected %d" % (p.returncode, expect))
    return p


def read_stats(path):
    """Independent reader: {name: array}, metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    hdr = json.loads(blob[8:8 + n])
    meta = hdr.pop("__metadata__")
    out = {}
    for k, v in hdr.items():
        a, b = v["data_offsets"]
        dt = {"F64": "<f8", "I64": "<i8"}[v["dtype"]]
        out[k] = np.frombuffer(blob[8 + n + a:8 + n + b], dtype=dt).reshape(v["shape"])
    return out, meta, hdr, 8 + n


def rel_err(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def write_corpus(path):
    """About 30 KB of deterministic pseudo-prose."""
    rng = np.random.default_rng(7)
    words = ("the of and to a in that was her she it not be as his with for had you he on but at "
             "Anne Wentworth Elliot Kellynch Bath sea navy letter walk garden evening persuasion "
             "friend sister father captain morning rain music conversation").split()
    out, line = [], []
    for i in range(5200):
        w = words[rng.integers(len(words))]
        line.append(w + ("," if rng.random() < 0.08 else "") + ("." if rng.random() < 0.06 else ""))
        if len(line) > 11:
            out.append(" ".join(line))
            line = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\r\n".join(out[:40]) + "\n" + "\n".join(out[40:]) + "\n")  # CRLF too: bytes as they are


def analyze_json(ffn, path):
    p = run([ffn, "analyze", path, "--format", "json"])
    return {o["tensor"]: o for o in json.loads(p.stdout)}


def torchrun(args, nproc=2):
    # --redirects/--tee 9:0: Debian's torch 1.13 under Python 3.11 cannot parse their default "0"
    # (IntFlag iteration changed); a mapping for a local rank that does not exist means "none".
    return run([PY, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
                "--nproc_per_node=%d" % nproc, "--redirects", "9:0", "--tee", "9:0",
                os.path.join(TOOLS, "capture_torch.py")] + args)


def one_model(ffn, tmp, model_dir, corpus, family):
    name = os.path.basename(model_dir)
    print("==", name)
    res = os.path.join(tmp, "res-" + name)
    cfg = os.path.join(tmp, name + ".yaml")
    ffn_stats = os.path.join(tmp, name + ".ffnscope.stats.safetensors")
    with open(cfg, "w") as f:
        f.write("version: 1\ncorpus:\n  path: %s\n  tokens: %d\n  seq_len: %d\n  batch: %d\n"
                "capture:\n  sites: [post, pre]\nmodels:\n  - path: %s\n"
                % (corpus, TOKENS, SEQ_LEN, BATCH, model_dir))
    run([ffn, "run", cfg, "--out", res, "--save-stats", ffn_stats])
    with open(os.path.join(res, "metrics.csv")) as f:
        rows = {"layers.%s.%s" % (r["layer"], r["site"]): r for r in csv.DictReader(f)}
    check(len(rows) == 6, "%s: ffnscope run gave %d rows" % (name, len(rows)))

    # Token source: the corpus itself for byte-level BPE, ffnscope's own ids otherwise.
    if family == "gpt2":
        src = ["--corpus", corpus]
    else:
        ids = os.path.join(tmp, name + ".ids.json")
        with open(ids, "w") as f:
            f.write(run([ffn, "tokenize", model_dir, corpus, "--format", "json"]).stdout)
        src = ["--ids", ids]
    common = ["--model", model_dir] + src + ["--tokens", str(TOKENS), "--seq-len", str(SEQ_LEN),
                                              "--batch", str(BATCH), "--sites", "post,pre"]
    two = os.path.join(tmp, name + ".two.safetensors")
    one = os.path.join(tmp, name + ".one.safetensors")
    torchrun(common + ["--out", two])
    env = dict(os.environ, OMP_NUM_THREADS="1")  # as torchrun's workers: same float32 sums
    run([PY, os.path.join(TOOLS, "capture_torch.py")] + common + ["--out", one], env=env)

    t2, meta, hdr, _ = read_stats(two)
    t1, _, _, _ = read_stats(one)
    check(meta.get("ffnscope_stats") == "1" and meta.get("width") == str(rows["layers.0.post"]["width"])
          and meta.get("family") == family and meta.get("model") == name and meta.get("n_layers") == "3",
          "%s: metadata %s" % (name, meta))
    # 2 ranks vs 1 rank: the same float32 activations, combined exactly in float64.
    worst = max(np.abs(t2[k] - t1[k]).max() / max(np.abs(t1[k]).max(), 1e-300) for k in t1)
    check(worst < 1e-12, "%s: 2 ranks differ from 1 rank by %.3g relative" % (name, worst))
    print("2 ranks vs 1 rank: %.2g" % worst)

    # Statistics against numpy float64 over the reference activations.
    model = reference.load_model(model_dir)
    if family == "gpt2":
        ids_arr = np.array(reference.encode(os.path.join(model_dir, "tokenizer.json"),
                                            open(corpus, "rb").read().decode("utf-8")))
    else:
        ids_arr = np.array(json.load(open(os.path.join(tmp, name + ".ids.json"))))
    n_seq = TOKENS // SEQ_LEN
    acts = reference.capture(model, ids_arr[:n_seq * SEQ_LEN], SEQ_LEN, BATCH, None, ("post", "pre"))
    worst = 0.0
    for (layer, site), X in acts.items():
        base = "layers.%d.%s." % (layer, site)
        X = X.astype(np.float64)
        check(int(t2[base + "count"][0]) == X.shape[0], "%s: %scount" % (name, base))
        mu = X.mean(axis=0)
        S = (X - mu).T @ (X - mu)
        worst = max(worst, np.abs(t2[base + "mean"] - mu).max() / np.abs(mu).max(),
                    np.abs(t2[base + "scatter"] - S).max() / np.abs(S).max())
    check(worst < 1e-6, "%s: statistics vs numpy reference %.3g" % (name, worst))
    print("statistics vs numpy over reference activations: %.2g" % worst)

    # analyze: one object per layer and site, equal to ffnscope run and to numpy on the same statistics.
    got = analyze_json(ffn, two)
    check(sorted(got) == sorted(rows), "%s: analyze tensors %s" % (name, sorted(got)))
    worst_run = worst_np = 0.0
    for tname, o in got.items():
        r = rows.get(tname)
        if not r:
            continue
        check(o["tokens"] == int(r["tokens"]) == n_seq * SEQ_LEN, "%s: %s tokens" % (name, tname))
        check(o["file"] == two and o["width"] == int(r["width"]), "%s: %s file/width" % (name, tname))
        c = float(t2[tname + ".count"][0])
        eig = np.linalg.eigvalsh(t2[tname + ".scatter"] / (c - 1))
        ref = np_metrics.metrics_from_eigenvalues(eig, int(c))
        for k in METRICS:
            worst_run = max(worst_run, rel_err(o[k], float(r[k])))
            worst_np = max(worst_np, rel_err(o[k], ref[k]))
        check(o["warnings"] == r["warnings"] == ref["warnings"], "%s: %s warnings" % (name, tname))
    check(worst_run < 1e-6, "%s: analyze vs ffnscope run %.3g" % (name, worst_run))
    check(worst_np < 1e-9, "%s: analyze vs numpy eigvalsh %.3g" % (name, worst_np))
    print("analyze of the 2-rank file vs ffnscope run: %.2g, vs numpy: %.2g" % (worst_run, worst_np))

    # The same file as a model source in a config: run's metrics equal analyze's.
    cfg2 = os.path.join(tmp, name + ".stats.yaml")
    with open(cfg2, "w") as f:
        f.write("version: 1\ncapture:\n  sites: [post, pre]\nmodels:\n  - name: torch\n    path: %s\n" % two)
    res2 = os.path.join(tmp, "res2-" + name)
    run([ffn, "run", cfg2, "--out", res2])
    with open(os.path.join(res2, "metrics.csv")) as f:
        rows2 = {"layers.%s.%s" % (r["layer"], r["site"]): r for r in csv.DictReader(f)}
    check(sorted(rows2) == sorted(got), "%s: stats source rows %s" % (name, sorted(rows2)))
    for tname, r in rows2.items():
        check(r["family"] == family, "%s: stats source family %s" % (name, r["family"]))
        for k in METRICS:
            # metrics.csv keeps 12 significant digits
            check(rel_err(float(r[k]), got[tname][k]) < 1e-10, "%s: stats source %s %s" % (name, tname, k))

    # ffnscope's own statistics file: the same model, so it merges with the PyTorch one.
    f_stats, f_meta, _, _ = read_stats(ffn_stats)
    check(f_meta.get("model") == name and f_meta.get("family") == family, "%s: run stats meta" % name)
    both = os.path.join(tmp, name + ".both.safetensors")
    run([ffn, "merge", two, ffn_stats, "--out", both])
    tb, _, _, _ = read_stats(both)
    for k in ("layers.0.post", "layers.2.pre"):
        check(int(tb[k + ".count"][0]) == 2 * n_seq * SEQ_LEN, "%s: merged count" % name)
        mu = (t2[k + ".mean"] + f_stats[k + ".mean"]) / 2
        check(np.abs(tb[k + ".mean"] - mu).max() <= 1e-12 * np.abs(mu).max(), "%s: merged mean" % name)
        d = t2[k + ".mean"] - f_stats[k + ".mean"]
        S = t2[k + ".scatter"] + f_stats[k + ".scatter"] + np.outer(d, d) * (n_seq * SEQ_LEN / 2)
        check(np.abs(tb[k + ".scatter"] - S).max() <= 1e-12 * np.abs(S).max(), "%s: merged scatter" % name)
    worst = max(np.abs(f_stats[k] - t2[k]).max() / max(np.abs(t2[k]).max(), 1e-300) for k in t2)
    print("ffnscope run statistics vs PyTorch statistics: %.2g" % worst)
    check(worst < 1e-4, "%s: ffnscope vs PyTorch statistics %.3g" % (name, worst))
    return two, hdr


def row_name(r):
    """metrics.csv row -> the statistics entry name of io/stats.h."""
    base = "layers.%s.%s" % (r["layer"], r["site"])
    return base + (".expert%s" % r["expert"] if r.get("expert") else "")


def moe_model(ffn, tmp, model_dir, corpus):
    name = os.path.basename(model_dir)
    print("==", name)
    cfg = os.path.join(tmp, name + ".yaml")
    res = os.path.join(tmp, "res-" + name)
    ffn_stats = os.path.join(tmp, name + ".ffnscope.stats.safetensors")
    with open(cfg, "w") as f:
        f.write("version: 1\ncorpus:\n  path: %s\n  tokens: %d\n  seq_len: %d\n  batch: %d\n"
                "capture:\n  sites: [post, pre]\nmodels:\n  - path: %s\n"
                % (corpus, TOKENS, SEQ_LEN, BATCH, model_dir))
    run([ffn, "run", cfg, "--out", res, "--save-stats", ffn_stats])
    with open(os.path.join(res, "metrics.csv")) as f:
        rows = {row_name(r): r for r in csv.DictReader(f)}
    cfgj = json.load(open(os.path.join(model_dir, "config.json")))
    n_exp = cfgj["num_experts"]
    # layers 0 and 2 routed (n_exp experts + shared), layer 1 dense; both sites
    want = {"layers.1.post", "layers.1.pre"} | {
        "layers.%d.%s.expert%s" % (l, s, e) for l in (0, 2) for s in ("post", "pre")
        for e in list(range(n_exp)) + ["shared"]}
    check(set(rows) == want, "%s: ffnscope run rows %s" % (name, sorted(set(rows) ^ want)))

    ids = os.path.join(tmp, name + ".ids.json")
    with open(ids, "w") as f:
        f.write(run([ffn, "tokenize", model_dir, corpus, "--format", "json"]).stdout)
    common = ["--model", model_dir, "--ids", ids, "--tokens", str(TOKENS), "--seq-len", str(SEQ_LEN),
              "--batch", str(BATCH), "--sites", "post,pre"]
    two = os.path.join(tmp, name + ".two.safetensors")
    torchrun(common + ["--out", two])
    t2, meta, hdr, _ = read_stats(two)
    tf, f_meta, _, _ = read_stats(ffn_stats)
    check(meta.get("width") == f_meta.get("width") == str(cfgj["intermediate_size"])
          and meta.get("family") == f_meta.get("family") == "qwen2_moe" and meta.get("n_layers") == "3",
          "%s: metadata %s / %s" % (name, meta, f_meta))
    check(sorted(t2) == sorted(tf) == sorted(k + "." + fl for k in want
                                             for fl in ("count", "nonfinite", "mean", "scatter")),
          "%s: entry names differ: %s" % (name, sorted(set(t2) ^ set(tf))))
    for k in want:
        w = int(rows[k]["width"])
        check(t2[k + ".mean"].shape == (w,) and t2[k + ".scatter"].shape == (w, w),
              "%s: %s shape %s, width %d" % (name, k, t2[k + ".mean"].shape, w))
        check(int(t2[k + ".count"][0]) == int(tf[k + ".count"][0]) == int(rows[k]["tokens"]),
              "%s: %s counts %d %d %s" % (name, k, t2[k + ".count"][0], tf[k + ".count"][0], rows[k]["tokens"]))
    worst = 0.0
    for k in set(t2) & set(tf):
        if k.endswith(("mean", "scatter")) and np.abs(t2[k]).max() > 0:
            worst = max(worst, np.abs(tf[k] - t2[k]).max() / np.abs(t2[k]).max())
    print("ffnscope run statistics vs PyTorch statistics, per expert: %.2g" % worst)
    check(worst < 1e-4, "%s: ffnscope vs PyTorch statistics %.3g" % (name, worst))
    loads = [int(t2["layers.0.post.expert%d.count" % e][0]) for e in range(n_exp)]
    check(sum(loads) == cfgj["num_experts_per_tok"] * TOKENS, "%s: layer 0 load %s" % (name, loads))

    # analyze: one object per entry, experts included, equal to ffnscope run's rows.
    got = analyze_json(ffn, two)
    check(set(got) == want, "%s: analyze tensors %s" % (name, sorted(set(got) ^ want)))
    worst_run, n_cmp = 0.0, 0
    for tname, o in got.items():
        r = rows.get(tname)
        if not r:
            continue
        check(o["tokens"] == int(r["tokens"]) and o["width"] == int(r["width"]),
              "%s: %s tokens/width %s %s" % (name, tname, o["tokens"], o["width"]))
        check(o["warnings"] == r["warnings"], "%s: %s warnings %r %r" % (name, tname, o["warnings"], r["warnings"]))
        for k in METRICS:
            a, b = o[k], r[k]
            if a is None or b == "":
                check(a is None and b == "", "%s: %s %s: %r vs %r" % (name, tname, k, a, b))
                continue
            worst_run = max(worst_run, rel_err(a, float(b)))
            n_cmp += 1
    check(n_cmp > 0 and worst_run < 1e-6, "%s: analyze vs ffnscope run %.3g" % (name, worst_run))
    print("analyze of the 2-rank file vs ffnscope run, %d entries: %.2g" % (len(got), worst_run))

    # merge: expert by expert
    both = os.path.join(tmp, name + ".both.safetensors")
    run([ffn, "merge", two, ffn_stats, "--out", both])
    tb, _, _, _ = read_stats(both)
    k = "layers.2.pre.expertshared"
    check(int(tb[k + ".count"][0]) == 2 * TOKENS, "%s: merged shared count" % name)
    for k in ("layers.0.post.expert%d" % int(np.argmax(loads)), "layers.2.pre.expertshared"):
        na, nb = int(t2[k + ".count"][0]), int(tf[k + ".count"][0])
        d = t2[k + ".mean"] - tf[k + ".mean"]
        S = t2[k + ".scatter"] + tf[k + ".scatter"] + np.outer(d, d) * (na * nb / (na + nb))
        check(np.abs(tb[k + ".scatter"] - S).max() <= 1e-12 * np.abs(S).max(), "%s: merged %s" % (name, k))


def broken_files(ffn, tmp, two, hdr):
    print("== malformed statistics")
    blob = bytearray(open(two, "rb").read())
    (n,) = struct.unpack("<Q", blob[:8])
    base = 8 + n
    a, _ = hdr["layers.1.pre.scatter"]["data_offsets"]
    bad = os.path.join(tmp, "asym.safetensors")
    blob2 = bytearray(blob)
    struct.pack_into("<d", blob2, base + a + 8, struct.unpack_from("<d", blob2, base + a + 8)[0] + 1.0)
    open(bad, "wb").write(blob2)
    p = run([ffn, "analyze", bad, "--format", "json"], expect=2)
    check(p.stderr.startswith("ffnscope: error: %s: tensor 'layers.1.pre.scatter': not symmetric" % bad),
          "asymmetric scatter: %s" % p.stderr.strip())
    check(p.stdout == "", "asymmetric scatter: output printed")
    out = os.path.join(tmp, "never.safetensors")
    p = run([ffn, "merge", two, bad, "--out", out], expect=2)
    check(bad in p.stderr and not os.path.exists(out), "merge with a broken shard: %s" % p.stderr.strip())

    trunc = os.path.join(tmp, "trunc.safetensors")
    open(trunc, "wb").write(blob[:len(blob) - 100])
    p = run([ffn, "analyze", trunc], expect=2)
    check(trunc in p.stderr, "truncated: %s" % p.stderr.strip())

    a, _ = hdr["layers.0.post.count"]["data_offsets"]
    neg = os.path.join(tmp, "negcount.safetensors")
    blob3 = bytearray(blob)
    struct.pack_into("<q", blob3, base + a, -4)
    open(neg, "wb").write(blob3)
    p = run([ffn, "merge", neg, two, "--out", out], expect=2)
    check("layers.0.post.count" in p.stderr and "negative" in p.stderr, "negative count: %s" % p.stderr.strip())

    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\ncapture:\n  sites: [post, pre]\nmodels:\n  - path: %s\n" % bad)
    p = run([ffn, "run", cfg, "--out", os.path.join(tmp, "res-bad")], expect=2)
    check("not symmetric" in p.stderr, "stats source with a broken file: %s" % p.stderr.strip())


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-capture-")
    try:
        corpus = os.path.join(tmp, "corpus.txt")
        write_corpus(corpus)
        models = os.path.join(tmp, "models")
        run([PY, os.path.join(TOOLS, "make_random_model.py"), "--out", models,
             "--only", "gpt2-prefixed,llama-gqa-bf16,pythia,qwen2-moe"])
        two, hdr = one_model(ffn, tmp, os.path.join(models, "gpt2-prefixed"), corpus, "gpt2")
        one_model(ffn, tmp, os.path.join(models, "llama-gqa-bf16"), corpus, "llama")
        one_model(ffn, tmp, os.path.join(models, "pythia"), corpus, "gpt_neox")
        moe_model(ffn, tmp, os.path.join(models, "qwen2-moe"), corpus)
        broken_files(ffn, tmp, two, hdr)

        print("== shards that disagree")
        layer0 = os.path.join(tmp, "layer0.safetensors")
        run([PY, os.path.join(TOOLS, "capture_torch.py"), "--model", os.path.join(models, "gpt2-prefixed"),
             "--corpus", corpus, "--tokens", "256", "--seq-len", "64", "--batch", "4",
             "--layers", "0", "--sites", "post,pre", "--out", layer0])
        out = os.path.join(tmp, "never.safetensors")
        p = run([ffn, "merge", two, layer0, "--out", out], expect=2)
        check(p.stderr.startswith("ffnscope: error: %s: has no statistics for layers.1.post" % layer0),
              "disagreeing layers: %s" % p.stderr.strip())
        p = run([PY, os.path.join(TOOLS, "capture_torch.py"), "--model", os.path.join(models, "gpt2-prefixed"),
                 "--corpus", corpus, "--layers", "3", "--out", out], expect=2)
        check("layer 3 out of range" in p.stderr, "capture_torch --layers 3: %s" % p.stderr.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
