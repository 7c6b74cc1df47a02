#!/usr/bin/python3
"""Random tiny models in every checkpoint format ffnscope reads, all from the same Hugging Face originals.

For each original (written by tools/make_random_model.py's numpy code: config.json, model.safetensors,
tokenizer.json), this writes, with writers of its own that follow the published layouts and share no
code with ffnscope's readers:
  - the Hugging Face directory itself in F32, and again with F16 and BF16 storage (same weights);
  - GGUF files (ggml's docs/gguf.md, versions 2 and 3) in F32, F16, BF16 and Q8_0, named and laid out
    as llama.cpp's convert script does it: llama.cpp tensor names, dimensions innermost first,
    LLaMA's attn_q / attn_k rows permuted into the interleaved rotary order, the tokenizer embedded
    (tokenizer.ggml.*: gpt2 with tokens and merges, llama with scores, token types and byte tokens);
  - llama2.c checkpoints (export.py's version 0 and version 1 layouts) with tokenizer.bin;
  - llm.c GPT-2 checkpoints (train_gpt2.py's write_model: version 3 float32, version 5 bfloat16).

The LLaMA originals get a SentencePiece-style tokenizer.json whose merges are every split of every
token into two tokens, ordered by the merged token's id (what converting a SentencePiece model to
tokenizer.json gives); merging by score = -id is then the same tokenizer, which is what GGUF llama
vocabularies and llama2.c's tokenizer.bin carry.

usage: export_formats.py --out DIR [--seed N]
       export_formats.py --out DIR --from HF_DIR [--name NAME]
The second form converts an existing float Hugging Face directory (gpt2 or llama, one
model.safetensors) instead: GGUF F32/F16/Q8_0, llm.c v3/v5 when it is a GPT-2 with a 4 * n_embd FFN,
llama2.c v0/v1 when it is a LLaMA that run.c can express (rms eps 1e-5, rope base 10000, head size
d / heads, no biases); the tokenizer embedded in the GGUF files comes from its tokenizer.json.
Writes DIR/manifest.json: one entry per exported model {name, path, format, original, original_f32,
dtype, family, tokenizer?}; `original` names the Hugging Face directory holding the same weights in
the same storage dtype (null for Q8_0, which Hugging Face files cannot hold), `original_f32` the
float32 one.

Library use (the formats tests build broken files with these): gguf_bytes, write_gguf, q8_0_bytes,
llama2c_bytes, llmc_bytes, GGUF value-type names.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_quant  # noqa: E402
import make_random_model as mrm  # noqa: E402

# ---------------------------------------------------------------------------------------------
# GGUF writer (ggml docs/gguf.md)

GGUF_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8,
              "arr": 9, "u64": 10, "i64": 11, "f64": 12}
_SCALAR_FMT = {"u8": "<B", "i8": "<b", "u16": "<H", "i16": "<h", "u32": "<I", "i32": "<i", "f32": "<f",
               "bool": "<B", "u64": "<Q", "i64": "<q", "f64": "<d"}
GGML_TYPES = {"F32": 0, "F16": 1, "BF16": 30}
GGML_TYPES.update({name: spec[0] for name, spec in ggml_quant.TYPES.items()})


class RawTensor:
    """A tensor given as its stored bytes (e.g. hand-made quantized blocks): shape outer..inner."""

    def __init__(self, shape, data):
        self.shape, self.data = tuple(shape), bytes(data)


def gguf_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    """vtype: a scalar name, "str", or ("arr", ELEMTYPE) with ELEMTYPE itself possibly ("arr", ...)."""
    if isinstance(vtype, tuple):
        et = vtype[1]
        code = GGUF_TYPES["arr"] if isinstance(et, tuple) else GGUF_TYPES[et]
        out = struct.pack("<IQ", code, len(value))
        return out + b"".join(gguf_value(et, v) for v in value)
    if vtype == "str":
        return gguf_string(value)
    return struct.pack(_SCALAR_FMT[vtype], int(value) if vtype not in ("f32", "f64") else value)


def gguf_type_code(vtype):
    return GGUF_TYPES["arr"] if isinstance(vtype, tuple) else GGUF_TYPES[vtype]


def f32_to_bf16_bits(x):
    return mrm.f32_to_bf16_bits(np.asarray(x, dtype=np.float32))


def q8_0_bytes(x):
    """ggml's Q8_0: blocks of 32 along the row, an f16 scale d = max|x|/127, then round(x/d) as int8
    (rounding half away from zero, as C's roundf)."""
    b = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    inv = np.zeros_like(d)
    nz = d != 0
    inv[nz] = (np.float32(1) / d[nz]).astype(np.float32)
    q = (b * inv[:, None]).astype(np.float32)
    q = np.trunc(q + np.copysign(np.float32(0.5), q)).astype(np.int8)
    blocks = np.zeros(len(b), dtype=[("d", "<f2"), ("q", "i1", (32,))])
    blocks["d"] = d.astype(np.float16)
    blocks["q"] = q
    return blocks.tobytes()


def q8_0_dequant(x):
    """What a reader gets back from q8_0_bytes(x), as float32 (for measuring the error)."""
    raw = np.frombuffer(q8_0_bytes(x), dtype=[("d", "<f2"), ("q", "i1", (32,))])
    return (raw["q"].astype(np.float32) * raw["d"].astype(np.float32)[:, None]).reshape(np.shape(x))


def tensor_bytes(arr, ggml):
    if isinstance(arr, RawTensor):
        return arr.data
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if ggml == "F32":
        return arr.astype("<f4").tobytes()
    if ggml == "F16":
        return arr.astype("<f2").tobytes()
    if ggml == "BF16":
        return f32_to_bf16_bits(arr).tobytes()
    if ggml == "Q8_0":
        return q8_0_bytes(arr)
    if ggml in ggml_quant.TYPES:
        return ggml_quant.quantize(ggml, arr)
    raise ValueError(ggml)


def gguf_bytes(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, vtype, value)]; tensors: [(name, array (outer..inner) or RawTensor, ggml type name)].
    Returns (bytes, layout); layout records where each field lies so tests can corrupt it:
    {"n_tensors_at", "n_kv_at", "kv_at": {key: offset of its key string}, "info_at": {name: offset of
    its name string}, "dims_at", "type_at", "offset_at": {name: field offset}, "data_start",
    "data_at": {name: absolute offset}}."""
    lay = {"kv_at": {}, "info_at": {}, "dims_at": {}, "type_at": {}, "offset_at": {}, "data_at": {}}
    out = bytearray(b"GGUF" + struct.pack("<I", version))
    lay["n_tensors_at"] = len(out)
    out += struct.pack("<Q", len(tensors))
    lay["n_kv_at"] = len(out)
    out += struct.pack("<Q", len(kvs))
    for key, vtype, value in kvs:
        lay["kv_at"][key] = len(out)
        out += gguf_string(key) + struct.pack("<I", gguf_type_code(vtype)) + gguf_value(vtype, value)
    blobs, at = [], 0
    for name, arr, ggml in tensors:
        blob = tensor_bytes(arr, ggml)
        lay["info_at"][name] = len(out)
        out += gguf_string(name)
        dims = list(reversed(arr.shape if isinstance(arr, RawTensor) else np.shape(arr)))
        out += struct.pack("<I", len(dims))
        lay["dims_at"][name] = len(out)
        out += b"".join(struct.pack("<Q", d) for d in dims)
        lay["type_at"][name] = len(out)
        out += struct.pack("<I", GGML_TYPES[ggml])
        lay["offset_at"][name] = len(out)
        out += struct.pack("<Q", at)
        blobs.append((at, blob))
        at += len(blob)
        at += (-at) % alignment
    out += b"\0" * ((-len(out)) % alignment)
    lay["data_start"] = len(out)
    for off, blob in blobs:
        out += b"\0" * (lay["data_start"] + off - len(out))
        out += blob
    for (name, _, _), (off, _) in zip(tensors, blobs):
        lay["data_at"][name] = lay["data_start"] + off
    return bytes(out), lay


def write_gguf(path, kvs, tensors, version=3, alignment=32):
    data, lay = gguf_bytes(kvs, tensors, version, alignment)
    with open(path, "wb") as f:
        f.write(data)
    return lay


# ---------------------------------------------------------------------------------------------
# the Hugging Face originals

def closed_sp_tokenizer():
    """make_random_model's SentencePiece-style tokenizer.json with every two-token split as a merge."""
    tj, n = mrm.sp_bpe_tokenizer()
    vocab = tj["model"]["vocab"]
    merges = []
    for tok, i in vocab.items():
        if i < 3 + 256:
            continue
        for k in range(1, len(tok)):
            a, b = tok[:k], tok[k:]
            if a in vocab and b in vocab:
                merges.append((i, vocab[a], vocab[b], a, b))
    merges.sort()
    tj["model"]["merges"] = ["%s %s" % (m[3], m[4]) for m in merges]
    return tj, n


ORIGINALS = {
    # GPT-2 with the FFN 4 * n_embd that llm.c requires.
    "gpt2": dict(family="gpt2", config=dict(n_embd=64, n_layer=2, n_head=4, n_inner=None, n_positions=64,
                                            layer_norm_epsilon=1e-5, activation_function="gelu_new")),
    # Grouped-query attention, untied head; rms eps and rope base as llama2.c's run.c fixes them.
    "llama": dict(family="llama", config=dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                              num_attention_heads=4, num_key_value_heads=2,
                                              max_position_embeddings=64, rms_norm_eps=1e-5,
                                              rope_theta=10000.0, tie_word_embeddings=False)),
    # Tied head (llama2.c's shared classifier), one kv head per query head.
    "llama-shared": dict(family="llama", config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                     num_attention_heads=4, num_key_value_heads=4,
                                                     max_position_embeddings=64, rms_norm_eps=1e-5,
                                                     rope_theta=10000.0, tie_word_embeddings=True)),
    # GGUF only: head size apart from d / heads (key_length), one kv head, attention biases,
    # rope base 500000, eps 1e-6, tied head.
    "llama-odd": dict(family="llama", config=dict(hidden_size=48, intermediate_size=64, num_hidden_layers=2,
                                                  num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                                  max_position_embeddings=64, rms_norm_eps=1e-6,
                                                  rope_theta=500000.0, tie_word_embeddings=True,
                                                  attention_bias=True)),
}


def make_original(out, name, spec, seed):
    """Writes OUT/NAME (F32), OUT/NAME-f16, OUT/NAME-bf16; returns (config, {name: array}, tokenizer_json)."""
    fam = spec["family"]
    rng = np.random.default_rng(seed)
    tj, vocab = closed_sp_tokenizer() if fam == "llama" else mrm.byte_bpe_tokenizer()
    cfg = {"model_type": mrm.MODEL_TYPES[fam][0], "architectures": [mrm.MODEL_TYPES[fam][1]]}
    cfg.update(spec["config"])
    cfg["vocab_size"] = vocab
    if fam == "gpt2":
        cfg["n_ctx"] = cfg["n_positions"]
        tensors = mrm.gpt2_tensors(rng, cfg, True, False)
    else:
        cfg["hidden_act"] = "silu"
        tensors = mrm.llama_tensors(rng, cfg)
    for suffix, dtype in (("", "F32"), ("-f16", "F16"), ("-bf16", "BF16")):
        d = os.path.join(out, name + suffix)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        mrm.write_checkpoint(d, tensors, dtype, 1)
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
    return cfg, dict(tensors), tj


# ---------------------------------------------------------------------------------------------
# GGUF export (llama.cpp's names and layouts)

def rope_permute(w, n_head):
    """llama.cpp's convert permute: each head's two rotate-half halves interleaved row by row."""
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def tokenizer_vocab(tj):
    """Token strings in id order (added tokens included) and the ids of the added ones."""
    vocab = dict(tj["model"]["vocab"])
    for a in tj.get("added_tokens") or []:
        vocab[a["content"]] = a["id"]
    tokens = [None] * (max(vocab.values()) + 1)
    for t, i in vocab.items():
        tokens[i] = t
    return tokens, {a["id"] for a in tj.get("added_tokens") or []}


def sp_scores(tokens):
    """SentencePiece-like scores: higher for earlier tokens, so merging by score follows the merge order."""
    return [0.0 if i < 3 + 256 else -float(i) for i in range(len(tokens))]


def tokenizer_kind(tj):
    """"gpt2" for a byte-level BPE tokenizer.json, "llama" for a SentencePiece-style one."""
    pre = tj.get("pre_tokenizer") or {}
    kinds = [pre] + list(pre.get("pretokenizers") or [])
    return "gpt2" if any(k.get("type") == "ByteLevel" for k in kinds) else "llama"


def gguf_tokenizer_kvs(tj, with_merges):
    tokens, added = tokenizer_vocab(tj)
    if tokenizer_kind(tj) == "gpt2":
        types = [3 if i in added else 1 for i in range(len(tokens))]
        eot = max(added)
        return [("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "gpt-2"),
                ("tokenizer.ggml.tokens", ("arr", "str"), tokens),
                ("tokenizer.ggml.token_type", ("arr", "i32"), types),
                ("tokenizer.ggml.merges", ("arr", "str"), tj["model"]["merges"]),
                ("tokenizer.ggml.bos_token_id", "u32", eot), ("tokenizer.ggml.eos_token_id", "u32", eot)]
    types = [2 if i == 0 else 3 if i < 3 else 6 if i < 3 + 256 else 1 for i in range(len(tokens))]
    kvs = [("tokenizer.ggml.model", "str", "llama"), ("tokenizer.ggml.pre", "str", "default"),
           ("tokenizer.ggml.tokens", ("arr", "str"), tokens),
           ("tokenizer.ggml.scores", ("arr", "f32"), sp_scores(tokens)),
           ("tokenizer.ggml.token_type", ("arr", "i32"), types),
           ("tokenizer.ggml.bos_token_id", "u32", 1), ("tokenizer.ggml.eos_token_id", "u32", 2),
           ("tokenizer.ggml.unknown_token_id", "u32", 0), ("tokenizer.ggml.add_space_prefix", "bool", True)]
    if with_merges:
        kvs.append(("tokenizer.ggml.merges", ("arr", "str"), tj["model"]["merges"]))
    return kvs


# Every value type and nested arrays, under a community prefix (ignored by readers).
EXTRA_KVS = [
    ("ffnscope.test.u8", "u8", 200), ("ffnscope.test.i8", "i8", -5), ("ffnscope.test.u16", "u16", 60000),
    ("ffnscope.test.i16", "i16", -30000), ("ffnscope.test.u32", "u32", 4000000000),
    ("ffnscope.test.i32", "i32", -2000000000), ("ffnscope.test.f32", "f32", 0.5),
    ("ffnscope.test.bool", "bool", True), ("ffnscope.test.str", "str", "h\u00e9llo \u2581 world"),
    ("ffnscope.test.u64", "u64", 2 ** 40 + 5), ("ffnscope.test.i64", "i64", -2 ** 62),
    ("ffnscope.test.f64", "f64", 1.25e-300),
    ("ffnscope.test.nested", ("arr", ("arr", "i16")), [[1, -2], [], [3]]),
    ("ffnscope.test.strings", ("arr", "str"), ["a", "", "b\u00e9"]),
    ("ffnscope.test.bools", ("arr", "bool"), [True, False]),
]


def ftype_code(ggml):
    """llama.cpp's general.file_type for a file mostly of this type (the _S variant of the K-quants)."""
    return {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K": 11,
            "Q4_K": 14, "Q5_K": 16, "Q6_K": 18, "IQ4_NL": 25, "IQ4_XS": 30, "BF16": 32}[ggml]


def gguf_model(name, fam, cfg, w, tj, ggml, small_f32=False, with_merges=False, extra=False):
    """(kvs, tensors) of a llama.cpp-style GGUF of this original. small_f32: 1-D tensors stay F32
    (what llama.cpp's quantizer does); otherwise every tensor is stored as ggml."""
    def ty(name, arr):
        # llama.cpp's quantizer leaves vectors (a [1, d] gate is one) and the MoE routers in F32
        if small_f32 and (arr.ndim == 1 or arr.shape[0] == 1 or name.endswith("ffn_gate_inp.weight")):
            return "F32"
        return ggml
    kvs = [("general.architecture", "str", fam), ("general.name", "str", name),
           ("general.file_type", "u32", ftype_code(ggml))]
    if ggml not in ("F32", "F16", "BF16"):
        kvs.append(("general.quantization_version", "u32", 2))
    t = []
    if fam == "gpt2":
        d, L = cfg["n_embd"], cfg["n_layer"]
        kvs += [("gpt2.context_length", "u32", cfg["n_positions"]), ("gpt2.embedding_length", "u32", d),
                ("gpt2.feed_forward_length", "u32", cfg["n_inner"] or 4 * d), ("gpt2.block_count", "u32", L),
                ("gpt2.attention.head_count", "u32", cfg["n_head"]),
                ("gpt2.attention.layer_norm_epsilon", "f32", cfg["layer_norm_epsilon"])]
        p = "transformer."
        t.append(("token_embd.weight", w[p + "wte.weight"]))
        t.append(("position_embd.weight", w[p + "wpe.weight"]))
        for i in range(L):
            h, b = "%sh.%d." % (p, i), "blk.%d." % i
            # Conv1D stores (in, out); ggml wants the [out, in] matrix (dims in, out).
            t += [(b + "attn_norm.weight", w[h + "ln_1.weight"]), (b + "attn_norm.bias", w[h + "ln_1.bias"]),
                  (b + "attn_qkv.weight", w[h + "attn.c_attn.weight"].T), (b + "attn_qkv.bias", w[h + "attn.c_attn.bias"]),
                  (b + "attn_output.weight", w[h + "attn.c_proj.weight"].T),
                  (b + "attn_output.bias", w[h + "attn.c_proj.bias"]),
                  (b + "ffn_norm.weight", w[h + "ln_2.weight"]), (b + "ffn_norm.bias", w[h + "ln_2.bias"]),
                  (b + "ffn_up.weight", w[h + "mlp.c_fc.weight"].T), (b + "ffn_up.bias", w[h + "mlp.c_fc.bias"]),
                  (b + "ffn_down.weight", w[h + "mlp.c_proj.weight"].T),
                  (b + "ffn_down.bias", w[h + "mlp.c_proj.bias"])]
        t += [("output_norm.weight", w[p + "ln_f.weight"]), ("output_norm.bias", w[p + "ln_f.bias"]),
              ("output.weight", w[p + "wte.weight"])]  # llama.cpp's converter writes the tied head out
    else:
        arch, akvs, rows = llamacpp_tensors(cfg, w)
        kvs[0] = ("general.architecture", "str", arch)
        kvs += akvs
        t = [(n, a) for n, a, _ in rows]
    kvs += gguf_tokenizer_kvs(tj, with_merges)
    if extra:
        kvs += EXTRA_KVS
    # rope_freqs stays F32 in every file, as llama.cpp writes it
    return kvs, [(n, np.asarray(a, dtype=np.float32), "F32" if n == "rope_freqs.weight" else ty(n, np.asarray(a)))
                 for n, a in t]


# llama.cpp's general.architecture for each Hugging Face model_type it converts
LLAMACPP_ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma": "gemma",
                 "gemma2": "gemma2", "gemma3_text": "gemma3", "gpt_neox": "gptneox", "phi3": "phi3",
                 "olmo2": "olmo2", "mixtral": "llama", "qwen2_moe": "qwen2moe", "qwen3_moe": "qwen3moe",
                 "olmoe": "olmoe"}


def neox_qkv_split(a, n_head):
    """GPT-NeoX's query_key_value rows [head, (q, k, v), head_dim] -> [q; k; v] (llama.cpp's converter)."""
    return np.concatenate([a.reshape(n_head, 3, -1, *a.shape[1:])[:, i].reshape(-1, *a.shape[1:])
                           for i in range(3)])


def neox_qkv_join(a, n_head):
    """Inverse of neox_qkv_split."""
    rest = a.shape[1:]
    b = a.reshape(3, n_head, -1, *rest)
    return np.swapaxes(b, 0, 1).reshape(a.shape)


def rope_unpermute(a, n_head):
    return (a.reshape(n_head, a.shape[0] // n_head // 2, 2, *a.shape[1:])
             .swapaxes(1, 2).reshape(a.shape))


def llama3_rope_freqs(cfg, hd):
    """llama.cpp's rope_freqs for rope_type llama3: per frequency the divisor its runtime applies
    (1 kept, factor slowed, blended between). Its converter reads original_max_position_embeddings
    from the top level of config.json (default 8192, what rope_scaling says in published Llama 3
    checkpoints); this takes rope_scaling's, where Hugging Face reads it, then the top level's."""
    rs = cfg["rope_scaling"]
    freqs = 1.0 / (np.float32(cfg.get("rope_theta", 10000.0)) ** (np.arange(0, hd, 2, dtype=np.float32) / np.float32(hd)))
    factor, lo, hi = rs.get("factor", 8.0), rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
    old = rs.get("original_max_position_embeddings", cfg.get("original_max_position_embeddings", 8192))
    out = []
    for f in freqs.astype(np.float32):
        wavelen = 2 * np.pi / float(f)
        if wavelen < old / hi:
            out.append(1.0)
        elif wavelen > old / lo:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def llamacpp_tensors(cfg, w):
    """(arch, kvs, rows) as llama.cpp's convert_hf_to_gguf.py writes a Hugging Face decoder: the
    ARCH.* keys its model class writes and, per tensor, (llama.cpp name, array as the file stores it,
    to_hf) where to_hf(stored) gives back {Hugging Face name: array} (for twins holding exactly what a
    GGUF holds). The converter's rewrites: LLaMA's q/k rows permuted; Gemma's norm weights stored as
    1 + w; GPT-NeoX's query_key_value de-interleaved to [q; k; v]; Phi-3's fused qkv_proj and
    gate_up_proj kept fused (attn_qkv, ffn_up); Llama 3's rope scaling as rope_freqs. Raises
    ValueError for what llama.cpp's files cannot say (its Gemma query scale is derived from the model
    size; GPT-NeoX's rotary base is not written)."""
    mt = cfg["model_type"]
    arch = LLAMACPP_ARCH[mt]
    d, L, H = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    hd = cfg.get("head_dim") or d // H
    gemma = mt in ("gemma", "gemma2", "gemma3_text")
    k = lambda key: arch + "." + key  # noqa: E731
    kvs = [(k("context_length"), "u32", cfg["max_position_embeddings"]), (k("embedding_length"), "u32", d),
           (k("block_count"), "u32", L), (k("feed_forward_length"), "u32", cfg["intermediate_size"]),
           (k("attention.head_count"), "u32", H)]
    rows = []

    def put(gname, hname, arr, fwd=None, inv=None):
        a = np.asarray(arr, dtype=np.float32)
        rows.append((gname, fwd(a) if fwd else a, (lambda x, h=hname, inv=inv: {h: inv(x) if inv else x})))

    def norm(gname, hname):
        if gemma:  # the converter adds 1 to every Gemma *norm.weight
            put(gname, hname, w[hname], lambda a: a + np.float32(1), lambda a: a - np.float32(1))
        else:
            put(gname, hname, w[hname])

    if mt == "gpt_neox":
        pct = cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 0.25))
        if cfg.get("rotary_emb_base", cfg.get("rope_theta", 10000)) != 10000:
            raise ValueError("llama.cpp's converter writes no rotary base for gptneox (its default is 10000)")
        kvs += [(k("rope.dimension_count"), "u32", int(pct * (d // H))),
                (k("use_parallel_residual"), "bool", bool(cfg.get("use_parallel_residual", True))),
                (k("attention.layer_norm_epsilon"), "f32", cfg.get("layer_norm_eps", 1e-5))]
        put("token_embd.weight", "gpt_neox.embed_in.weight", w["gpt_neox.embed_in.weight"])
        for i in range(L):
            h, b = "gpt_neox.layers.%d." % i, "blk.%d." % i
            for g, n in (("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm")):
                put(b + g + ".weight", h + n + ".weight", w[h + n + ".weight"])
                put(b + g + ".bias", h + n + ".bias", w[h + n + ".bias"])
            for sfx in ("weight", "bias"):
                n = h + "attention.query_key_value." + sfx
                if n in w:
                    put(b + "attn_qkv." + sfx, n, w[n], lambda a: neox_qkv_split(a, H), lambda a: neox_qkv_join(a, H))
                for g, src in (("attn_output", "attention.dense"), ("ffn_up", "mlp.dense_h_to_4h"),
                               ("ffn_down", "mlp.dense_4h_to_h")):
                    if h + src + "." + sfx in w:
                        put(b + g + "." + sfx, h + src + "." + sfx, w[h + src + "." + sfx])
        put("output_norm.weight", "gpt_neox.final_layer_norm.weight", w["gpt_neox.final_layer_norm.weight"])
        put("output_norm.bias", "gpt_neox.final_layer_norm.bias", w["gpt_neox.final_layer_norm.bias"])
        put("output.weight", "embed_out.weight", w["embed_out.weight"])
        return arch, kvs, rows

    kvs += [(k("attention.head_count_kv"), "u32", KV),
            (k("attention.layer_norm_rms_epsilon"), "f32", cfg.get("rms_norm_eps", 1e-6))]
    theta = cfg.get("rope_theta", 1e6 if mt == "gemma3_text" else 10000.0)
    rs = cfg.get("rope_scaling") or {}
    rtype = rs.get("rope_type", rs.get("type"))
    if mt == "phi3":
        rot = int(cfg.get("partial_rotary_factor", 1.0) * d) // H
        kvs += [(k("rope.scaling.original_context_length"), "u32", cfg["original_max_position_embeddings"]),
                (k("rope.dimension_count"), "u32", rot), (k("rope.freq_base"), "f32", theta),
                (k("attention.sliding_window"), "u32", cfg.get("sliding_window") or 0)]
        if rtype:
            raise ValueError("phi3 rope_scaling %r is not written here" % rtype)
    else:
        kvs.append((k("rope.freq_base"), "f32", theta))
        if rtype == "linear":
            kvs += [(k("rope.scaling.type"), "str", "linear"), (k("rope.scaling.factor"), "f32", rs["factor"])]
        elif rtype not in (None, "default", "llama3", "dynamic"):
            raise ValueError("rope_scaling %r is not written here" % rtype)
        if rtype == "llama3" and mt != "llama":
            raise ValueError("llama3 rope scaling outside llama")
    if mt in ("llama", "mistral", "mixtral"):
        kvs += [(k("vocab_size"), "u32", cfg["vocab_size"]), (k("rope.dimension_count"), "u32", hd)]
    moe = mt in ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe")
    if moe:
        kvs += [(k("expert_count"), "u32", cfg["num_local_experts" if mt == "mixtral" else "num_experts"]),
                (k("expert_used_count"), "u32", cfg["num_experts_per_tok"])]
        if "moe_intermediate_size" in cfg:
            kvs.append((k("expert_feed_forward_length"), "u32", cfg["moe_intermediate_size"]))
        if "shared_expert_intermediate_size" in cfg:
            kvs.append((k("expert_shared_feed_forward_length"), "u32", cfg["shared_expert_intermediate_size"]))
    if "head_dim" in cfg or gemma:
        kvs += [(k("attention.key_length"), "u32", hd), (k("attention.value_length"), "u32", hd)]
    if mt in ("gemma2", "gemma3_text"):
        # llama.cpp's query scale: d / heads for the 27B layer counts, the head size otherwise.
        want = d // H if L == (46 if mt == "gemma2" else 62) else hd
        if cfg.get("query_pre_attn_scalar", 256) != want:
            raise ValueError("query_pre_attn_scalar %s: llama.cpp derives %d" % (cfg.get("query_pre_attn_scalar"), want))
        if mt == "gemma2":
            kvs += [(k("attn_logit_softcapping"), "f32", cfg.get("attn_logit_softcapping") or 50.0),
                    (k("final_logit_softcapping"), "f32", cfg.get("final_logit_softcapping") or 30.0),
                    (k("attention.sliding_window"), "u32", cfg.get("sliding_window") or 4096)]
        else:
            kvs += [(k("rope.freq_base_swa"), "f32", cfg.get("rope_local_base_freq", 10000.0)),
                    (k("attention.sliding_window"), "u32", cfg.get("sliding_window") or 4096)]
            # llama.cpp's runtime hard-codes every 6th layer global; a file says another period
            # under the key its newer loaders read.
            period = cfg.get("sliding_window_pattern", 6)
            if "layer_types" in cfg:
                raise ValueError("gemma3 layer_types are not written here")
            if period != 6:
                kvs.append((k("attention.sliding_window_pattern"), "u32", period))
    put("token_embd.weight", "model.embed_tokens.weight", w["model.embed_tokens.weight"])
    permute = mt in ("llama", "mistral", "mixtral")
    for i in range(L):
        h, b = "model.layers.%d." % i, "blk.%d." % i
        if mt != "olmo2":
            norm(b + "attn_norm.weight", h + "input_layernorm.weight")
        if mt == "phi3":
            put(b + "attn_qkv.weight", h + "self_attn.qkv_proj.weight", w[h + "self_attn.qkv_proj.weight"])
        else:
            for g, n, heads in (("attn_q", "q_proj", H), ("attn_k", "k_proj", KV), ("attn_v", "v_proj", 0)):
                for sfx in ("weight", "bias"):
                    hn = h + "self_attn.%s.%s" % (n, sfx)
                    if hn not in w:
                        continue
                    if permute and heads:
                        put(b + g + "." + sfx, hn, w[hn], lambda a, n=heads: rope_permute(a, n),
                            lambda a, n=heads: rope_unpermute(a, n))
                    else:
                        put(b + g + "." + sfx, hn, w[hn])
        put(b + "attn_output.weight", h + "self_attn.o_proj.weight", w[h + "self_attn.o_proj.weight"])
        if h + "self_attn.o_proj.bias" in w:
            put(b + "attn_output.bias", h + "self_attn.o_proj.bias", w[h + "self_attn.o_proj.bias"])
        if h + "self_attn.q_norm.weight" in w:
            norm(b + "attn_q_norm.weight", h + "self_attn.q_norm.weight")
            norm(b + "attn_k_norm.weight", h + "self_attn.k_norm.weight")
        if mt in ("gemma2", "gemma3_text", "olmo2"):
            norm(b + "post_attention_norm.weight", h + "post_attention_layernorm.weight")
        if mt in ("gemma2", "gemma3_text"):
            norm(b + "ffn_norm.weight", h + "pre_feedforward_layernorm.weight")
        elif mt != "olmo2":
            norm(b + "ffn_norm.weight", h + "post_attention_layernorm.weight")
        if mt == "phi3":
            put(b + "ffn_up.weight", h + "mlp.gate_up_proj.weight", w[h + "mlp.gate_up_proj.weight"])
        elif moe and moe_layer(mt, h, w, b, put, rows):
            continue
        else:
            put(b + "ffn_gate.weight", h + "mlp.gate_proj.weight", w[h + "mlp.gate_proj.weight"])
            put(b + "ffn_up.weight", h + "mlp.up_proj.weight", w[h + "mlp.up_proj.weight"])
        put(b + "ffn_down.weight", h + "mlp.down_proj.weight", w[h + "mlp.down_proj.weight"])
        if mt in ("gemma2", "gemma3_text", "olmo2"):
            norm(b + "post_ffw_norm.weight", h + "post_feedforward_layernorm.weight")
    norm("output_norm.weight", "model.norm.weight")
    # Gemma's converter drops lm_head (tied); the others write it when the checkpoint has one.
    if "lm_head.weight" in w and not gemma:
        put("output.weight", "lm_head.weight", w["lm_head.weight"])
    if rtype == "llama3":
        rows.append(("rope_freqs.weight", llama3_rope_freqs(cfg, hd), lambda a: {}))
    return arch, kvs, rows


def moe_layer(mt, h, w, b, put, rows):
    """A routed layer as llama.cpp's converter writes it: the router as ffn_gate_inp, the experts'
    matrices stacked into one [n_expert, out, in] tensor each (ffn_{gate,up,down}_exps), Qwen2-MoE's
    shared expert as *_shexp. False for a dense layer (no router)."""
    p, names = (h + "block_sparse_moe.", ("w1", "w3", "w2")) if mt == "mixtral" else (h + "mlp.", ("gate_proj", "up_proj", "down_proj"))
    if p + "gate.weight" not in w:
        return False
    put(b + "ffn_gate_inp.weight", p + "gate.weight", w[p + "gate.weight"])
    n_expert = 0
    while "%sexperts.%d.%s.weight" % (p, n_expert, names[0]) in w:
        n_expert += 1
    for g, n in zip(("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"), names):
        hn = ["%sexperts.%d.%s.weight" % (p, e, n) for e in range(n_expert)]
        rows.append((b + g + ".weight", np.stack([np.asarray(w[x], dtype=np.float32) for x in hn]),
                     lambda a, hn=hn: {x: a[e] for e, x in enumerate(hn)}))
    if p + "shared_expert_gate.weight" in w:
        for g, n in zip(("ffn_gate_shexp", "ffn_up_shexp", "ffn_down_shexp"), names):
            put(b + g + ".weight", p + "shared_expert.%s.weight" % n, w[p + "shared_expert.%s.weight" % n])
        put(b + "ffn_gate_inp_shexp.weight", p + "shared_expert_gate.weight", w[p + "shared_expert_gate.weight"])
    return True


# ---------------------------------------------------------------------------------------------
# llama2.c (export.py: legacy_export = version 0, version1_export = version 1)

def llama2c_bytes(cfg, w, version):
    d, L, H = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    KV, V, T, hd = cfg["num_key_value_heads"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg["intermediate_size"]
    shared = cfg["tie_word_embeddings"]
    hs = d // H

    def layers(key, permute_heads=None):
        out = []
        for i in range(L):
            a = w["model.layers.%d.%s" % (i, key)]
            out.append(rope_permute(a, permute_heads) if permute_heads else a)
        return out

    att_norm, ffn_norm = layers("input_layernorm.weight"), layers("post_attention_layernorm.weight")
    wq, wk = layers("self_attn.q_proj.weight", H), layers("self_attn.k_proj.weight", KV)
    wv, wo = layers("self_attn.v_proj.weight"), layers("self_attn.o_proj.weight")
    w1, w2, w3 = layers("mlp.gate_proj.weight"), layers("mlp.down_proj.weight"), layers("mlp.up_proj.weight")
    emb, norm = w["model.embed_tokens.weight"], w["model.norm.weight"]
    if version == 0:
        head = struct.pack("<7i", d, hd, L, H, KV, V if shared else -V, T)
        # export.py writes model.freqs_cos / freqs_sin [max_seq_len, head_size / 2]
        freqs = 1.0 / (10000.0 ** (np.arange(0, hs, 2)[: hs // 2].astype(np.float32) / hs))
        ang = np.outer(np.arange(T, dtype=np.float32), freqs).astype(np.float32)
        parts = [emb, *att_norm, *wq, *wk, *wv, *wo, *ffn_norm, *w1, *w2, *w3, norm, np.cos(ang), np.sin(ang)]
    else:
        head = struct.pack("<Ii", 0x616B3432, 1) + struct.pack("<7i", d, hd, L, H, KV, V, T)
        head += struct.pack("<B", int(shared))
        head += b"\0" * (256 - len(head))
        parts = [*att_norm, *ffn_norm, norm, emb, *wq, *wk, *wv, *wo, *w1, *w2, *w3]
    if not shared:
        parts.append(w["lm_head.weight"])
    return head + b"".join(np.ascontiguousarray(p, dtype="<f4").tobytes() for p in parts)


def tokenizer_bin_bytes(tj):
    """llama2.c's tokenizer.bin (tokenizer.py's export): max_token_length, then per token a float32
    score, an int32 length and the bytes, with SentencePiece's "\u2581" written as a space."""
    tokens, _ = tokenizer_vocab(tj)
    scores = sp_scores(tokens)
    raw = []
    for i, t in enumerate(tokens):
        if i == 1:
            t = "\n<s>\n"
        elif i == 2:
            t = "\n</s>\n"
        raw.append(t.replace("\u2581", " ").encode("utf-8"))
    out = struct.pack("<I", max(len(b) for b in raw))
    for b, s in zip(raw, scores):
        out += struct.pack("<fI", s, len(b)) + b
    return out


# ---------------------------------------------------------------------------------------------
# llm.c (train_gpt2.py: write_model)

def llmc_bytes(cfg, w, version, pad_to=128):
    C, L, NH, V, T = cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"], cfg["n_positions"]
    assert (cfg["n_inner"] or 4 * C) == 4 * C, "llm.c's FFN is 4 * n_embd wide"
    Vp = -(-V // pad_to) * pad_to
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, version, T, V, L, NH, C, Vp]
    p = "transformer."
    wte = np.zeros((Vp, C), dtype=np.float32)
    wte[:V] = w[p + "wte.weight"]

    def stack(key, transpose=False):
        return [w["%sh.%d.%s" % (p, i, key)].T if transpose else w["%sh.%d.%s" % (p, i, key)] for i in range(L)]

    parts = [wte, w[p + "wpe.weight"], *stack("ln_1.weight"), *stack("ln_1.bias"),
             *stack("attn.c_attn.weight", True), *stack("attn.c_attn.bias"),
             *stack("attn.c_proj.weight", True), *stack("attn.c_proj.bias"),
             *stack("ln_2.weight"), *stack("ln_2.bias"),
             *stack("mlp.c_fc.weight", True), *stack("mlp.c_fc.bias"),
             *stack("mlp.c_proj.weight", True), *stack("mlp.c_proj.bias"),
             w[p + "ln_f.weight"], w[p + "ln_f.bias"]]
    if version == 3:
        body = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in parts)
    else:
        body = b"".join(f32_to_bf16_bits(np.ascontiguousarray(a, dtype=np.float32)).tobytes() for a in parts)
    return header.tobytes() + body


# ---------------------------------------------------------------------------------------------

def export_all(out, seed):
    os.makedirs(out, exist_ok=True)
    man = []

    def entry(name, path, fmt, original, dtype, family, tokenizer=None):
        e = {"name": name, "path": os.path.relpath(path, out), "format": fmt, "family": family, "dtype": dtype,
             "original": None if dtype == "Q8_0" else original if dtype == "F32" else original + "-" + dtype.lower(),
             "original_f32": original}
        if tokenizer:
            e["tokenizer"] = os.path.relpath(tokenizer, out)
        man.append(e)

    made = {}
    for i, (name, spec) in enumerate(ORIGINALS.items()):
        made[name] = make_original(out, name, spec, seed + i)
        for suffix, dtype in (("", "F32"), ("-f16", "F16"), ("-bf16", "BF16")):
            man.append({"name": name + suffix, "path": name + suffix, "format": "hf", "family": spec["family"],
                        "dtype": dtype, "original": name + suffix, "original_f32": name})

    # GGUF: (original, type, version, alignment or None, 1-D tensors kept F32, merges, extra keys)
    plan = [("gpt2", "F32", 3, None, False, True, True), ("gpt2", "F16", 3, 64, False, True, False),
            ("gpt2", "BF16", 2, 32, False, True, False), ("gpt2", "Q8_0", 3, 32, True, True, False),
            ("llama", "F32", 3, None, False, False, True), ("llama", "F16", 2, 64, False, False, False),
            ("llama", "BF16", 3, 32, False, False, False), ("llama", "Q8_0", 3, 32, True, True, False),
            ("llama-shared", "F32", 3, None, False, False, False),
            ("llama-odd", "F32", 3, 128, False, True, False)]
    for orig, ggml, version, align, small, merges, extra in plan:
        cfg, w, tj = made[orig]
        fam = ORIGINALS[orig]["family"]
        kvs, tensors = gguf_model(orig, fam, cfg, w, tj, ggml, small, merges, extra)
        if align is not None:
            kvs.insert(1, ("general.alignment", "u32", align))
        path = os.path.join(out, "%s-%s.gguf" % (orig, ggml.lower()))
        write_gguf(path, kvs, tensors, version, align or 32)
        entry("%s-%s.gguf" % (orig, ggml.lower()), path, "gguf", orig, ggml, fam)

    for orig in ("llama", "llama-shared"):
        cfg, w, tj = made[orig]
        for version in (0, 1):
            d = os.path.join(out, "%s-llama2c-v%d" % (orig, version))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "model.bin"), "wb") as f:
                f.write(llama2c_bytes(cfg, w, version))
            with open(os.path.join(d, "tokenizer.bin"), "wb") as f:
                f.write(tokenizer_bin_bytes(tj))
            entry("%s-llama2c-v%d" % (orig, version), os.path.join(d, "model.bin"), "llama2c", orig, "F32", "llama")

    cfg, w, tj = made["gpt2"]
    for version, dtype in ((3, "F32"), (5, "BF16")):
        path = os.path.join(out, "gpt2-llmc-v%d.bin" % version)
        with open(path, "wb") as f:
            f.write(llmc_bytes(cfg, w, version))
        entry("gpt2-llmc-v%d" % version, path, "llmc", "gpt2", dtype, "gpt2",
              tokenizer=os.path.join(out, "gpt2", "tokenizer.json"))

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
        f.write("\n")
    return man


def export_existing(src, out, name=None):
    """Converts the Hugging Face directory src; returns manifest entries (paths relative to out)."""
    import npsafetensors
    name = name or os.path.basename(os.path.normpath(src))
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    raw, _ = npsafetensors.load(os.path.join(src, "model.safetensors"))
    w = {k: np.asarray(v, dtype=np.float32) for k, v in raw.items()}
    fam = cfg.get("model_type")
    if fam not in ("gpt2", "llama"):
        raise SystemExit("export_formats.py: %s: model_type %r is not gpt2 or llama" % (src, fam))
    if fam == "gpt2":
        if "transformer.wte.weight" not in w:
            w = {"transformer." + k: v for k, v in w.items()}
        cfg.setdefault("n_inner", None)
    else:
        cfg.setdefault("num_key_value_heads", cfg["num_attention_heads"])
        cfg.setdefault("tie_word_embeddings", False)
        cfg.setdefault("rope_theta", 10000.0)
    os.makedirs(out, exist_ok=True)
    orig = os.path.relpath(os.path.abspath(src), os.path.abspath(out))
    tok = os.path.join(src, "tokenizer.json")
    man = []

    def entry(fname, fmt, dtype, tokenizer=None):
        e = {"name": fname, "path": fname, "format": fmt, "family": fam, "dtype": dtype,
             "original": orig if dtype == "F32" else None, "original_f32": orig}
        if tokenizer:
            e["tokenizer"] = os.path.relpath(os.path.abspath(tokenizer), os.path.abspath(out))
        man.append(e)

    for ggml in ("F32", "F16", "Q8_0"):
        kvs, tensors = gguf_model(name, fam, cfg, w, tj, ggml, small_f32=(ggml == "Q8_0"), with_merges=True)
        fname = "%s-%s.gguf" % (name, ggml.lower())
        write_gguf(os.path.join(out, fname), kvs, tensors)
        entry(fname, "gguf", ggml)
    if fam == "gpt2" and (cfg.get("n_inner") or 4 * cfg["n_embd"]) == 4 * cfg["n_embd"]:
        for version, dtype in ((3, "F32"), (5, "BF16")):
            fname = "%s-llmc-v%d.bin" % (name, version)
            with open(os.path.join(out, fname), "wb") as f:
                f.write(llmc_bytes(cfg, w, version))
            entry(fname, "llmc", dtype, tokenizer=tok)
    hd = cfg.get("head_dim") or cfg.get("hidden_size", 0) // cfg.get("num_attention_heads", 1)
    if (fam == "llama" and abs(cfg.get("rms_norm_eps", 1e-6) - 1e-5) < 1e-12 and cfg["rope_theta"] == 10000.0
            and hd * cfg["num_attention_heads"] == cfg["hidden_size"] and not cfg.get("attention_bias")):
        for version in (0, 1):
            fname = "%s-llama2c-v%d.bin" % (name, version)
            with open(os.path.join(out, fname), "wb") as f:
                f.write(llama2c_bytes(cfg, w, version))
            # A byte-level tokenizer has no tokenizer.bin form: the entry names the tokenizer.json.
            if tokenizer_kind(tj) == "llama":
                d = os.path.join(out, fname[:-4])
                os.makedirs(d, exist_ok=True)
                os.replace(os.path.join(out, fname), os.path.join(d, "model.bin"))
                with open(os.path.join(d, "tokenizer.bin"), "wb") as f:
                    f.write(tokenizer_bin_bytes(tj))
                entry(os.path.join(fname[:-4], "model.bin"), "llama2c", "F32")
            else:
                entry(fname, "llama2c", "F32", tokenizer=tok)
    return man


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=4321)
    p.add_argument("--from", dest="src", help="convert this Hugging Face directory instead")
    p.add_argument("--name", help="file name stem for --from (default: the directory's name)")
    a = p.parse_args(argv)
    if a.src:
        man = export_existing(a.src, a.out, a.name)
        with open(os.path.join(a.out, "manifest.json"), "w") as f:
            json.dump(man, f, indent=1)
            f.write("\n")
    else:
        man = export_all(a.out, a.seed)
    for e in man:
        print("%-28s %-8s %-5s %s" % (e["name"], e["format"], e["dtype"], e["path"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
