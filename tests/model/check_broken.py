#!/usr/bin/python3
"""Broken Hugging Face checkpoints: `ffnscope inspect` and a full load (model_dump) must both end
with exit status 2 and one error line naming the file and the tensor or config key.

usage: check_broken.py --ffnscope FFNSCOPE --dump MODEL_DUMP
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import make_random_model as mrm  # noqa: E402
import numpy as np  # noqa: E402
import reference  # noqa: E402


def tensors_of(path):
    """(name, float32 array) in file order, via the reference reader."""
    t = reference.load_safetensors(path)
    hdr, _, _, _ = reference.read_safetensors_header(path)
    return [(k, t[k]) for k in sorted(hdr, key=lambda k: hdr[k]["data_offsets"][0])]


def edit_tensors(path, fn):
    mrm.write_safetensors(path, fn(tensors_of(path)), "F32")


def edit_config(d, fn):
    p = os.path.join(d, "config.json")
    with open(p) as f:
        c = json.load(f)
    fn(c)
    with open(p, "w") as f:
        json.dump(c, f)


def drop(name):
    return lambda ts: [(k, v) for k, v in ts if k != name]


def reshape(name, shape):
    rng = np.random.default_rng(0)
    return lambda ts: [(k, rng.standard_normal(shape).astype(np.float32) if k == name else v) for k, v in ts]


def stacked_short(prefix, n_experts, keep):
    """The experts under prefix written as transformers 5 stacks them, only the first `keep`."""
    def fn(ts):
        w = dict(ts)
        gu = [np.concatenate([w.pop("%s%d.gate_proj.weight" % (prefix, e)), w.pop("%s%d.up_proj.weight" % (prefix, e))])
              for e in range(n_experts)]
        dn = [w.pop("%s%d.down_proj.weight" % (prefix, e)) for e in range(n_experts)]
        w[prefix + "gate_up_proj"] = np.stack(gu[:keep])
        w[prefix + "down_proj"] = np.stack(dn[:keep])
        return sorted(w.items())
    return fn


def truncate(path, nbytes):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - nbytes)


def set_dtype_i32(path, name):
    """Rewrite one tensor as I32 (same byte size as F32) by patching the header."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    hdr = json.loads(blob[8:8 + n])
    hdr[name]["dtype"] = "I32"
    hj = json.dumps(hdr).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(len(hj).to_bytes(8, "little") + hj + blob[8 + n:])


def st(d):
    return os.path.join(d, "model.safetensors")


# (case name, base layout, edit(dir), substrings the error line must contain; "{dir}" expands to
# the broken model's folder, "{vocab}" to its vocabulary size)
CASES = [
    ("missing tensor", "gpt2-prefixed",
     lambda d: edit_tensors(st(d), drop("transformer.h.1.mlp.c_proj.bias")),
     ["{dir}/model.safetensors", "'transformer.h.1.mlp.c_proj.bias'", "missing"]),
    ("misshaped Conv1D weight", "gpt2-plain-f16",
     lambda d: edit_tensors(st(d), reshape("h.2.mlp.c_fc.weight", (64, 200))),
     ["{dir}/model.safetensors: tensor 'h.2.mlp.c_fc.weight' has shape [64,200], expected [64,256]"]),
    ("misshaped GQA key projection", "llama-gqa-bf16",
     lambda d: edit_tensors(st(d), reshape("model.layers.1.self_attn.k_proj.weight", (64, 64))),
     ["{dir}/model.safetensors", "'model.layers.1.self_attn.k_proj.weight' has shape [64,64], expected [32,64]"]),
    ("missing untied lm_head", "llama-gqa-bf16",
     lambda d: edit_tensors(st(d), drop("lm_head.weight")),
     ["{dir}/model.safetensors", "'lm_head.weight'", "missing"]),
    ("missing nGPT scale", "ngpt-w160",
     lambda d: edit_tensors(st(d), drop("transformer.h.2.suv")),
     ["{dir}/model.safetensors", "'transformer.h.2.suv'", "missing"]),
    ("misshaped nGPT c_fc", "ngpt-w160",
     lambda d: edit_tensors(st(d), reshape("transformer.h.0.c_fc.weight", (160, 64))),
     ["'transformer.h.0.c_fc.weight' has shape [160,64], expected [320,64]"]),
    ("tensor missing from its shard", "llama-tied-sharded",
     lambda d: edit_tensors(os.path.join(d, "model-00002-of-00003.safetensors"),
                            lambda ts: ts[1:]),
     ["{dir}/model-00002-of-00003.safetensors", "missing"]),
    ("tensor absent from the shard index", "llama-tied-sharded",
     lambda d: (lambda p: (lambda j: (j["weight_map"].pop("model.norm.weight"),
                                      json.dump(j, open(p, "w"))))(json.load(open(p))))(
         os.path.join(d, "model.safetensors.index.json")),
     ["{dir}/model.safetensors.index.json", "'model.norm.weight'", "missing"]),
    ("integer weights", "gpt2-prefixed",
     lambda d: set_dtype_i32(st(d), "transformer.h.0.ln_1.weight"),
     ["{dir}/model.safetensors", "'transformer.h.0.ln_1.weight'", "I32"]),
    ("truncated safetensors", "gpt2-plain-f16", lambda d: truncate(st(d), 100),
     ["{dir}/model.safetensors"]),
    ("truncated header", "ngpt-bf16", lambda d: truncate(st(d), os.path.getsize(st(d)) - 20),
     ["{dir}/model.safetensors"]),
    ("zero heads", "gpt2-prefixed", lambda d: edit_config(d, lambda c: c.update(n_head=0)),
     ["{dir}/config.json", "'n_head'", "positive integer"]),
    ("heads do not divide width", "gpt2-prefixed", lambda d: edit_config(d, lambda c: c.update(n_head=3)),
     ["{dir}/config.json", "n_embd 64 is not divisible by n_head 3"]),
    ("string width", "ngpt-w160", lambda d: edit_config(d, lambda c: c.update(n_embd="64")),
     ["{dir}/config.json", "'n_embd'"]),
    ("missing layer count", "llama-gqa-bf16", lambda d: edit_config(d, lambda c: c.pop("num_hidden_layers")),
     ["{dir}/config.json", "'num_hidden_layers' is missing"]),
    ("kv heads do not divide heads", "llama-gqa-bf16",
     lambda d: edit_config(d, lambda c: c.update(num_key_value_heads=3)),
     ["{dir}/config.json", "num_key_value_heads 3"]),
    ("negative rope_theta", "llama-gqa-bf16", lambda d: edit_config(d, lambda c: c.update(rope_theta=-1.0)),
     ["{dir}/config.json", "'rope_theta'"]),
    ("absurd width", "llama-gqa-bf16", lambda d: edit_config(d, lambda c: c.update(hidden_size=1 << 29)),
     ["{dir}/config.json", "out of range"]),
    ("config width disagrees with the tensors", "gpt2-prefixed", lambda d: edit_config(d, lambda c: c.update(n_embd=128)),
     ["{dir}/model.safetensors", "'transformer.wte.weight' has shape [{vocab},64], expected [{vocab},128]"]),
    ("odd nGPT head dimension", "ngpt-w160", lambda d: edit_config(d, lambda c: c.update(n_head=64)),
     ["{dir}/config.json", "odd"]),
    ("unknown family", "gpt2-prefixed",
     lambda d: edit_config(d, lambda c: c.update(model_type="bert", architectures=["BertModel"])),
     ["{dir}/config.json", "'bert'"]),
    ("config not JSON", "gpt2-prefixed", lambda d: open(os.path.join(d, "config.json"), "w").write("{\"n_embd\": 64,"),
     ["{dir}/config.json:"]),
    ("no weights", "gpt2-prefixed", lambda d: os.remove(st(d)),
     ["{dir}", "model.safetensors"]),
    # the newer architectures: each family's own keys and tensors
    ("unsupported rope_scaling type", "llama3-rope",
     lambda d: edit_config(d, lambda c: c.update(rope_scaling={"rope_type": "yarn", "factor": 4.0})),
     ["{dir}/config.json", "rope_scaling type 'yarn' is not supported (default, linear, dynamic, llama3)"]),
    ("rope_scaling without a factor", "llama3-rope",
     lambda d: edit_config(d, lambda c: c["rope_scaling"].pop("factor")),
     ["{dir}/config.json", "'rope_scaling.factor'"]),
    ("qwen3 zero head_dim", "qwen3", lambda d: edit_config(d, lambda c: c.update(head_dim=0)),
     ["{dir}/config.json", "'head_dim'", "positive integer"]),
    ("qwen3 missing q_norm", "qwen3",
     lambda d: edit_tensors(st(d), drop("model.layers.1.self_attn.q_norm.weight")),
     ["{dir}/model.safetensors", "'model.layers.1.self_attn.q_norm.weight'", "missing"]),
    ("gemma unknown activation", "gemma", lambda d: edit_config(d, lambda c: c.update(hidden_activation="swish7")),
     ["{dir}/config.json", "hidden_activation 'swish7' is not supported"]),
    ("gemma2 negative query scale", "gemma2",
     lambda d: edit_config(d, lambda c: c.update(query_pre_attn_scalar=-8)),
     ["{dir}/config.json", "'query_pre_attn_scalar'", "positive number"]),
    ("gemma2 string window", "gemma2", lambda d: edit_config(d, lambda c: c.update(sliding_window="24")),
     ["{dir}/config.json", "'sliding_window'", "positive integer"]),
    ("gemma2 missing post-FFN norm", "gemma2",
     lambda d: edit_tensors(st(d), drop("model.layers.0.post_feedforward_layernorm.weight")),
     ["{dir}/model.safetensors", "'model.layers.0.post_feedforward_layernorm.weight'", "missing"]),
    ("gemma3 unknown layer type", "gemma3-text",
     lambda d: edit_config(d, lambda c: c.update(layer_types=["sliding_attention", "chunked_attention"]
                                                 + ["full_attention"] * (c["num_hidden_layers"] - 2))),
     ["{dir}/config.json", "layer_types[1] 'chunked_attention' is not supported"]),
    ("gemma3 short layer_types", "gemma3-text",
     lambda d: edit_config(d, lambda c: c.update(layer_types=["full_attention"])),
     ["{dir}/config.json", "'layer_types' has fewer than"]),
    ("pythia odd rotary dimensions", "pythia", lambda d: edit_config(d, lambda c: c.update(rotary_pct=0.3125)),
     ["{dir}/config.json", "'rotary_pct'", "rotary dimensions"]),
    ("pythia bool as string", "pythia", lambda d: edit_config(d, lambda c: c.update(use_parallel_residual="yes")),
     ["{dir}/config.json", "'use_parallel_residual'", "true or false"]),
    ("pythia misshaped fused qkv", "pythia",
     lambda d: edit_tensors(st(d), reshape("gpt_neox.layers.0.attention.query_key_value.weight", (64, 64))),
     ["{dir}/model.safetensors", "'gpt_neox.layers.0.attention.query_key_value.weight' has shape [64,64], expected [192,64]"]),
    ("phi3 longrope", "phi3",
     lambda d: edit_config(d, lambda c: c.update(rope_scaling={"type": "longrope", "short_factor": [1.0],
                                                              "long_factor": [1.0]})),
     ["{dir}/config.json", "rope_scaling type 'longrope' is not supported"]),
    ("phi3 rotary factor above one", "phi3", lambda d: edit_config(d, lambda c: c.update(partial_rotary_factor=2)),
     ["{dir}/config.json", "'partial_rotary_factor' must be at most 1"]),
    ("olmo2 kv heads do not divide heads", "olmo2",
     lambda d: edit_config(d, lambda c: c.update(num_key_value_heads=3)),
     ["{dir}/config.json", "num_key_value_heads 3"]),
    ("olmo2 misshaped k_norm", "olmo2",
     lambda d: edit_tensors(st(d), reshape("model.layers.0.self_attn.k_norm.weight", (16,))),
     ["{dir}/model.safetensors", "'model.layers.0.self_attn.k_norm.weight' has shape [16]"]),
    # mixture of experts: the router, the experts and their counts
    ("moe more experts per token than experts", "qwen3-moe",
     lambda d: edit_config(d, lambda c: c.update(num_experts_per_tok=9)),
     ["{dir}/config.json", "num_experts_per_tok 9 exceeds num_experts 8"]),
    ("moe zero experts", "olmoe", lambda d: edit_config(d, lambda c: c.update(num_experts=0)),
     ["{dir}/config.json", "'num_experts'", "positive integer"]),
    ("mixtral zero experts", "mixtral", lambda d: edit_config(d, lambda c: c.update(num_local_experts=0)),
     ["{dir}/config.json", "'num_local_experts'", "positive integer"]),
    ("moe missing expert tensor", "qwen2-moe",
     lambda d: edit_tensors(st(d), drop("model.layers.2.mlp.experts.5.down_proj.weight")),
     ["{dir}/model.safetensors", "'model.layers.2.mlp.experts.5.down_proj.weight'", "missing"]),
    ("mixtral missing expert tensor", "mixtral",
     lambda d: edit_tensors(st(d), drop("model.layers.1.block_sparse_moe.experts.3.w3.weight")),
     ["{dir}/model.safetensors", "'model.layers.1.block_sparse_moe.experts.3.w3.weight'", "missing"]),
    ("moe misshaped router", "olmoe",
     lambda d: edit_tensors(st(d), reshape("model.layers.1.mlp.gate.weight", (7, 64))),
     ["{dir}/model.safetensors", "'model.layers.1.mlp.gate.weight' has shape [7,64], expected [8,64]"]),
    ("moe router missing", "qwen3-moe",
     lambda d: edit_tensors(st(d), drop("model.layers.3.mlp.gate.weight")),
     ["{dir}/model.safetensors", "'model.layers.3.mlp.gate.weight'", "missing"]),
    # transformers 5's stacked experts: one expert short
    ("moe stacked experts one short", "qwen3-moe",
     lambda d: edit_tensors(st(d), stacked_short("model.layers.1.mlp.experts.", 8, 7)),
     ["{dir}/model.safetensors", "'model.layers.1.mlp.experts.gate_up_proj' has shape [7,80,64], expected [8,80,64]"]),
]


def check(cmd, what, want):
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    problems = []
    if p.returncode != 2:
        problems.append("exit status %d, expected 2" % p.returncode)
    if len(lines) != 1:
        problems.append("%d lines on stderr, expected 1" % len(lines))
    for w in want:
        if w not in p.stderr:
            problems.append("error line lacks %r" % w)
    if problems:
        print("  %s: %s\n    stderr: %s" % (what, "; ".join(problems), p.stderr.strip()))
    return not problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffnscope", required=True)
    ap.add_argument("--dump", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ffnscope-broken-")
    ok = True
    try:
        good = {}
        for i, name in enumerate(sorted({c[1] for c in CASES})):
            good[name] = mrm.make(os.path.join(work, "good"), name, mrm.LAYOUTS[name], 500 + i)
        ids = os.path.join(work, "ids.json")
        with open(ids, "w") as f:
            json.dump(list(range(8)), f)
        for i, (what, base, edit, want) in enumerate(CASES):
            d = os.path.join(work, "case%02d" % i)
            shutil.copytree(good[base], d)
            edit(d)
            with open(os.path.join(good[base], "config.json")) as f:
                vocab = str(json.load(f)["vocab_size"])
            want = [w.replace("{dir}", d).replace("{vocab}", vocab) for w in want]
            r1 = check([a.ffnscope, "inspect", d], what + " (inspect)", want)
            r2 = check([a.dump, d, ids, "8", "1", os.path.join(work, "out")], what + " (load)", want)
            print("%-40s %s" % (what, "ok" if r1 and r2 else "FAIL"))
            ok &= r1 and r2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
