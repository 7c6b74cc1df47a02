#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan + UBSan) in
# build-fuzz/ and runs each for SECONDS (default 600), JOBS at a time (default
# 2), niced. Each target's growing corpus lives in build-fuzz/corpus/<target>
# (seeded from tests/fuzz/<target>/); a crash is saved as
# build-fuzz/crashes/<target>/crash-*, and should be copied into
# tests/fuzz/<target>/ once fixed, where every test build replays it.
#
# usage: tools/fuzz.sh [SECONDS] [TARGET...]     (JOBS=N for parallel runs)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
jobs=${JOBS:-2}

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args='-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined' >/dev/null
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # The list meson built (it skips readers not yet in the build).
  mapfile -t targets < <(ninja -C build-fuzz -t targets all | sed -n 's|^tests/fuzz/fuzz_\([a-z0-9_]*\): .*|\1|p' | sort -u)
fi
nice -n 5 ninja -C build-fuzz $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OPENBLAS_NUM_THREADS=1
mkdir -p build-fuzz/logs
runOne() {
  local t=$1
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  local start=$SECONDS rc=0 maxlen=65536
  # Whole checkpoints (seeds of d_model 32) need more room than the headers.
  case $t in model_gguf|llama2c|llmc) maxlen=200000 ;; esac
  nice -n 5 "build-fuzz/tests/fuzz/fuzz_$t" "build-fuzz/corpus/$t" "tests/fuzz/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
    -artifact_prefix="build-fuzz/crashes/$t/" -print_final_stats=1 \
    >"build-fuzz/logs/$t.log" 2>&1 || rc=$?
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/logs/$t.log" | tail -n 1)
  echo "$t: $((SECONDS - start)) s, ${runs:-?} runs, exit $rc, crashes: $(ls "build-fuzz/crashes/$t" | wc -l)"
}
running=0
for t in "${targets[@]}"; do
  runOne "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
