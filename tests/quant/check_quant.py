#!/usr/bin/python3
"""ffnscope's GGUF block decoders (src/io/ggml_quant.c) against tools/ggml_quant.py's numpy
dequantization of the same bytes, for every quantized type ffnscope reads:

1. random blocks (every quant bit pattern, finite scales of both signs, subnormal and zero
   included), an odd number of rows: the whole tensor (ggufToF32) and row ranges
   (ggufRowsToF32: first row, middle, last rows, empty) must equal numpy's values bit for bit
   (or, where a compiler fuses a multiply-add, within float32 rounding of the row's scale);
2. Gaussian weights quantized by tools/ggml_quant.py: the C values equal numpy's, and the
   quantization error is what the type's bit depth allows (checks that writer and readers agree
   on the layouts);
3. the type mix of a file with several types (ggufTypeMix) against a mix computed here;
4. broken files through `ffnscope inspect`: a NaN or Inf in each scale field (d, m, dmin) of each
   type, a truncated tensor, rows that are not whole blocks, a type ffnscope does not read: exit
   2, one line naming the file and the tensor;
5. a LLaMA GGUF whose matrices are stored in a mix of every quantized type loads (`inspect`) and
   its forward pass (tests/model/model_dump) gives the same activations as an F32 GGUF holding
   numpy's dequantization of the same blocks.

usage: check_quant.py --dump build/tests/quant/quant_dump --ffnscope build/ffnscope
                      --model-dump build/tests/model/model_dump
"""
import json
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import export_formats as ef  # noqa: E402
import ggml_quant as gq  # noqa: E402

FAILS = []
PASSED = [0]

# Upper bounds on the relative RMS error of tools/ggml_quant.py's round-to-nearest quantizers on
# Gaussian data (measured: about 2/3 of each bound).
MAX_REL_RMS = {"Q4_0": 0.13, "Q4_1": 0.12, "Q5_0": 0.07, "Q5_1": 0.06, "Q8_0": 0.01, "Q2_K": 0.45,
               "Q3_K": 0.23, "Q4_K": 0.12, "Q5_K": 0.06, "Q6_K": 0.03, "IQ4_NL": 0.12, "IQ4_XS": 0.12}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if cond:
        PASSED[0] += 1
    else:
        FAILS.append(what)


def dump(args, path, name, rows=None, tmp="."):
    out = os.path.join(tmp, "out.f32")
    cmd = [args.dump, path, name] + ([str(rows[0]), str(rows[1])] if rows else []) + [out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return np.fromfile(out, dtype=np.float32), ""


def same(c, n, row_len):
    """Bit-exact, or within float32 rounding of each row's largest magnitude (fused multiply-add)."""
    if c is None or c.shape != n.shape:
        return False, "shape"
    if np.array_equal(c.view(np.uint32), n.view(np.uint32)):
        return True, "bit-exact"
    scale = np.abs(n.reshape(-1, row_len)).max(axis=1, keepdims=True)
    diff = np.abs(c - n).reshape(-1, row_len)
    ok = bool((diff <= 2.0 ** -22 * scale).all())
    return ok, "max |diff| %.3g, %d of %d values differ" % (diff.max(), int((c != n).sum()), c.size)


def row_len_of(t):
    qk = gq.TYPES[t][1]
    return 2 * qk if qk == 256 else 3 * qk   # two super-blocks, or three blocks of 32


def random_file(path, rng, rows=7):
    tensors, expect = [], {}
    for t, (_, qk, _) in gq.TYPES.items():
        rl = row_len_of(t)
        raw = gq.random_blocks(t, rows * rl // qk, rng)
        tensors.append(("rand." + t, ef.RawTensor((rows, rl), raw), t))
        expect["rand." + t] = (gq.dequantize(t, raw, rows * rl), rl, rows)
    ef.write_gguf(path, [("general.architecture", "str", "llama")], tensors)
    return expect


def check_random(args, tmp):
    rng = np.random.default_rng(17)
    path = os.path.join(tmp, "random.gguf")
    expect = random_file(path, rng)
    for name, (ref, rl, rows) in expect.items():
        c, msg = dump(args, path, name, tmp=tmp)
        ok, how = same(c, ref, rl)
        check(ok, "%s: whole tensor (%d x %d) equals numpy (%s) %s" % (name, rows, rl, how, msg))
        whole = c if c is not None else ref
        for first, n in ((0, 1), (3, 2), (rows - 1, 1), (2, rows - 2), (rows, 0)):
            c2, msg = dump(args, path, name, (first, n), tmp=tmp)
            part = ref[first * rl:(first + n) * rl]
            ok2, how2 = same(c2, part, rl) if n else (c2 is not None and c2.size == 0, "empty")
            ok3 = c2 is not None and np.array_equal(c2, whole[first * rl:(first + n) * rl])
            check(ok2 and ok3, "%s: rows %d..%d equal numpy (%s) and the whole tensor's %s" %
                  (name, first, first + n, how2, msg))
    # a range past the end is refused, naming the tensor
    c, msg = dump(args, path, "rand.Q4_K", (6, 2), tmp=tmp)
    check(c is None and "rand.Q4_K" in msg, "rows 6..8 of a 7-row tensor are refused: " + msg)


def check_quantized(args, tmp):
    rng = np.random.default_rng(5)
    rows, rl = 5, 512
    x = rng.standard_normal((rows, rl)).astype(np.float32)
    tensors = [("w." + t, x, t) for t in gq.TYPES]
    path = os.path.join(tmp, "quantized.gguf")
    ef.write_gguf(path, [("general.architecture", "str", "llama")], tensors)
    for t in gq.TYPES:
        raw = ef.tensor_bytes(x, t)
        ref = gq.dequantize(t, raw, x.size)
        c, msg = dump(args, path, "w." + t, tmp=tmp)
        ok, how = same(c, ref, rl)
        err = float(np.sqrt(np.mean((ref - x.reshape(-1)) ** 2) / np.mean(x ** 2)))
        check(ok, "w.%s: Gaussian weights quantized by tools/ggml_quant.py read back as numpy does (%s) %s" %
              (t, how, msg))
        check(err < MAX_REL_RMS[t], "w.%s: relative RMS quantization error %.4f < %.2f" % (t, err, MAX_REL_RMS[t]))


def check_mix(args, tmp):
    rng = np.random.default_rng(3)
    spec = [("a", (64, 512), "Q4_K"), ("b", (8, 512), "Q6_K"), ("c", (40, 512), "Q4_K"), ("d", (512,), "F32"),
            ("e", (2, 32), "Q8_0")]
    tensors = [(n, rng.standard_normal(s).astype(np.float32), t) for n, s, t in spec]
    path = os.path.join(tmp, "mix.gguf")
    ef.write_gguf(path, [("general.architecture", "str", "llama")], tensors)
    count = {}
    for _, s, t in spec:
        count[t] = count.get(t, 0) + int(np.prod(s))
    total = sum(count.values())
    order = sorted(count, key=lambda t: (-count[t], ef.GGML_TYPES[t]))
    parts = []
    for t in order:
        pct = int(count[t] * 100 / total + 0.5)
        parts.append("%s %s" % (t, "<1%" if pct == 0 else "%d%%" % pct))
    want = ", ".join(parts)
    r = subprocess.run([args.dump, "--mix", path], capture_output=True, text=True)
    check(r.stdout.strip() == want, "type mix %r == %r" % (r.stdout.strip(), want))


def inspect_fails(args, path, needles, what):
    r = subprocess.run([args.ffnscope, "inspect", path], capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    ok = r.returncode == 2 and len(lines) == 1 and lines[0].startswith("ffnscope: error: " + path + ": ") and \
        all(s in lines[0] for s in needles) and r.stdout == ""
    check(ok, "%s: exit %d, %r" % (what, r.returncode, r.stderr.strip()))


def check_broken(args, tmp):
    rng = np.random.default_rng(11)
    kvs = [("general.architecture", "str", "llama")]
    for t, (_, qk, nbytes) in gq.TYPES.items():
        rl, rows = row_len_of(t), 3
        nblocks = rows * rl // qk
        raw = gq.random_blocks(t, nblocks, rng)
        dt = gq.block_dtype(t)
        for field in gq.scale_fields(t):
            for bits, label in ((0x7E00, "NaN"), (0xFC00, "-Inf")):
                blocks = np.frombuffer(raw, dtype=dt).copy()
                bad = nblocks - 2
                blocks[field].view(np.uint16)[bad] = bits
                path = os.path.join(tmp, "bad-%s-%s-%s.gguf" % (t, field, label))
                name = "blk.0.ffn_down.weight"
                ef.write_gguf(path, kvs, [("token_embd.weight", np.ones((4, 32), np.float32), "F32"),
                                          (name, ef.RawTensor((rows, rl), blocks.tobytes()), t)])
                inspect_fails(args, path, ["tensor '%s'" % name, t, "block %d" % bad, "non-finite scale"],
                              "%s with %s in %s of block %d" % (t, label, field, bad))
        # the data cut short: the file ends inside the tensor
        path = os.path.join(tmp, "cut-%s.gguf" % t)
        data, lay = ef.gguf_bytes(kvs, [("w", ef.RawTensor((rows, rl), raw), t)])
        with open(path, "wb") as f:
            f.write(data[:lay["data_at"]["w"] + len(raw) - nbytes // 2])
        inspect_fails(args, path, ["tensor 'w'", "runs past the end"], "%s tensor cut inside its last block" % t)
        # rows that are not whole blocks
        path = os.path.join(tmp, "rows-%s.gguf" % t)
        if qk > 32:
            ef.write_gguf(path, kvs, [("w", ef.RawTensor((2 * rl // qk, qk // 2), raw[:len(raw) // rows]), t)])
            inspect_fails(args, path, ["tensor 'w'", t, "rows of %d" % (qk // 2), "multiple of %d" % qk],
                          "%s rows of %d elements" % (t, qk // 2))
        else:
            ef.write_gguf(path, kvs, [("w", ef.RawTensor((1, rl + 16), raw[:len(raw) // rows]), t)])
            inspect_fails(args, path, ["tensor 'w'", t, "rows of %d" % (rl + 16), "multiple of 32"],
                          "%s rows of %d elements" % (t, rl + 16))
    # a type ffnscope does not read, named
    path = os.path.join(tmp, "iq2xxs.gguf")
    data, lay = ef.gguf_bytes(kvs, [("w", ef.RawTensor((1, 256), bytes(66)), "Q8_0")])
    data = bytearray(data)
    data[lay["type_at"]["w"]:lay["type_at"]["w"] + 4] = (16).to_bytes(4, "little")
    with open(path, "wb") as f:
        f.write(bytes(data))
    inspect_fails(args, path, ["tensor 'w'", "ggml type 16 (IQ2_XXS)", "does not read"], "an IQ2_XXS tensor")


def check_model(args, tmp):
    spec = {"family": "llama", "config": dict(hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                                              num_attention_heads=4, num_key_value_heads=2,
                                              max_position_embeddings=64, rms_norm_eps=1e-5,
                                              rope_theta=10000.0, tie_word_embeddings=False)}
    cfg, w, tj = ef.make_original(tmp, "llama256", spec, 23)
    kvs, tensors = ef.gguf_model("llama256", "llama", cfg, w, tj, "F32")
    kinds = [t for t in gq.TYPES]
    quant, widened, used = [], [], set()
    for name, arr, _ in tensors:
        if arr.ndim == 1:
            quant.append((name, arr, "F32"))
            widened.append((name, arr, "F32"))
            continue
        t = kinds[len(used) % len(kinds)] if len(used) < len(kinds) else kinds[len(quant) % len(kinds)]
        used.add(t)
        raw = gq.quantize(t, arr)
        quant.append((name, ef.RawTensor(arr.shape, raw), t))
        widened.append((name, gq.dequantize(t, raw, arr.size).reshape(arr.shape), "F32"))
    check(used == set(kinds), "the model's matrices use every quantized type (%d of %d)" % (len(used), len(kinds)))
    qpath, fpath = os.path.join(tmp, "llama256-mixed.gguf"), os.path.join(tmp, "llama256-widened.gguf")
    ef.write_gguf(qpath, kvs, quant)
    ef.write_gguf(fpath, kvs, widened)
    r = subprocess.run([args.ffnscope, "inspect", qpath], capture_output=True, text=True)
    check(r.returncode == 0, "inspect reads the mixed-type GGUF: exit %d %s" % (r.returncode, r.stderr.strip()))
    ids = os.path.join(tmp, "ids.json")
    with open(ids, "w") as f:
        json.dump([int(i) for i in np.random.default_rng(2).integers(0, cfg["vocab_size"], 64)], f)
    outs = []
    for path in (qpath, fpath):
        out = os.path.join(tmp, os.path.basename(path) + ".out")
        os.makedirs(out, exist_ok=True)
        r = subprocess.run([args.model_dump, path, ids, "16", "2", out], capture_output=True, text=True)
        check(r.returncode == 0, "model_dump %s: exit %d %s" % (os.path.basename(path), r.returncode, r.stderr.strip()))
        outs.append(out)
    for layer in range(cfg["num_hidden_layers"]):
        for site in ("post", "pre"):
            f = "layer%d_%s.npy" % (layer, site)
            a, b = (np.load(os.path.join(o, f)) if os.path.exists(os.path.join(o, f)) else None for o in outs)
            ok = a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)
            check(ok, "layer %d %s: the quantized GGUF's activations equal the numpy-widened F32 GGUF's %s" %
                  (layer, site, "" if a is None else a.shape))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--ffnscope", required=True)
    ap.add_argument("--model-dump", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check_random(args, tmp)
        check_quantized(args, tmp)
        check_mix(args, tmp)
        check_broken(args, tmp)
        check_model(args, tmp)
    print("%d passed, %d failed" % (PASSED[0], len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
