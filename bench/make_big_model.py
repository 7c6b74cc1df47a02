#!/usr/bin/python3
"""A large random LLaMA-layout checkpoint written tensor by tensor (BF16), for the memory benchmarks.

tools/make_random_model.py builds every tensor in memory before writing, which for a 3B-parameter
shape needs 12+ GB; this writes the safetensors header from the shapes first and then generates
and writes one tensor at a time, so it needs memory for the largest tensor only. Weights are
normal with std 1/sqrt(fan_in) (unit-variance activations), norm gains one.

usage: make_big_model.py OUT_DIR --d 2048 --ffn 11008 --layers 36 --heads 16 --kv-heads 2 --vocab 151936
"""
import argparse
import json
import os
import sys

import numpy as np


def bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    for k, v in (("d", 2048), ("ffn", 11008), ("layers", 36), ("heads", 16), ("kv-heads", 2), ("vocab", 151936),
                 ("context", 2048)):
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    hd = a.d // a.heads
    shapes = [("model.embed_tokens.weight", (a.vocab, a.d), a.d)]
    for l in range(a.layers):
        pre = "model.layers.%d." % l
        shapes += [(pre + "input_layernorm.weight", (a.d,), 0), (pre + "post_attention_layernorm.weight", (a.d,), 0),
                   (pre + "self_attn.q_proj.weight", (a.heads * hd, a.d), a.d),
                   (pre + "self_attn.k_proj.weight", (a.kv_heads * hd, a.d), a.d),
                   (pre + "self_attn.v_proj.weight", (a.kv_heads * hd, a.d), a.d),
                   (pre + "self_attn.o_proj.weight", (a.d, a.heads * hd), a.heads * hd),
                   (pre + "mlp.gate_proj.weight", (a.ffn, a.d), a.d), (pre + "mlp.up_proj.weight", (a.ffn, a.d), a.d),
                   (pre + "mlp.down_proj.weight", (a.d, a.ffn), a.ffn)]
    shapes.append(("model.norm.weight", (a.d,), 0))
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _ in shapes:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    os.makedirs(a.out, exist_ok=True)
    cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=a.d, intermediate_size=a.ffn,
               num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
               max_position_embeddings=a.context, vocab_size=a.vocab, rms_norm_eps=1e-6, rope_theta=1e6,
               tie_word_embeddings=True, hidden_act="silu", torch_dtype="bfloat16")
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    rng = np.random.default_rng(5)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(len(hj).to_bytes(8, "little"))
        f.write(hj)
        for name, shape, fan_in in shapes:
            rows = shape[0]
            step = max(1, (1 << 22) // (int(np.prod(shape[1:])) or 1))   # about 4M values at a time
            for r0 in range(0, rows, step):
                sub = (min(step, rows - r0),) + tuple(shape[1:])
                if fan_in == 0:
                    x = np.ones(sub, np.float32)
                else:
                    x = rng.standard_normal(sub, dtype=np.float32) * np.float32(1 / np.sqrt(fan_in))
                f.write(bf16(x).tobytes())
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
