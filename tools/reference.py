#!/usr/bin/python3
"""PyTorch reference for ffnscope: the forward passes of every family it reads, with FFN capture hooks.

Written from the Hugging Face modeling code (GPT-2, LLaMA, Mistral, Qwen2, Qwen3, Gemma 1-3,
GPT-NeoX, Phi-3, OLMo 2) and NVIDIA/ngpt's model.py, loading the same Hugging Face directories
ffnscope reads (README "Models"; docs/architectures.md spells out each decoder). It is the
independent side of the activation and metric comparisons and the model code of
tools/train_tiny.py. Everything is computed in float32.

Library use:
    load_safetensors(path) / save_safetensors(path, tensors, dtype, metadata)
    load_model(dir) / save_model(model, dir, ...)
    capture(model, ids, seq_len, batch, layers=None, sites=('post',))
    encode(tokenizer_json, text)
CLI:
    reference.py capture --model DIR --ids IDS.json --seq-len T --batch B
                         [--layers all|0,2] [--sites post,pre] --out OUTDIR
    reference.py tokenize --tokenizer tokenizer.json TEXTFILE
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SITES = ("post", "pre")


class InputError(Exception):
    """A file or argument that cannot be used; the CLI exits 2 on it."""


# ---------------------------------------------------------------------------------------------
# safetensors

_NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
_ITEM = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
         "U8": 1, "BOOL": 1}
MAX_HEADER = 100 << 20


def _bf16_to_f32(raw):
    return (raw.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16(x):
    """Round-to-nearest-even float32 -> bfloat16 bits (NaN kept quiet)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = 0x7FC0
    return rounded


def read_safetensors_header(path):
    """Parse and validate the header; returns (header dict without metadata, metadata, data offset, file size)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise InputError("%s: too short for a safetensors header" % path)
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or 8 + n > size:
                raise InputError("%s: header length %d is out of range" % (path, n))
            hdr = json.loads(f.read(n).decode("utf-8"))
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError("%s: header is not valid JSON (%s)" % (path, e))
    if not isinstance(hdr, dict):
        raise InputError("%s: header is not a JSON object" % path)
    meta = hdr.pop("__metadata__", None)
    data_len = size - 8 - n
    for name, info in hdr.items():
        if not isinstance(info, dict) or info.get("dtype") not in _ITEM:
            raise InputError("%s: tensor %s has an unknown dtype" % (path, name))
        shape, offs = info.get("shape"), info.get("data_offsets")
        if (not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape)
                or not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) for o in offs)):
            raise InputError("%s: tensor %s has a bad shape or data_offsets" % (path, name))
        want = _ITEM[info["dtype"]] * int(np.prod(shape, dtype=np.int64))
        if offs[0] < 0 or offs[1] < offs[0] or offs[1] > data_len or offs[1] - offs[0] != want:
            raise InputError("%s: tensor %s data_offsets %s do not fit its shape or the file"
                             % (path, name, offs))
    return hdr, meta, 8 + n, size


def load_safetensors(path):
    """All tensors of a safetensors file; float dtypes come back as float32."""
    hdr, _, base, _ = read_safetensors_header(path)
    with open(path, "rb") as f:
        blob = f.read()
    out = {}
    for name, info in hdr.items():
        a, b = info["data_offsets"]
        raw = blob[base + a:base + b]
        dt = info["dtype"]
        if dt == "BF16":
            arr = _bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_NP_DTYPES[dt]).newbyteorder("<"))
            if dt in ("F16", "F64"):
                arr = arr.astype(np.float32)
        out[name] = np.array(arr.reshape(info["shape"]), copy=True)
        if out[name].dtype.kind == "f":
            out[name] = out[name].astype(np.float32, copy=False)
    return out


def save_safetensors(path, tensors, dtype="F32", metadata=None):
    """Write tensors (name -> array) with float arrays stored as dtype (F32, F16, BF16, or F64).
    Integer and bool arrays keep their own dtype. Written to a temp file, then renamed."""
    if dtype not in ("F32", "F16", "BF16", "F64"):
        raise ValueError("dtype must be F32, F16, BF16 or F64")
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if isinstance(tensors[name], torch.Tensor):
            arr = tensors[name].detach().cpu().numpy()
        if arr.dtype.kind == "f":
            dt = dtype
            if dt == "BF16":
                raw = _f32_to_bf16(arr).astype("<u2").tobytes()
            else:
                raw = np.ascontiguousarray(arr, dtype={"F32": "<f4", "F16": "<f2", "F64": "<f8"}[dt]).tobytes()
        else:
            rev = {np.dtype(v): k for k, v in _NP_DTYPES.items()}
            if arr.dtype not in rev:
                raise ValueError("tensor %s has unsupported dtype %s" % (name, arr.dtype))
            dt = rev[arr.dtype]
            raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def load_checkpoint_tensors(model_dir):
    """Tensors of a Hugging Face directory, single-file or sharded; returns (tensors, source of each)."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(single):
        t = load_safetensors(single)
        return t, {k: single for k in t}
    if not os.path.exists(index):
        raise InputError("%s: no model.safetensors or model.safetensors.index.json" % model_dir)
    try:
        with open(index) as f:
            wmap = json.load(f)["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError("%s: bad shard index (%s)" % (index, e))
    tensors, where = {}, {}
    for shard in sorted(set(wmap.values())):
        p = os.path.join(model_dir, shard)
        if os.path.dirname(os.path.normpath(shard)) or shard.startswith(".."):
            raise InputError("%s: shard name %r leaves the model directory" % (index, shard))
        part = load_safetensors(p)
        for k, v in part.items():
            if wmap.get(k) == shard:
                tensors[k] = v
                where[k] = p
    missing = [k for k in wmap if k not in tensors]
    if missing:
        raise InputError("%s: tensor %s listed in the index is missing from %s"
                         % (index, missing[0], wmap[missing[0]]))
    return tensors, where


# ---------------------------------------------------------------------------------------------
# model building blocks


class Site(nn.Identity):
    """Named no-op module whose forward hooks see an FFN activation (a capture site: README "What it measures")."""


def gelu_tanh(x):
    # Hugging Face "gelu_new": the tanh approximation, written out as GPT-2 defines it.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


_ACTS = {
    "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "gelu_fast": gelu_tanh,
    "gelu": F.gelu, "relu": F.relu, "silu": F.silu, "swish": F.silu,
}


def causal_attention(q, k, v, scale, window=None, softcap=None):
    """q, k, v: [B, H, T, hd]; softmax(q k^T * scale) v, causal, in float32. window W: a query
    sees itself and the W - 1 keys before it; softcap c: logits become c tanh(logits / c)."""
    T = q.shape[-2]
    w = torch.matmul(q, k.transpose(-1, -2)) * scale
    if softcap is not None:
        w = softcap * torch.tanh(w / softcap)
    i = torch.arange(T, device=q.device)
    allowed = i[None, :] <= i[:, None]
    if window is not None:
        allowed &= i[None, :] > i[:, None] - window
    w = w.masked_fill(~allowed, torch.finfo(w.dtype).min)
    return torch.matmul(torch.softmax(w, dim=-1), v)


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored (in, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(*x.shape[:-1], -1)


class _Family(nn.Module):
    family = None

    def ffn_width(self):
        raise NotImplementedError

    def n_layer(self):
        return len(self.blocks())

    def n_params(self):
        seen, n = set(), 0
        for p in self.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        return n


# ---------------------------------------------------------------------------------------------
# GPT-2 (Hugging Face GPT2Model; LM head tied to wte)


def gpt2_config(cfg):
    c = dict(cfg)
    c.setdefault("n_positions", c.get("n_ctx", 1024))
    c.setdefault("layer_norm_epsilon", 1e-5)
    c.setdefault("activation_function", "gelu_new")
    if c.get("n_inner") is None:
        c["n_inner"] = 4 * c["n_embd"]
    for key in ("n_embd", "n_layer", "n_head", "vocab_size"):
        if not isinstance(c.get(key), int) or c[key] <= 0:
            raise InputError("config.json: %s missing or not a positive integer" % key)
    if c["n_embd"] % c["n_head"]:
        raise InputError("config.json: n_embd is not a multiple of n_head")
    if c["activation_function"] not in _ACTS:
        raise InputError("config.json: unsupported activation_function %r" % c["activation_function"])
    return c


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, D = c["n_embd"], c["n_inner"]
        self.n_head = c["n_head"]
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(d, 3 * d)
        self.attn.c_proj = Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(d, D)
        self.mlp.c_proj = Conv1D(D, d)
        self.mlp.hook_pre = Site()
        self.mlp.hook_post = Site()
        self.act = _ACTS[c["activation_function"]]

    def forward(self, x):
        B, T, d = x.shape
        hd = d // self.n_head
        qkv = self.attn.c_attn(self.ln_1(x))
        q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in qkv.split(d, dim=-1))
        y = causal_attention(q, k, v, 1.0 / math.sqrt(hd))
        x = x + self.attn.c_proj(y.transpose(1, 2).reshape(B, T, d))
        pre = self.mlp.hook_pre(self.mlp.c_fc(self.ln_2(x)))
        post = self.mlp.hook_post(self.act(pre))
        return x + self.mlp.c_proj(post)


class GPT2(_Family):
    family = "gpt2"

    def __init__(self, cfg):
        super().__init__()
        c = self.config = gpt2_config(cfg)
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(GPT2Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def blocks(self):
        return self.h

    def ffn_width(self):
        return self.config["n_inner"]

    def context(self):
        return self.config["n_positions"]

    def sites(self, i):
        return {"pre": self.h[i].mlp.hook_pre, "post": self.h[i].mlp.hook_post}

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T, device=ids.device))[None]
        for blk in self.h:
            x = blk(x)
        return self.ln_f(x)

    def logits(self, hidden):
        return hidden @ self.wte.weight.t()

    def load_tensors(self, t, where):
        # Accept GPT2Model names with or without GPT2LMHeadModel's "transformer." prefix;
        # legacy mask buffers and the tied lm_head copy carry no information.
        names = {}
        for k in t:
            base = k[len("transformer."):] if k.startswith("transformer.") else k
            if base.endswith(".attn.bias") or base.endswith(".attn.masked_bias") or base == "lm_head.weight":
                continue
            names[base] = k
        _assign(self, t, names, where)

    def hf_tensors(self):
        return {k: v for k, v in _state(self).items()}

    def hf_config(self):
        c = self.config
        out = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}
        for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
                  "activation_function", "layer_norm_epsilon"):
            out[k] = c[k]
        out["n_ctx"] = c["n_positions"]
        out["tie_word_embeddings"] = True
        return out


# ---------------------------------------------------------------------------------------------
# Decoders in the LLaMA layout (Hugging Face LlamaModel and its relatives: Mistral, Qwen2,
# Qwen3, Gemma 1-3, Phi-3, OLMo 2; docs/architectures.md gives each one's differences)

# model_type -> the class's variant; "llama" covers llama, mistral and qwen2, as before.
LLAMA_TYPES = ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi3", "olmo2",
               "mixtral", "qwen2_moe", "qwen3_moe", "olmoe")
MOE_TYPES = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe")
_GEMMAS = ("gemma", "gemma2", "gemma3_text")
ROPE_TYPES = ("default", "linear", "dynamic", "llama3")


def _positive_int(c, key):
    if not isinstance(c.get(key), int) or isinstance(c.get(key), bool) or c[key] <= 0:
        raise InputError("config.json: %s missing or not a positive integer" % key)


def rope_scaling_spec(scaling):
    """Normalised rope_scaling: None for plain RoPE, else a dict with "rope_type" and its numbers.
    "type" is the older spelling of "rope_type"."""
    if scaling is None:
        return None
    if not isinstance(scaling, dict):
        raise InputError("config.json: rope_scaling is not an object")
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return None
    if kind not in ROPE_TYPES:
        raise InputError("config.json: rope_scaling type %r is not supported" % kind)
    need = ("factor",) if kind != "llama3" else \
        ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
    out = {"rope_type": kind}
    for k in need:
        v = scaling.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise InputError("config.json: rope_scaling.%s missing or not a positive number" % k)
        out[k] = float(v)
    if kind == "llama3" and out["high_freq_factor"] <= out["low_freq_factor"]:
        raise InputError("config.json: rope_scaling.high_freq_factor must exceed low_freq_factor")
    return out


def rope_inv_freq(r, theta, scaling=None, T=None, max_pos=None):
    """Inverse frequencies of a rotary width r, float32 as modeling_rope_utils computes them.
    T (positions in the forward pass) and max_pos matter only to "dynamic"."""
    exponent = torch.arange(0, r, 2, dtype=torch.int64).float() / r
    kind = scaling["rope_type"] if scaling else "default"
    if kind == "dynamic" and T is not None and T > max_pos:
        f = scaling["factor"]
        theta = theta * ((f * T / max_pos) - (f - 1)) ** (r / (r - 2))
    inv = 1.0 / (theta ** exponent)
    if kind == "linear":
        inv = inv / scaling["factor"]
    elif kind == "llama3":
        f, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        L = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > L / lo, inv / f, inv)
        smooth = (L / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / f + smooth * scaled
        medium = (wavelen >= L / hi) & (wavelen <= L / lo)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rope_tables(T, inv_freq, device=None):
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(device), emb.sin().to(device)


def llama_rope(T, hd, theta, device=None):
    return rope_tables(T, rope_inv_freq(hd, theta), device)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    """Rotate-half RoPE on the first cos.shape[-1] dims of each head; the rest pass through."""
    r = cos.shape[-1]
    if r == x.shape[-1]:
        return x * cos + rotate_half(x) * sin
    rot, keep = x[..., :r], x[..., r:]
    return torch.cat((rot * cos + rotate_half(rot) * sin, keep), dim=-1)


def _rope_theta(c, key, default):
    v = c.get(key, default)
    if v is None:
        v = default
    if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 1:
        raise InputError("config.json: %s must be a number above 1" % key)
    return float(v)


def llama_config(cfg, variant="llama"):
    """Checked config of the LLaMA-layout decoders, with the variant's derived settings:
    norm ("rms" or "gemma": x(1+w)), act, qkv_bias / o_bias, qk_norm (None, "head", "whole"),
    block ("pre", "sandwich", "post"), fused (phi3), embed_scale, scale, softcap, and per layer
    windows [N] (None or W) and ropes [N] ((theta, scaling))."""
    c = dict(cfg)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        _positive_int(c, key)
    if c.get("num_key_value_heads") is None:
        c["num_key_value_heads"] = c["num_attention_heads"]
    _positive_int(c, "num_key_value_heads")
    gemma = variant in _GEMMAS
    # Defaults as the transformers configuration classes set them when a key is absent.
    c.setdefault("rms_norm_eps", 1e-5 if variant in ("olmo2", "phi3", "mixtral", "olmoe") else 1e-6)
    if variant in ("mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "qwen2_moe", "qwen3_moe"):
        c.setdefault("sliding_window", 4096)
    c.setdefault("max_position_embeddings", 2048)
    if c.get("tie_word_embeddings") is None:
        c["tie_word_embeddings"] = gemma  # Gemma configs often omit it: their head is the embedding
    c.setdefault("hidden_act", "silu")
    if c.get("attention_bias") is None:
        c["attention_bias"] = False
    if c.get("head_dim") is None:
        if c["hidden_size"] % c["num_attention_heads"]:
            raise InputError("config.json: hidden_size is not a multiple of num_attention_heads")
        c["head_dim"] = c["hidden_size"] // c["num_attention_heads"]
    _positive_int(c, "head_dim")
    if c["num_attention_heads"] % c["num_key_value_heads"]:
        raise InputError("config.json: num_attention_heads is not a multiple of num_key_value_heads")
    if c.get("mlp_bias"):
        raise InputError("config.json: mlp_bias is not supported")
    hd, L = c["head_dim"], c["num_hidden_layers"]

    if gemma:
        act = c.get("hidden_activation") or "gelu_pytorch_tanh"
        if act not in ("gelu_pytorch_tanh", "gelu_new", "gelu_fast"):
            raise InputError("config.json: unsupported hidden_activation %r" % act)
        c["act"] = "gelu_tanh"
    else:
        if c["hidden_act"] not in ("silu", "swish"):
            raise InputError("config.json: unsupported hidden_act %r" % c["hidden_act"])
        c["act"] = "silu"
    c["norm"] = "gemma" if gemma else "rms"
    c["qkv_bias"] = bool(c["attention_bias"]) or variant == "qwen2"
    c["o_bias"] = bool(c["attention_bias"]) and variant != "qwen2"
    if variant == "qwen2_moe":  # q/k/v biases unless qkv_bias says otherwise, never an o bias
        c["qkv_bias"] = cfg.get("qkv_bias", True) is not False
        c["o_bias"] = False
    c["qk_norm"] = {"qwen3": "head", "gemma3_text": "head", "olmo2": "whole", "qwen3_moe": "head",
                    "olmoe": "whole"}.get(variant)
    moe_config(c, variant)
    c["block"] = {"gemma2": "sandwich", "gemma3_text": "sandwich", "olmo2": "post"}.get(variant, "pre")
    c["fused"] = variant == "phi3"
    c["embed_scale"] = math.sqrt(c["hidden_size"]) if gemma else None
    c["scale"] = hd ** -0.5
    c["softcap"] = None
    if variant in ("gemma2", "gemma3_text"):
        qs = c.get("query_pre_attn_scalar", 256)
        if not isinstance(qs, (int, float)) or isinstance(qs, bool) or qs <= 0:
            raise InputError("config.json: query_pre_attn_scalar must be a positive number")
        c["scale"] = float(qs) ** -0.5
        cap = c.get("attn_logit_softcapping", 50.0 if variant == "gemma2" else None)
        if cap is not None:
            if not isinstance(cap, (int, float)) or isinstance(cap, bool) or cap <= 0:
                raise InputError("config.json: attn_logit_softcapping must be a positive number or null")
            c["softcap"] = float(cap)

    prf = c.get("partial_rotary_factor", 1.0) if variant == "phi3" else 1.0
    if not isinstance(prf, (int, float)) or not 0 < prf <= 1:
        raise InputError("config.json: partial_rotary_factor must be in (0, 1]")
    c["rotary_dim"] = int(hd * prf)
    if c["rotary_dim"] < 2 or c["rotary_dim"] % 2:
        raise InputError("config.json: the rotary width %d is not an even number of at least 2"
                         % c["rotary_dim"])

    # Sliding windows per layer.
    W = c.get("sliding_window")
    if W is not None and (not isinstance(W, int) or isinstance(W, bool) or W <= 0):
        raise InputError("config.json: sliding_window must be a positive integer or null")
    sliding = [False] * L
    types = c.get("layer_types")
    if variant in ("mistral", "phi3", "mixtral"):
        sliding = [W is not None] * L
    elif variant in ("qwen2", "qwen3", "gemma2", "gemma3_text", "qwen2_moe", "qwen3_moe"):
        # Layer types do not depend on the window: a Gemma 3 "sliding" layer keeps its local RoPE
        # even when sliding_window is null.
        if types is not None:
            if not isinstance(types, list) or len(types) != L or \
                    any(t not in ("sliding_attention", "full_attention") for t in types):
                raise InputError("config.json: layer_types must list sliding_attention or "
                                 "full_attention for each of the %d layers" % L)
            sliding = [t == "sliding_attention" for t in types]
        elif variant in ("qwen2", "qwen3", "qwen2_moe", "qwen3_moe"):
            if c.get("use_sliding_window"):
                first = c.get("max_window_layers")
                first = 28 if first is None else first
                if not isinstance(first, int):
                    raise InputError("config.json: max_window_layers must be an integer")
                sliding = [i >= first for i in range(L)]
        elif variant == "gemma2":
            sliding = [i % 2 == 0 for i in range(L)]
        else:
            P = c.get("sliding_window_pattern", c.get("_sliding_window_pattern", 6))
            if not isinstance(P, int) or P <= 0:
                raise InputError("config.json: sliding_window_pattern must be a positive integer")
            sliding = [(i + 1) % P != 0 for i in range(L)]
    c["windows"] = [W if s and W is not None else None for s in sliding]

    # RoPE per layer: Gemma 3's sliding layers have their own base and are never scaled.
    theta = _rope_theta(c, "rope_theta", 1000000.0 if variant in ("gemma3_text", "mixtral") else 10000.0)
    scaling = rope_scaling_spec(c.get("rope_scaling"))
    if variant == "gemma3_text":
        local = _rope_theta(c, "rope_local_base_freq", 10000.0)
        c["ropes"] = [(local, None) if s else (theta, scaling) for s in sliding]
    else:
        c["ropes"] = [(theta, scaling)] * L
    c["rope_theta"] = theta
    return c


def moe_config(c, variant):
    """Mixture-of-experts settings of c: moe (bool), n_experts, top_k, expert_width, shared_width
    (0: none), norm_topk, sparse [N] (the layer routes), prefix ("mlp" or "block_sparse_moe") and
    expert tensor names (gate, up, down)."""
    c["moe"] = variant in MOE_TYPES
    if not c["moe"]:
        return
    L = c["num_hidden_layers"]
    ek = "num_local_experts" if variant == "mixtral" else "num_experts"
    for key in (ek, "num_experts_per_tok"):
        _positive_int(c, key)
    c["n_experts"], c["top_k"] = c[ek], c["num_experts_per_tok"]
    if c["top_k"] > c["n_experts"]:
        raise InputError("config.json: num_experts_per_tok exceeds the number of experts")
    if variant in ("qwen2_moe", "qwen3_moe"):
        _positive_int(c, "moe_intermediate_size")
        c["expert_width"] = c["moe_intermediate_size"]
    else:
        c["expert_width"] = c["intermediate_size"]
    c["shared_width"] = 0
    if variant == "qwen2_moe":
        _positive_int(c, "shared_expert_intermediate_size")
        c["shared_width"] = c["shared_expert_intermediate_size"]
    # Mixtral always renormalises the top-k probabilities; the others only with norm_topk_prob.
    c["norm_topk"] = True if variant == "mixtral" else bool(c.get("norm_topk_prob", False))
    step, only = 1, []
    if variant in ("qwen2_moe", "qwen3_moe"):
        step = c.get("decoder_sparse_step", 1)
        only = c.get("mlp_only_layers") or []
        if not isinstance(step, int) or isinstance(step, bool) or step <= 0:
            raise InputError("config.json: decoder_sparse_step must be a positive integer")
        if not isinstance(only, list) or not all(isinstance(i, int) for i in only):
            raise InputError("config.json: mlp_only_layers must be a list of layer indices")
    c["sparse"] = [i not in only and (i + 1) % step == 0 for i in range(L)]
    if variant == "olmoe" and c.get("clip_qkv") is not None:
        raise InputError("config.json: clip_qkv is not supported")
    if variant == "mixtral":
        c["moe_prefix"], c["expert_names"] = "block_sparse_moe", ("w1", "w3", "w2")
    else:
        c["moe_prefix"], c["expert_names"] = "mlp", ("gate_proj", "up_proj", "down_proj")


class Expert(nn.Module):
    """One gated FFN of a mixture, with its own capture sites; names as the checkpoint has them."""

    def __init__(self, d, D, names, act):
        super().__init__()
        self.names = names
        for n, shape in zip(names, ((d, D), (d, D), (D, d))):
            setattr(self, n, nn.Linear(*shape, bias=False))
        self.hook_pre = Site()
        self.hook_post = Site()
        self.act = act

    def forward(self, x):
        g, u, dn = (getattr(self, n) for n in self.names)
        gate = self.hook_pre(g(x))
        return dn(self.hook_post(self.act(gate) * u(x)))


class SparseMoe(nn.Module):
    """Routed experts as the transformers MoE blocks compute them: router logits, softmax in
    float32 over all experts, torch.topk, optional renormalisation of the top-k, each expert run
    on the rows routed to it (an expert with none runs on zero rows), its output after the down
    projection times the routing weight, summed in expert order; plus the shared expert scaled by
    sigmoid(shared_expert_gate) where the family has one."""

    def __init__(self, c, act):
        super().__init__()
        d = c["hidden_size"]
        self.top_k, self.norm_topk = c["top_k"], c["norm_topk"]
        self.gate = nn.Linear(d, c["n_experts"], bias=False)
        self.experts = nn.ModuleList(Expert(d, c["expert_width"], c["expert_names"], act)
                                     for _ in range(c["n_experts"]))
        self.shared = c["shared_width"] > 0
        if self.shared:
            self.shared_expert = Expert(d, c["shared_width"], ("gate_proj", "up_proj", "down_proj"), act)
            self.shared_expert_gate = nn.Linear(d, 1, bias=False)
        self.last_load = None

    def forward(self, n):
        shape = n.shape
        x = n.reshape(-1, shape[-1])
        probs = torch.softmax(self.gate(x), dim=1, dtype=torch.float32)
        weights, chosen = torch.topk(probs, self.top_k, dim=-1)
        if self.norm_topk:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(x)
        load = []
        for e, expert in enumerate(self.experts):
            rows, slot = torch.where(chosen == e)
            load.append(int(rows.numel()))
            y = expert(x[rows]) * weights[rows, slot, None]
            out.index_add_(0, rows, y)
        self.last_load = load
        if self.shared:
            out = out + torch.sigmoid(self.shared_expert_gate(x)) * self.shared_expert(x)
        return out.reshape(shape)


class RMSNorm(nn.Module):
    """RMSNorm over the last dimension; gemma=True scales by (1 + w) as Gemma's norms do."""

    def __init__(self, d, eps, gemma=False):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d) if gemma else torch.ones(d))
        self.eps = eps
        self.gemma = gemma

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        w = 1.0 + self.weight if self.gemma else self.weight
        return w * (x * torch.rsqrt(var + self.eps))


class LlamaBlock(nn.Module):
    def __init__(self, c, index=0):
        super().__init__()
        d, D, hd = c["hidden_size"], c["intermediate_size"], c["head_dim"]
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], hd
        self.c = c
        self.window = c["windows"][index]
        self.rope = c["ropes"][index]
        eps, gem = c["rms_norm_eps"], c["norm"] == "gemma"
        qd, kvd = self.nh * hd, self.nkv * hd
        if c["block"] != "post":
            self.input_layernorm = RMSNorm(d, eps, gem)
        self.post_attention_layernorm = RMSNorm(d, eps, gem)
        if c["block"] == "sandwich":
            self.pre_feedforward_layernorm = RMSNorm(d, eps, gem)
        if c["block"] != "pre":
            self.post_feedforward_layernorm = RMSNorm(d, eps, gem)
        self.self_attn = nn.Module()
        a = self.self_attn
        if c["fused"]:
            a.qkv_proj = nn.Linear(d, qd + 2 * kvd, bias=False)
        else:
            a.q_proj = nn.Linear(d, qd, bias=c["qkv_bias"])
            a.k_proj = nn.Linear(d, kvd, bias=c["qkv_bias"])
            a.v_proj = nn.Linear(d, kvd, bias=c["qkv_bias"])
        a.o_proj = nn.Linear(qd, d, bias=c["o_bias"])
        if c["qk_norm"] == "head":
            a.q_norm = RMSNorm(hd, eps, gem)
            a.k_norm = RMSNorm(hd, eps, gem)
        elif c["qk_norm"] == "whole":
            a.q_norm = RMSNorm(qd, eps)
            a.k_norm = RMSNorm(kvd, eps)
        self.act = gelu_tanh if c["act"] == "gelu_tanh" else F.silu
        self.sparse = c["moe"] and c["sparse"][index]
        if self.sparse:
            setattr(self, c["moe_prefix"], SparseMoe(c, self.act))
            return
        self.mlp = nn.Module()
        if c["fused"]:
            self.mlp.gate_up_proj = nn.Linear(d, 2 * D, bias=False)
        else:
            self.mlp.gate_proj = nn.Linear(d, D, bias=False)
            self.mlp.up_proj = nn.Linear(d, D, bias=False)
        self.mlp.down_proj = nn.Linear(D, d, bias=False)
        self.mlp.hook_pre = Site()
        self.mlp.hook_post = Site()

    def attention(self, h, cos, sin):
        B, T, _ = h.shape
        a, c = self.self_attn, self.c
        qd, kvd = self.nh * self.hd, self.nkv * self.hd
        if c["fused"]:
            q, k, v = a.qkv_proj(h).split([qd, kvd, kvd], dim=-1)
        else:
            q, k, v = a.q_proj(h), a.k_proj(h), a.v_proj(h)
        if c["qk_norm"] == "whole":  # OLMo 2: one norm across all heads, before the split
            q, k = a.q_norm(q), a.k_norm(k)
        q = q.view(B, T, self.nh, self.hd)
        k = k.view(B, T, self.nkv, self.hd)
        if c["qk_norm"] == "head":
            q, k = a.q_norm(q), a.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = v.view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.nh // self.nkv
        if rep > 1:  # grouped-query: query head i reads kv head i // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        y = causal_attention(q, k, v, c["scale"], self.window, c["softcap"])
        return a.o_proj(y.transpose(1, 2).reshape(B, T, qd))

    def ffn(self, n):
        if self.sparse:
            return getattr(self, self.c["moe_prefix"])(n)
        m = self.mlp
        if self.c["fused"]:
            gate, up = m.gate_up_proj(n).chunk(2, dim=-1)
        else:
            gate, up = m.gate_proj(n), m.up_proj(n)
        gate = m.hook_pre(gate)
        return m.down_proj(m.hook_post(self.act(gate) * up))

    def forward(self, x, cos, sin):
        block = self.c["block"]
        if block == "pre":
            h = x + self.attention(self.input_layernorm(x), cos, sin)
            return h + self.ffn(self.post_attention_layernorm(h))
        if block == "sandwich":
            h = x + self.post_attention_layernorm(self.attention(self.input_layernorm(x), cos, sin))
            return h + self.post_feedforward_layernorm(self.ffn(self.pre_feedforward_layernorm(h)))
        h = x + self.post_attention_layernorm(self.attention(x, cos, sin))
        return h + self.post_feedforward_layernorm(self.ffn(h))


class Llama(_Family):
    """LlamaModel and the decoders that differ from it in details (LLAMA_TYPES). family is
    "llama" for llama, mistral and qwen2, else the model_type."""
    family = "llama"

    def __init__(self, cfg, variant=None):
        super().__init__()
        variant = variant or cfg.get("model_type")
        if variant not in LLAMA_TYPES:
            variant = "llama"
        self.variant = variant
        self.family = variant if variant not in ("llama", "mistral", "qwen2") else "llama"
        self.raw_config = dict(cfg)
        c = self.config = llama_config(cfg, variant)
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList(LlamaBlock(c, i) for i in range(c["num_hidden_layers"]))
        self.model.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"], c["norm"] == "gemma")
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight

    def blocks(self):
        return self.model.layers

    def ffn_width(self):
        return self.config["intermediate_size"]

    def expert_width(self, expert):
        return self.config["shared_width"] if expert == "shared" else self.config["expert_width"]

    def context(self):
        return self.config["max_position_embeddings"]

    def sites(self, i):
        blk = self.model.layers[i]
        if blk.sparse:
            return {}
        return {"pre": blk.mlp.hook_pre, "post": blk.mlp.hook_post}

    def expert_sites(self, i):
        """{(site, expert): module} of a routed layer, expert an index or "shared"; {} when dense."""
        blk = self.model.layers[i]
        if not blk.sparse:
            return {}
        moe = getattr(blk, self.config["moe_prefix"])
        out = {}
        for e, ex in enumerate(moe.experts):
            out.update({("pre", e): ex.hook_pre, ("post", e): ex.hook_post})
        if moe.shared:
            out.update({("pre", "shared"): moe.shared_expert.hook_pre,
                        ("post", "shared"): moe.shared_expert.hook_post})
        return out

    def rope_for(self, T, rope, device=None):
        theta, scaling = rope
        inv = rope_inv_freq(self.config["rotary_dim"], theta, scaling, T, self.config["max_position_embeddings"])
        return rope_tables(T, inv, device)

    def forward(self, ids):
        T = ids.shape[1]
        tables = {}
        x = self.model.embed_tokens(ids)
        if self.config["embed_scale"] is not None:
            x = x * torch.tensor(self.config["embed_scale"], dtype=x.dtype)
        for blk in self.model.layers:
            key = (blk.rope[0], json.dumps(blk.rope[1], sort_keys=True))
            if key not in tables:
                tables[key] = self.rope_for(T, blk.rope, ids.device)
            x = blk(x, *tables[key])
        return self.model.norm(x)

    def logits(self, hidden):
        return self.lm_head(hidden)

    def load_tensors(self, t, where):
        if self.config.get("n_experts"):
            t, where = _unstack_experts(t, where, self.config)
        names = {k: k for k in t}
        if self.config["tie_word_embeddings"]:
            names.pop("lm_head.weight", None)
        for k in list(names):
            if k.endswith("rotary_emb.inv_freq"):
                names.pop(k)
        _assign(self, t, names, where)

    def hf_tensors(self):
        s = _state(self)
        if self.config["tie_word_embeddings"]:
            s.pop("lm_head.weight", None)
        return s


def _unstack_experts(t, where, c):
    """transformers 5's layout of the routed experts back into per-expert tensors: per layer
    mlp.experts.gate_up_proj [E, 2 x width, d] (gate rows, then up) and mlp.experts.down_proj
    [E, d, width], and Mixtral's block_sparse_moe renamed mlp."""
    t, where = dict(t), dict(where)
    gate, up, down = c["expert_names"]
    for k in [k for k in t if k.endswith(".mlp.experts.gate_up_proj")]:
        base = k[: -len("mlp.experts.gate_up_proj")]
        dk = base + "mlp.experts.down_proj"
        if dk not in t:
            raise InputError("%s: %s without %s" % (where.get(k, "checkpoint"), k, dk))
        gu, dn = t.pop(k), t.pop(dk)
        if gu.ndim != 3 or gu.shape[1] % 2 or dn.ndim != 3 or dn.shape[0] != gu.shape[0]:
            raise InputError("%s: %s has shape %s, %s %s" % (where.get(k, "checkpoint"), k, list(gu.shape), dk,
                                                           list(dn.shape)))
        half = gu.shape[1] // 2
        pre = base + c["moe_prefix"] + ".experts.%d."
        for e in range(gu.shape[0]):
            for name, arr in ((gate, gu[e, :half]), (up, gu[e, half:]), (down, dn[e])):
                t[pre % e + name + ".weight"] = arr
                where[pre % e + name + ".weight"] = where.get(k, "checkpoint")
    if c["moe_prefix"] != "mlp":   # Mixtral's router under its transformers 5 name
        for k in [k for k in t if k.endswith(".mlp.gate.weight")]:
            new = k[: -len("mlp.gate.weight")] + c["moe_prefix"] + ".gate.weight"
            t[new] = t.pop(k)
            where[new] = where.get(k, "checkpoint")
    return t, where

    def hf_config(self):
        if self.variant != "llama":
            return dict(self.raw_config)
        c = self.config
        out = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
        for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act",
                  "max_position_embeddings", "rms_norm_eps", "rope_theta", "tie_word_embeddings",
                  "attention_bias"):
            out[k] = c[k]
        out["rope_scaling"] = self.raw_config.get("rope_scaling")
        out["mlp_bias"] = False
        return out


# ---------------------------------------------------------------------------------------------
# GPT-NeoX (Hugging Face GPTNeoXModel + GPTNeoXForCausalLM's embed_out; Pythia)


def gpt_neox_config(cfg):
    c = dict(cfg)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        _positive_int(c, key)
    if c["hidden_size"] % c["num_attention_heads"]:
        raise InputError("config.json: hidden_size is not a multiple of num_attention_heads")
    hd = c["head_dim"] = c["hidden_size"] // c["num_attention_heads"]
    for key, default in (("rotary_pct", c.get("partial_rotary_factor", 0.25)), ("layer_norm_eps", 1e-5),
                         ("use_parallel_residual", True), ("hidden_act", "gelu"),
                         ("attention_bias", True), ("tie_word_embeddings", False),
                         ("max_position_embeddings", 2048)):
        if c.get(key) is None:
            c[key] = default
    theta = c.get("rotary_emb_base", c.get("rope_theta"))
    c["rotary_emb_base"] = _rope_theta({"b": theta}, "b", 10000.0)
    if rope_scaling_spec(c.get("rope_scaling")) is not None:
        raise InputError("config.json: rope_scaling is not supported for gpt_neox")
    if not isinstance(c["rotary_pct"], (int, float)) or not 0 < c["rotary_pct"] <= 1:
        raise InputError("config.json: rotary_pct must be in (0, 1]")
    c["rotary_dim"] = int(hd * c["rotary_pct"])
    if c["rotary_dim"] < 2 or c["rotary_dim"] % 2:
        raise InputError("config.json: the rotary width %d is not an even number of at least 2"
                         % c["rotary_dim"])
    if c["hidden_act"] not in ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu", "silu"):
        raise InputError("config.json: unsupported hidden_act %r" % c["hidden_act"])
    return c


def neox_split_qkv(qkv, n_head):
    """[B, T, 3d] fused projection -> q, k, v [B, H, T, hd]; the outputs are laid out [H, 3, hd]."""
    B, T, three_d = qkv.shape
    hd = three_d // (3 * n_head)
    per_head = qkv.view(B, T, n_head, 3, hd)
    return tuple(per_head[:, :, :, j].transpose(1, 2) for j in range(3))


class GPTNeoXBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, D = c["hidden_size"], c["intermediate_size"]
        self.c = c
        self.input_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.post_attention_layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.attention = nn.Module()
        self.attention.query_key_value = nn.Linear(d, 3 * d, bias=bool(c["attention_bias"]))
        self.attention.dense = nn.Linear(d, d, bias=bool(c["attention_bias"]))
        self.mlp = nn.Module()
        self.mlp.dense_h_to_4h = nn.Linear(d, D)
        self.mlp.dense_4h_to_h = nn.Linear(D, d)
        self.mlp.hook_pre = Site()
        self.mlp.hook_post = Site()
        self.act = _ACTS[c["hidden_act"]]

    def attend(self, h, cos, sin):
        B, T, d = h.shape
        H = self.c["num_attention_heads"]
        q, k, v = neox_split_qkv(self.attention.query_key_value(h), H)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = causal_attention(q, k, v, self.c["head_dim"] ** -0.5)
        return self.attention.dense(y.transpose(1, 2).reshape(B, T, d))

    def ffn(self, n):
        m = self.mlp
        pre = m.hook_pre(m.dense_h_to_4h(n))
        return m.dense_4h_to_h(m.hook_post(self.act(pre)))

    def forward(self, x, cos, sin):
        a = self.attend(self.input_layernorm(x), cos, sin)
        if self.c["use_parallel_residual"]:
            return x + a + self.ffn(self.post_attention_layernorm(x))
        h = x + a
        return h + self.ffn(self.post_attention_layernorm(h))


class GPTNeoX(_Family):
    family = "gpt_neox"
    IGNORED = (".attention.bias", ".attention.masked_bias", ".attention.rotary_emb.inv_freq")

    def __init__(self, cfg):
        super().__init__()
        self.raw_config = dict(cfg)
        c = self.config = gpt_neox_config(cfg)
        self.gpt_neox = nn.Module()
        self.gpt_neox.embed_in = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.gpt_neox.layers = nn.ModuleList(GPTNeoXBlock(c) for _ in range(c["num_hidden_layers"]))
        self.gpt_neox.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.embed_out = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.embed_out.weight = self.gpt_neox.embed_in.weight

    def blocks(self):
        return self.gpt_neox.layers

    def ffn_width(self):
        return self.config["intermediate_size"]

    def context(self):
        return self.config["max_position_embeddings"]

    def sites(self, i):
        m = self.gpt_neox.layers[i].mlp
        return {"pre": m.hook_pre, "post": m.hook_post}

    def forward(self, ids):
        T = ids.shape[1]
        cos, sin = rope_tables(T, rope_inv_freq(self.config["rotary_dim"], self.config["rotary_emb_base"]),
                               ids.device)
        x = self.gpt_neox.embed_in(ids)
        for blk in self.gpt_neox.layers:
            x = blk(x, cos, sin)
        return self.gpt_neox.final_layer_norm(x)

    def logits(self, hidden):
        return self.embed_out(hidden)

    def load_tensors(self, t, where):
        names = {k: k for k in t if not k.endswith(self.IGNORED)}
        if self.config["tie_word_embeddings"]:
            names.pop("embed_out.weight", None)
        _assign(self, t, names, where)

    def hf_tensors(self):
        s = _state(self)
        if self.config["tie_word_embeddings"]:
            s.pop("embed_out.weight", None)
        return s

    def hf_config(self):
        return dict(self.raw_config)


# ---------------------------------------------------------------------------------------------
# nGPT (NVIDIA/ngpt model.py with use_nGPT=1, FFN width configurable)


def ngpt_config(cfg):
    c = dict(cfg)
    for key in ("n_embd", "n_layer", "n_head", "vocab_size"):
        if not isinstance(c.get(key), int) or c[key] <= 0:
            raise InputError("config.json: %s missing or not a positive integer" % key)
    if c.get("ffn_width") is None:
        c["ffn_width"] = 4 * c["n_embd"]
    if c.get("base_scale") is None:
        c["base_scale"] = 1.0 / math.sqrt(c["n_embd"])
    c.setdefault("block_size", 1024)
    hd = c["n_embd"] // c["n_head"]
    if c["n_embd"] % c["n_head"] or hd % 2:
        raise InputError("config.json: n_embd / n_head must be an even integer")
    return c


def ngpt_sinusoids(T, hd):
    # Same table as ngpt's get_sinusoidal_embeddings: sin in even, cos in odd columns.
    position = torch.arange(T, dtype=torch.float).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, hd, 2).float() * (-math.log(10000.0) / hd))
    emb = torch.zeros((T, hd))
    emb[:, 0::2] = torch.sin(position * div_term)
    emb[:, 1::2] = torch.cos(position * div_term)
    return emb


def ngpt_rotary(table, x):
    """ngpt's apply_rotary_position_embeddings for one tensor x [..., T, hd].
    Its "sin" and "cos" are the first and second halves of the interleaved table, and the result
    keeps only the rotated term: out[2i] = -x[2i+1] * cos[i], out[2i+1] = x[2i] * sin[i]."""
    sin, cos = table.chunk(2, dim=-1)
    pair = torch.stack((-x[..., 1::2], x[..., ::2]), dim=-1)
    return (pair * torch.stack((cos, sin), dim=-1)).reshape(x.shape)


def justnorm(x, dim=-1):
    return x / x.norm(p=2, dim=dim, keepdim=True)


class NGPTBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, D = c["n_embd"], c["ffn_width"]
        self.c = c
        self.query = nn.Linear(d, d, bias=False)
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.att_c_proj = nn.Linear(d, d, bias=False)
        self.c_fc = nn.Linear(d, 2 * D, bias=False)
        self.mlp_c_proj = nn.Linear(D, d, bias=False)
        bs = c["base_scale"]
        self.attn_alpha = nn.Parameter(torch.full((d,), bs))
        self.mlp_alpha = nn.Parameter(torch.full((d,), bs))
        self.sqk = nn.Parameter(torch.full((d,), bs))
        self.suv = nn.Parameter(torch.ones(2 * D))
        self.hook_pre = Site()
        self.hook_post = Site()

    def forward(self, h, table):
        B, T, d = h.shape
        nh = self.c["n_head"]
        hd = d // nh
        bs = self.c["base_scale"]
        q = self.query(h).view(B, T, nh, hd).transpose(1, 2)
        k = self.key(h).view(B, T, nh, hd).transpose(1, 2)
        v = self.value(h).view(B, T, nh, hd).transpose(1, 2)
        q, k = ngpt_rotary(table, q), ngpt_rotary(table, k)
        sqk = (self.sqk * (1.0 / bs)).view(1, nh, 1, hd)
        q = sqk * justnorm(q)
        k = sqk * justnorm(k)
        y = causal_attention(q, k, v, math.sqrt(d / nh))
        h_att = self.att_c_proj(y.transpose(1, 2).reshape(B, T, d))
        lr = torch.abs(self.attn_alpha * (0.05 / bs))
        a, b = justnorm(h), justnorm(h_att)
        h = justnorm(a + lr * (b - a))
        uv = self.c_fc(h) * (self.suv * (1.0 * d ** 0.5))
        u, gate = torch.chunk(uv, 2, dim=-1)
        gate = self.hook_pre(gate)
        post = self.hook_post(u * F.silu(gate))
        h_mlp = self.mlp_c_proj(post)
        lr = torch.abs(self.mlp_alpha * (0.05 / bs))
        a, b = justnorm(h), justnorm(h_mlp)
        return justnorm(a + lr * (b - a))


class NGPT(_Family):
    family = "ngpt"

    def __init__(self, cfg):
        super().__init__()
        c = self.config = ngpt_config(cfg)
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.transformer.h = nn.ModuleList(NGPTBlock(c) for _ in range(c["n_layer"]))
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.sz = nn.Parameter(torch.full((c["vocab_size"],), c["base_scale"]))

    def blocks(self):
        return self.transformer.h

    def ffn_width(self):
        return self.config["ffn_width"]

    def context(self):
        return self.config["block_size"]

    def sites(self, i):
        b = self.transformer.h[i]
        return {"pre": b.hook_pre, "post": b.hook_post}

    def forward(self, ids):
        hd = self.config["n_embd"] // self.config["n_head"]
        table = ngpt_sinusoids(ids.shape[1], hd).to(ids.device)
        x = self.transformer.wte(ids)
        for blk in self.transformer.h:
            x = blk(x, table)
        return x

    def logits(self, hidden):
        return self.lm_head(hidden) * (self.sz * (1.0 / self.config["base_scale"]))

    @torch.no_grad()
    def normalize_weights(self):
        """ngpt's normalize_matrices(): unit-norm rows along the embedding dimension."""
        t = self.transformer
        t.wte.weight.copy_(justnorm(t.wte.weight, 1))
        self.lm_head.weight.copy_(justnorm(self.lm_head.weight, 1))
        for b in t.h:
            for m in (b.query, b.key, b.value, b.c_fc):
                m.weight.copy_(justnorm(m.weight, 1))
            for m in (b.att_c_proj, b.mlp_c_proj):
                m.weight.copy_(justnorm(m.weight, 0))

    def load_tensors(self, t, where):
        _assign(self, t, {k: k for k in t}, where)

    def hf_tensors(self):
        return _state(self)

    def hf_config(self):
        c = self.config
        out = {"model_type": "ngpt", "architectures": ["nGPT"]}
        for k in ("n_embd", "n_layer", "n_head", "ffn_width", "vocab_size", "block_size", "base_scale"):
            out[k] = c[k]
        return out


FAMILIES = {"gpt2": GPT2, "llama": Llama, "ngpt": NGPT, "gpt_neox": GPTNeoX}
FAMILIES.update({t: Llama for t in LLAMA_TYPES})

# Exact architectures names of the newer families, for configs without model_type.
ARCHITECTURES = {
    "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3",
    "GemmaForCausalLM": "gemma", "Gemma2ForCausalLM": "gemma2", "Gemma3ForCausalLM": "gemma3_text",
    "GPTNeoXForCausalLM": "gpt_neox", "Phi3ForCausalLM": "phi3", "Olmo2ForCausalLM": "olmo2",
    "MixtralForCausalLM": "mixtral", "Qwen2MoeForCausalLM": "qwen2_moe", "Qwen3MoeForCausalLM": "qwen3_moe",
    "OlmoeForCausalLM": "olmoe",
}


def _state(model):
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}


def _assign(model, tensors, names, where):
    """Copy checkpoint tensors into parameters; names maps parameter name -> checkpoint key."""
    params = dict(model.named_parameters())
    if isinstance(model, Llama) and model.config["tie_word_embeddings"]:
        params.pop("lm_head.weight", None)
    if isinstance(model, GPTNeoX) and model.config["tie_word_embeddings"]:
        params.pop("embed_out.weight", None)
    src = next(iter(where.values())) if where else "checkpoint"
    # a tensor the model has no place for is a reference that would silently compute another model
    unused = sorted(names[k] for k in names if k not in params)
    if unused:
        raise InputError("%s: tensor %s is not part of the %s reference (%d such)"
                         % (where.get(unused[0], src), unused[0], type(model).__name__, len(unused)))
    for pname, p in params.items():
        if pname not in names:
            raise InputError("%s: missing tensor %s" % (src, pname))
        key = names[pname]
        arr = tensors[key]
        if tuple(arr.shape) != tuple(p.shape):
            raise InputError("%s: tensor %s has shape %s, expected %s"
                             % (where.get(key, src), key, list(arr.shape), list(p.shape)))
        if arr.dtype.kind != "f":
            raise InputError("%s: tensor %s is not floating point" % (where.get(key, src), key))
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)))


def detect_family(cfg, path="config.json"):
    """The FAMILIES key of a config: its model_type, else an architectures name. mistral and
    qwen2 come back as themselves (the llama class takes the variant from the key)."""
    mt = cfg.get("model_type")
    if mt in FAMILIES:
        return mt
    for arch in cfg.get("architectures") or []:
        if arch in ARCHITECTURES:
            return ARCHITECTURES[arch]
    for arch in cfg.get("architectures") or []:
        a = str(arch).lower()
        if a.startswith("gpt2"):
            return "gpt2"
        if a.startswith("llama"):
            return "llama"
        if "ngpt" in a:
            return "ngpt"
    raise InputError("%s: unknown model_type %r" % (path, mt))


def build_model(cfg, family=None):
    family = family or detect_family(cfg)
    if FAMILIES[family] is Llama:  # "llama" leaves the variant to model_type (mistral, qwen2)
        return Llama(cfg, None if family == "llama" else family)
    return FAMILIES[family](cfg)


def load_model(model_dir):
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path) as f:
            cfg = json.load(f)
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))
    except ValueError as e:
        raise InputError("%s: not valid JSON (%s)" % (path, e))
    if not isinstance(cfg, dict):
        raise InputError("%s: not a JSON object" % path)
    try:
        model = build_model(cfg, detect_family(cfg, path))
    except InputError as e:
        raise InputError(str(e).replace("config.json:", path + ":", 1))
    tensors, where = load_checkpoint_tensors(model_dir)
    model.load_tensors(tensors, where)
    model.eval()
    return model


def save_model(model, out_dir, dtype="F32", prefix=False, shard_bytes=None, tokenizer_json=None,
               extra_tensors=None, config_extra=None):
    """Write config.json and model.safetensors (sharded with an index when shard_bytes is set).
    prefix: GPT-2 names with GPT2LMHeadModel's "transformer." prefix. extra_tensors are added as
    is (such as legacy attn.bias buffers); tokenizer_json, a path, is copied next to the weights."""
    os.makedirs(out_dir, exist_ok=True)
    tensors = model.hf_tensors()
    if prefix and model.family == "gpt2":
        tensors = {"transformer." + k: v for k, v in tensors.items()}
    if extra_tensors:
        tensors.update(extra_tensors)
    cfg = model.hf_config()
    if config_extra:
        cfg.update(config_extra)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    meta = {"format": "pt"}
    if not shard_bytes:
        save_safetensors(os.path.join(out_dir, "model.safetensors"), tensors, dtype, meta)
    else:
        shards, cur, size = [], {}, 0
        for k in sorted(tensors):
            n = np.asarray(tensors[k]).nbytes
            if cur and size + n > shard_bytes:
                shards.append(cur)
                cur, size = {}, 0
            cur[k] = tensors[k]
            size += n
        shards.append(cur)
        wmap = {}
        for i, part in enumerate(shards):
            name = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
            save_safetensors(os.path.join(out_dir, name), part, dtype, meta)
            wmap.update({k: name for k in part})
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": sum(np.asarray(v).nbytes for v in tensors.values())},
                       "weight_map": wmap}, f, indent=2)
    if tokenizer_json:
        with open(tokenizer_json, "rb") as src, open(os.path.join(out_dir, "tokenizer.json"), "wb") as dst:
            dst.write(src.read())


# ---------------------------------------------------------------------------------------------
# capture


def parse_layers(spec, n_layer):
    if spec is None or spec == "all":
        return list(range(n_layer))
    if isinstance(spec, str):
        spec = [int(s) for s in spec.split(",") if s.strip()]
    for i in spec:
        if i < 0 or i >= n_layer:
            raise InputError("layer %d out of range (model has %d)" % (i, n_layer))
    return sorted(set(spec))


@torch.no_grad()
def capture(model, ids, seq_len, batch, layers=None, sites=("post",)):
    """FFN activations of whole sequences: ids cut into consecutive non-overlapping seq_len pieces
    from token 0 (a trailing partial sequence is dropped), run batch sequences per forward pass.
    Returns {(layer, site): float32 [N, D]} with N = sequences * seq_len; a routed (mixture-of-
    experts) layer gives {(layer, site, expert): [rows routed to it, width]} instead, expert an index
    or "shared" (every row), an expert no row was routed to as [0, width]."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if seq_len <= 0 or batch <= 0:
        raise InputError("seq_len and batch must be positive")
    n_seq = len(ids) // seq_len
    if n_seq == 0:
        raise InputError("fewer than seq_len=%d tokens" % seq_len)
    vocab = model.config["vocab_size"]
    if ids.min() < 0 or ids.max() >= vocab:
        raise InputError("token id out of range for vocab_size %d" % vocab)
    layers = parse_layers(layers, model.n_layer())
    for s in sites:
        if s not in SITES:
            raise InputError("unknown site %r" % s)
    seqs = torch.from_numpy(ids[:n_seq * seq_len].reshape(n_seq, seq_len))
    out, handles, mods = {}, [], {}
    for l in layers:
        mods.update({(l, s): m for s, m in model.sites(l).items() if s in sites})
        if hasattr(model, "expert_sites"):
            mods.update({(l, s, e): m for (s, e), m in model.expert_sites(l).items() if s in sites})
    for key, mod in mods.items():
        out[key] = []

        def hook(_m, _inp, y, key=key):
            out[key].append(y.detach().reshape(-1, y.shape[-1]).float().numpy().copy())
        handles.append(mod.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        for i in range(0, n_seq, batch):
            model(seqs[i:i + batch])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {k: np.concatenate(v, axis=0) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# byte-level BPE (GPT-2 style tokenizer.json)

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable code points."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ByteBPE:
    def __init__(self, vocab, merges, added=None):
        import regex
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_map = bytes_to_unicode()
        self.pat = regex.compile(GPT2_PATTERN)
        self.added = dict(added or {})
        self.added_pat = (regex.compile("|".join(regex.escape(a) for a in
                                                  sorted(self.added, key=len, reverse=True)))
                          if self.added else None)
        self.cache = {}

    @classmethod
    def from_tokenizer_json(cls, path):
        try:
            with open(path, encoding="utf-8") as f:
                tj = json.load(f)
        except OSError as e:
            raise InputError("%s: %s" % (path, e.strerror))
        except ValueError as e:
            raise InputError("%s: not valid JSON (%s)" % (path, e))
        model = tj.get("model") or {}
        if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
            raise InputError("%s: not a BPE tokenizer.json" % path)
        merges = []
        for m in model.get("merges") or []:
            pair = m.split(" ") if isinstance(m, str) else m
            if len(pair) != 2:
                raise InputError("%s: bad merge %r" % (path, m))
            merges.append(tuple(pair))
        added = {a["content"]: a["id"] for a in tj.get("added_tokens") or []}
        return cls(model["vocab"], merges, added)

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, best_rank = None, None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            merged, i = [], 0
            while i < len(parts):  # merge every occurrence of the pair, left to right
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.cache[word] = parts
        return parts

    def encode_plain(self, text):
        ids = []
        for piece in self.pat.findall(text):
            word = "".join(self.byte_map[b] for b in piece.encode("utf-8"))
            for tok in self.bpe(word):
                if tok not in self.vocab:
                    raise InputError("token %r is not in the vocabulary" % tok)
                ids.append(self.vocab[tok])
        return ids

    def encode(self, text):
        if not self.added_pat:
            return self.encode_plain(text)
        ids, pos = [], 0
        for m in self.added_pat.finditer(text):  # added tokens split the text first, as HF does
            ids.extend(self.encode_plain(text[pos:m.start()]))
            ids.append(self.added[m.group(0)])
            pos = m.end()
        ids.extend(self.encode_plain(text[pos:]))
        return ids


def encode(tokenizer_json_path, text):
    return ByteBPE.from_tokenizer_json(tokenizer_json_path).encode(text)


# ---------------------------------------------------------------------------------------------
# CLI


def _metrics_module():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import np_metrics  # written alongside; imported lazily so capture works without it
    return np_metrics


def cmd_capture(a):
    model = load_model(a.model)
    try:
        with open(a.ids) as f:
            ids = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError("%s: %s" % (a.ids, e))
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise InputError("%s: expected a JSON array of integers" % a.ids)
    sites = tuple(s.strip() for s in a.sites.split(",") if s.strip())
    acts = capture(model, np.array(ids, dtype=np.int64), a.seq_len, a.batch, a.layers, sites)
    os.makedirs(a.out, exist_ok=True)
    npm = _metrics_module()
    rows = []
    for key, X in sorted(acts.items(), key=lambda kv: tuple(str(p) for p in kv[0])):
        layer, site = key[:2]
        expert = key[2] if len(key) > 2 else None
        tag = "" if expert is None else "_expert%s" % expert
        np.save(os.path.join(a.out, "layer%d_%s%s.npy" % (layer, site, tag)), X)
        row = {"model": os.path.basename(os.path.normpath(a.model)), "family": model.family,
               "width": model.ffn_width() if expert is None else model.expert_width(expert),
               "layer": layer, "site": site, "expert": "" if expert is None else str(expert)}
        if X.shape[0] < 2:
            row.update({"tokens": int(X.shape[0])})
        else:
            row.update(npm.metrics(X.astype(np.float64), concentration_k=a.concentration_k))
        rows.append(row)
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    return 0


def cmd_tokenize(a):
    try:
        with open(a.textfile, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InputError("%s: %s" % (a.textfile, e.strerror))
    except UnicodeDecodeError:
        raise InputError("%s: not valid UTF-8" % a.textfile)
    print(json.dumps(encode(a.tokenizer, text)))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="reference.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture", help="capture FFN activations and their metrics")
    c.add_argument("--model", required=True)
    c.add_argument("--ids", required=True, help="JSON array of token ids")
    c.add_argument("--seq-len", type=int, required=True)
    c.add_argument("--batch", type=int, required=True)
    c.add_argument("--layers", default="all")
    c.add_argument("--sites", default="post")
    c.add_argument("--concentration-k", type=float, default=0.1)
    c.add_argument("--threads", type=int, default=0)
    c.add_argument("--out", required=True)
    t = sub.add_parser("tokenize", help="print the ids of a text file as a JSON array")
    t.add_argument("--tokenizer", required=True)
    t.add_argument("textfile")
    a = p.parse_args(argv)
    if getattr(a, "threads", 0):
        torch.set_num_threads(a.threads)
    try:
        return cmd_capture(a) if a.cmd == "capture" else cmd_tokenize(a)
    except InputError as e:
        sys.stderr.write("reference.py: error: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
