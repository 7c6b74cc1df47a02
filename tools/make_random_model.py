#!/usr/bin/python3
"""Random-weight Hugging Face checkpoints in every layout ffnscope reads.

Writes one directory per layout under OUT (config.json, model.safetensors or shards with
model.safetensors.index.json, tokenizer.json). The files are produced here with numpy and a
small safetensors writer of our own, independently of ffnscope and of tools/reference.py, so the
forward-pass tests compare two readers of the same bytes.

Weights are scaled so every layer's activations stay well-conditioned (unit-variance inputs to
each projection, gains near one, small biases; nGPT rows unit-norm as its training keeps them),
which keeps the reference-vs-ffnscope comparisons meaningful at 1e-4.

usage: make_random_model.py --out DIR [--only NAME,...] [--list] [--seed N]
       make_random_model.py --out DIR --shape gpt2 --d 768 --layers 12 --heads 12 --ffn 3072
                            --vocab 50257 --context 1024 --name gpt2-small-random
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

# ---------------------------------------------------------------------------------------------
# safetensors writer


def f32_to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def encode_tensor(arr, dtype):
    arr = np.asarray(arr)
    if arr.dtype == np.bool_:
        return "BOOL", arr.astype(np.uint8).tobytes()
    if arr.dtype.kind != "f":
        raise ValueError("only float and bool tensors are written")
    if dtype == "F32":
        return "F32", np.ascontiguousarray(arr, dtype="<f4").tobytes()
    if dtype == "F16":
        return "F16", np.ascontiguousarray(arr, dtype="<f2").tobytes()
    if dtype == "BF16":
        return "BF16", f32_to_bf16_bits(arr).tobytes()
    raise ValueError("dtype " + dtype)


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, array) written in that order; floats stored as dtype."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors:
        dt, raw = encode_tensor(arr, dtype)
        header[name] = {"dtype": dt, "shape": list(np.shape(arr)), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def write_checkpoint(out, tensors, dtype, shards):
    """One model.safetensors, or `shards` files plus model.safetensors.index.json."""
    if shards <= 1:
        write_safetensors(os.path.join(out, "model.safetensors"), tensors, dtype)
        return
    per = -(-len(tensors) // shards)
    wmap, total = {}, 0
    for i in range(shards):
        part = tensors[i * per:(i + 1) * per]
        name = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        write_safetensors(os.path.join(out, name), part, dtype)
        for k, a in part:
            wmap[k] = name
            total += a.size * {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, f, indent=2)


# ---------------------------------------------------------------------------------------------
# tokenizers: a small BPE learned on a fixed text, in GPT-2 byte-level or SentencePiece style

SAMPLE = ("It is a truth universally acknowledged, that a single man in possession of a good "
          "fortune, must be in want of a wife. However little known the feelings or views of such "
          "a man may be on his first entering a neighbourhood, this truth is so well fixed in the "
          "minds of the surrounding families, that he is considered the rightful property of some "
          "one or other of their daughters. ") * 3


def bytes_to_unicode():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def learn_merges(words, n_merges):
    """Plain BPE training: repeatedly merge the most frequent adjacent pair (ties: first seen)."""
    seqs = [list(w) for w in words]
    merges = []
    for _ in range(n_merges):
        counts, order = {}, []
        for s in seqs:
            for a, b in zip(s, s[1:]):
                if (a, b) not in counts:
                    order.append((a, b))
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = max(order, key=lambda p: counts[p])
        if counts[best] < 2:
            break
        merges.append(best)
        for s in seqs:
            i = 0
            while i < len(s) - 1:
                if s[i] == best[0] and s[i + 1] == best[1]:
                    s[i:i + 2] = [best[0] + best[1]]
                i += 1
    return merges


def byte_bpe_tokenizer(n_merges=48):
    import re
    bmap = bytes_to_unicode()
    # Pieces as GPT-2's pattern splits plain ASCII prose: an optional space, then letters or punctuation.
    pieces = re.findall(r" ?[A-Za-z]+| ?[^\sA-Za-z]+|\s+", SAMPLE)
    words = ["".join(bmap[b] for b in p.encode()) for p in pieces]
    merges = learn_merges(words, n_merges)
    vocab = {bmap[b]: i for i, b in enumerate(sorted(bmap, key=lambda b: ord(bmap[b])))}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    eot = len(vocab)
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": ["%s %s" % m for m in merges]},
    }
    return tj, eot + 1


def sp_bpe_tokenizer(n_merges=48):
    """LLaMA-style tokenizer.json: <unk> <s> </s>, 256 byte-fallback tokens, characters, merges."""
    text = "\u2581" + SAMPLE.replace(" ", "\u2581")
    words = [w for w in text.split("\u2581") if w]
    words = ["\u2581" + w for w in words]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for ch in sorted(set("".join(words))):
        vocab.setdefault(ch, len(vocab))
    merges = learn_merges(words, n_merges)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    special = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]
    tj = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True,
                  "vocab": vocab, "merges": ["%s %s" % m for m in merges]},
    }
    return tj, len(vocab)


# ---------------------------------------------------------------------------------------------
# weights


def normal(rng, shape, std):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def gain(rng, n):
    return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)


def gpt2_tensors(rng, c, prefix, legacy):
    d, D, L, ctx = c["n_embd"], c["n_inner"] or 4 * c["n_embd"], c["n_layer"], c["n_positions"]
    p = "transformer." if prefix else ""
    t = [(p + "wte.weight", normal(rng, (c["vocab_size"], d), 0.5)),
         (p + "wpe.weight", normal(rng, (ctx, d), 0.2))]
    for i in range(L):
        h = "%sh.%d." % (p, i)
        t += [(h + "ln_1.weight", gain(rng, d)), (h + "ln_1.bias", normal(rng, d, 0.05))]
        if legacy:  # old GPT2LMHeadModel checkpoints carry the causal mask as buffers
            t += [(h + "attn.bias", np.tril(np.ones((1, 1, ctx, ctx), dtype=np.float32))),
                  (h + "attn.masked_bias", np.array(-1e4, dtype=np.float32))]
        t += [(h + "attn.c_attn.weight", normal(rng, (d, 3 * d), d ** -0.5)),   # Conv1D: (in, out)
              (h + "attn.c_attn.bias", normal(rng, 3 * d, 0.05)),
              (h + "attn.c_proj.weight", normal(rng, (d, d), 0.5 * d ** -0.5)),
              (h + "attn.c_proj.bias", normal(rng, d, 0.05)),
              (h + "ln_2.weight", gain(rng, d)), (h + "ln_2.bias", normal(rng, d, 0.05)),
              (h + "mlp.c_fc.weight", normal(rng, (d, D), d ** -0.5)),
              (h + "mlp.c_fc.bias", normal(rng, D, 0.05)),
              (h + "mlp.c_proj.weight", normal(rng, (D, d), 0.5 * D ** -0.5)),
              (h + "mlp.c_proj.bias", normal(rng, d, 0.05))]
    t += [(p + "ln_f.weight", gain(rng, d)), (p + "ln_f.bias", normal(rng, d, 0.05))]
    return t


def llama_tensors(rng, c):
    d, D, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    hd = c.get("head_dim") or d // c["num_attention_heads"]
    qd, kvd = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    bias = c.get("attention_bias", False)
    t = [("model.embed_tokens.weight", normal(rng, (c["vocab_size"], d), 1.0))]
    for i in range(L):
        h = "model.layers.%d." % i
        t += [(h + "input_layernorm.weight", gain(rng, d)),
              (h + "self_attn.q_proj.weight", normal(rng, (qd, d), d ** -0.5)),
              (h + "self_attn.k_proj.weight", normal(rng, (kvd, d), d ** -0.5)),
              (h + "self_attn.v_proj.weight", normal(rng, (kvd, d), d ** -0.5)),
              (h + "self_attn.o_proj.weight", normal(rng, (d, qd), 0.5 * qd ** -0.5))]
        if bias:
            t += [(h + "self_attn.q_proj.bias", normal(rng, qd, 0.1)),
                  (h + "self_attn.k_proj.bias", normal(rng, kvd, 0.1)),
                  (h + "self_attn.v_proj.bias", normal(rng, kvd, 0.1)),
                  (h + "self_attn.o_proj.bias", normal(rng, d, 0.05))]
        t += [(h + "post_attention_layernorm.weight", gain(rng, d)),
              (h + "mlp.gate_proj.weight", normal(rng, (D, d), d ** -0.5)),
              (h + "mlp.up_proj.weight", normal(rng, (D, d), d ** -0.5)),
              (h + "mlp.down_proj.weight", normal(rng, (d, D), 0.5 * D ** -0.5))]
    t += [("model.norm.weight", gain(rng, d))]
    if not c["tie_word_embeddings"]:
        t += [("lm_head.weight", normal(rng, (c["vocab_size"], d), d ** -0.5))]
    return t


def decoder_tensors(rng, c, kind):
    """LLaMA-layout decoders of the other model_types (docs/architectures.md): norm weights of
    Gemma's x(1+w) norms are stored near 0, fused projections where Phi-3 fuses them."""
    d, D, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    H, K = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
    hd = c.get("head_dim") or d // H
    qd, kvd = H * hd, K * hd
    gemma = kind in ("gemma", "gemma2", "gemma3_text")

    def norm(n):
        return normal(rng, n, 0.1) if gemma else gain(rng, n)

    # Gemma multiplies the embeddings by sqrt(d): store them 1/sqrt(d) so the stream starts at unit scale.
    t = [("model.embed_tokens.weight", normal(rng, (c["vocab_size"], d), d ** -0.5 if gemma else 1.0))]
    for i in range(L):
        h = "model.layers.%d." % i
        if kind != "olmo2":
            t.append((h + "input_layernorm.weight", norm(d)))
        if kind == "phi3":
            t.append((h + "self_attn.qkv_proj.weight", normal(rng, (qd + 2 * kvd, d), d ** -0.5)))
        else:
            t += [(h + "self_attn.q_proj.weight", normal(rng, (qd, d), d ** -0.5)),
                  (h + "self_attn.k_proj.weight", normal(rng, (kvd, d), d ** -0.5)),
                  (h + "self_attn.v_proj.weight", normal(rng, (kvd, d), d ** -0.5))]
        if kind == "qwen2":  # Qwen2: q, k, v biases always, o never
            t += [(h + "self_attn.q_proj.bias", normal(rng, qd, 0.1)),
                  (h + "self_attn.k_proj.bias", normal(rng, kvd, 0.1)),
                  (h + "self_attn.v_proj.bias", normal(rng, kvd, 0.1))]
        t.append((h + "self_attn.o_proj.weight", normal(rng, (d, qd), 0.5 * qd ** -0.5)))
        if kind in ("qwen3", "gemma3_text"):
            t += [(h + "self_attn.q_norm.weight", norm(hd)), (h + "self_attn.k_norm.weight", norm(hd))]
        elif kind == "olmo2":
            t += [(h + "self_attn.q_norm.weight", norm(qd)), (h + "self_attn.k_norm.weight", norm(kvd))]
        t.append((h + "post_attention_layernorm.weight", norm(d)))
        if kind in ("gemma2", "gemma3_text"):
            t.append((h + "pre_feedforward_layernorm.weight", norm(d)))
        if kind in ("gemma2", "gemma3_text", "olmo2"):
            t.append((h + "post_feedforward_layernorm.weight", norm(d)))
        if kind == "phi3":
            t.append((h + "mlp.gate_up_proj.weight", normal(rng, (2 * D, d), d ** -0.5)))
        else:
            t += [(h + "mlp.gate_proj.weight", normal(rng, (D, d), d ** -0.5)),
                  (h + "mlp.up_proj.weight", normal(rng, (D, d), d ** -0.5))]
        t.append((h + "mlp.down_proj.weight", normal(rng, (d, D), 0.5 * D ** -0.5)))
    t.append(("model.norm.weight", norm(d)))
    if not c.get("tie_word_embeddings", gemma):
        t.append(("lm_head.weight", normal(rng, (c["vocab_size"], d), d ** -0.5)))
    return t


def router_rows(rng, E, d, kind):
    """Router weights [E, d]. "dead-tie": experts 0/1 and 2/3 are opposite pairs (so two logits
    are always positive), expert 4's row is zero (logit 0: it never reaches a top-2 and receives no
    token) and experts 5 and 6 share one row (equal probabilities: the tie torch.topk breaks)."""
    w = normal(rng, (E, d), 2.0 * d ** -0.5)
    if kind == "dead-tie":
        w[1], w[3], w[4], w[6] = -w[0], -w[2], 0.0, w[5]
    return w


def moe_tensors(rng, c, kind, router="random"):
    """Mixture-of-experts decoders: Mixtral names (block_sparse_moe.experts.E.w1/w2/w3) or the
    Qwen-MoE / OLMoE names (mlp.experts.E.{gate,up,down}_proj, mlp.shared_expert*), one router
    (gate) per routed layer, dense mlp.* layers where decoder_sparse_step / mlp_only_layers say."""
    d, L = c["hidden_size"], c["num_hidden_layers"]
    H, K = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
    hd = c.get("head_dim") or d // H
    qd, kvd = H * hd, K * hd
    E = c["num_local_experts"] if kind == "mixtral" else c["num_experts"]
    De = c["moe_intermediate_size"] if kind in ("qwen2_moe", "qwen3_moe") else c["intermediate_size"]
    step, only = c.get("decoder_sparse_step", 1), c.get("mlp_only_layers", [])
    t = [("model.embed_tokens.weight", normal(rng, (c["vocab_size"], d), 1.0))]

    def mlp(h, D, names):
        return [(h + names[0] + ".weight", normal(rng, (D, d), d ** -0.5)),
                (h + names[1] + ".weight", normal(rng, (D, d), d ** -0.5)),
                (h + names[2] + ".weight", normal(rng, (d, D), 0.5 * D ** -0.5))]

    for i in range(L):
        h = "model.layers.%d." % i
        t += [(h + "input_layernorm.weight", gain(rng, d)),
              (h + "self_attn.q_proj.weight", normal(rng, (qd, d), d ** -0.5)),
              (h + "self_attn.k_proj.weight", normal(rng, (kvd, d), d ** -0.5)),
              (h + "self_attn.v_proj.weight", normal(rng, (kvd, d), d ** -0.5))]
        if kind == "qwen2_moe":
            t += [(h + "self_attn.q_proj.bias", normal(rng, qd, 0.1)),
                  (h + "self_attn.k_proj.bias", normal(rng, kvd, 0.1)),
                  (h + "self_attn.v_proj.bias", normal(rng, kvd, 0.1))]
        t.append((h + "self_attn.o_proj.weight", normal(rng, (d, qd), 0.5 * qd ** -0.5)))
        if kind == "qwen3_moe":
            t += [(h + "self_attn.q_norm.weight", gain(rng, hd)), (h + "self_attn.k_norm.weight", gain(rng, hd))]
        elif kind == "olmoe":
            t += [(h + "self_attn.q_norm.weight", gain(rng, qd)), (h + "self_attn.k_norm.weight", gain(rng, kvd))]
        t.append((h + "post_attention_layernorm.weight", gain(rng, d)))
        if i in only or (i + 1) % step:
            t += mlp(h + "mlp.", c["intermediate_size"], ("gate_proj", "up_proj", "down_proj"))
            continue
        if kind == "mixtral":
            p, names = h + "block_sparse_moe.", ("w1", "w3", "w2")
        else:
            p, names = h + "mlp.", ("gate_proj", "up_proj", "down_proj")
        t.append((p + "gate.weight", router_rows(rng, E, d, router)))
        for e in range(E):
            t += mlp("%sexperts.%d." % (p, e), De, names)
        if kind == "qwen2_moe":
            t += mlp(p + "shared_expert.", c["shared_expert_intermediate_size"], names)
            t.append((p + "shared_expert_gate.weight", normal(rng, (1, d), d ** -0.5)))
    t.append(("model.norm.weight", gain(rng, d)))
    if not c.get("tie_word_embeddings", False):
        t.append(("lm_head.weight", normal(rng, (c["vocab_size"], d), d ** -0.5)))
    return t


def gpt_neox_tensors(rng, c):
    """Pythia's names; the fused query_key_value rows are [head, (q, k, v), head_dim], and the
    legacy mask and rotary buffers are written as the published checkpoints carry them."""
    d, D, L, H = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["num_attention_heads"]
    hd, ctx = d // H, c["max_position_embeddings"]
    r = int(hd * c["rotary_pct"])
    inv_freq = (1.0 / c["rotary_emb_base"] ** (np.arange(0, r, 2) / r)).astype(np.float32)
    t = [("gpt_neox.embed_in.weight", normal(rng, (c["vocab_size"], d), 1.0))]
    for i in range(L):
        h = "gpt_neox.layers.%d." % i
        t += [(h + "input_layernorm.weight", gain(rng, d)), (h + "input_layernorm.bias", normal(rng, d, 0.05)),
              (h + "post_attention_layernorm.weight", gain(rng, d)),
              (h + "post_attention_layernorm.bias", normal(rng, d, 0.05)),
              (h + "attention.bias", np.tril(np.ones((1, 1, ctx, ctx), dtype=np.bool_))),
              (h + "attention.masked_bias", np.array(-1e4, dtype=np.float32)),  # fits F16
              (h + "attention.rotary_emb.inv_freq", inv_freq),
              (h + "attention.query_key_value.weight", normal(rng, (3 * d, d), d ** -0.5)),
              (h + "attention.query_key_value.bias", normal(rng, 3 * d, 0.1)),
              (h + "attention.dense.weight", normal(rng, (d, d), 0.5 * d ** -0.5)),
              (h + "attention.dense.bias", normal(rng, d, 0.05)),
              (h + "mlp.dense_h_to_4h.weight", normal(rng, (D, d), d ** -0.5)),
              (h + "mlp.dense_h_to_4h.bias", normal(rng, D, 0.05)),
              (h + "mlp.dense_4h_to_h.weight", normal(rng, (d, D), 0.5 * D ** -0.5)),
              (h + "mlp.dense_4h_to_h.bias", normal(rng, d, 0.05))]
    t += [("gpt_neox.final_layer_norm.weight", gain(rng, d)),
          ("gpt_neox.final_layer_norm.bias", normal(rng, d, 0.05)),
          ("embed_out.weight", normal(rng, (c["vocab_size"], d), d ** -0.5))]
    return t


def unit_rows(a):
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def unit_cols(a):
    return (a / np.linalg.norm(a, axis=0, keepdims=True)).astype(np.float32)


def ngpt_tensors(rng, c):
    d, L, V = c["n_embd"], c["n_layer"], c["vocab_size"]
    D = c.get("ffn_width") or 4 * d
    bs = c.get("base_scale") or d ** -0.5
    # nGPT keeps matrices normalised along the embedding dimension; the scale parameters are
    # stored divided by their init scaling, so these give effective sqk ~ 1, suv*sqrt(d) ~ sqrt(d)
    # and learning rates |alpha| * 0.05 / base_scale ~ 0.2.
    t = [("transformer.wte.weight", unit_rows(normal(rng, (V, d), 1.0)))]
    for i in range(L):
        h = "transformer.h.%d." % i
        t += [(h + "query.weight", unit_rows(normal(rng, (d, d), 1.0))),
              (h + "key.weight", unit_rows(normal(rng, (d, d), 1.0))),
              (h + "value.weight", unit_rows(normal(rng, (d, d), 1.0))),
              (h + "att_c_proj.weight", unit_cols(normal(rng, (d, d), 1.0))),
              (h + "c_fc.weight", unit_rows(normal(rng, (2 * D, d), 1.0))),
              (h + "mlp_c_proj.weight", unit_cols(normal(rng, (d, D), 1.0))),
              (h + "attn_alpha", (bs * 4.0 * (1 + 0.2 * rng.standard_normal(d))).astype(np.float32)),
              (h + "mlp_alpha", (bs * 4.0 * (1 + 0.2 * rng.standard_normal(d))).astype(np.float32)),
              (h + "sqk", (bs * gain(rng, d)).astype(np.float32)),
              (h + "suv", gain(rng, 2 * D))]
    t += [("lm_head.weight", unit_rows(normal(rng, (V, d), 1.0))),
          ("sz", (bs * gain(rng, V)).astype(np.float32))]
    return t


# ---------------------------------------------------------------------------------------------
# the layouts

LAYOUTS = {
    # GPT2LMHeadModel names, odd FFN width, legacy mask buffers, F32.
    "gpt2-prefixed": dict(family="gpt2", dtype="F32", prefix=True, legacy=True,
                          config=dict(n_embd=64, n_layer=3, n_head=4, n_inner=200, n_positions=64,
                                      layer_norm_epsilon=1e-5, activation_function="gelu_new")),
    # GPT2Model names, n_inner null (4 * n_embd), F16 storage.
    "gpt2-plain-f16": dict(family="gpt2", dtype="F16", prefix=False, legacy=False,
                           config=dict(n_embd=64, n_layer=3, n_head=2, n_inner=None, n_positions=64,
                                       layer_norm_epsilon=1e-5, activation_function="gelu_new")),
    # Grouped-query attention (4 query heads on 2 kv heads), untied head, rope_theta 500000, BF16.
    "llama-gqa-bf16": dict(family="llama", dtype="BF16",
                           config=dict(hidden_size=64, intermediate_size=176, num_hidden_layers=3,
                                       num_attention_heads=4, num_key_value_heads=2,
                                       max_position_embeddings=64, rms_norm_eps=1e-5,
                                       rope_theta=500000.0, tie_word_embeddings=False)),
    # Tied head, one kv head, head_dim apart from hidden_size / heads, attention biases, 3 shards.
    "llama-tied-sharded": dict(family="llama", dtype="F32", shards=3,
                               config=dict(hidden_size=48, intermediate_size=128, num_hidden_layers=3,
                                           num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                           max_position_embeddings=64, rms_norm_eps=1e-6,
                                           rope_theta=10000.0, tie_word_embeddings=True,
                                           attention_bias=True)),
    # FFN width other than 4 * n_embd, default base_scale, F32.
    "ngpt-w160": dict(family="ngpt", dtype="F32",
                      config=dict(n_embd=64, n_layer=3, n_head=4, ffn_width=160, block_size=64)),
    # Explicit base_scale, two heads of 32, BF16.
    "ngpt-bf16": dict(family="ngpt", dtype="BF16",
                      config=dict(n_embd=64, n_layer=3, n_head=2, ffn_width=96, block_size=64,
                                  base_scale=0.05)),
    # Llama 3.1-style rope_scaling ("rope_type": "llama3") with original_max_position_embeddings
    # 128, so that at 64 positions each frequency band (kept, blended, divided) turns measurably;
    # head_dim 24 apart from 64 / 4, grouped-query, tied head, BF16.
    "llama3-rope": dict(family="llama", dtype="BF16", tokenizer="byte",
                        config=dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                                    max_position_embeddings=1024, rms_norm_eps=1e-5, rope_theta=10000.0,
                                    rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                      high_freq_factor=4.0,
                                                      original_max_position_embeddings=128),
                                    tie_word_embeddings=True)),
    # Linear position interpolation in the older spelling ("type"), F16.
    "llama-linear-rope": dict(family="llama", dtype="F16",
                              config=dict(hidden_size=64, intermediate_size=144, num_hidden_layers=3,
                                          num_attention_heads=4, num_key_value_heads=4,
                                          max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0,
                                          rope_scaling={"type": "linear", "factor": 4.0},
                                          tie_word_embeddings=False)),
    # Dynamic NTK with max_position_embeddings 64: sequences of up to 64 tokens (all that ffnscope
    # runs on this model, whose context it is) use plain RoPE.
    "llama-dynamic-rope": dict(family="llama", dtype="F32",
                               config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                           num_attention_heads=2, num_key_value_heads=1,
                                           max_position_embeddings=64, rms_norm_eps=1e-6, rope_theta=10000.0,
                                           rope_scaling={"rope_type": "dynamic", "factor": 2.0},
                                           tie_word_embeddings=False)),
    # Qwen2: q/k/v biases without an o bias, rope_scaling null, a sliding_window that is off
    # (use_sliding_window false), F32.
    "qwen2-nullscaling": dict(family="qwen2", dtype="F32", tokenizer="byte",
                              config=dict(hidden_size=64, intermediate_size=176, num_hidden_layers=3,
                                          num_attention_heads=4, num_key_value_heads=2,
                                          max_position_embeddings=128, rms_norm_eps=1e-6,
                                          rope_theta=1000000.0, rope_scaling=None, sliding_window=16,
                                          use_sliding_window=False, max_window_layers=1,
                                          tie_word_embeddings=False)),
    # Qwen3: per-head q/k RMSNorm before RoPE, head_dim 32 (4 heads of 32 on d = 64), grouped-query,
    # no biases, BF16.
    "qwen3": dict(family="qwen3", dtype="BF16", tokenizer="byte",
                  config=dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                              num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                              max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=1000000.0,
                              rope_scaling=None, attention_bias=False, sliding_window=None,
                              use_sliding_window=False, max_window_layers=3, tie_word_embeddings=True)),
    # Gemma 1 like the 2B: one kv head, head_dim 32 = 2 * 64 / 4, GeGLU although hidden_act says
    # "gelu" (Gemma runs gelu_pytorch_tanh when hidden_activation is absent), x(1+w) norms,
    # embeddings times sqrt(64), tied head, F32.
    "gemma": dict(family="gemma", dtype="F32",
                  config=dict(hidden_size=64, intermediate_size=192, num_hidden_layers=3,
                              num_attention_heads=4, num_key_value_heads=1, head_dim=32,
                              max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0,
                              hidden_act="gelu", attention_bias=False)),
    # Gemma 2: four norms per layer, a 24-token window on even layers (shorter than the tests'
    # 64-token sequences), logit soft-capping at 3 (it bites), query_pre_attn_scalar 8 != head_dim
    # 16, grouped-query, BF16.
    "gemma2": dict(family="gemma2", dtype="BF16",
                   config=dict(hidden_size=64, intermediate_size=160, num_hidden_layers=4,
                               num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                               max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=10000.0,
                               hidden_activation="gelu_pytorch_tanh", hidden_act="gelu_pytorch_tanh",
                               query_pre_attn_scalar=8, attn_logit_softcapping=3.0,
                               final_logit_softcapping=30.0, sliding_window=24, attention_bias=False)),
    # Gemma 3 text: per-head (1+w) q/k norms, sliding_window_pattern 3 over 4 layers (sliding,
    # sliding, full, sliding), a 20-token window, local RoPE base 10000 and global 1e6 with linear
    # scaling 8 (as the 4B and larger), query_pre_attn_scalar 24, F32.
    "gemma3-text": dict(family="gemma3_text", dtype="F32",
                        config=dict(hidden_size=64, intermediate_size=176, num_hidden_layers=4,
                                    num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                    max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=1000000.0,
                                    rope_local_base_freq=10000.0,
                                    rope_scaling={"rope_type": "linear", "factor": 8.0},
                                    hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=24,
                                    attn_logit_softcapping=None, final_logit_softcapping=None,
                                    sliding_window=20, sliding_window_pattern=3, attention_bias=False)),
    # Pythia: fused per-head-interleaved qkv, rotary on 4 of 16 dims per head (rotary_pct 0.25),
    # parallel residual, LayerNorms with biases, exact GELU, untied embed_out, the attention.bias /
    # masked_bias / rotary_emb.inv_freq buffers present, F16.
    "pythia": dict(family="gpt_neox", dtype="F16", tokenizer="byte",
                   config=dict(hidden_size=64, intermediate_size=200, num_hidden_layers=3,
                               num_attention_heads=4, max_position_embeddings=64, rotary_pct=0.25,
                               rotary_emb_base=10000, layer_norm_eps=1e-5, use_parallel_residual=True,
                               hidden_act="gelu", tie_word_embeddings=False)),
    # GPT-NeoX with the serial residual, rotary on 8 of 32 dims, F32.
    "pythia-serial": dict(family="gpt_neox", dtype="F32", tokenizer="byte",
                          config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                                      num_attention_heads=2, max_position_embeddings=64, rotary_pct=0.25,
                                      rotary_emb_base=10000, layer_norm_eps=1e-5,
                                      use_parallel_residual=False, hidden_act="gelu",
                                      tie_word_embeddings=False)),
    # Phi-3: fused qkv_proj and gate_up_proj, grouped-query, partial_rotary_factor 0.75 (12 of 16
    # dims, as Phi-4-mini), a 40-token window on every layer, BF16.
    "phi3": dict(family="phi3", dtype="BF16",
                 config=dict(hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                             original_max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                             rope_scaling=None, partial_rotary_factor=0.75, sliding_window=40,
                             hidden_act="silu", tie_word_embeddings=False)),
    # OLMo 2: post-norm blocks, q/k RMSNorm over the whole projections, grouped-query, BF16.
    "olmo2": dict(family="olmo2", dtype="BF16", tokenizer="byte",
                  config=dict(hidden_size=64, intermediate_size=176, num_hidden_layers=3,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                              rms_norm_eps=1e-6, rope_theta=500000.0, rope_scaling=None,
                              attention_bias=False, hidden_act="silu", tie_word_embeddings=False)),
    # Mixtral: block_sparse_moe names (w1 gate, w3 up, w2 down), 4 experts, top-2 renormalised,
    # grouped-query, no window, BF16.
    "mixtral": dict(family="mixtral", dtype="BF16", tokenizer="byte",
                    config=dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                rms_norm_eps=1e-5, rope_theta=1000000.0, sliding_window=None,
                                num_local_experts=4, num_experts_per_tok=2, hidden_act="silu",
                                tie_word_embeddings=False)),
    # Qwen2-MoE: q/k/v biases, 6 experts of 48, top-2 without renormalisation, a shared expert of
    # 128 behind its sigmoid gate, layer 1 dense (mlp_only_layers) with intermediate_size 160, F32.
    "qwen2-moe": dict(family="qwen2_moe", dtype="F32", tokenizer="byte",
                      config=dict(hidden_size=64, intermediate_size=160, moe_intermediate_size=48,
                                  shared_expert_intermediate_size=128, num_hidden_layers=3,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                  rms_norm_eps=1e-6, rope_theta=1000000.0, num_experts=6,
                                  num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1,
                                  mlp_only_layers=[1], use_sliding_window=False, sliding_window=None,
                                  hidden_act="silu", tie_word_embeddings=False)),
    # Qwen3-MoE: per-head q/k norms, head_dim 32, 8 experts of 40, top-2 renormalised,
    # decoder_sparse_step 2 over 4 layers (layers 1 and 3 routed, 0 and 2 dense), tied, BF16.
    "qwen3-moe": dict(family="qwen3_moe", dtype="BF16", tokenizer="byte",
                      config=dict(hidden_size=64, intermediate_size=144, moe_intermediate_size=40,
                                  num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                                  head_dim=32, max_position_embeddings=128, rms_norm_eps=1e-6,
                                  rope_theta=1000000.0, num_experts=8, num_experts_per_tok=2,
                                  norm_topk_prob=True, decoder_sparse_step=2, mlp_only_layers=[],
                                  attention_bias=False, use_sliding_window=False, sliding_window=None,
                                  hidden_act="silu", tie_word_embeddings=True)),
    # OLMoE: whole-projection q/k norms, 8 experts of 56, top-2 without renormalisation, a router
    # with an expert that never receives a token (4) and two experts with equal probabilities
    # (5 and 6: the tie torch.topk breaks), F32.
    "olmoe": dict(family="olmoe", dtype="F32", tokenizer="byte", router="dead-tie",
                  config=dict(hidden_size=64, intermediate_size=56, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                              rms_norm_eps=1e-5, rope_theta=10000.0, num_experts=8, num_experts_per_tok=2,
                              norm_topk_prob=False, clip_qkv=None, attention_bias=False, hidden_act="silu",
                              tie_word_embeddings=False)),
}

MODEL_TYPES = {"gpt2": ("gpt2", "GPT2LMHeadModel"), "llama": ("llama", "LlamaForCausalLM"),
               "ngpt": ("ngpt", "nGPT"), "qwen2": ("qwen2", "Qwen2ForCausalLM"),
               "qwen3": ("qwen3", "Qwen3ForCausalLM"), "gemma": ("gemma", "GemmaForCausalLM"),
               "gemma2": ("gemma2", "Gemma2ForCausalLM"), "gemma3_text": ("gemma3_text", "Gemma3ForCausalLM"),
               "gpt_neox": ("gpt_neox", "GPTNeoXForCausalLM"), "phi3": ("phi3", "Phi3ForCausalLM"),
               "olmo2": ("olmo2", "Olmo2ForCausalLM"), "mixtral": ("mixtral", "MixtralForCausalLM"),
               "qwen2_moe": ("qwen2_moe", "Qwen2MoeForCausalLM"),
               "qwen3_moe": ("qwen3_moe", "Qwen3MoeForCausalLM"), "olmoe": ("olmoe", "OlmoeForCausalLM")}


def make(out, name, spec, seed, tokenizer=True):
    fam = spec["family"]
    rng = np.random.default_rng(seed)
    sp = spec.get("tokenizer", "sp" if fam not in ("gpt2", "ngpt") else "byte") == "sp"
    tj, vocab = sp_bpe_tokenizer() if sp else byte_bpe_tokenizer()
    if not tokenizer:
        vocab = spec["config"].get("vocab_size", vocab)
    cfg = {"model_type": MODEL_TYPES[fam][0], "architectures": [MODEL_TYPES[fam][1]]}
    cfg.update(spec["config"])
    cfg["vocab_size"] = spec["config"].get("vocab_size", vocab)
    if fam == "gpt2":
        cfg["n_ctx"] = cfg["n_positions"]
        tensors = gpt2_tensors(rng, cfg, spec["prefix"], spec["legacy"])
    elif fam == "llama":
        cfg["hidden_act"] = "silu"
        tensors = llama_tensors(rng, cfg)
    elif fam == "gpt_neox":
        tensors = gpt_neox_tensors(rng, cfg)
    elif fam in ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe"):
        tensors = moe_tensors(rng, cfg, fam, spec.get("router", "random"))
    elif fam != "ngpt":
        tensors = decoder_tensors(rng, cfg, fam)
    else:
        tensors = ngpt_tensors(rng, cfg)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_checkpoint(d, tensors, spec["dtype"], spec.get("shards", 1))
    if tokenizer:
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tj, f, ensure_ascii=False)
    return d


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--only", help="comma-separated layout names (default: all)")
    p.add_argument("--list", action="store_true", help="print the layout names and exit")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--shape", choices=["gpt2", "llama", "ngpt"], help="one custom-sized model instead")
    p.add_argument("--name")
    p.add_argument("--d", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--ffn", type=int)
    p.add_argument("--vocab", type=int)
    p.add_argument("--context", type=int)
    p.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    a = p.parse_args(argv)
    if a.list:
        print("\n".join(LAYOUTS))
        return 0
    if a.shape:
        if None in (a.name, a.d, a.layers, a.heads, a.ffn, a.vocab, a.context):
            p.error("--shape needs --name --d --layers --heads --ffn --vocab --context")
        if a.shape == "gpt2":
            cfg = dict(n_embd=a.d, n_layer=a.layers, n_head=a.heads, n_inner=a.ffn, n_positions=a.context,
                       vocab_size=a.vocab)
            spec = dict(family="gpt2", dtype=a.dtype, prefix=True, legacy=False, config=cfg)
        elif a.shape == "llama":
            cfg = dict(hidden_size=a.d, intermediate_size=a.ffn, num_hidden_layers=a.layers,
                       num_attention_heads=a.heads, num_key_value_heads=a.heads,
                       max_position_embeddings=a.context, vocab_size=a.vocab, tie_word_embeddings=True)
            spec = dict(family="llama", dtype=a.dtype, config=cfg)
        else:
            cfg = dict(n_embd=a.d, n_layer=a.layers, n_head=a.heads, ffn_width=a.ffn, block_size=a.context,
                       vocab_size=a.vocab)
            spec = dict(family="ngpt", dtype=a.dtype, config=cfg)
        print(make(a.out, a.name, spec, a.seed, tokenizer=False))
        return 0
    names = a.only.split(",") if a.only else list(LAYOUTS)
    for i, n in enumerate(names):
        if n not in LAYOUTS:
            sys.stderr.write("make_random_model.py: unknown layout %r (see --list)\n" % n)
            return 2
        print(make(a.out, n, LAYOUTS[n], a.seed + i))
    return 0


if __name__ == "__main__":
    sys.exit(main())
