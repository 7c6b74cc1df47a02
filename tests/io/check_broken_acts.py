#!/usr/bin/python3
"""Every kind of broken activation file given to `ffnscope analyze` must end
with exit status 2, nothing on stdout and exactly one stderr line
"ffnscope: error: PATH: ..." saying what is wrong.

usage: check_broken_acts.py FFNSCOPE
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import npsafetensors  # noqa: E402


def npy_bytes(descr="<f4", fortran=False, shape=(8, 4), data=None, version=(1, 0), header=None, pad=True):
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))
    h = header.encode()
    pre = 10 if version[0] == 1 else 12
    if pad:
        h += b" " * ((-(pre + len(h) + 1)) % 64) + b"\n"
    if data is None:
        n = int(np.prod(shape)) if shape else 1
        size = int(descr[-1]) if descr[-1].isdigit() else 4
        data = np.arange(n * size, dtype=np.uint8).tobytes()
    lenfield = struct.pack("<H", len(h)) if version[0] == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes(version) + lenfield + h + data


def st_bytes(header, data=b"", length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def good_st():
    a = np.random.default_rng(1).standard_normal((16, 8)).astype(np.float32)
    header, blobs = npsafetensors.header_and_blobs({"blocks.0.mlp.hook_post": a, "blocks.1.mlp.hook_post": a})
    return header, b"".join(blobs)


def cases():
    good = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    good_npy = npy_bytes(data=good.tobytes())
    yield "npy-truncated.npy", good_npy[:-10], "truncated"
    yield "npy-trailing.npy", good_npy + b"\0" * 16, "after the data"
    yield "npy-empty.npy", b"", "too short"
    yield "npy-magic.npy", b"\x93NUMPZ" + good_npy[6:], "bad magic"
    yield "npy-version.npy", good_npy[:6] + b"\x07\x00" + good_npy[8:], "format version 7.0"
    yield "npy-hlen.npy", good_npy[:8] + struct.pack("<H", 60000) + good_npy[10:], "runs past the end"
    yield "npy-hlen-huge.npy", npy_bytes(version=(2, 0))[:8] + struct.pack("<I", 1 << 30) + b"{}", "byte limit"
    yield "npy-dict.npy", npy_bytes(header="{'descr': '<f4', 'shape': (8, 4) 'fortran_order': False}"), "bad .npy header"
    yield "npy-notdict.npy", npy_bytes(header="[1, 2, 3]"), "not a dict"
    yield "npy-missing-key.npy", npy_bytes(header="{'descr': '<f4', 'shape': (8, 4), }"), "must each appear once"
    yield "npy-extra-key.npy", npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (8, 4), 'x': 1}"), "unexpected key 'x'"
    yield "npy-int.npy", npy_bytes(descr="<i4"), "unsupported dtype '<i4'"
    yield "npy-complex.npy", npy_bytes(descr="<c8"), "unsupported dtype"
    yield "npy-struct.npy", npy_bytes(header="{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (8,), }"), "structured"
    yield "npy-bigendian.npy", npy_bytes(descr=">f4"), "big-endian"
    yield "npy-pipe.npy", npy_bytes(descr="|f4"), "byte order"
    yield "npy-fortran.npy", npy_bytes(fortran=True), "Fortran"
    yield "npy-1d.npy", npy_bytes(shape=(32,)), "1-D array"
    yield "npy-0d.npy", npy_bytes(shape=()), "0-D array"
    yield "npy-4d.npy", npy_bytes(shape=(2, 2, 2, 4)), "4-D array"
    yield "npy-1row.npy", npy_bytes(shape=(1, 4)), "1 row"
    yield "npy-0rows.npy", npy_bytes(shape=(0, 4)), "0 rows"
    yield "npy-0width.npy", npy_bytes(shape=(8, 0)), "width 0"
    yield "npy-huge-shape.npy", npy_bytes(shape=(1 << 40, 1 << 30), data=b""), "too large"
    nan = np.full((8, 4), np.nan, dtype=np.float32)
    nan[3] = 1.0
    yield "npy-nan.npy", npy_bytes(data=nan.tobytes()), "1 finite row of 8"

    header, data = good_st()
    first, second = "blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"
    yield "st-short.safetensors", b"\x10\0\0", "too short"
    yield "st-truncated.safetensors", st_bytes(header, data[:-64]), "reach past the data region"
    yield "st-hlen.safetensors", st_bytes(header, data, length=10 ** 6), "runs past the end"
    yield "st-hlen-huge.safetensors", st_bytes(header, data, length=1 << 40), "byte limit"
    yield "st-json.safetensors", st_bytes(b'{"a": {"dtype": "F32",', data), "not valid JSON"
    yield "st-array.safetensors", st_bytes(b"[1, 2]  ", data), "does not start with a JSON object"
    yield "st-dup.safetensors", st_bytes(b'{"a": {}, "a": {}}', b""), "duplicate"
    h = json.loads(json.dumps(header))
    h[second]["data_offsets"] = [256, 768]
    yield "st-overlap.safetensors", st_bytes(h, data), "overlaps"
    h = json.loads(json.dumps(header))
    h[second]["data_offsets"] = [h[second]["data_offsets"][0] + 512, h[second]["data_offsets"][1] + 512]
    yield "st-range.safetensors", st_bytes(h, data), "reach past the data region"
    yield "st-gap.safetensors", st_bytes(header, data + b"\0" * 8), "cover 1024 of the 1032"
    h = json.loads(json.dumps(header))
    h[first]["data_offsets"] = [8, 512]
    yield "st-gap-front.safetensors", st_bytes(h, data), "'%s': shape and dtype F32 need" % first
    h = json.loads(json.dumps(header))
    h[first]["dtype"] = "F8"
    yield "st-dtype.safetensors", st_bytes(h, data), "tensor '%s': unknown dtype 'F8'" % first
    h = json.loads(json.dumps(header))
    h[first]["shape"] = [16, 9]
    yield "st-shape.safetensors", st_bytes(h, data), "tensor '%s': shape and dtype F32 need" % first
    h = json.loads(json.dumps(header))
    h[first]["shape"] = [1 << 62, 1 << 62]
    yield "st-shape-overflow.safetensors", st_bytes(h, data), "need too many bytes"
    h = json.loads(json.dumps(header))
    h[first]["shape"] = [16, -8]
    yield "st-shape-neg.safetensors", st_bytes(h, data), "non-negative integer"
    h = json.loads(json.dumps(header))
    h[first]["data_offsets"] = [512, 0]
    yield "st-offsets.safetensors", st_bytes(h, data), "not an increasing pair"
    h = json.loads(json.dumps(header))
    del h[first]["dtype"]
    yield "st-nodtype.safetensors", st_bytes(h, data), "missing or non-string dtype"
    h = json.loads(json.dumps(header))
    h["__metadata__"] = {"k": 3}
    yield "st-meta.safetensors", st_bytes(h, data), "__metadata__ value of 'k' is not a string"
    h = json.loads(json.dumps(header))
    h[first]["dtype"], h[first]["shape"] = "I32", [16, 8]
    yield "st-int.safetensors", st_bytes(h, data), "dtype I32 is not an activation type"
    h = json.loads(json.dumps(header))
    h[first]["shape"] = [128]
    yield "st-1d.safetensors", st_bytes(h, data), "tensor '%s': 1-D array" % first
    h = json.loads(json.dumps(header))
    h[first]["shape"] = [1, 128]
    yield "st-1row.safetensors", st_bytes(h, data), "tensor '%s': 1 row" % first
    yield "st-empty.safetensors", st_bytes({}), "holds no tensors"


def main():
    exe = os.path.abspath(sys.argv[1])
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ffnscope-broken-") as tmp:
        runs = []
        for name, blob, want in cases():
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(blob)
            runs.append((path, ["analyze", path], want))
        runs.append((os.path.join(tmp, "missing.npy"), ["analyze", os.path.join(tmp, "missing.npy")],
                     "No such file"))
        good = os.path.join(tmp, "good.safetensors")
        header, data = good_st()
        with open(good, "wb") as f:
            f.write(st_bytes(header, data))
        runs.append((good, ["analyze", good, "--tensor", "nope"], "no tensor named 'nope'"))
        runs.append(("analyze", ["analyze", good, "--format", "xml"], "--format must be"))
        runs.append(("analyze", ["analyze", good, "--bogus"], "unknown option '--bogus'"))
        runs.append(("analyze", ["analyze"], "missing FILE"))
        runs.append(("analyze", ["analyze", good, "--concentration-k", "-1"], "positive number"))
        for path, argv, want in runs:
            p = subprocess.run([exe, *argv], capture_output=True, text=True, timeout=60)
            lines = p.stderr.splitlines()
            prefix = "ffnscope: error: %s:" % path
            ok = (p.returncode == 2 and p.stdout == "" and len(lines) == 1 and lines[0].startswith(prefix)
                  and want in lines[0])
            print("%-4s %-34s %s" % ("ok" if ok else "FAIL", os.path.basename(path), lines[0] if lines else ""))
            if not ok:
                failures += 1
                print("     exit %d, stdout %r, want %r in the single line" % (p.returncode, p.stdout[:200], want))
        # the good file must still work
        p = subprocess.run([exe, "analyze", good, "--format", "json"], capture_output=True, text=True)
        if p.returncode != 0 or len(json.loads(p.stdout)) != 2:
            print("FAIL good file: exit %d %s" % (p.returncode, p.stderr))
            failures += 1
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
