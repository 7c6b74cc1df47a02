#!/usr/bin/python3
"""Minimal safetensors reading and writing with numpy only (Debian has no
safetensors package). Used by tests and benchmarks to build inputs for
ffnscope and to read what it writes.

    save(path, {"name": array, ...}, metadata={"k": "v"})
    save(path, {"name": (uint16_array, "BF16")})      # raw bfloat16 bits
    tensors, metadata = load(path)                      # BF16 comes back as float32
"""
import json
import struct

import numpy as np

_DTYPES = {
    np.dtype("<f2"): "F16", np.dtype("<f4"): "F32", np.dtype("<f8"): "F64",
    np.dtype("i1"): "I8", np.dtype("<i2"): "I16", np.dtype("<i4"): "I32", np.dtype("<i8"): "I64",
    np.dtype("u1"): "U8", np.dtype("?"): "BOOL",
}
_NUMPY = {v: k for k, v in _DTYPES.items()}


def bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even (NaN kept quiet)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    rounded[nan] = (u[nan] >> 16) | 0x40
    return rounded.astype(np.uint16)


def bf16_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def header_and_blobs(tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    blobs, at = [], 0
    for name, value in tensors.items():
        if isinstance(value, tuple):
            arr, dtype = np.ascontiguousarray(value[0]), value[1]
        else:
            arr = np.ascontiguousarray(value)
            arr = arr.astype(arr.dtype.newbyteorder("<"))
            dtype = _DTYPES[arr.dtype]
        blob = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    return header, blobs


def encode(header, blobs, pad_to=8):
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % pad_to)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def save(path, tensors, metadata=None):
    header, blobs = header_and_blobs(tensors, metadata)
    with open(path, "wb") as f:
        f.write(encode(header, blobs))


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            arr = bf16_to_f32(np.frombuffer(data[b:e], dtype="<u2"))
        else:
            arr = np.frombuffer(data[b:e], dtype=_NUMPY[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out, meta
