#!/usr/bin/env bash
# Widening quantized GGUF weights against the matrix product they feed: for
# each readable ggml type, the time to dequantize a [D_OUT, D_IN] weight
# matrix (one thread) next to the sgemm of ROWS activation rows with it
# (default 2048 x 2048 x 5632: a LLaMA-1B-sized FFN up projection at the
# batch of 16 sequences of 128 tokens ffnscope runs; also at 128 rows, one
# sequence). Medians of REPS runs.
# Prints Markdown; with --write, puts the table into BENCHMARKS.md.
#
# usage: bench/quant.sh [--write] [BUILD_DIR]
# env:   ROWS ("2048 128": one run each), D_IN (2048), D_OUT (5632), REPS (5),
#        THREADS (all cores, for the sgemm)
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
if [ "${1:-}" = --write ]; then write=1; shift; fi
BUILD=${1:-build}
ROWS=${ROWS:-2048 128} D_IN=${D_IN:-2048} D_OUT=${D_OUT:-5632} REPS=${REPS:-5}
THREADS=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ninja -C "$BUILD" ffnscope >/dev/null
cc -O2 -std=gnu11 -Iinclude -Isrc bench/quant_bench.c "$BUILD/libffnscope.a" -o "$work/quant_bench" \
   $(pkg-config --cflags --libs openblas lapacke yaml-0.1 jansson libpcre2-8 ncursesw) -lpthread -lm
load0=$(cut -d' ' -f1-3 /proc/loadavg)
files=()
for r in $ROWS; do
  OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS "$work/quant_bench" "$r" "$D_IN" "$D_OUT" "$REPS" >"$work/q$r.json"
  files+=("$work/q$r.json")
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$THREADS" "$load0" "$load1" "${files[@]}" >"$work/q.md" <<'PY'
import json, sys
threads, load0, load1 = sys.argv[1:4]
runs = [json.load(open(p)) for p in sys.argv[4:]]
# The dequantization does not depend on ROWS: each run measures it again; the table shows the
# median of the runs' medians (of two, the slower).
head = "| type | bytes of W | dequantize W, ms (1 thread) | M values/s |"
head += "".join(" dequantize / sgemm of %d rows |" % r["rows"] for r in runs)
print(head)
print("|---|---:|---:|---:|" + "---:|" * len(runs))
for i, t in enumerate(runs[0]["types"]):
    s = sorted(r["types"][i]["dequant_s"] for r in runs)[len(runs) // 2]
    line = "| %s | %.1f MiB | %.1f | %.0f |" % (t["type"], t["bytes"] / 2**20, s * 1e3, t["melem_per_s"] * t["dequant_s"] / s)
    line += "".join(" %.1f%% |" % (100 * s / r["sgemm_s"]) for r in runs)
    print(line)
print()
r0 = runs[0]
print("W is [%d, %d] (%.1f M weights); the sgemm multiplies X [ROWS, %d] by W^T with %s thread(s): %s. "
      "Medians of %d runs; load average %s before, %s after." %
      (r0["d_out"], r0["d_in"], r0["d_out"] * r0["d_in"] / 1e6, r0["d_in"], threads,
       ", ".join("%d rows %.1f ms (%.1f GFLOP/s)" % (r["rows"], r["sgemm_s"] * 1e3, r["sgemm_gflops"]) for r in runs),
       r0["reps"], load0, load1))
PY
cat "$work/q.md"
if [ $write = 1 ]; then
  /usr/bin/python3 bench/update_md.py BENCHMARKS.md block quant "$work/q.md"
fi
