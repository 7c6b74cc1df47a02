#!/usr/bin/env bash
# Bounded against unbounded, side by side: `ffnscope run` of one model under
# the default memory limit and under --memory-limit LIMIT (a plan with several
# passes, and streamed weights for a BF16 model whose float32 weights do not
# fit), alternately RUNS times each, on the same tokens of Persuasion (post
# site, seq_len 128, batch 16). Prints each plan, one Markdown row per run
# (wall time, peak RSS from GNU time, the load average after it), the medians
# and their ratio, and whether metrics.csv of the two agree (largest relative
# difference over every metric).
#
# usage: bench/streamed.sh MODEL_DIR TOKENS LIMIT [LAYERS [RUNS [BUILD_DIR]]]
#   LAYERS: all (default) or "0,11,23"
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=$1 TOKENS=$2 LIMIT=$3 LAYERS=${4:-all} RUNS=${5:-2} BUILD=${6:-build}
PY=/usr/bin/python3
CORPUS=$PWD/data/austen/persuasion.txt
[ -s "$CORPUS" ] || { echo "streamed: $CORPUS is missing (run scripts/setup.sh)" >&2; exit 2; }
ninja -C "$BUILD" ffnscope >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$LAYERS" = all ]; then ylayers=all; else ylayers="[$LAYERS]"; fi
cat >"$work/bench.yaml" <<YAML
version: 1
corpus:
  path: $CORPUS
  tokens: $TOKENS
  seq_len: 128
  batch: 16
capture:
  sites: [post]
  layers: $ylayers
  refresh_tokens: $TOKENS
models:
  - path: $MODEL
YAML
for arm in free bounded; do
  lim=(); [ $arm = bounded ] && lim=(--memory-limit "$LIMIT")
  echo "plan ($arm): $("$BUILD/ffnscope" plan "$work/bench.yaml" "${lim[@]}" --format json | $PY -c '
import json, sys
p = json.load(sys.stdin)[0]
print("passes %d, stream_weights %s, residual_on_disk %s, peak %.0f MiB, limit %.0f MiB" % (p["passes"],
      p["stream_weights"], p["residual_on_disk"], p["peak_bytes"] / 2**20, p["limit_bytes"] / 2**20))')"
done
echo "| run | arm | wall s | peak RSS MiB | load average after |"
echo "|---|---|---:|---:|---|"
for i in $(seq "$RUNS"); do
  for arm in free bounded; do
    lim=(); [ $arm = bounded ] && lim=(--memory-limit "$LIMIT")
    /usr/bin/time -f "%e %M" -o "$work/$arm$i.time" "$BUILD/ffnscope" run "$work/bench.yaml" "${lim[@]}" \
      --out "$work/$arm$i" >/dev/null 2>"$work/$arm$i.err" || { cat "$work/$arm$i.err" >&2; exit 1; }
    read -r wall rss < <(tail -n 1 "$work/$arm$i.time")
    echo "| $i | $arm | $wall | $((rss / 1024)) | $(cut -d' ' -f1-3 /proc/loadavg) |"
  done
done
$PY - "$work" "$RUNS" <<'PY'
import csv, glob, os, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def med(arm, k):
    return statistics.median(float(open(os.path.join(work, "%s%d.time" % (arm, i))).read().split()[-2 + k])
                             for i in range(1, runs + 1))
fw, bw = med("free", 0), med("bounded", 0)
fm, bm = med("free", 1) / 1024, med("bounded", 1) / 1024
print("\nmedians: unbounded %.1f s, %.0f MiB; bounded %.1f s, %.0f MiB; bounded/unbounded wall %.3fx, memory %.2fx"
      % (fw, fm, bw, bm, bw / fw, bm / fm))
def rows(arm):
    f = glob.glob(os.path.join(work, arm + "1", "**", "metrics.csv"), recursive=True)[0]
    return list(csv.DictReader(open(f)))
a, b = rows("free"), rows("bounded")
worst, same = 0.0, True
for ra, rb in zip(a, b):
    for k in ra:
        if ra[k] != rb[k]:
            same = False
            try:
                x, y = float(ra[k]), float(rb[k])
                worst = max(worst, abs(x - y) / max(abs(x), 1e-300))
            except ValueError:
                pass
print("metrics.csv: %d rows, %s" % (len(a), "identical, every digit" if same and len(a) == len(b)
      else "largest relative difference %.2e" % worst))
PY
