#!/usr/bin/python3
"""`ffnscope run` on checkpoints against the PyTorch reference pipeline.

Random-weight checkpoints of every architecture (tools/make_random_model.py) run through the real
binary on a config that caps seq_len at the models' context (100 -> 64), ends on a partial batch
(15 sequences in batches of 4) and captures both sites of every layer. The reference side cuts
the same token stream the same way (consecutive non-overlapping sequences from token 0, whole
sequences only), runs tools/reference.py's forward with hooks and computes metrics with numpy
float64 (tools/np_metrics.py). Every row must agree to 1e-4 relative; token counts and warnings
exactly. A second run checks corpus.add_bos (each sequence = BOS + the next seq_len-1 tokens).

Token ids for the reference: tools/reference.py's own byte-level BPE for the GPT-2-style
tokenizers; `ffnscope tokenize` for the SentencePiece-style one (checked against references by the
tokenizer tests), since reference.py has no SentencePiece encoder.

usage: check_run_models.py FFNSCOPE
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_random_model  # noqa: E402
import np_metrics  # noqa: E402
import reference  # noqa: E402

TOL = 1e-4
KEYS = ("hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha")
# every architecture: the three first-stage families and one layout of each newer one
LAYOUTS = ("gpt2-prefixed", "llama-gqa-bf16", "ngpt-w160", "llama3-rope", "qwen2-nullscaling", "qwen3", "gemma",
           "gemma2", "gemma3-text", "pythia", "pythia-serial", "phi3", "olmo2")
TOKENS, SEQ_LEN, BATCH = 1000, 100, 4

SENTENCES = [
    "Anne had been a very pretty girl, but her bloom had vanished early;",
    "and as even in its height, her father had found little to admire in her,",
    "so totally different were her delicate features and mild dark eyes from his own,",
    "there could be nothing in them, now that she was faded and thin, to excite his esteem.",
    "It was 1814, and the fleet had come home: 27 ships, 3 frigates, 12 sloops.",
    "\"Who can be in doubt of what followed?\" she asked -- twice, and then again.",
    "They walked on; the road was long, the wind cold, and the evening coming on fast.",
]

failures = []
ROOT_MODELS = []   # the folder the random checkpoints are written to


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def corpus_text():
    rng = np.random.default_rng(7)
    parts = []
    for i in range(160):
        parts.append(SENTENCES[rng.integers(len(SENTENCES))])
        if i % 5 == 4:
            parts.append("\n\n")
    return " ".join(parts)


def ids_for(ffn, model_dir, text_path, text):
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        tj = json.load(f)
    if (tj.get("pre_tokenizer") or {}).get("type") == "ByteLevel":
        return reference.encode(os.path.join(model_dir, "tokenizer.json"), text)
    p = subprocess.run([ffn, "tokenize", model_dir, text_path, "--format", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("ffnscope tokenize failed: " + p.stderr)
    return json.loads(p.stdout)


def context_of(model_dir):
    """The model's context, by whichever key its family names it with."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    for k in ("max_position_embeddings", "n_positions", "n_ctx", "block_size"):
        if cfg.get(k):
            return cfg[k]
    raise KeyError("no context key in " + model_dir)


def bos_id(model_dir):
    with open(os.path.join(model_dir, "tokenizer.json")) as f:
        tj = json.load(f)
    for t in tj.get("added_tokens", []):
        if t.get("content") == "<s>":
            return t["id"]
    return tj["model"]["vocab"]["<s>"]


def compare(rows, name, model, seqs, what):
    """rows: metrics.csv rows of this model; seqs: [n_seq, seq_len] ids the reference runs."""
    acts = reference.capture(model, seqs.reshape(-1), seqs.shape[1], BATCH, None, ("post", "pre"))
    got = {(int(r["layer"]), r["site"]): r for r in rows if r["model"] == name}
    check(set(got) == set(acts), "%s %s: rows %s vs %s" % (what, name, sorted(got), sorted(acts)))
    for key, x in sorted(acts.items()):
        if key not in got:
            continue
        r = got[key]
        ref = np_metrics.metrics(x.astype(np.float64), concentration_k=0.1)
        tag = "%s %s layer %d %s" % (what, name, key[0], key[1])
        check(int(r["tokens"]) == ref["tokens"] == seqs.size, "%s tokens %s vs %d" % (tag, r["tokens"], seqs.size))
        check(int(r["width"]) == ref["width"], tag + " width")
        want_family = json.load(open(os.path.join(ROOT_MODELS[0], name, "config.json")))["model_type"]
        check(r["family"] == want_family, "%s family %r, expected the model_type %r" % (tag, r["family"], want_family))
        check(r["warnings"] == ref["warnings"], "%s warnings %r vs %r" % (tag, r["warnings"], ref["warnings"]))
        for k in KEYS:
            a, b = (float(r[k]) if r[k] != "" else float("nan")), ref[k]
            if math.isnan(b):
                check(math.isnan(a), "%s %s: %r vs nan" % (tag, k, a))
            else:
                check(abs(a - b) <= TOL * max(abs(b), 1e-12), "%s %s: %.9g vs reference %.9g" % (tag, k, a, b))


def run(ffn, cfg, out, cwd):
    p = subprocess.run([ffn, "run", cfg, "--out", out], cwd=cwd, capture_output=True, text=True, timeout=600)
    check(p.returncode == 0, "%s: exit %d: %s" % (cfg, p.returncode, p.stderr))
    return list(csv.DictReader(open(os.path.join(out, "metrics.csv")))) if p.returncode == 0 else []


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-runmodels-")
    models_dir = os.path.join(tmp, "models")
    ROOT_MODELS.append(models_dir)
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            make_random_model.main(["--out", models_dir, "--only", ",".join(LAYOUTS)])
        finally:
            sys.stdout = old
    text = corpus_text()
    text_path = os.path.join(tmp, "corpus.txt")
    with open(text_path, "w") as f:
        f.write(text)

    cfg = os.path.join(tmp, "models.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\n"
                "corpus: {path: corpus.txt, tokens: %d, seq_len: %d, batch: %d}\n"
                "capture: {sites: [post, pre], layers: all, refresh_tokens: 256}\n"
                "models:\n  - glob: models/*\n" % (TOKENS, SEQ_LEN, BATCH))
    rows = run(ffn, cfg, os.path.join(tmp, "out"), tmp)
    for name in LAYOUTS:
        d = os.path.join(models_dir, name)
        seq_len = min(SEQ_LEN, context_of(d))
        ids = np.array(ids_for(ffn, d, text_path, text), dtype=np.int64)
        n_seq = min(TOKENS // seq_len, len(ids) // seq_len)
        check(n_seq == TOKENS // seq_len, "%s: corpus too short for the test (%d tokens)" % (name, len(ids)))
        seqs = ids[: n_seq * seq_len].reshape(n_seq, seq_len)
        compare(rows, name, reference.load_model(d), seqs, "plain")

    # corpus.add_bos on the SentencePiece-style model
    name = "llama-gqa-bf16"
    cfg2 = os.path.join(tmp, "bos.yaml")
    with open(cfg2, "w") as f:
        f.write("version: 1\n"
                "corpus: {path: corpus.txt, tokens: %d, seq_len: %d, batch: %d, add_bos: true}\n"
                "capture: {sites: [post, pre]}\n"
                "models:\n  - path: models/%s\n" % (TOKENS, SEQ_LEN, BATCH, name))
    rows = run(ffn, cfg2, os.path.join(tmp, "out-bos"), tmp)
    d = os.path.join(models_dir, name)
    ids = np.array(ids_for(ffn, d, text_path, text), dtype=np.int64)
    seq_len = min(SEQ_LEN, context_of(d))
    n_seq = TOKENS // seq_len
    per = seq_len - 1
    seqs = np.concatenate([np.full((n_seq, 1), bos_id(d), dtype=np.int64),
                           ids[: n_seq * per].reshape(n_seq, per)], axis=1)
    compare(rows, name, reference.load_model(d), seqs, "add_bos")

    if failures:
        print("%d check(s) failed; files kept in %s" % (len(failures), tmp))
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("ok: %d models, both sites of every layer, against the PyTorch reference" % len(LAYOUTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
