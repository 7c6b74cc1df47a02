#!/usr/bin/python3
"""GGUF, llama2.c and llm.c checkpoints against their Hugging Face originals, and broken files.

1. tools/export_formats.py writes random tiny originals (gpt2; llama with grouped-query attention and
   an untied head; llama with a tied head; llama with a head size apart from d / heads, attention
   biases and rope base 500000) and every other format from them; it also converts two of the
   bundled trained models (models/gpt2-w256, models/llama-w256). One `ffnscope run` captures all of
   them over the same corpus (each with its own tokenizer: the GGUF's embedded one, llama2.c's
   tokenizer.bin, the llm.c entry's `tokenizer:`), and every per-layer, per-site metric must equal
   the original's:
     - float32 formats, and F16/BF16 files against the original stored in the same dtype: 1e-6 relative;
     - F16 / BF16 / Q8_0 against the float32 original: within TOLERANCE (measured numbers printed);
     - a GGUF written WITHOUT llama.cpp's Q/K permutation must differ (the rotary layout matters).
2. Token ids of the tokenizers the checkpoints carry equal the Hugging Face tokenizer's (ffnscope's
   tokenizer.json reader and an independent Python encoder) on a varied text.
3. `ffnscope inspect` lists GGUF metadata (every value type, nested arrays, long arrays summarised).
4. Broken files of each format: `ffnscope inspect` exits 2 with one line naming the file and the fault.

usage: check_formats.py --ffnscope FFNSCOPE --tokenize MODEL_TOKENIZE [--keep DIR]
"""
import argparse
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import export_formats as ef  # noqa: E402
import make_random_model as mrm  # noqa: E402

EXACT = 1e-6
HELD_OUT = ("gpt2-w256", "llama-w256")
# Lossy storage against the float32 original: worst relative difference of any metric, layer and site,
# measured over three seeds of these models at F16 2.1e-4, BF16 1.9e-3, Q8_0 3.8e-3 (docs/formats.md).
TOLERANCE = {"F16": 1e-3, "BF16": 5e-3, "Q8_0": 1e-2}
METRICS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")

TEXT = ("It is a truth universally acknowledged, that a single man in possession of a good fortune,\n"
        "must be in want of a wife.  Caf\u00e9 na\u00efve \u2014 M\u00fcller's 1817 letters;\tTABS\tand   runs "
        "of    spaces.\n\n\u65e5\u672c\u8a9e \U0001F600 <|endoftext|> don't we'll 3.14159 END")

passed, failed = 0, 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok: " + what)
    else:
        failed += 1
        print("FAIL: " + what + ("\n      " + detail if detail else ""))


# ---------------------------------------------------------------------------------------------
# 1. metrics


def corpus(path):
    words = mrm.SAMPLE.split() + ["caf\u00e9", "na\u00efve", "\u2014", "M\u00fcller", "1817", "Anne", "Wentworth."]
    rng = np.random.default_rng(7)
    with open(path, "w", encoding="utf-8") as f:
        f.write(" ".join(rng.choice(words, size=6000)) + "\n")


def write_config(path, entries):
    lines = ["version: 1", "corpus:", "  path: corpus.txt", "  tokens: 4096", "  seq_len: 64", "  batch: 8",
             "capture:", "  sites: [post, pre]", "  layers: all", "  refresh_tokens: 1000000", "models:"]
    for e in entries:
        lines += ["  - name: " + e["name"], "    path: " + e["path"]]
        for k in ("tokenizer", "format"):
            if k in e:
                lines.append("    %s: %s" % (k, e[k]))
    lines += ["output:", "  dir: results"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def worst_difference(rows, a, b):
    """Largest relative difference of any metric over the (layer, site) rows of models a and b."""
    if set(rows[a]) != set(rows[b]):
        return float("inf"), "layer/site sets differ"
    worst, where = 0.0, ""
    for key in rows[b]:
        if rows[a][key]["tokens"] != rows[b][key]["tokens"]:
            return float("inf"), "token counts differ at %s" % (key,)
        for m in METRICS:
            x, y = float(rows[a][key][m]), float(rows[b][key][m])
            if np.isnan(x) and np.isnan(y):
                continue
            d = abs(x - y) / max(abs(y), 1e-300)
            if not d <= worst:
                worst, where = d, "%s layer %s %s" % (m, key[0], key[1])
    return worst, where


def check_metrics(ffn, work, man):
    corpus(os.path.join(work, "corpus.txt"))
    entries = [dict(e) for e in man]
    # The same llama2.c checkpoint with the original's tokenizer.json instead of tokenizer.bin.
    entries.append({"name": "llama-llama2c-v1-hftok", "path": "llama-llama2c-v1/model.bin",
                    "tokenizer": "llama/tokenizer.json", "format": "llama2c", "family": "llama", "dtype": "F32",
                    "original": "llama", "original_f32": "llama"})
    # Negative control: Q and K left in Hugging Face order in a GGUF file.
    cfg = json.load(open(os.path.join(work, "llama", "config.json")))
    w = load_original(work, "llama")
    saved = ef.rope_permute
    ef.rope_permute = lambda a, n: a
    try:
        tj = json.load(open(os.path.join(work, "llama", "tokenizer.json"), encoding="utf-8"))
        kvs, tensors = ef.gguf_model("llama", "llama", cfg, w, tj, "F32")
    finally:
        ef.rope_permute = saved
    ef.write_gguf(os.path.join(work, "llama-unpermuted.gguf"), kvs, tensors)
    entries.append({"name": "llama-unpermuted.gguf", "path": "llama-unpermuted.gguf"})
    # Two of the bundled trained models (never used while writing the exporters), converted the same way.
    for m in HELD_OUT:
        orig = "bundled-" + m
        entries.append({"name": orig, "path": os.path.join(ROOT, "models", m), "format": "hf", "dtype": "F32"})
        for e in ef.export_existing(os.path.join(ROOT, "models", m), os.path.join(work, "held-out"), m):
            e = dict(e, name="bundled-" + e["name"], path=os.path.join("held-out", e["path"]), original_f32=orig,
                     original=orig if e["original"] else None)
            if "tokenizer" in e:
                e["tokenizer"] = os.path.join("held-out", e["tokenizer"])
            entries.append(e)
    write_config(os.path.join(work, "run.yaml"), entries)
    p = subprocess.run([ffn, "run", os.path.join(work, "run.yaml"), "--out", os.path.join(work, "results")],
                       capture_output=True, text=True)
    check(p.returncode == 0, "ffnscope run over %d models in every format" % len(entries), p.stderr[-2000:])
    if p.returncode != 0:
        return
    rows = {}
    with open(os.path.join(work, "results", "metrics.csv")) as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["model"], {})[(r["layer"], r["site"])] = r
    for e in entries:
        if e["name"] == "llama-unpermuted.gguf":
            d, where = worst_difference(rows, e["name"], "llama")
            check(d > 1e-3, "a GGUF without llama.cpp's Q/K permutation gives other metrics (%.2g)" % d)
            continue
        if e.get("format") == "hf" and e["dtype"] == "F32":
            continue
        if e["original"] is not None:
            d, where = worst_difference(rows, e["name"], e["original"])
            check(d <= EXACT, "%s metrics equal %s's (worst %.3g%s)" % (e["name"], e["original"], d,
                                                                         ", " + where if d else ""))
        if e["dtype"] != "F32":
            d32, where = worst_difference(rows, e["name"], e["original_f32"])
            tol = TOLERANCE[e["dtype"]]
            check(d32 <= tol, "%s against the float32 original %s: worst %.3g (%s) <= %g" %
                  (e["name"], e["original_f32"], d32, where, tol))


def load_original(work, name):
    """The float32 tensors of an original, read back from its safetensors (numpy only)."""
    import npsafetensors
    tensors, _ = npsafetensors.load(os.path.join(work, name, "model.safetensors"))
    return {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}


# ---------------------------------------------------------------------------------------------
# 2. tokenizers


def sp_reference(tokenizer_json, text):
    """Hugging Face's BPE model as the LLaMA-style tokenizer.json describes it: normalizer prepends
    "\u2581" and turns spaces into it, characters missing from the vocabulary fall back to <0xNN>
    tokens, then the adjacent pair with the lowest merge rank is merged until none is left."""
    with open(tokenizer_json, encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    ranks = {tuple(m.split(" ")): i for i, m in enumerate(tj["model"]["merges"])}
    parts = []
    for ch in "\u2581" + text.replace(" ", "\u2581"):
        parts += [ch] if ch in vocab else ["<0x%02X>" % b for b in ch.encode("utf-8")]
    while True:
        best = min(((ranks.get((parts[i], parts[i + 1]), 1 << 60), i) for i in range(len(parts) - 1)),
                   default=(1 << 60, -1))
        if best[0] == 1 << 60:
            break
        i = best[1]
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return [vocab[p] for p in parts]


def ids_of(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def check_tokenizers(ffn, tok_exe, work):
    text_path = os.path.join(work, "text.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        f.write(TEXT)
    import reference  # the PyTorch reference module's GPT-2 encoder
    gpt2_ref = reference.encode(os.path.join(work, "gpt2", "tokenizer.json"), TEXT)
    hf = ids_of([ffn, "tokenize", os.path.join(work, "gpt2"), text_path, "--format", "json"])
    check(hf == gpt2_ref, "ffnscope's gpt2 tokenizer.json ids equal the Python reference's (%d ids)" % len(hf))
    for g in ("gpt2-f32.gguf", "gpt2-q8_0.gguf"):
        ids = ids_of([tok_exe, os.path.join(work, g), text_path])
        check(ids == gpt2_ref, "%s's embedded gpt2 tokenizer gives the Hugging Face ids" % g)
    llama_ref = sp_reference(os.path.join(work, "llama", "tokenizer.json"), TEXT)
    hf = ids_of([ffn, "tokenize", os.path.join(work, "llama"), text_path, "--format", "json"])
    check(hf == llama_ref, "ffnscope's llama tokenizer.json ids equal the Python reference's (%d ids)" % len(hf))
    for g, how in (("llama-f32.gguf", "scores"), ("llama-q8_0.gguf", "merges"), ("llama-odd-f32.gguf", "merges")):
        ids = ids_of([tok_exe, os.path.join(work, g), text_path])
        check(ids == llama_ref, "%s's embedded llama tokenizer (by %s, byte fallback) gives the Hugging Face ids"
              % (g, how), "%s\n      %s" % (ids[:40], llama_ref[:40]))
    ids = ids_of([tok_exe, os.path.join(work, "llama-llama2c-v0", "model.bin"), text_path])
    check(ids == llama_ref, "llama2.c's tokenizer.bin next to the checkpoint gives the Hugging Face ids")


# ---------------------------------------------------------------------------------------------
# 3. inspect


def check_inspect(ffn, work):
    path = os.path.join(work, "llama-f32.gguf")
    p = subprocess.run([ffn, "inspect", path, "--format", "json"], capture_output=True, text=True)
    check(p.returncode == 0, "inspect --format json on a GGUF file", p.stderr)
    if p.returncode:
        return
    j = json.loads(p.stdout)
    meta = j.get("metadata", {})
    check(j["format"] == "gguf" and j["family"] == "llama" and j["dtype"] == "F32" and j["kv_heads"] == 2,
          "inspect describes the GGUF model")
    ok = all(meta.get(k) == (pytest_approx(v) if vt in ("f32", "f64") else v) for k, vt, v in ef.EXTRA_KVS)
    check(ok, "inspect lists every value type and nested arrays as written",
          json.dumps({k: meta.get(k) for k, _, _ in ef.EXTRA_KVS}))
    check(meta.get("tokenizer.ggml.tokens") == {"type": "array[string]", "count": j["vocab_size"]} and
          meta.get("llama.block_count") == 2, "inspect summarises the vocabulary arrays")
    p = subprocess.run([ffn, "inspect", path], capture_output=True, text=True)
    check(p.returncode == 0 and "\nmetadata\n" in p.stdout and "llama.attention.head_count_kv" in p.stdout and
          '{"type":"array[float32]","count"' in p.stdout, "inspect's table lists the metadata")


class pytest_approx(float):
    def __eq__(self, other):
        return isinstance(other, (int, float)) and abs(other - float(self)) <= 1e-9 * abs(float(self))


# ---------------------------------------------------------------------------------------------
# 4. broken files


def patched(data, off, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


def kv_value_at(lay, key):
    return lay["kv_at"][key] + 8 + len(key.encode()) + 4


def broken_gguf(work):
    cfg = json.load(open(os.path.join(work, "llama", "config.json")))
    tj = json.load(open(os.path.join(work, "llama", "tokenizer.json"), encoding="utf-8"))
    w = load_original(work, "llama")
    kvs, tensors = ef.gguf_model("llama", "llama", cfg, w, tj, "F32")
    good, lay = ef.gguf_bytes(kvs, tensors)
    cases = []

    def add(label, data, expect):
        cases.append(("gguf-" + label + ".gguf", data, expect))

    def rebuilt(kv_edit=None, t_edit=None, **kw):
        k, t = list(kvs), list(tensors)
        if kv_edit:
            k = kv_edit(k)
        if t_edit:
            t = t_edit(t)
        return ef.gguf_bytes(k, t, **kw)[0]

    last = tensors[-1][0]
    add("truncated-half", good[:len(good) // 2], "runs past the end")
    add("truncated-header", good[:lay["kv_at"]["tokenizer.ggml.tokens"] + 40], "truncated")
    add("tiny", good[:10], "too short")
    add("bad-magic", b"GGUX" + good[4:], "bad magic")
    add("version-1", patched(good, 4, "<I", 1), "version 1 is not supported")
    add("version-4", patched(good, 4, "<I", 4), "version 4 is not supported")
    add("big-endian", patched(good, 4, ">I", 3), "big-endian")
    add("lying-kv-count", patched(good, lay["n_kv_at"], "<Q", 1 << 40), "key-values, more than the file")
    add("lying-tensor-count", patched(good, lay["n_tensors_at"], "<Q", 1 << 40), "tensors, more than the file")
    add("extra-tensor-count", patched(good, lay["n_tensors_at"], "<Q", len(tensors) + 1), "")
    add("lying-string-length", patched(good, lay["kv_at"]["general.name"], "<Q", 1 << 62), "more than the")
    tok_at = kv_value_at(lay, "tokenizer.ggml.tokens")
    add("lying-array-count", patched(good, tok_at + 4, "<Q", 1 << 50), "runs past the end of the file")
    add("unknown-value-type", patched(good, kv_value_at(lay, "general.name") - 4, "<I", 13), "unknown value type 13")
    add("unknown-array-type", patched(good, tok_at, "<I", 77), "unknown array element type 77")
    add("bool-2", patched(good, kv_value_at(lay, "tokenizer.ggml.add_space_prefix"), "<B", 2), "neither 0 nor 1")
    add("iq2_xxs-tensor", patched(good, lay["type_at"]["blk.0.ffn_up.weight"], "<I", 16), "ggml type 16 (IQ2_XXS)")
    add("q4_k-rows", patched(good, lay["type_at"]["blk.0.ffn_up.weight"], "<I", 12),
        "tensor 'blk.0.ffn_up.weight' is Q4_K but its rows of 64 are not a multiple of 256")
    add("five-dims", patched(good, lay["dims_at"]["blk.0.attn_norm.weight"] - 4, "<I", 5), "dimensions (1 to 4")
    off_field = lay["offset_at"]["blk.1.attn_norm.weight"]
    (off,) = struct.unpack_from("<Q", good, off_field)
    add("misaligned-offset", patched(good, off_field, "<Q", off + 4), "not a multiple of the alignment")
    add("offset-out-of-range", patched(good, lay["offset_at"][last], "<Q", 1 << 40), "runs past the end")
    (first_off,) = struct.unpack_from("<Q", good, lay["offset_at"]["blk.0.attn_norm.weight"])
    add("overlapping", patched(good, lay["offset_at"]["blk.0.ffn_norm.weight"], "<Q", first_off), "overlap")
    name_at = lay["info_at"]["blk.1.ffn_up.weight"] + 8
    add("missing-tensor", good[:name_at] + b"blk.1.ffn_xx.weight" + good[name_at + 19:],
        "tensor 'blk.1.ffn_up.weight' is missing")
    dims_at = lay["dims_at"]["blk.0.ffn_gate.weight"]
    add("wrong-dims", patched(good, dims_at + 8, "<Q", 95), "has dimensions (64, 95), expected (64, 96)")
    add("block-count", patched(good, kv_value_at(lay, "llama.block_count"), "<I", 3),
        "tensor 'blk.2.attn_norm.weight' is missing")
    add("head-count", patched(good, kv_value_at(lay, "llama.attention.head_count"), "<I", 5), "not divisible")
    add("kv-heads", patched(good, kv_value_at(lay, "llama.attention.head_count_kv"), "<I", 3), "not a multiple")
    add("ffn-length", patched(good, kv_value_at(lay, "llama.feed_forward_length"), "<I", 100), "expected (64, 100)")
    key_at = lay["kv_at"]["llama.block_count"] + 8
    add("missing-key", good[:key_at] + b"llama.block_cnxxx" + good[key_at + 17:], "key 'llama.block_count' is missing")
    add("zero-dimension", patched(good, dims_at, "<Q", 0), "impossible dimension")
    add("vocab-mismatch", patched(good, kv_value_at(lay, "llama.vocab_size"), "<I", 7), "llama.vocab_size 7")
    add("bad-alignment", rebuilt(lambda k: [("general.alignment", "u32", 12)] + k), "not a multiple of 8")
    add("alignment-type", rebuilt(lambda k: [("general.alignment", "u64", 32)] + k), "expected uint32")
    add("duplicate-key", rebuilt(lambda k: k + [("llama.block_count", "u32", 2)]), "appears twice")
    add("duplicate-tensor", rebuilt(t_edit=lambda t: t + [t[1]]), "appears twice")
    deep_type, deep_value = "u8", 1
    for _ in range(9):
        deep_type, deep_value = ("arr", deep_type), [deep_value]
    add("deep-arrays", rebuilt(lambda k: k + [("ffnscope.deep", deep_type, deep_value)]), "nested more than 8")
    add("falcon", rebuilt(lambda k: [("general.architecture", "str", "falcon")] + k[1:]),
        "architecture 'falcon' is not supported")
    add("no-architecture", rebuilt(lambda k: k[1:]), "key 'general.architecture' is missing")
    add("q8_0-row", rebuilt(t_edit=lambda t: t + [("extra.weight", np.ones((2, 48), np.float32), "Q8_0")]),
        "not a multiple of 32")
    add("token-types", rebuilt(lambda k: [(a, b, c[:-1] if a == "tokenizer.ggml.token_type" else c) for a, b, c in k]),
        "token_type has")
    add("token-id", rebuilt(lambda k: [(a, b, 9999 if a == "tokenizer.ggml.bos_token_id" else c) for a, b, c in k]),
        "bos_token_id 9999 is outside")
    add("tokenizer-model", rebuilt(lambda k: [(a, b, "bert" if a == "tokenizer.ggml.model" else c) for a, b, c in k]),
        "tokenizer.ggml.model 'bert' is not supported")
    add("eps-type", rebuilt(lambda k: [(a, "str" if a.endswith("rms_epsilon") else b, "x" if a.endswith("rms_epsilon")
                                        else c) for a, b, c in k]), "expected a number")
    return cases


def broken_llama2c(work):
    cases = []
    for v in (0, 1):
        src = os.path.join(work, "llama-llama2c-v%d" % v, "model.bin")
        good = open(src, "rb").read()
        cfg_at = 0 if v == 0 else 8

        def add(label, data, expect, tokenizer=True):
            cases.append(("llama2c-v%d-%s/model.bin" % (v, label), data, expect, tokenizer))

        add("truncated", good[:-4], "needs")
        add("extra-bytes", good + b"\0\0\0\0", "needs")
        add("tiny", good[:10], "too short")
        add("layers", patched(good, cfg_at + 8, "<i", 3), "needs")
        add("heads", patched(good, cfg_at + 12, "<i", 3), "not divisible")
        add("kv-heads", patched(good, cfg_at + 16, "<i", 3), "not a multiple")
        add("odd-head", patched(patched(good, cfg_at, "<i", 24), cfg_at + 12, "<i", 8), "odd")
        add("seq-len-0", patched(good, cfg_at + 24, "<i", 0), "out of range")
        add("huge-dims", patched(patched(good, cfg_at, "<i", 1 << 24), cfg_at + 4, "<i", 1 << 24), "needs")
        add("tokenizer-size", good, "tokenizer.bin next to it has", tokenizer="short")
        if v == 1:
            add("version-7", patched(good, 4, "<i", 7), "version 7 is not supported")
            add("version-2", patched(good, 4, "<i", 2), "version 2 (int8")
            add("shared-flag", patched(good, 36, "<B", 5), "shared-classifier flag is 5")
            add("bad-magic", b"ak43" + good[4:], "out of range")
            add("truncated-header", good[:100], "truncated")
            add("vocab-negative", patched(good, cfg_at + 20, "<i", -335), "must be positive")
    return cases


def broken_llmc(work):
    cases = []
    for v in (3, 5):
        good = open(os.path.join(work, "gpt2-llmc-v%d.bin" % v), "rb").read()

        def add(label, data, expect):
            cases.append(("llmc-v%d-%s.bin" % (v, label), data, expect))

        add("truncated", good[:-2], "needs")
        add("extra-bytes", good + b"\0\0", "needs")
        add("tiny", good[:1000], "too short")
        add("version-4", patched(good, 4, "<i", 4), "version 4 is not supported")
        add("padded-vocab", patched(good, 28, "<i", 100), "padded_vocab_size 100 is smaller")
        add("heads", patched(good, 20, "<i", 3), "not divisible")
        add("layers", patched(good, 16, "<i", 3), "needs")
        add("max-seq-0", patched(good, 8, "<i", 0), "out of range")
        # Without llm.c's magic a .bin file is read as llama2.c and fails there, still naming the file.
        add("bad-magic", patched(good, 0, "<i", 20240327), "")
    return cases


def check_broken(ffn, work):
    bdir = os.path.join(work, "broken")
    os.makedirs(bdir, exist_ok=True)
    tok_bin = open(os.path.join(work, "llama-llama2c-v0", "tokenizer.bin"), "rb").read()
    cases = [(n, d, e, None) for n, d, e in broken_gguf(work)]
    cases += broken_llama2c(work)
    cases += [(n, d, e, None) for n, d, e in broken_llmc(work)]
    # A tokenizer.bin cut after its first 300 entries is well formed but too small for the model.
    short = bytearray(tok_bin[:4])
    off = 4
    for _ in range(300):
        (n,) = struct.unpack_from("<i", tok_bin, off + 4)
        short += tok_bin[off:off + 8 + n]
        off += 8 + n
    for name, data, expect, tokenizer in cases:
        path = os.path.join(bdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        if tokenizer is not None:
            with open(os.path.join(os.path.dirname(path), "tokenizer.bin"), "wb") as f:
                f.write(bytes(short) if tokenizer == "short" else tok_bin)
        p = subprocess.run([ffn, "inspect", path], capture_output=True, text=True)
        lines = p.stderr.splitlines()
        ok = (p.returncode == 2 and len(lines) == 1 and lines[0].startswith("ffnscope: error: " + path + ":")
              and expect in lines[0] and p.stdout == "")
        check(ok, "broken %s: exit 2, one line%s" % (name, " (" + lines[0][len("ffnscope: error: " + path):].strip()
                                                        + ")" if len(lines) == 1 else ""),
              "rc %d, stderr %r, expected %r" % (p.returncode, p.stderr, expect))
    # The same through a run whose entry forces the format.
    cfg = os.path.join(bdir, "forced.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\ncorpus:\n  path: ../corpus.txt\n  tokens: 128\n  seq_len: 64\n  batch: 2\n"
                "models:\n  - path: llmc-v3-bad-magic.bin\n    format: llmc\n    tokenizer: ../gpt2\n")
    p = subprocess.run([ffn, "run", cfg, "--out", os.path.join(bdir, "forced-out")], capture_output=True, text=True)
    check(p.returncode != 0 and "llmc-v3-bad-magic.bin: not an llm.c checkpoint (bad magic 20240327" in p.stderr,
          "a run forcing format llmc on a file without the magic fails naming it", p.stderr[-600:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffnscope", required=True)
    ap.add_argument("--tokenize", required=True)
    ap.add_argument("--keep", help="keep the files in this folder")
    a = ap.parse_args()
    ffn, tok = os.path.abspath(a.ffnscope), os.path.abspath(a.tokenize)
    work = a.keep or tempfile.mkdtemp(prefix="ffnscope-formats-")
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
    try:
        man = ef.export_all(work, 4321)
        check_metrics(ffn, work, man)
        check_tokenizers(ffn, tok, work)
        check_inspect(ffn, work)
        check_broken(ffn, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
