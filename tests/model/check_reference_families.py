#!/usr/bin/python3
"""Self-checks of tools/reference.py's decoder families that need no ffnscope binary.

The forward-pass tests trust the reference; these check it against analytic answers, hand
values and brute-force loops, on the random layouts of tools/make_random_model.py:
  - attention windows: brute-force per-query softmax (a window W sees W keys, the token included);
    a window >= the sequence equals no window; a shorter one changes the activations;
  - soft-capping: a cap that bites changes them, a huge cap does not;
  - RoPE: llama3 inverse frequencies against a hand table; linear factor f at position p equals
    plain RoPE at p / f; dynamic NTK equals plain RoPE up to max_position_embeddings and follows
    its formula beyond; partial rotary leaves the other dims alone and keeps pair norms;
  - GPT-NeoX's fused query_key_value: interleaved [head, (q,k,v), head_dim] rows split back into
    separately made q, k, v;
  - q/k norms: OLMo 2 normalises the whole projection, Qwen 3 each head, and the two differ;
  - qwen2's sliding window stays off unless use_sliding_window; Gemma 2/3 layer types and ropes;
  - the capture sites: `post` is what the down projection reads, `pre` the gate projection output;
  - a checkpoint tensor the reference has no parameter for is refused, not skipped.
usage: check_reference_families.py
"""
import copy
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_random_model  # noqa: E402
import reference as R  # noqa: E402

T, N_SEQ = 64, 4
failures = []


def check(ok, what):
    print("%s  %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


class Layouts:
    """Random checkpoints written once; models rebuilt from them with edited configs."""

    def __init__(self, folder):
        self.folder = folder
        self.ids = {}

    def load(self, name, **edits):
        d = os.path.join(self.folder, name)
        if not os.path.isdir(d):
            make_random_model.make(self.folder, name, make_random_model.LAYOUTS[name], 11)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        cfg.update(edits)
        model = R.build_model(cfg)
        model.load_tensors(*R.load_checkpoint_tensors(d))
        model.eval()
        return model

    def acts(self, name, **edits):
        model = self.load(name, **edits)
        if name not in self.ids:
            self.ids[name] = np.random.default_rng(3).integers(0, model.config["vocab_size"], T * N_SEQ)
        return R.capture(model, self.ids[name], T, N_SEQ, None, ("post", "pre"))


def worst(a, b):
    return max(rel(a[k], b[k]) for k in a)


def check_windows(lay):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 12, 8) for _ in range(3))
    for W in (1, 4, 11):
        got = R.causal_attention(q, k, v, 0.3, window=W).numpy()
        want = np.zeros_like(got)
        for i in range(12):
            js = [j for j in range(12) if i - W < j <= i]
            s = np.einsum("bhd,bhjd->bhj", q[:, :, i].numpy(), k[:, :, js].numpy()) * 0.3
            p = np.exp(s - s.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            want[:, :, i] = np.einsum("bhj,bhjd->bhd", p, v[:, :, js].numpy())
        check(rel(got, want) < 1e-5, "window %d: the token and the %d before it (brute force, %.1e)"
              % (W, W - 1, rel(got, want)))

    for name in ("gemma2", "gemma3-text", "phi3"):
        base = lay.acts(name)
        off = lay.acts(name, sliding_window=None)
        wide = lay.acts(name, sliding_window=T)
        d_wide, d_off = worst(wide, off), worst(base, off)
        check(d_wide < 1e-6, "%s: a window of %d (the whole sequence) equals no window (%.1e)" % (name, T, d_wide))
        check(d_off > 1e-2, "%s: its window of %d changes the activations (%.3f relative)"
              % (name, lay.load(name).config["sliding_window"], d_off))
        # The layers before the first windowed layer cannot change; gemma2's layer 0 is windowed.
    m = lay.load("gemma2")
    check(m.config["windows"] == [24, None, 24, None], "gemma2: windows on even layers %s" % m.config["windows"])
    m = lay.load("gemma3-text")
    check(m.config["windows"] == [20, 20, None, 20], "gemma3: sliding_window_pattern 3 %s" % m.config["windows"])
    check([r[0] for r in m.config["ropes"]] == [1e4, 1e4, 1e6, 1e4] and m.config["ropes"][2][1]["factor"] == 8.0
          and m.config["ropes"][0][1] is None, "gemma3: local base on sliding layers, scaled global base on full ones")
    m = lay.load("gemma3-text", layer_types=["full_attention", "sliding_attention"] * 2)
    check(m.config["windows"] == [None, 20, None, 20], "gemma3: an explicit layer_types list wins")


def check_softcap(lay):
    base = lay.acts("gemma2")
    none = lay.acts("gemma2", attn_logit_softcapping=None)
    huge = lay.acts("gemma2", attn_logit_softcapping=1e7)
    check(worst(huge, none) < 1e-5, "gemma2: a cap of 1e7 equals no cap (%.1e)" % worst(huge, none))
    # Layer 0's FFN reads the output of layer 0's attention, which the cap changes already.
    d0 = max(rel(base[(0, s)], none[(0, s)]) for s in ("post", "pre"))
    check(d0 > 1e-2, "gemma2: soft-capping at 3 changes layer 0 (%.3f relative)" % d0)
    scalar = lay.acts("gemma2", query_pre_attn_scalar=16)
    check(worst(scalar, base) > 1e-2, "gemma2: query_pre_attn_scalar is the scale (%.3f)" % worst(scalar, base))


def check_rope():
    spec = R.rope_scaling_spec({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 1024})
    got = R.rope_inv_freq(8, 10000.0, spec).numpy()
    # By hand: inv_freq 1, 0.1, 0.01, 0.001; wavelengths 2*pi times 1, 10, 100, 1000 against the
    # bounds 1024 / 4 = 256 and 1024 / 1: kept, kept, blended with s = (1024 / (200 pi) - 1) / 3
    # = 0.2099153, divided by 8.
    want = np.array([1.0, 0.1, 0.01 * ((1 - 0.2099153) / 8 + 0.2099153), 0.001 / 8])
    check(np.allclose(got, want, rtol=2e-6, atol=0), "llama3 inv_freq %s vs hand %s" % (got, want))
    same = R.rope_scaling_spec({"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 1024})
    check(same == spec, "rope_scaling: 'type' reads as 'rope_type'")
    check(R.rope_scaling_spec(None) is None and R.rope_scaling_spec({"rope_type": "default"}) is None,
          "rope_scaling null and default are plain RoPE")
    for bad in ({"rope_type": "longrope", "short_factor": [1], "long_factor": [1]}, {"type": "yarn", "factor": 2.0},
                {"rope_type": "linear"}):
        try:
            R.rope_scaling_spec(bad)
            check(False, "rope_scaling %s refused" % bad)
        except R.InputError as e:
            check("rope_scaling" in str(e), "rope_scaling %s refused: %s" % (bad, e))

    f, r = 4.0, 16
    lin = R.rope_inv_freq(r, 10000.0, {"rope_type": "linear", "factor": f})
    cos_l, sin_l = R.rope_tables(40, lin)
    plain = R.rope_inv_freq(r, 10000.0)
    pos = torch.arange(40, dtype=torch.float64) / f
    ang = torch.outer(pos, plain.double())
    ang = torch.cat((ang, ang), -1)
    check(rel(cos_l.double().numpy(), ang.cos().numpy()) < 1e-5 and rel(sin_l.double().numpy(), ang.sin().numpy()) < 1e-5,
          "linear factor 4 at position p equals plain RoPE at p / 4")

    dyn = {"rope_type": "dynamic", "factor": 2.0}
    check(torch.equal(R.rope_inv_freq(r, 10000.0, dyn, T=64, max_pos=64), plain),
          "dynamic NTK up to max_position_embeddings is plain RoPE")
    base = 10000.0 * (2.0 * 100 / 64 - 1.0) ** (r / (r - 2))
    want = 1.0 / base ** (np.arange(0, r, 2) / r)
    got = R.rope_inv_freq(r, 10000.0, dyn, T=100, max_pos=64).numpy()
    check(np.allclose(got, want, rtol=1e-5, atol=0), "dynamic NTK at 100 > 64 positions: base %.1f" % base)

    torch.manual_seed(1)
    x = torch.randn(2, 3, 10, 16)
    cos, sin = R.rope_tables(10, R.rope_inv_freq(4, 10000.0))
    y = R.apply_rope(x, cos, sin)
    check(torch.equal(y[..., 4:], x[..., 4:]), "partial rotary: dims 4..15 of each head pass unchanged")
    pair = lambda t: t[..., :2] ** 2 + t[..., 2:4] ** 2
    check(torch.allclose(pair(y), pair(x), atol=1e-5) and not torch.allclose(y[..., :4], x[..., :4]),
          "partial rotary: dims (j, j + 2) rotate as pairs within the first 4")


def check_rope_models(lay):
    for name, plain_edit in (("llama3-rope", {"rope_scaling": None}), ("llama-linear-rope", {"rope_scaling": None})):
        d = worst(lay.acts(name), lay.acts(name, **plain_edit))
        check(d > 1e-2, "%s: the scaling changes the activations (%.3f relative)" % (name, d))
    d = worst(lay.acts("llama-dynamic-rope"), lay.acts("llama-dynamic-rope", rope_scaling=None))
    check(d == 0.0, "llama-dynamic-rope: 64 positions on a 64-position model: plain RoPE exactly")
    d = worst(lay.acts("gemma3-text"), lay.acts("gemma3-text", rope_local_base_freq=1e6))
    check(d > 1e-3, "gemma3: rope_local_base_freq drives the sliding layers (%.4f)" % d)


def check_neox_qkv():
    rng = np.random.default_rng(5)
    H, hd, d, B, n = 4, 6, 24, 2, 5
    Wq, Wk, Wv = (rng.standard_normal((H, hd, d)).astype(np.float32) for _ in range(3))
    bq, bk, bv = (rng.standard_normal((H, hd)).astype(np.float32) for _ in range(3))
    fused_w = np.stack([Wq, Wk, Wv], axis=1).reshape(3 * H * hd, d)   # rows [head, (q,k,v), hd]
    fused_b = np.stack([bq, bk, bv], axis=1).reshape(-1)
    x = rng.standard_normal((B, n, d)).astype(np.float32)
    qkv = torch.from_numpy(x @ fused_w.T + fused_b)
    q, k, v = R.neox_split_qkv(qkv, H)
    ok = True
    for got, W, b in ((q, Wq, bq), (k, Wk, bk), (v, Wv, bv)):
        want = np.einsum("btd,hed->bhte", x, W) + b[None, :, None, :]
        ok &= rel(got.numpy(), want) < 1e-5
    check(ok, "gpt_neox: fused query_key_value splits back into the separately made q, k, v")
    q2, _, _ = R.neox_split_qkv(torch.from_numpy(x @ np.concatenate([Wq.reshape(-1, d), Wk.reshape(-1, d),
                                                                     Wv.reshape(-1, d)]).T), H)
    check(rel(q2.numpy(), np.einsum("btd,hed->bhte", x, Wq)) > 0.1,
          "gpt_neox: a [q; k; v] concatenation is not the layout read")


def check_neox_models(lay):
    par = lay.acts("pythia")
    ser = lay.acts("pythia", use_parallel_residual=False)
    check(all(rel(par[(0, s)], ser[(0, s)]) > 1e-2 for s in ("post", "pre")),
          "gpt_neox: the serial residual changes layer 0's FFN input")
    m = lay.load("pythia")
    check(m.config["rotary_dim"] == 4, "pythia: rotary_pct 0.25 of head_dim 16 rotates 4 dims")


def rms(x, w, eps):
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * w


def check_qk_norms(lay):
    rng = np.random.default_rng(9)
    for name, kind in (("olmo2", "whole"), ("qwen3", "head")):
        m = lay.load(name)
        a = m.model.layers[0].self_attn
        H, hd = m.config["num_attention_heads"], m.config["head_dim"]
        eps = m.config["rms_norm_eps"]
        w = a.q_norm.weight.detach().numpy()
        check(w.shape == ((H * hd,) if kind == "whole" else (hd,)),
              "%s: q_norm.weight has shape %s" % (name, list(w.shape)))
        # Heads at different scales: the whole-projection norm keeps their ratios, per-head does not.
        x = (rng.standard_normal((3, H * hd)) * np.repeat(np.arange(1, H + 1), hd)).astype(np.float32)
        captured = {}
        hook = a.q_proj.register_forward_hook(lambda _m, _i, _o: torch.from_numpy(x))
        norm_hook = a.q_norm.register_forward_hook(lambda _m, i, o: captured.update(out=o.detach().numpy()))
        try:
            blk = m.model.layers[0]
            h = torch.zeros(1, 3, m.config["hidden_size"])
            cos, sin = R.rope_tables(3, R.rope_inv_freq(m.config["rotary_dim"], m.config["rope_theta"]))
            blk.attention(h, cos, sin)
        finally:
            hook.remove()
            norm_hook.remove()
        got = captured["out"].reshape(3, H * hd)
        wh = np.tile(w, H) if kind == "head" else w
        whole = rms(x, wh, eps)
        head = rms(x.reshape(3, H, hd), wh.reshape(H, hd), eps).reshape(3, H * hd)
        want, other = (whole, head) if kind == "whole" else (head, whole)
        check(rel(got, want) < 1e-5 and rel(got, other) > 0.1,
              "%s: q_norm over the %s (%.1e), unlike the other reading (%.2f)"
              % (name, "whole projection" if kind == "whole" else "head", rel(got, want), rel(got, other)))


def check_qwen2_window(lay):
    base = lay.acts("qwen2-nullscaling")
    off = lay.acts("qwen2-nullscaling", sliding_window=None)
    check(worst(base, off) == 0.0, "qwen2: sliding_window is ignored while use_sliding_window is false")
    on = lay.acts("qwen2-nullscaling", use_sliding_window=True)
    same0 = max(rel(on[(0, s)], base[(0, s)]) for s in ("post", "pre"))
    diff1 = max(rel(on[(1, s)], base[(1, s)]) for s in ("post", "pre"))
    check(same0 == 0.0 and diff1 > 1e-2, "qwen2: use_sliding_window windows layers >= max_window_layers "
          "(layer 0 %.1e, layer 1 %.3f)" % (same0, diff1))
    m = lay.load("qwen2-nullscaling")
    a = m.model.layers[0].self_attn
    check(a.q_proj.bias is not None and a.o_proj.bias is None and m.family == "llama",
          "qwen2: q/k/v biases, no o bias, family llama")


def check_sites(lay):
    """post = the down projection's input, pre = the gate projection's output, for every layout."""
    for name in make_random_model.LAYOUTS:
        if make_random_model.LAYOUTS[name]["family"] in ("ngpt", "mixtral", "qwen2_moe", "qwen3_moe", "olmoe"):
            continue  # nGPT's sites and the experts' are checked with the forward passes by the model tests
        m = lay.load(name)
        ids = torch.from_numpy(np.random.default_rng(2).integers(0, m.config["vocab_size"], (2, 16)))
        seen, handles = {}, []
        for i, blk in enumerate(m.blocks()):
            mlp = blk.mlp
            down = getattr(mlp, "down_proj", None) or getattr(mlp, "dense_4h_to_h", None) or mlp.c_proj
            handles.append(down.register_forward_pre_hook(lambda _m, inp, i=i: seen.__setitem__((i, "down"), inp[0])))
            if hasattr(mlp, "gate_up_proj"):
                handles.append(mlp.gate_up_proj.register_forward_hook(
                    lambda _m, _i, o, i=i: seen.__setitem__((i, "gate"), o.chunk(2, -1)[0])))
            else:
                first = getattr(mlp, "gate_proj", None) or getattr(mlp, "dense_h_to_4h", None) or mlp.c_fc
                handles.append(first.register_forward_hook(lambda _m, _i, o, i=i: seen.__setitem__((i, "gate"), o)))
            for s in ("post", "pre"):
                handles.append(m.sites(i)[s].register_forward_hook(
                    lambda _m, _i, o, i=i, s=s: seen.__setitem__((i, s), o)))
        with torch.no_grad():
            m(ids)
        for h in handles:
            h.remove()
        ok = all(torch.equal(seen[(i, "post")], seen[(i, "down")]) and torch.equal(seen[(i, "pre")], seen[(i, "gate")])
                 for i in range(m.n_layer()))
        check(ok, "%s: post is the down projection's input, pre the gate (or up) projection's output" % name)


def check_detection():
    for arch, fam in (("GemmaForCausalLM", "gemma"), ("GPTNeoXForCausalLM", "gpt_neox"),
                      ("Gemma3ForCausalLM", "gemma3_text"), ("Olmo2ForCausalLM", "olmo2"),
                      ("Phi3ForCausalLM", "phi3"), ("Qwen3ForCausalLM", "qwen3")):
        check(R.detect_family({"architectures": [arch]}) == fam, "architectures %s -> %s" % (arch, fam))
    for mt in ("gemma3", "olmo", "phi", "qwen2_vl"):
        try:
            R.detect_family({"model_type": mt})
            check(False, "model_type %s refused" % mt)
        except R.InputError:
            check(True, "model_type %s refused (exact match only)" % mt)


def check_unused_tensors(lay):
    """A checkpoint tensor the reference has no parameter for is an error, never skipped: a bias
    or a norm the reference forgot would otherwise leave it computing another model."""
    lay.load("qwen2-moe")   # writes the checkpoint
    d = os.path.join(lay.folder, "qwen2-moe")
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    t, where = R.load_checkpoint_tensors(d)
    for extra in ("model.layers.0.mlp.experts.6.up_proj.weight", "model.layers.1.self_attn.o_proj.bias"):
        t2 = dict(t)
        t2[extra] = np.zeros((4, 4), np.float32)
        try:
            R.build_model(cfg).load_tensors(t2, where)
            check(False, "an extra tensor %s is refused" % extra)
        except R.InputError as e:
            check(extra in str(e), "an extra tensor is refused naming it: %s" % e)


def main():
    torch.set_num_threads(1)
    folder = tempfile.mkdtemp(prefix="ffnscope-reffam-")
    try:
        lay = Layouts(folder)
        check_windows(lay)
        check_softcap(lay)
        check_rope()
        check_rope_models(lay)
        check_neox_qkv()
        check_neox_models(lay)
        check_qk_norms(lay)
        check_qwen2_window(lay)
        check_sites(lay)
        check_detection()
        check_unused_tensors(lay)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
