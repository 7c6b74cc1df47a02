#!/usr/bin/python3
"""A large random mixture-of-experts GGUF (llama.cpp's layout: stacked *_exps, routers F32), written
tensor by tensor, for the real-size benchmarks. Default shape: OLMoE-1B-7B (d 2048, 16 layers, 16
heads, 64 experts of 1024, top 8, vocab 50304, q/k norms over the whole projections), Q8_0.

Like bench/make_big_model.py it never holds more than one tensor: the header is written from the
shapes first, then each tensor is generated (normal, std 1/sqrt(fan_in); norm gains one; router rows
std 1/sqrt(d)), quantized and appended. The tokenizer is the demo's (models/tokenizer.json, 1024 ids,
a subset of the vocabulary), embedded as tokenizer.ggml.*.

usage: make_big_moe_gguf.py OUT.gguf [--arch olmoe|qwen3moe] [--d 2048] [--layers 16] [--heads 16]
       [--kv-heads 16] [--experts 64] [--top-k 8] [--expert-ffn 1024] [--vocab 50304] [--type Q8_0|Q4_K|...]
       [--sparse]

--sparse leaves every tensor's data a hole of zeros (a valid file of the full size that takes no disk
and no time to write): for `ffnscope plan` and `inspect` at sizes this machine cannot generate, not
for runs (zero weights).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import export_formats as ef  # noqa: E402
import ggml_quant  # noqa: E402

# values per block, bytes per block
BLOCK = {"F32": (1, 4), "F16": (1, 2)}
BLOCK.update({name: (spec[1], spec[2]) for name, spec in ggml_quant.TYPES.items()})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--arch", default="olmoe", choices=("olmoe", "qwen3moe"))
    p.add_argument("--type", default="Q8_0", choices=sorted(BLOCK))
    p.add_argument("--sparse", action="store_true")
    for k, v in (("d", 2048), ("layers", 16), ("heads", 16), ("kv-heads", 16), ("experts", 64), ("top-k", 8),
                 ("expert-ffn", 1024), ("vocab", 50304), ("context", 4096), ("head-dim", 0)):
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    hd = a.head_dim or a.d // a.heads
    qd, kvd = a.heads * hd, a.kv_heads * hd
    # (name, numpy shape outer..inner, fan_in or 0 for gains, ggml type)
    t = [("token_embd.weight", (a.vocab, a.d), a.d, a.type)]
    for l in range(a.layers):
        b = "blk.%d." % l
        t += [(b + "attn_norm.weight", (a.d,), 0, "F32"),
              (b + "attn_q.weight", (qd, a.d), a.d, a.type), (b + "attn_k.weight", (kvd, a.d), a.d, a.type),
              (b + "attn_v.weight", (kvd, a.d), a.d, a.type),
              (b + "attn_q_norm.weight", (qd if a.arch == "olmoe" else hd,), 0, "F32"),
              (b + "attn_k_norm.weight", (kvd if a.arch == "olmoe" else hd,), 0, "F32"),
              (b + "attn_output.weight", (a.d, qd), qd, a.type), (b + "ffn_norm.weight", (a.d,), 0, "F32"),
              (b + "ffn_gate_inp.weight", (a.experts, a.d), a.d, "F32"),
              (b + "ffn_gate_exps.weight", (a.experts, a.expert_ffn, a.d), a.d, a.type),
              (b + "ffn_up_exps.weight", (a.experts, a.expert_ffn, a.d), a.d, a.type),
              (b + "ffn_down_exps.weight", (a.experts, a.d, a.expert_ffn), a.expert_ffn, a.type)]
    t += [("output_norm.weight", (a.d,), 0, "F32")]
    k = lambda key: a.arch + "." + key  # noqa: E731
    kvs = [("general.architecture", "str", a.arch), ("general.name", "str", os.path.basename(a.out)),
           ("general.file_type", "u32", ef.ftype_code(a.type)),
           (k("context_length"), "u32", a.context), (k("embedding_length"), "u32", a.d),
           (k("block_count"), "u32", a.layers), (k("feed_forward_length"), "u32", a.expert_ffn),
           (k("attention.head_count"), "u32", a.heads), (k("attention.head_count_kv"), "u32", a.kv_heads),
           (k("attention.layer_norm_rms_epsilon"), "f32", 1e-5), (k("rope.freq_base"), "f32", 10000.0),
           (k("expert_count"), "u32", a.experts), (k("expert_used_count"), "u32", a.top_k)]
    if a.arch == "qwen3moe":
        kvs += [(k("expert_feed_forward_length"), "u32", a.expert_ffn), (k("attention.key_length"), "u32", hd),
                (k("attention.value_length"), "u32", hd)]
    if BLOCK[a.type][0] > 1:
        kvs.append(("general.quantization_version", "u32", 2))
    with open(os.path.join(ROOT, "models", "tokenizer.json"), encoding="utf-8") as f:
        kvs += ef.gguf_tokenizer_kvs(json.load(f), True)

    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(t), len(kvs)))
    for key, vtype, value in kvs:
        out += ef.gguf_string(key) + struct.pack("<I", ef.gguf_type_code(vtype)) + ef.gguf_value(vtype, value)
    at = 0
    for name, shape, _, ty in t:
        per, nb = BLOCK[ty]
        n = int(np.prod(shape))
        out += ef.gguf_string(name) + struct.pack("<I", len(shape))
        out += b"".join(struct.pack("<Q", x) for x in reversed(shape))
        out += struct.pack("<IQ", ef.GGML_TYPES[ty], at)
        at += n // per * nb
        at += (-at) % 32
    out += b"\0" * ((-len(out)) % 32)
    rng = np.random.default_rng(5)
    with open(a.out, "wb") as f:
        f.write(out)
        if a.sparse:
            f.truncate(len(out) + at)
            print(a.out)
            return 0
        pos = 0
        for name, shape, fan_in, ty in t:
            rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            cols = shape[-1]
            step = max(1, (1 << 22) // cols)
            for r0 in range(0, rows, step):
                m = min(step, rows - r0)
                x = (np.ones((m, cols), np.float32) if fan_in == 0
                     else rng.standard_normal((m, cols), dtype=np.float32) * np.float32(1 / np.sqrt(fan_in)))
                blob = ef.tensor_bytes(x, ty)
                f.write(blob)
                pos += len(blob)
            pad = (-pos) % 32
            f.write(b"\0" * pad)
            pos += pad
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
