#!/usr/bin/python3
"""GGUF files of every architecture llama.cpp converts, against Hugging Face twins of the same weights.

For each random layout of tools/make_random_model.py below (sizes raised to d = 256 so that every row
holds whole 256-value super-blocks), tools/export_formats.py writes the GGUF file llama.cpp's converter
would (its names, keys, permutations and norm offsets) in F32 and in quantized types: Q8_0 and Q4_K
for each, all twelve types for llama (llama3 rope scaling, stored as rope_freqs) and gemma3. Each GGUF
gets a Hugging Face twin: the values a reader decodes from the file (numpy dequantization of
tools/ggml_quant.py), taken back through the converter's rewrites into the Hugging Face layout, in
float32. One `ffnscope run` captures all of them over the same corpus and tokenizer, and every
per-layer, per-site metric of a GGUF file must equal its twin's within 1e-5 (relative). `ffnscope
inspect` must name the Hugging Face family of each file. The mixture-of-experts layouts (Mixtral as a
llama file with experts, qwen2moe, qwen3moe, olmoe) store each layer's experts stacked in one 3-D
tensor per projection (Mixtral also in the first conversions' layout, one tensor per expert); there
every expert's row (and its token count, exactly) must match. Negative
controls: a Gemma GGUF without the converter's 1 + w, a GPT-NeoX GGUF with query_key_value left
interleaved, Qwen2 and Mixtral GGUFs with q/k permuted wrongly, and a Qwen3-MoE GGUF with its experts
stacked in reverse order must give other metrics.

Two configs are changed before converting, because llama.cpp's files cannot say them: Gemma 2/3's
query_pre_attn_scalar is set to the head size (llama.cpp derives the scale from the model size).

usage: check_gguf_archs.py --ffnscope FFNSCOPE [--keep DIR] [--layouts NAME,...]
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import export_formats as ef  # noqa: E402
import ggml_quant as gq  # noqa: E402
import make_random_model as mrm  # noqa: E402
import npsafetensors  # noqa: E402

TOL = 1e-5
METRICS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")
ALL_TYPES = list(gq.TYPES)
# layout -> config changes (sizes; what llama.cpp cannot say), and whether to write every type
LAYOUTS = {
    "llama3-rope": (dict(head_dim=128), True),
    "qwen2-nullscaling": ({}, False),
    "qwen3": (dict(head_dim=128), False),
    "gemma": (dict(head_dim=64), False),
    "gemma2": (dict(head_dim=64, query_pre_attn_scalar=64), False),
    "gemma3-text": (dict(head_dim=64, query_pre_attn_scalar=64), True),
    "pythia": ({}, False),
    "pythia-serial": ({}, False),
    "phi3": ({}, False),
    "olmo2": ({}, False),
    # mixture of experts: stacked *_exps tensors, routers kept F32; expert widths raised to 256
    "mixtral": ({}, False),
    "qwen2-moe": (dict(moe_intermediate_size=256, shared_expert_intermediate_size=256), False),
    "qwen3-moe": (dict(head_dim=64, moe_intermediate_size=256), False),
    "olmoe": ({}, False),
}
FAMILY = {"llama3-rope": "llama", "qwen2-nullscaling": "qwen2", "qwen3": "qwen3", "gemma": "gemma",
          "gemma2": "gemma2", "gemma3-text": "gemma3_text", "pythia": "gpt_neox", "pythia-serial": "gpt_neox",
          "phi3": "phi3", "olmo2": "olmo2", "mixtral": "mixtral", "qwen2-moe": "qwen2_moe",
          "qwen3-moe": "qwen3_moe", "olmoe": "olmoe"}

passed, failed = 0, 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok: " + what)
    else:
        failed += 1
        print("FAIL: " + what + ("\n      " + detail if detail else ""))


def decoded(arr, ggml, raw):
    """What a reader gets from raw (arr stored as ggml), float32 in arr's shape."""
    if ggml == "F32":
        return np.asarray(arr, dtype=np.float32)
    return gq.dequantize(ggml, raw, arr.size).reshape(arr.shape).astype(np.float32)


def make_original(work, name, seed):
    spec = json.loads(json.dumps(mrm.LAYOUTS[name]))
    changes, _ = LAYOUTS[name]
    spec["dtype"] = "F32"
    spec["config"].update(hidden_size=256, intermediate_size=256, **changes)
    d = mrm.make(os.path.join(work, "orig"), name, spec, seed)
    cfg = json.load(open(os.path.join(d, "config.json")))
    w, _ = npsafetensors.load(os.path.join(d, "model.safetensors"))
    return d, cfg, {k: np.asarray(v, dtype=np.float32) for k, v in w.items()}


def write_pair(work, name, cfg, w, tj, ggml, tamper=None):
    """The GGUF file as ggml and its Hugging Face twin; returns (gguf path, twin dir)."""
    kvs, tensors = ef.gguf_model(name, cfg["model_type"], cfg, w, tj, ggml, small_f32=True)
    to_hf = {n: f for n, _, f in ef.llamacpp_tensors(cfg, w)[2]}
    stored, twin = [], {}
    for n, arr, t in tensors:
        if tamper:
            arr = tamper(n, arr)
        raw = ef.tensor_bytes(arr, t)
        stored.append((n, ef.RawTensor(arr.shape, raw), t))
        twin.update(to_hf[n](decoded(arr, t, raw)))
    stem = "%s-%s%s" % (name, ggml.lower(), "-tampered" if tamper else "")
    path = os.path.join(work, stem + ".gguf")
    ef.write_gguf(path, kvs, stored)
    tdir = os.path.join(work, stem + "-twin")
    os.makedirs(tdir, exist_ok=True)
    with open(os.path.join(tdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    mrm.write_checkpoint(tdir, sorted(twin.items()), "F32", 1)
    return path, tdir


def run(ffn, work, entries, tokens):
    with open(os.path.join(work, "corpus.txt"), "w", encoding="utf-8") as f:
        rng = np.random.default_rng(3)
        f.write(" ".join(rng.choice(mrm.SAMPLE.split(), size=3000)) + "\n")
    lines = ["version: 1", "corpus:", "  path: corpus.txt", "  tokens: %d" % tokens, "  seq_len: 64",
             "  batch: 8", "capture:", "  sites: [post, pre]", "  layers: all", "  refresh_tokens: 1000000",
             "models:"]
    for name, path, tok in entries:
        lines += ["  - name: " + name, "    path: " + path, "    tokenizer: " + tok]
    lines += ["output:", "  dir: results"]
    with open(os.path.join(work, "run.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run([ffn, "run", os.path.join(work, "run.yaml"), "--out", os.path.join(work, "results")],
                       capture_output=True, text=True)
    check(p.returncode == 0, "ffnscope run over %d GGUF files and twins" % len(entries), p.stderr[-3000:])
    rows = {}
    if p.returncode == 0:
        with open(os.path.join(work, "results", "metrics.csv")) as f:
            for r in csv.DictReader(f):
                rows.setdefault(r["model"], {})[(r["layer"], r["site"], r.get("expert", ""))] = r
    return rows


def worst(rows, a, b):
    if a not in rows or b not in rows or set(rows[a]) != set(rows[b]) or not rows[a]:
        return float("inf"), "layer/site sets differ"
    w, where = 0.0, ""
    for key in rows[b]:
        if rows[a][key]["tokens"] != rows[b][key]["tokens"]:
            return float("inf"), "tokens of layer %s %s expert %s: %s, twin %s" % (
                key + (rows[a][key]["tokens"], rows[b][key]["tokens"]))
        for m in METRICS:
            if rows[a][key][m] == "" and rows[b][key][m] == "":
                continue  # an expert that no token reached has no metrics, in both
            x, y = float(rows[a][key][m] or "nan"), float(rows[b][key][m] or "inf")
            if np.isnan(x) and np.isnan(y):
                continue
            dd = abs(x - y) / max(abs(y), 1e-300)
            if not dd <= w:
                w, where = dd, "%s layer %s %s%s" % (m, key[0], key[1], " expert " + key[2] if key[2] else "")
    return w, where


def tamper_gemma(n, a):
    return a - np.float32(1) if n.endswith("norm.weight") else a


def tamper_neox(heads):
    return lambda n, a: ef.neox_qkv_join(a, heads) if ".attn_qkv." in n else a


def tamper_qwen2(cfg):
    kv = cfg["num_key_value_heads"]
    h = cfg["num_attention_heads"]
    return lambda n, a: ef.rope_permute(a, h if ".attn_q." in n else kv) if (".attn_q." in n or ".attn_k." in n) \
        else a


def tamper_mixtral(cfg):
    """q/k left in Hugging Face order: the converter permutes Mixtral's as LLaMA's."""
    kv = cfg["num_key_value_heads"]
    h = cfg["num_attention_heads"]
    return lambda n, a: ef.rope_unpermute(a, h if ".attn_q." in n else kv) if (".attn_q." in n or ".attn_k." in n) \
        else a


def tamper_experts(n, a):
    """Each layer's experts stacked in reverse order: expert e's matrices under index E-1-e."""
    return a[::-1].copy() if "_exps." in n else a


def write_split_experts(work, name, cfg, w, tj):
    """The first Mixtral conversions' layout: each expert a tensor of its own (blk.N.ffn_gate.E.weight)."""
    kvs, tensors = ef.gguf_model(name, cfg["model_type"], cfg, w, tj, "F32", small_f32=True)
    split = []
    for n, a, t in tensors:
        if "_exps." in n:
            split += [(n.replace("_exps.weight", ".%d.weight" % e), a[e], t) for e in range(a.shape[0])]
        else:
            split.append((n, a, t))
    path = os.path.join(work, "%s-f32-split.gguf" % name)
    ef.write_gguf(path, kvs, split)
    return path


def broken_moe(ffn, work, name, cfg, w, tj):
    """Broken mixture-of-experts GGUFs: exit status 2 and one line naming the file and what is wrong."""
    arch = ef.LLAMACPP_ARCH[cfg["model_type"]]
    kvs, tensors = ef.gguf_model(name, cfg["model_type"], cfg, w, tj, "F32", small_f32=True)

    def kv(key, value):
        return lambda k, t: ([(a, ty, value if a == arch + "." + key else v) for a, ty, v in k], t)

    def tensor(tname, fn):
        """tname replaced by fn(array), or dropped when that is None."""
        def change(k, t):
            out = []
            for n, a, ty in t:
                if n == tname:
                    a = fn(a)
                    if a is None:
                        continue
                out.append((n, a, ty))
            return k, out
        return change

    n_exp = cfg.get("num_local_experts") or cfg["num_experts"]
    blk = next(n for n, _, _ in tensors if n.endswith("ffn_gate_inp.weight")).split(".ffn")[0]  # first routed layer
    cases = [
        ("more experts per token than experts", kv("expert_used_count", n_exp + 1),
         [arch + ".expert_used_count", "exceeds"]),
        ("a stacked expert tensor missing", tensor(blk + ".ffn_up_exps.weight", lambda a: None),
         ["'%s.ffn_up_exps.weight'" % blk, "missing"]),
        ("one expert fewer in a stacked tensor", tensor(blk + ".ffn_down_exps.weight", lambda a: a[:-1]),
         ["'%s.ffn_down_exps.weight'" % blk, "dimensions"]),
        ("experts not stacked (a 2-D tensor)", tensor(blk + ".ffn_gate_exps.weight", lambda a: a[0]),
         ["'%s.ffn_gate_exps.weight'" % blk, "dimensions"]),
        ("experts without any router",
         lambda k, t: (k, [x for x in t if "ffn_gate_inp.weight" not in x[0]]), ["router"]),
    ]
    # a NaN scale in a block of one expert's matrix of a Q8_0 file: the plan's first look reads no
    # tensor data, the load must still refuse it (run and inspect)
    kq, tq = ef.gguf_model(name, cfg["model_type"], cfg, w, tj, "Q8_0", small_f32=True)
    target = blk + ".ffn_down_exps.weight"
    stored = []
    for n, arr, ty in tq:
        raw = ef.tensor_bytes(arr, ty)
        if n == target:
            raw = bytearray(raw)
            raw[34 * 5: 34 * 5 + 2] = np.array([np.nan], dtype="<f2").tobytes()   # block 5's d
            raw = bytes(raw)
        stored.append((n, ef.RawTensor(arr.shape, raw), ty))
    path = os.path.join(work, "broken-%s-nan-scale.gguf" % name)
    ef.write_gguf(path, kq, stored)
    corpus = os.path.join(work, "nan-corpus.txt")
    with open(corpus, "w") as f:
        f.write(mrm.SAMPLE + "\n")
    for cmd in (["inspect", path], ["run", path, "--corpus", corpus, "--tokens", "64", "--out",
                                    os.path.join(work, "nan-results")]):
        p = subprocess.run([ffn] + cmd, capture_output=True, text=True)
        err = p.stderr.strip().splitlines()
        line = [x for x in err if x.startswith("ffnscope: error:")]
        check(p.returncode == 2 and len(line) == 1 and path in line[0] and "'%s'" % target in line[0]
              and "block 5 has a non-finite scale" in line[0],
              "%s GGUF, a NaN block scale: %s exits 2 naming it (%d: %s)" % (name, cmd[0], p.returncode, err[-1:]))

    for what, change, needles in cases:
        k, t = change(list(kvs), list(tensors))
        path = os.path.join(work, "broken-%s-%s.gguf" % (name, what.replace(" ", "-").replace("(", "").replace(")", "")))
        ef.write_gguf(path, k, t)
        p = subprocess.run([ffn, "inspect", path], capture_output=True, text=True)
        err = p.stderr.strip()
        ok = p.returncode == 2 and len(err.splitlines()) == 1 and path in err and all(n in err for n in needles)
        check(ok, "%s GGUF, %s: exit 2 naming it (%s)" % (name, what, err or p.returncode))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffnscope", required=True)
    ap.add_argument("--keep", help="keep the files in this folder")
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--layouts", help="only these layouts (comma-separated)")
    a = ap.parse_args()
    ffn = os.path.abspath(a.ffnscope)
    work = os.path.abspath(a.keep) if a.keep else tempfile.mkdtemp(prefix="ffnscope-gguf-archs-")
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    try:
        entries, pairs, controls = [], [], []
        for i, name in enumerate(LAYOUTS):
            if a.layouts and name not in a.layouts.split(","):
                continue
            d, cfg, w = make_original(work, name, 100 + i)
            tok = os.path.join(d, "tokenizer.json")
            tj = json.load(open(tok, encoding="utf-8"))
            with open(os.path.join(d, "config.json")) as f:
                cfg = json.load(f)
            types = ["F32"] + (ALL_TYPES if LAYOUTS[name][1] else ["Q8_0", "Q4_K"])
            for t in types:
                g, twin = write_pair(work, name, cfg, w, tj, t)
                shutil.copy(tok, twin)
                entries += [(os.path.basename(g), g, tok), (os.path.basename(twin), twin, tok)]
                pairs.append((name, t, os.path.basename(g), os.path.basename(twin)))
            p = subprocess.run([ffn, "inspect", os.path.join(work, "%s-f32.gguf" % name), "--format", "json"],
                               capture_output=True, text=True)
            fam = json.loads(p.stdout).get("family") if p.returncode == 0 else p.stderr.strip()
            check(fam == FAMILY[name], "inspect names %s's GGUF family %s (got %s)" % (name, FAMILY[name], fam))
            tamper = {"gemma": lambda: tamper_gemma, "pythia": lambda: tamper_neox(cfg["num_attention_heads"]),
                      "qwen2-nullscaling": lambda: tamper_qwen2(cfg), "mixtral": lambda: tamper_mixtral(cfg),
                      "qwen3-moe": lambda: tamper_experts}.get(name, lambda: None)()
            if name in ("mixtral", "qwen3-moe"):
                broken_moe(ffn, work, name, cfg, w, tj)
            if name == "mixtral":
                g = write_split_experts(work, name, cfg, w, tj)
                entries.append((os.path.basename(g), g, tok))
                pairs.append((name, "F32 one tensor per expert", os.path.basename(g), "%s-f32-twin" % name))
            if tamper:
                g, _ = write_pair(work, name, cfg, w, tj, "F32", tamper)
                entries.append((os.path.basename(g), g, tok))
                controls.append((name, os.path.basename(g), "%s-f32-twin" % name))
        rows = run(ffn, work, entries, a.tokens)
        if rows:
            for name, t, g, twin in pairs:
                dd, where = worst(rows, g, twin)
                check(dd <= TOL, "%s %s: GGUF metrics equal the twin's (worst %.3g%s)" %
                      (name, t, dd, ", " + where if dd else ""))
            for name, g, twin in controls:
                dd, _ = worst(rows, g, twin)
                check(dd > 1e-3, "%s: a GGUF without the converter's rewrite gives other metrics (%.3g)" % (name, dd))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
