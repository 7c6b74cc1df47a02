#!/usr/bin/env bash
# The spectral engine's arithmetic: the machine's sgemm/dgemm peaks, the
# covariance update's rate (covaccAddF32, float32 rows into the float64
# scatter via dsyrk) against the dgemm peak, and the eigensolver (values
# only; also the one-stage dsyevd it used before) against numpy's eigvalsh
# at D = 512 .. 4096.
# Prints Markdown for BENCHMARKS.md.
#
# usage: bench/spectrum.sh [BUILD_DIR]      env: THREADS (all cores), REPS (5)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
THREADS=${THREADS:-$(nproc)}
REPS=${REPS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ninja -C "$BUILD" ffnscope >/dev/null
cc -O2 -std=gnu11 -Iinclude -Isrc bench/spectrum_bench.c "$BUILD/libffnscope.a" -o "$work/spectrum_bench" \
   $(pkg-config --cflags --libs openblas lapacke yaml-0.1 jansson libpcre2-8 ncursesw) -lpthread -lm
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
b="$work/spectrum_bench"
$b peaks >"$work/peaks.json"
for D in 768 3072 4096; do $b covacc $D 2048 4 >"$work/cov$D.json"; done
for D in 512 1024 2048 4096; do
  r=$REPS; [ $D -ge 4096 ] && r=3
  # alternate the two so load changes hit both alike
  $b eigen $D $r >"$work/eig$D.json"
  $b eigen $D $r onestage >"$work/eig1t$D.json"
  /usr/bin/python3 bench/eigen_numpy.py $D $r >"$work/np$D.json"
done
/usr/bin/python3 - "$work" "$THREADS" <<'PY'
import json, os, sys
w, threads = sys.argv[1], int(sys.argv[2])
j = lambda n: json.load(open(os.path.join(w, n)))
p = j("peaks.json")
print("Peaks (4096^3, best of 3, %d threads): sgemm %.1f GFLOP/s, dgemm %.1f GFLOP/s." % (threads, p["sgemm_gflops"], p["dgemm_gflops"]))
print()
print("| covariance update (2048 float32 rows into float64 scatter) | seconds per block | GFLOP/s | of dgemm peak |")
print("|---|---:|---:|---:|")
for D in (768, 3072, 4096):
    c = j("cov%d.json" % D)
    print("| D = %d | %.3f | %.1f | %.0f%% |" % (D, c["seconds"], c["gflops"], 100 * c["gflops"] / p["dgemm_gflops"]))
print()
print("| D | ffnscope eigenvalues (two-stage, 1 BLAS thread), s | before: one-stage dsyevd, %d threads, s | numpy eigvalsh, s | numpy / ffnscope |" % threads)
print("|---:|---:|---:|---:|---:|")
for D in (512, 1024, 2048, 4096):
    a, a1, b = j("eig%d.json" % D), j("eig1t%d.json" % D), j("np%d.json" % D)
    print("| %d | %.3f | %.3f | %.3f | %.2fx |" % (D, a["median_s"], a1["median_s"], b["median_s"], b["median_s"] / a["median_s"]))
PY
