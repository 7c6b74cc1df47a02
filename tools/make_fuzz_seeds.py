#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses (tests/fuzz/<target>/seed-*): small valid files of each
format, so the fuzzers start from inputs that reach deep into every reader. Inputs a fuzzer once
crashed on live beside them as crash-* and are never touched here.

usage: make_fuzz_seeds.py [--out tests/fuzz]
"""
import argparse
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ggml_quant  # noqa: E402
import make_random_model  # noqa: E402
import npsafetensors  # noqa: E402


def npy_bytes(arr, version=(1, 0)):
    descr = arr.dtype.str
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(arr.shape))
    pre = 10 if version[0] == 1 else 12
    h = header.encode()
    h += b" " * ((-(pre + len(h) + 1)) % 64) + b"\n"
    lenfield = struct.pack("<H", len(h)) if version[0] == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + lenfield + h + arr.tobytes()


def st_bytes(tensors, metadata=None):
    header, blobs = npsafetensors.header_and_blobs(tensors, metadata)
    return npsafetensors.encode(header, blobs)


def stats_bytes(rng, width, layers, sites=("post",)):
    tensors = {}
    for layer in layers:
        for site in sites:
            x = rng.standard_normal((3 * width, width))
            mean = x.mean(0)
            xc = x - mean
            tensors["layers.%d.%s.count" % (layer, site)] = np.array([x.shape[0]], dtype=np.int64)
            tensors["layers.%d.%s.mean" % (layer, site)] = mean
            tensors["layers.%d.%s.scatter" % (layer, site)] = xc.T @ xc
    meta = {"ffnscope_stats": "1", "width": str(width), "model": "seed", "family": "gpt2",
            "n_layers": str(max(layers) + 1), "producer": "make_fuzz_seeds.py"}
    return st_bytes(tensors, meta)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_bytes(version=3, alignment=32):
    """A GGUF file with a value of every type and one tensor of each supported ggml type."""
    kv = []
    kv.append(gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama"))
    kv.append(gguf_string("general.alignment") + struct.pack("<II", 4, alignment))
    scalars = [(0, "<B", 7), (1, "<b", -7), (2, "<H", 700), (3, "<h", -700), (4, "<I", 70000),
               (5, "<i", -70000), (6, "<f", 1.5), (7, "<B", 1), (10, "<Q", 1 << 40), (11, "<q", -(1 << 40)),
               (12, "<d", 2.25)]
    for t, fmt, v in scalars:
        kv.append(gguf_string("test.t%d" % t) + struct.pack("<I", t) + struct.pack(fmt, v))
    kv.append(gguf_string("test.arr_f32") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<3f", 1, 2, 3))
    kv.append(gguf_string("test.arr_i32") + struct.pack("<IIQ", 9, 5, 3) + struct.pack("<3i", -1, 0, 1))
    kv.append(gguf_string("test.arr_str") + struct.pack("<IIQ", 9, 8, 2) + gguf_string("a") + gguf_string("bc"))
    kv.append(gguf_string("test.nested") + struct.pack("<IIQ", 9, 9, 1) + struct.pack("<IQ", 4, 2)
              + struct.pack("<2I", 1, 2))
    rng = np.random.default_rng(3)
    tensors = []
    f32 = rng.standard_normal((2, 32)).astype("<f4")
    tensors.append(("t.f32", [32, 2], 0, f32.tobytes()))
    tensors.append(("t.f16", [32, 2], 1, f32.astype("<f2").tobytes()))
    tensors.append(("t.bf16", [32, 2], 30, make_random_model.f32_to_bf16_bits(f32).tobytes()))
    q = b""
    for row in f32:
        d = np.abs(row).max() / 127
        q += np.float16(d).tobytes() + np.round(row / d).astype(np.int8).tobytes()
    tensors.append(("t.q8_0", [32, 2], 8, q))
    k = rng.standard_normal(512).astype("<f4")
    for t in ("Q4_K", "Q6_K", "IQ4_NL"):
        tensors.append(("t." + t.lower(), [256, 2], ggml_quant.TYPES[t][0], ggml_quant.quantize(t, k)))
    infos = b""
    data = b""
    for name, dims, typ, blob in tensors:
        data += b"\0" * ((-len(data)) % alignment)
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", typ, len(data))
        data += blob
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv)) + b"".join(kv) + infos
    head += b"\0" * ((-len(head)) % alignment)
    return head + data


def tokenizer_bin(vocab):
    out = struct.pack("<i", max(len(t) for t in vocab))
    for i, t in enumerate(vocab):
        out += struct.pack("<fi", -float(i), len(t)) + t
    return out


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fuzz"))
    a = p.parse_args()
    out = a.out
    for old in glob.glob(os.path.join(out, "*", "seed-*")):
        os.remove(old)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4))

    write(out, "npy", "f32.npy", npy_bytes(x.astype("<f4")))
    write(out, "npy", "f16-3d.npy", npy_bytes(x.reshape(2, 3, 4).astype("<f2")))
    write(out, "npy", "f64-v2.npy", npy_bytes(x.astype("<f8"), (2, 0)))
    write(out, "npy", "f32-v3.npy", npy_bytes(x.astype("<f4"), (3, 0)))

    write(out, "safetensors", "acts.safetensors",
          st_bytes({"blocks.0.mlp.hook_post": x.astype(np.float32),
                    "blocks.1.mlp.hook_pre": x.reshape(2, 3, 4).astype(np.float16)}, {"format": "pt"}))
    write(out, "safetensors", "f64.safetensors", st_bytes({"layers.3.post": x}))

    write(out, "stats", "w4.safetensors", stats_bytes(rng, 4, [0, 1], ("post", "pre")))
    write(out, "stats", "w3.safetensors", stats_bytes(rng, 3, [2]))

    write(out, "gguf", "v3.gguf", gguf_bytes(3))
    write(out, "gguf", "v2-align64.gguf", gguf_bytes(2, 64))

    # block decoders: type index (the harness's list), blocks per row - 1, then two rows of blocks
    readable = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                "Q6_K", "IQ4_NL", "IQ4_XS"]
    for i, t in enumerate(readable):
        if t not in ggml_quant.TYPES:
            continue
        qk = ggml_quant.TYPES[t][1]
        write(out, "ggml_quant", t.lower(), bytes([i, 1]) + ggml_quant.quantize(t, rng.standard_normal(4 * qk)))

    for name in ("demo.yaml", "example-activations.yaml"):
        with open(os.path.join(HERE, "..", "configs", name), "rb") as f:
            write(out, "config", name, f.read())
    write(out, "config", "full.yaml", b"""version: 1
corpus:
  path: /dev/null
  tokens: 4096
  seq_len: 64
  batch: 4
  add_bos: true
capture:
  sites: [post, pre]
  layers: "0-3"
  refresh_tokens: 1024
metrics:
  concentration_k: 16
models:
  - name: a
    path: /dev/null
    format: hf
    family: gpt2
    tokenizer: /dev/null
ui:
  theme: light
output:
  dir: results/x
  export_dir: exports
""")

    bb, _ = make_random_model.byte_bpe_tokenizer(16)
    sp, _ = make_random_model.sp_bpe_tokenizer(16)
    write(out, "tokenizer_json", "byte-bpe.json", json.dumps(bb, ensure_ascii=False).encode())
    write(out, "tokenizer_json", "sp-bpe.json", json.dumps(sp, ensure_ascii=False).encode())
    model = bb["model"]
    merges = model["merges"]
    merges_txt = "#version: 0.2\n" + "".join((m if isinstance(m, str) else " ".join(m)) + "\n" for m in merges)
    write(out, "vocab_merges", "gpt2.txt",
          json.dumps(model["vocab"], ensure_ascii=False).encode() + b"\0" + merges_txt.encode())
    vocab = [b"<unk>", b"<s>", b"</s>"] + [bytes([i]) for i in range(256)] + [b"he", b" t", b"the", b" the"]
    write(out, "tokenizer_bin", "llama2c.bin", tokenizer_bin(vocab))

    tmp = tempfile.mkdtemp()
    try:
        shapes = [("gpt2", dict(d=8, layers=2, heads=2, ffn=16, vocab=40, context=8)),
                  ("llama", dict(d=8, layers=2, heads=2, ffn=24, vocab=40, context=8)),
                  ("ngpt", dict(d=8, layers=1, heads=2, ffn=16, vocab=40, context=8))]
        for fam, s in shapes:
            args = ["--out", tmp, "--shape", fam, "--name", fam]
            for k, v in s.items():
                args += ["--" + k, str(v)]
            subprocess.run([sys.executable, os.path.join(HERE, "make_random_model.py")] + args, check=True,
                           stdout=subprocess.DEVNULL)
            with open(os.path.join(tmp, fam, "config.json"), "rb") as f:
                cfg = f.read()
            with open(os.path.join(tmp, fam, "model.safetensors"), "rb") as f:
                st = f.read()
            write(out, "hf", fam + ".bin", struct.pack("<I", len(cfg)) + cfg + st)
    finally:
        shutil.rmtree(tmp)
    checkpoint_seeds(out)
    return 0


def checkpoint_seeds(out):
    """GGUF, llama2.c and llm.c checkpoints from tools/export_formats.py, shrunk to d_model 32 (Q8_0 needs rows of 32), one layer: tens of KB."""
    import export_formats
    tiny = {
        "gpt2": dict(family="gpt2", config=dict(n_embd=32, n_layer=1, n_head=2, n_inner=None, n_positions=8,
                                                layer_norm_epsilon=1e-5, activation_function="gelu_new")),
        "llama": dict(family="llama", config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                                  num_attention_heads=2, num_key_value_heads=1,
                                                  max_position_embeddings=8, rms_norm_eps=1e-5,
                                                  rope_theta=10000.0, tie_word_embeddings=False)),
        "llama-shared": dict(family="llama", config=dict(hidden_size=32, intermediate_size=32, num_hidden_layers=1,
                                                         num_attention_heads=2, num_key_value_heads=2,
                                                         max_position_embeddings=8, rms_norm_eps=1e-5,
                                                         rope_theta=10000.0, tie_word_embeddings=True)),
        "llama-odd": dict(family="llama", config=dict(hidden_size=32, intermediate_size=96, num_hidden_layers=1,
                                                      num_attention_heads=2, num_key_value_heads=2,
                                                      max_position_embeddings=8, rms_norm_eps=1e-6,
                                                      rope_theta=500000.0, tie_word_embeddings=False)),
    }
    export_formats.ORIGINALS.clear()
    export_formats.ORIGINALS.update(tiny)
    tmp = tempfile.mkdtemp()
    try:
        with open(os.devnull, "w") as null:
            old, sys.stdout = sys.stdout, null
            try:
                export_formats.export_all(tmp, 11)
            finally:
                sys.stdout = old
        for name in ("gpt2-f32", "gpt2-q8_0", "llama-f16", "llama-bf16", "llama-q8_0", "llama-odd-f32"):
            with open(os.path.join(tmp, name + ".gguf"), "rb") as f:
                write(out, "model_gguf", name + ".gguf", f.read())
        for d in ("llama-llama2c-v0", "llama-shared-llama2c-v1"):
            with open(os.path.join(tmp, d, "model.bin"), "rb") as f:
                write(out, "llama2c", d + ".bin", f.read())
        with open(os.path.join(tmp, "llama-llama2c-v0", "tokenizer.bin"), "rb") as f:
            write(out, "tokenizer_bin", "export.bin", f.read())
        for v in (3, 5):
            with open(os.path.join(tmp, "gpt2-llmc-v%d.bin" % v), "rb") as f:
                write(out, "llmc", "v%d.bin" % v, f.read())
    finally:
        shutil.rmtree(tmp)

    moe_gguf_seeds(out)


def moe_gguf_seeds(out):
    """Mixture-of-experts GGUF seeds: a Qwen2-MoE of d_model 32, one routed layer of 3 experts (stacked
    *_exps, Q8_0) with a shared expert, and the same as Mixtral (a llama file with experts, F16)."""
    import export_formats
    import make_random_model as mrm
    specs = {
        "qwen2moe-q8_0": ("Q8_0", dict(family="qwen2_moe", dtype="F32", tokenizer="byte", config=dict(
            hidden_size=32, intermediate_size=64, moe_intermediate_size=32, shared_expert_intermediate_size=32,
            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=8,
            rms_norm_eps=1e-6, rope_theta=10000.0, num_experts=3, num_experts_per_tok=2, norm_topk_prob=False,
            hidden_act="silu", tie_word_embeddings=True))),
        "mixtral-f16": ("F16", dict(family="mixtral", dtype="F32", tokenizer="byte", config=dict(
            hidden_size=32, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=8, rms_norm_eps=1e-5, rope_theta=10000.0,
            num_local_experts=3, num_experts_per_tok=2, hidden_act="silu", tie_word_embeddings=True))),
    }
    tmp = tempfile.mkdtemp()
    try:
        for name, (ggml, spec) in specs.items():
            d = mrm.make(tmp, name, spec, 12)
            with open(os.path.join(d, "config.json")) as f:
                cfg = json.load(f)
            with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
                tj = json.load(f)
            w, _ = npsafetensors.load(os.path.join(d, "model.safetensors"))
            kvs, tensors = export_formats.gguf_model(name, cfg["model_type"], cfg, w, tj, ggml, small_f32=True)
            write(out, "model_gguf", name + ".gguf", export_formats.gguf_bytes(kvs, tensors)[0])
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
