#!/usr/bin/env bash
# Widening quantized GGUF weights against the matrix product they feed: for
# each readable ggml type, the time to dequantize a [D_OUT, D_IN] weight
# matrix (one thread) next to the sgemm of ROWS activation rows with it
# (default 2048 x 2048 x 5632, a LLaMA-1B-sized FFN up projection at the
# batch of 16 sequences of 128 tokens ffnscope runs). Medians of REPS runs.
# Prints Markdown; with --write, puts the table into BENCHMARKS.md.
#
# usage: bench/quant.sh [--write] [BUILD_DIR]
# env:   ROWS (2048), D_IN (2048), D_OUT (5632), REPS (5), THREADS (all cores, for the sgemm)
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
if [ "${1:-}" = --write ]; then write=1; shift; fi
BUILD=${1:-build}
ROWS=${ROWS:-2048} D_IN=${D_IN:-2048} D_OUT=${D_OUT:-5632} REPS=${REPS:-5}
THREADS=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ninja -C "$BUILD" ffnscope >/dev/null
cc -O2 -std=gnu11 -Iinclude -Isrc bench/quant_bench.c "$BUILD/libffnscope.a" -o "$work/quant_bench" \
   $(pkg-config --cflags --libs openblas lapacke yaml-0.1 jansson libpcre2-8 ncursesw) -lpthread -lm
load0=$(cut -d' ' -f1-3 /proc/loadavg)
OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$work/quant_bench" "$ROWS" "$D_IN" "$D_OUT" "$REPS" >"$work/q.json"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$work/q.json" "$THREADS" "$load0" "$load1" >"$work/q.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
threads, load0, load1 = sys.argv[2:5]
print("| type | bytes of W | dequantize W, ms (1 thread) | M elements/s | dequantize / sgemm |")
print("|---|---:|---:|---:|---:|")
for t in r["types"]:
    print("| %s | %.1f MiB | %.1f | %.0f | %.1f%% |" % (t["type"], t["bytes"] / 2**20, t["dequant_s"] * 1e3,
                                                      t["melem_per_s"], 100 * t["of_sgemm"]))
print()
print("W is [%d, %d] (%d x %d = %.1f M weights); the sgemm multiplies X [%d, %d] by W^T with %s thread(s): "
      "%.1f ms median, %.1f GFLOP/s. Medians of %d runs; load average %s before, %s after." %
      (r["d_out"], r["d_in"], r["d_out"], r["d_in"], r["d_out"] * r["d_in"] / 1e6, r["rows"], r["d_in"], threads,
       r["sgemm_s"] * 1e3, r["sgemm_gflops"], r["reps"], load0, load1))
PY
cat "$work/q.md"
if [ $write = 1 ]; then
  /usr/bin/python3 bench/update_md.py BENCHMARKS.md block quant "$work/q.md"
fi
