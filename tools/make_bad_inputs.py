#!/usr/bin/python3
"""The bad-input catalogue: malformed files of every format ffnscope reads, and broken configs,
each with the command that must reject it and the exact error line expected.

Writes tests/bad-inputs/<case> (a file or a model folder) and tests/bad-inputs/manifest.json,
a list of {"case", "args", "expect", "what"}: `ffnscope ARGS` run from the repository root must
exit 2, print nothing on stdout and exactly the line EXPECT on stderr, and leave the results
folder ({out} in ARGS) absent. tests/bad-inputs/check.py checks every entry.

usage: make_bad_inputs.py [--out tests/bad-inputs]
"""
import argparse
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
import make_random_model  # noqa: E402
import npsafetensors  # noqa: E402

REL = "tests/bad-inputs"   # how the paths appear in commands and messages (run from the root)


def npy(descr="<f4", shape=(8, 4), data=None, version=(1, 0), header=None, fortran=False):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))
    h = header.encode()
    pre = 10 if version[0] == 1 else 12
    h += b" " * ((-(pre + len(h) + 1)) % 64) + b"\n"
    if data is None:
        data = np.random.default_rng(0).standard_normal(int(np.prod(shape))).astype(np.float32).tobytes()
    lenfield = struct.pack("<H", len(h)) if version[0] == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + lenfield + h + data


def st(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def acts(rows=8, width=4):
    return np.random.default_rng(1).standard_normal((rows, width)).astype(np.float32)


def stats_tensors(width=4, rows=12):
    x = np.random.default_rng(2).standard_normal((rows, width))
    mean = x.mean(0)
    xc = x - mean
    t = {"layers.0.post.count": np.array([rows], dtype=np.int64), "layers.0.post.mean": mean,
         "layers.0.post.scatter": xc.T @ xc}
    meta = {"ffnscope_stats": "1", "width": str(width), "model": "bad", "family": "gpt2", "n_layers": "1"}
    return t, meta


def st_file(tensors, meta=None):
    header, blobs = npsafetensors.header_and_blobs(tensors, meta)
    return npsafetensors.encode(header, blobs)


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf(kvs=None, tensors=None, version=3, magic=b"GGUF", alignment=32, raw_infos=None, n_tensors=None,
         n_kv=None, truncate=None):
    """kvs: list of raw key-value bytes; tensors: list of (name, dims, type, offset or None, blob)."""
    if kvs is None:
        kvs = [gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama")]
    if tensors is None:
        tensors = [("t", [32, 2], 0, None, np.ones(64, dtype="<f4").tobytes())]
    infos, data = b"", b""
    for name, dims, typ, off, blob in tensors:
        data += b"\0" * ((-len(data)) % alignment)
        infos += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", typ, len(data) if off is None else off)
        data += blob
    if raw_infos is not None:
        infos = raw_infos
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv) + b"".join(kvs) + infos
    head += b"\0" * ((-len(head)) % alignment)
    out = head + data
    return out if truncate is None else out[:truncate]


def llama2c(cfg=(8, 16, 1, 2, 2, 16, 8), extra=0, v1=False):
    dim, hidden, layers, heads, kv, vocab, seq = cfg
    hs = dim // heads if heads > 0 else 1
    n = abs(vocab) * dim + layers * (2 * dim + 2 * dim * dim + 2 * dim * (kv * hs) + 3 * dim * hidden) + dim
    n += seq * hs  # rotary tables (v0)
    body = np.zeros(max(n + extra, 0), dtype="<f4").tobytes()
    if v1:
        head = struct.pack("<Ii", 0x616b3432, 1) + struct.pack("<7i", *cfg) + b"\1"
        head += b"\0" * (256 - len(head))
        return head + body
    return struct.pack("<7i", *cfg) + body


def llmc(header_over=None, size=None):
    h = [0] * 256
    h[0:8] = [20240326, 3, 8, 16, 1, 2, 8, 16]
    for k, v in (header_over or {}).items():
        h[k] = v
    out = struct.pack("<256i", *h)
    return out + b"\0" * (size if size is not None else 64)


def tiny_hf(tmp, family, **over):
    s = dict(gpt2=dict(d=8, layers=1, heads=2, ffn=16, vocab=40, context=8),
             llama=dict(d=8, layers=1, heads=2, ffn=24, vocab=40, context=8))[family]
    s.update(over)
    args = [sys.executable, os.path.join(HERE, "make_random_model.py"), "--out", tmp, "--shape", family,
            "--name", family]
    for k, v in s.items():
        args += ["--" + k, str(v)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(tmp, family)


def cases(tmp):
    """Yields (case, content, args, expect, what). content: bytes for a file, a dict name -> bytes
    for a folder. In args, P is the case's path and {out} the results folder; in expect (the
    stderr line after "ffnscope: error: "), {P} is the case's path and {R} the catalogue's."""
    good = acts()
    good_npy = npy(data=good.tobytes())
    # ---- .npy activation files: ffnscope analyze
    A = ["analyze", "P"]
    yield "npy-truncated.npy", good_npy[:-10], A, "{P}: truncated: shape needs 128 data bytes, the file holds 118", "data shorter than the shape says"
    yield "npy-lying-shape.npy", npy(shape=(800, 4), data=good.tobytes()), A, "{P}: truncated: shape needs 12800 data bytes, the file holds 128", "header shape larger than the data"
    yield "npy-overflow-shape.npy", npy(shape=(1 << 62, 1 << 62), data=b""), A, "{P}: bad .npy header: shape value too large", "shape product overflows"
    yield "npy-unknown-dtype.npy", npy(descr="<c8"), A, "{P}: unsupported dtype '<c8' (float16, float32 or float64 expected)", "complex dtype"
    yield "npy-big-endian.npy", npy(descr=">f4"), A, "{P}: big-endian dtype '>f4' is not supported (save it little-endian)", "big-endian floats"
    yield "npy-fortran.npy", npy(fortran=True), A, "{P}: Fortran-ordered arrays are not supported (save in C order)", "Fortran order"
    yield "npy-header-past-end.npy", good_npy[:8] + struct.pack("<H", 60000) + good_npy[10:], A, "{P}: .npy header length 60000 runs past the end of the file (256 bytes)", \
        "header length runs past the end"
    yield "npy-one-row.npy", npy(shape=(1, 4), data=acts(1, 4).tobytes()), A, "{P}: 1 row (a covariance needs at least 2)", "fewer than 2 rows"
    yield "npy-4d.npy", npy(shape=(2, 2, 2, 4), data=acts(8, 4).tobytes()), A, "{P}: 4-D array (need 2-D [N, D] or 3-D [B, T, D])", "4-D array"
    yield "npy-empty.npy", b"", A, "{P}: too short for a .npy file", "empty file"
    # ---- safetensors activation files
    h, blobs = npsafetensors.header_and_blobs({"blocks.0.mlp.hook_post": good, "blocks.1.mlp.hook_post": good})
    data = b"".join(blobs)
    yield "st-truncated.safetensors", st(h, data)[:-40], A, "{P}: tensor 'blocks.1.mlp.hook_post': data_offsets [128, 256] reach past the data region (216 bytes)", "data region cut short"
    yield "st-header-huge.safetensors", st(h, data, length=1 << 40), A, "{P}: header length 1099511627776 is larger than the 104857600 byte limit", "header length of 1 TiB"
    yield "st-header-not-json.safetensors", st(b'{"blocks.0.post": {"dtype": "F32",', data), A, "{P}: header is not valid JSON: string or '}' expected near end of file", \
        "header is not JSON"
    bad = json.loads(json.dumps(h))
    bad["blocks.1.mlp.hook_post"]["data_offsets"] = [64, 64 + 128]
    yield "st-overlapping.safetensors", st(bad, data), A, "{P}: tensor 'blocks.1.mlp.hook_post': data overlaps tensor 'blocks.0.mlp.hook_post'", "two tensors share bytes"
    bad = json.loads(json.dumps(h))
    bad["blocks.0.mlp.hook_post"]["dtype"] = "F8_E4M3"
    yield "st-unknown-dtype.safetensors", st(bad, data), A, "{P}: tensor 'blocks.0.mlp.hook_post': unknown dtype 'F8_E4M3'", "dtype ffnscope does not know"
    bad = json.loads(json.dumps(h))
    bad["blocks.0.mlp.hook_post"]["shape"] = [8, 5]
    yield "st-shape-mismatch.safetensors", st(bad, data), A, "{P}: tensor 'blocks.0.mlp.hook_post': shape and dtype F32 need a different number of bytes but data_offsets span 128", "shape product differs from the byte range"
    bad = json.loads(json.dumps(h))
    bad["blocks.1.mlp.hook_post"]["data_offsets"] = [128, 1 << 33]
    yield "st-offset-past-end.safetensors", st(bad, data), A, "{P}: tensor 'blocks.1.mlp.hook_post': data_offsets [128, 8589934592] reach past the data region (256 bytes)", "offsets beyond the file"
    bad = json.loads(json.dumps(h))
    bad["blocks.0.mlp.hook_post"]["shape"] = [1 << 62, 1 << 62]
    yield "st-overflow-shape.safetensors", st(bad, data), A, "{P}: tensor 'blocks.0.mlp.hook_post': shape and dtype F32 need too many bytes but data_offsets span 128", "shape product overflows"
    bad = json.loads(json.dumps(h))
    bad["blocks.0.mlp.hook_post"]["shape"] = "8x4"
    yield "st-wrong-type.safetensors", st(bad, data), A, "{P}: tensor 'blocks.0.mlp.hook_post': missing or non-array shape", "shape is a string"
    yield "st-int-acts.safetensors", st_file({"blocks.0.mlp.hook_post": np.arange(32, dtype=np.int32).reshape(8, 4)}), \
        A, "{P}: tensor 'blocks.0.mlp.hook_post': dtype I32 is not an activation type (F16, BF16, F32 or F64)", "integer activations"
    # ---- covariance statistics
    t, meta = stats_tensors()
    asym = dict(t)
    s = t["layers.0.post.scatter"].copy()
    s[0, 1] += 5.0
    asym["layers.0.post.scatter"] = s
    yield "stats-asymmetric.safetensors", st_file(asym, meta), A, "{P}: tensor 'layers.0.post.scatter': not symmetric: (0, 1) = 8.9817 but (1, 0) = 3.9817", "scatter not symmetric"
    neg = dict(t)
    neg["layers.0.post.count"] = np.array([-3], dtype=np.int64)
    yield "stats-negative-count.safetensors", st_file(neg, meta), A, "{P}: tensor 'layers.0.post.count': negative count -3", "negative row count"
    miss = {k: v for k, v in t.items() if not k.endswith(".mean")}
    yield "stats-missing-mean.safetensors", st_file(miss, meta), A, "{P}: tensor 'layers.0.post.mean' is missing", "entry without its mean"
    m2 = dict(meta)
    m2["width"] = "5"
    yield "stats-width-mismatch.safetensors", st_file(t, m2), A, "{P}: tensor 'layers.0.post.mean': shape is not [5] (width 5)", "metadata width differs from the tensors"
    # ---- GGUF
    I = ["inspect", "P"]
    g = gguf()
    yield "gguf-truncated.gguf", g[:40], I, "{P}: key 0 has length 20, more than the 8 bytes left in the file", "cut inside the key-values"
    yield "gguf-version1.gguf", gguf(version=1), I, "{P}: GGUF version 1 is not supported (2 or 3)", "version 1 (32-bit counts)"
    yield "gguf-string-overflow.gguf", gguf(kvs=[gstr("general.architecture")[:0] + struct.pack("<Q", 1 << 62) + b"x"]), \
        I, "{P}: key 0 has length 4611686018427387904, more than the 320 bytes left in the file", "key length of 2^62"
    yield "gguf-huge-count.gguf", gguf(n_kv=1 << 60), I, "{P}: the header claims 1152921504606846976 key-values, more than the file can hold", "key-value count larger than the file"
    yield "gguf-offset-past-end.gguf", gguf(tensors=[("t", [32, 2], 0, 1 << 20, np.ones(64, "<f4").tobytes())]), I, \
        "{P}: tensor 't' (offset 1048576, 256 bytes) runs past the end of the data region (256 bytes)", "tensor data beyond the end"
    yield "gguf-unknown-type.gguf", gguf(tensors=[("t", [256, 1], 16, None, bytes(66))]), I, \
        "{P}: tensor 't' has ggml type 16 (IQ2_XXS), which ffnscope does not read (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)", \
        "IQ2_XXS tensor"
    # quantized blocks (ggml-common.h layouts): a NaN or Inf f16 scale, data cut short, rows not whole blocks
    q4k = bytearray(2 * 144)
    q4k[144:146] = struct.pack("<H", 0x7E00)   # block 1's d: NaN
    yield "gguf-q4k-nan-scale.gguf", gguf(tensors=[("blk.0.ffn_up.weight", [256, 2], 12, None, bytes(q4k))]), I, \
        "{P}: tensor 'blk.0.ffn_up.weight' (Q4_K): block 1 has a non-finite scale (f16 Inf or NaN)", "Q4_K block with a NaN d"
    q2k = bytearray(84)
    q2k[82:84] = struct.pack("<H", 0x7C00)     # dmin: +Inf
    yield "gguf-q2k-inf-dmin.gguf", gguf(tensors=[("w", [256, 1], 10, None, bytes(q2k))]), I, \
        "{P}: tensor 'w' (Q2_K): block 0 has a non-finite scale (f16 Inf or NaN)", "Q2_K block with an infinite dmin"
    yield "gguf-q6k-truncated.gguf", gguf(tensors=[("w", [256, 2], 14, None, bytes(310))]), I, \
        "{P}: tensor 'w' (offset 0, 420 bytes) runs past the end of the data region (310 bytes)", "Q6_K tensor cut inside its second block"
    yield "gguf-q3k-rows.gguf", gguf(tensors=[("w", [128, 2], 11, None, bytes(110))]), I, \
        "{P}: tensor 'w' is Q3_K but its rows of 128 are not a multiple of 256", "Q3_K rows of 128"
    yield "gguf-overlap.gguf", gguf(tensors=[("a", [32, 2], 0, 0, np.ones(64, "<f4").tobytes()),
                                             ("b", [32, 2], 0, 0, b"")]), I, "{P}: the data of tensors 'a' and 'b' overlap", "two tensors at one offset"
    yield "gguf-bad-kv-type.gguf", gguf(kvs=[gstr("general.architecture") + struct.pack("<I", 99)]), I, "{P}: key 'general.architecture' has unknown value type 99", \
        "value type 99"
    yield "gguf-no-arch.gguf", gguf(kvs=[gstr("general.name") + struct.pack("<I", 8) + gstr("x")]), I, "{P}: key 'general.architecture' is missing", \
        "no general.architecture"
    # ---- llama2.c and llm.c
    yield "llama2c-truncated.bin", llama2c(extra=-10), I, "{P}: the file has 3284 bytes, but its version 0 header (dim 8, hidden_dim 16, n_layers 1, n_heads 2, n_kv_heads 2, vocab_size 16, seq_len 8, shared classifier) needs 3324", "weights cut short"
    yield "llama2c-negative-dim.bin", llama2c(cfg=(-8, 16, 1, 2, 2, 16, 8)), I, "{P}: not a llama2.c checkpoint: header value -8 (dim) is out of range", "negative dim"
    yield "llama2c-heads.bin", llama2c(cfg=(8, 16, 1, 3, 3, 16, 8)), I, "{P}: dim 8 is not divisible by n_heads 3", "dim not divisible by heads"
    yield "llama2c-trailing.bin", llama2c(extra=5), I, "{P}: the file has 3344 bytes, but its version 0 header (dim 8, hidden_dim 16, n_layers 1, n_heads 2, n_kv_heads 2, vocab_size 16, seq_len 8, shared classifier) needs 3324", "bytes after the weights"
    yield "llmc-bad-magic.bin", llmc({0: 12345}), ["inspect", "P", "--format", "table"], "{P}: dim 12345 is not divisible by n_heads 16", "wrong magic"
    yield "llmc-version.bin", llmc({1: 4}), I, "{P}: llm.c checkpoint version 4 is not supported (3 float32, 5 bfloat16)", "version 4"
    yield "llmc-truncated.bin", llmc(size=64), I, "{P}: the file has 1088 bytes, but its version 3 header (max_seq_len 8, vocab_size 16, num_layers 1, num_heads 2, channels 8, padded_vocab_size 16) needs 5344", "weights cut short"
    yield "llmc-vocab.bin", llmc({7: 8}), I, "{P}: padded_vocab_size 8 is smaller than vocab_size 16", "padded vocab below vocab"
    # ---- tokenizers: ffnscope tokenize
    T = ["tokenize", "P", REL + "/text.txt"]
    yield "tok-not-json.json", b'{"model": {"type": "BPE", "vocab": {"a": 0', T, "{P}: invalid JSON at line 1 column 42: '}' expected near end of file", "cut-off JSON"
    yield "tok-unknown-model.json", json.dumps({"model": {"type": "WordPiece", "vocab": {"a": 0}}}).encode(), T, \
        "{P}: model type 'WordPiece' is not supported (only BPE)", "WordPiece model"
    bb, _ = make_random_model.byte_bpe_tokenizer(8)
    bad = json.loads(json.dumps(bb))
    bad["model"]["merges"].append("zzzq yyyq")
    yield "tok-merge-unknown.json", json.dumps(bad).encode(), T, "{P}: merge 8 ('zzzq' 'yyyq') names unknown token 'zzzq'", "merge of tokens not in the vocabulary"
    bad = json.loads(json.dumps(bb))
    bad["model"]["vocab"]["Ġt"] = 0
    yield "tok-duplicate-id.json", json.dumps(bad).encode(), T, "{P}: model.vocab: id 0 is given to both '!' and 'Ġt'", "two tokens with one id"
    yield "tok-vocab-no-merges", {"vocab.json": json.dumps(bb["model"]["vocab"]).encode()}, T, "{P}/merges.txt: missing (needed with {R}/tok-vocab-no-merges/vocab.json)", \
        "vocab.json without merges.txt"
    yield "tokenizer-truncated.bin", struct.pack("<ifi", 4, 0.0, 200) + b"ab", T, "{P}: token 0 has length 200, outside 0..max_token_length 4", "token length past the end"
    # ---- Hugging Face model folders: ffnscope inspect
    d = tiny_hf(tmp, "gpt2")
    cfg = json.load(open(os.path.join(d, "config.json")))
    stf = open(os.path.join(d, "model.safetensors"), "rb").read()
    tensors = npsafetensors.load(os.path.join(d, "model.safetensors"))[0]

    def folder(c, t=None, raw=None):
        out = {"config.json": json.dumps(c, indent=1).encode()}
        out["model.safetensors"] = raw if raw is not None else (st_file(t) if t is not None else stf)
        return out
    c = dict(cfg)
    del c["n_embd"]
    yield "hf-missing-key", folder(c), I, "{P}/config.json: key 'n_embd' is missing", "config.json without n_embd"
    c = dict(cfg)
    c["n_head"] = 3
    yield "hf-heads", folder(c), I, "{P}/config.json: n_embd 8 is not divisible by n_head 3", "n_embd not divisible by n_head"
    c = dict(cfg)
    c["n_layer"] = "two"
    yield "hf-wrong-type", folder(c), I, "{P}/config.json: key 'n_layer' must be a positive integer", "n_layer is a string"
    c = dict(cfg)
    c["n_inner"] = 32
    yield "hf-inconsistent-width", folder(c), I, "{P}/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.weight' has shape [8,16], expected [8,32]", "n_inner disagrees with the c_fc shape"
    t2 = dict(tensors)
    k = [k for k in t2 if k.endswith("mlp.c_fc.weight")][0]
    t2[k] = np.zeros((8, 15), dtype=np.float32)
    yield "hf-misshaped", folder(cfg, t2), I, "{P}/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.weight' has shape [8,15], expected [8,16]", "c_fc weight of the wrong shape"
    t3 = {k: v for k, v in tensors.items() if not k.endswith("mlp.c_proj.weight")}
    yield "hf-missing-tensor", folder(cfg, t3), I, "{P}/model.safetensors: tensor 'transformer.h.0.mlp.c_proj.weight' is missing", "c_proj weight absent"
    yield "hf-truncated-weights", folder(cfg, raw=stf[:len(stf) // 2]), I, "{P}/model.safetensors: tensor 'transformer.wte.weight': data_offsets [0, 1280] reach past the data region (1216 bytes)", "model.safetensors cut in half"
    yield "hf-config-not-json", {"config.json": b'{"model_type": "gpt2", ', "model.safetensors": stf}, I, "{P}/config.json:1:23: string or '}' expected near end of file", \
        "config.json cut off"
    idx = {"metadata": {}, "weight_map": {k: "model-00001-of-00002.safetensors" for k in tensors}}
    yield "hf-missing-shard", {"config.json": json.dumps(cfg).encode(),
                               "model.safetensors.index.json": json.dumps(idx).encode()}, I, "{P}/model-00001-of-00002.safetensors: No such file or directory", \
        "index names a shard that is not there"
    # ---- YAML configs: ffnscope run CONFIG --out {out}
    R = ["run", "P", "--out", "{out}"]
    ok = "version: 1\nmodels:\n  - path: ok-acts.npy\n"
    yield "yaml-truncated.yaml", b"version: 1\nmodels:\n  - path: \"ok-acts.npy\n", R, "{P}:4:1: YAML syntax error: while scanning a quoted scalar found unexpected end of stream", "unterminated string"
    yield "yaml-tab.yaml", b"version: 1\nmodels:\n\t- path: ok-acts.npy\n", R, "{P}:3:1: YAML syntax error: while scanning for the next token found character that cannot start any token (tabs are not allowed for indentation; use spaces)", "tab indentation"
    yield "yaml-unknown-key.yaml", (ok + "colour: blue\n").encode(), R, "{P}:4:1: unknown key 'colour' in config", "top-level key nobody knows"
    yield "yaml-unknown-nested.yaml", (ok + "capture:\n  site: [post]\n").encode(), R, "{P}:5:3: unknown key 'site' in capture", "capture.site (typo)"
    yield "yaml-wrong-type.yaml", (ok + "capture:\n  refresh_tokens: many\n").encode(), R, "{P}:5:19: capture.refresh_tokens: expected a positive integer, got 'many'", "a word for a number"
    yield "yaml-list-for-map.yaml", b"version: 1\nmodels:\n  path: ok-acts.npy\n", R, "{P}:3:3: models: expected a list, got a mapping", "models is a map"
    yield "yaml-missing-file.yaml", b"version: 1\nmodels:\n  - path: not-there.npy\n", R, "{P}:3:11: models[0].path: {R}/not-there.npy: No such file or directory", "model file missing"
    yield "yaml-version.yaml", ok.replace("version: 1", "version: 2").encode(), R, "{P}:1:10: version: unsupported version 2 (expected 1)", "version 2"
    yield "yaml-negative-tokens.yaml", (ok + "corpus:\n  path: text.txt\n  tokens: -5\n").encode(), R, "{P}:6:11: corpus.tokens: expected a positive integer, got -5", \
        "negative token count"
    yield "yaml-bad-layers.yaml", (ok + "capture:\n  layers: \"3-1\"\n").encode(), R, "{P}:5:11: capture.layers: bad layer range '3-1'", "layer range backwards"
    yield "yaml-bad-site.yaml", (ok + "capture:\n  sites: [middle]\n").encode(), R, "{P}:5:11: capture.sites: unknown site 'middle' (expected post or pre)", "unknown site"
    yield "yaml-duplicate-key.yaml", (ok + "version: 1\n").encode(), R, "{P}:4:1: duplicate key 'version' in config (first at line 1)", "version twice"
    yield "yaml-no-corpus.yaml", b"version: 1\nmodels:\n  - path: hf-missing-key\n", R, "{P}:3:5: model 'hf-missing-key' is not an activation file and needs a corpus (add corpus.path)", \
        "model source without a corpus"
    yield "yaml-huge-tokens.yaml", (ok + "corpus:\n  path: text.txt\n  tokens: 99999999999999999999999\n").encode(), \
        R, "{P}:6:11: corpus.tokens: expected a positive integer, got '99999999999999999999999'", "token count beyond 64 bits"
    yield "yaml-binary.yaml", b"\x00\xff\xfe garbage \x80\x81", R, "{P}: control characters are not allowed at byte 0", "not text"
    # broken inputs reached through a config: the run writes nothing
    yield "run-broken-npy.yaml", b"version: 1\nmodels:\n  - path: npy-truncated.npy\n", R, "{R}/npy-truncated.npy: truncated: shape needs 128 data bytes, the file holds 118", \
        "config naming a truncated .npy"
    yield "run-broken-model.yaml", b"version: 1\ncorpus:\n  path: text.txt\n  tokens: 64\n  seq_len: 8\n  batch: 2\n" \
        b"models:\n  - path: hf-misshaped\n", R, "{R}/hf-misshaped/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.weight' has shape [8,15], expected [8,16]", "config naming a misshaped model"
    yield "run-corpus-not-utf8.yaml", b"version: 1\ncorpus:\n  path: text-latin1.txt\n  tokens: 64\n  seq_len: 8\n" \
        b"models:\n  - path: ../../models/gpt2-w128\n", R, "{R}/text-latin1.txt: text is not valid UTF-8 at byte 14", \
        "corpus in Latin-1, not UTF-8"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(HERE, "..", REL))
    a = p.parse_args()
    out = a.out
    for name in os.listdir(out) if os.path.isdir(out) else []:
        if name in ("meson.build", "check.py"):
            continue
        full = os.path.join(out, name)
        shutil.rmtree(full) if os.path.isdir(full) else os.remove(full)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "text.txt"), "w") as f:
        f.write("It is a truth universally acknowledged, that a single man in possession of a good fortune.\n" * 4)
    with open(os.path.join(out, "text-latin1.txt"), "wb") as f:
        f.write("Mr. Darcy's ch\u00e2teau at Pemberley.\n".encode("latin-1") * 4)
    with open(os.path.join(out, "ok-acts.npy"), "wb") as f:
        f.write(npy(data=acts().tobytes()))
    manifest = []
    tmp = tempfile.mkdtemp()
    try:
        for case, content, args, expect, what in cases(tmp):
            path = os.path.join(out, case)
            if isinstance(content, dict):
                os.makedirs(path)
                for n, b in content.items():
                    with open(os.path.join(path, n), "wb") as f:
                        f.write(b)
            else:
                with open(path, "wb") as f:
                    f.write(content)
            rel = REL + "/" + case
            manifest.append({"case": case, "what": what,
                             "args": [x.replace("P", rel) if x == "P" else x for x in args],
                             "expect": "ffnscope: error: " + expect.replace("{P}", rel).replace("{R}", REL)})
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d cases in %s" % (len(manifest), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
