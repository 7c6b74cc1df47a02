#!/usr/bin/env python3
"""tools/capture_torch.py on a CUDA GPU: correctness against its CPU run, the NCCL combine, and
the cost of float64 accumulation at a 7B model's FFN width.

Run on a machine with a GPU and PyTorch (CI has none; numbers go to BENCHMARKS.md):
    python3 bench/capture_gpu.py [--out DIR]
It prints one JSON object (also written to DIR/capture_gpu.json):
  - cuda_f32_vs_cpu: largest relative difference of the statistics (mean, scatter) of a random
    GPT-2 captured on the GPU in float32 and on the CPU, and of the metrics computed from them;
  - bf16_metric_shift: how far bfloat16 forward passes move the metrics (not an error: bf16
    activations are different activations);
  - nccl_combine: the NCCL all_reduce/reduce combine of a one-rank group leaves the statistics as
    they were (the collectives accept int64/float64 tensors on the GPU);
  - accumulate_d11008: milliseconds per batch of 4 x 2048 tokens for one layer and site at
    D = 11008 (LLaMA-2-7B), float64 on the GPU, and the peak GPU memory of one accumulator.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import capture_torch  # noqa: E402
import np_metrics  # noqa: E402

METRICS = ("hard_rank", "soft_rank", "concentration", "eee", "sui", "alpha")


def read_stats(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    hdr = json.loads(blob[8:8 + n])
    hdr.pop("__metadata__")
    out = {}
    for k, v in hdr.items():
        a, b = v["data_offsets"]
        dt = {"F64": "<f8", "I64": "<i8"}[v["dtype"]]
        out[k] = np.frombuffer(blob[8 + n + a:8 + n + b], dtype=dt).reshape(v["shape"])
    return out


def metrics_of(stats):
    out = {}
    for k in stats:
        if k.endswith(".scatter"):
            base = k[:-len(".scatter")]
            c = float(stats[base + ".count"][0])
            out[base] = np_metrics.metrics_from_eigenvalues(np.linalg.eigvalsh(stats[k] / (c - 1)), int(c))
    return out


def worst_rel(a, b, keys):
    return max(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-300) for k in keys)


def metric_shift(ma, mb):
    return max(abs(ma[t][k] - mb[t][k]) / max(abs(mb[t][k]), 1e-300) for t in mb for k in METRICS)


def metric_shift_by_site(ma, mb):
    """{site: {metric: largest relative change over layers}}."""
    out = {}
    for t in mb:
        site = t.rsplit(".", 1)[1]
        for k in METRICS:
            d = abs(ma[t][k] - mb[t][k]) / max(abs(mb[t][k]), 1e-300)
            out.setdefault(site, {})[k] = max(out.get(site, {}).get(k, 0.0), d)
    return out


def capture_runs(tmp):
    models = os.path.join(tmp, "models")
    subprocess.run([sys.executable, os.path.join(TOOLS, "make_random_model.py"), "--out", models,
                    "--only", "gpt2-prefixed"], check=True, capture_output=True)
    corpus = os.path.join(tmp, "corpus.txt")
    rng = np.random.default_rng(3)
    words = "the of and to a in that was her she it not be as his with for had Anne Bath sea".split()
    with open(corpus, "w") as f:
        f.write(" ".join(words[i] for i in rng.integers(len(words), size=12000)))
    files = {}
    for tag, dev, dt in (("cpu", "cpu", "float32"), ("cuda", "cuda", "float32"), ("bf16", "cuda", "bfloat16")):
        files[tag] = os.path.join(tmp, tag + ".safetensors")
        subprocess.run([sys.executable, os.path.join(TOOLS, "capture_torch.py"), "--model",
                        os.path.join(models, "gpt2-prefixed"), "--corpus", corpus, "--tokens", "8192",
                        "--seq-len", "64", "--batch", "16", "--sites", "post,pre", "--device", dev,
                        "--dtype", dt, "--out", files[tag]], check=True)
    s = {t: read_stats(p) for t, p in files.items()}
    keys = [k for k in s["cpu"] if k.endswith(".mean") or k.endswith(".scatter")]
    m = {t: metrics_of(v) for t, v in s.items()}
    return {
        "cuda_f32_vs_cpu_statistics": worst_rel(s["cuda"], s["cpu"], keys),
        "cuda_f32_vs_cpu_metrics": metric_shift(m["cuda"], m["cpu"]),
        "counts_equal": all(int(s["cuda"][k][0]) == int(s["cpu"][k][0]) == 8192 for k in s["cpu"]
                            if k.endswith(".count")),
        "bf16_metric_shift": metric_shift_by_site(m["bf16"], m["cpu"]),
    }


def nccl_combine():
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("nccl", rank=0, world_size=1)
    dev = torch.device("cuda", 0)
    acc = capture_torch.Accumulator(96, dev)
    g = torch.Generator(device="cpu").manual_seed(1)
    for _ in range(3):
        acc.add((torch.randn(4, 64, 96, generator=g) * 3 + 7).to(dev))
    before = (acc.count, acc.mean.clone(), acc.scatter.clone())
    acc.all_combine()
    dist.destroy_process_group()
    return {"count_kept": acc.count == before[0] == 768,
            "max_change": max(float((acc.mean - before[1]).abs().max()),
                              float((acc.scatter - before[2]).abs().max() / before[2].abs().max()))}


def accumulate_timing(width=11008, rows=(4, 2048), reps=5):
    dev = torch.device("cuda", 0)
    torch.cuda.reset_peak_memory_stats()
    acc = capture_torch.Accumulator(width, dev)
    y = torch.randn(*rows, width, device=dev, dtype=torch.bfloat16)
    acc.add(y)  # warm-up
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        acc.add(y)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    n = rows[0] * rows[1]
    ms = 1000 * float(np.median(times))
    return {"width": width, "rows_per_batch": n, "ms_per_batch_median": ms,
            "fp64_tflops": 2.0 * n * width * width / (ms / 1000) / 1e12,
            "peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9,
            "scatter_gb": 8 * width * width / 1e9}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out")
    a = p.parse_args()
    res = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    with tempfile.TemporaryDirectory() as tmp:
        res["capture"] = capture_runs(tmp)
    res["nccl_combine"] = nccl_combine()
    res["accumulate_d11008"] = accumulate_timing()
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        with open(os.path.join(a.out, "capture_gpu.json"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
