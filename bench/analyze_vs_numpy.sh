#!/usr/bin/env bash
# ffnscope analyze against the ordinary numpy pipeline (np.load + np.cov + eigvalsh)
# on the same N x D float32 .npy: wall time and peak RSS (GNU time), median of
# RUNS runs, the two programs alternating so machine load hits both alike.
# Then the peak RSS of analyze on a 200 MB file against its size + 100 MB.
#
# usage: bench/analyze_vs_numpy.sh [--write]      (--write: update BENCHMARKS.md)
# env:   FFNSCOPE (default build/ffnscope), N (200000), D (1024), RUNS (3),
#        BENCH_DIR (default ${TMPDIR:-/tmp}/ffnscope-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
exe=${FFNSCOPE:-build/ffnscope}
N=${N:-200000}
D=${D:-1024}
RUNS=${RUNS:-3}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/ffnscope-bench}
py=/usr/bin/python3
write=0
[ "${1:-}" = "--write" ] && write=1

[ -x "$exe" ] || { echo "bench: $exe not built (ninja -C build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (scripts/setup.sh installs the time package)" >&2; exit 2; }
mkdir -p "$dir"
big="$dir/acts_${N}x${D}.npy"
small="$dir/acts_51200x1024.npy"  # 51200 * 1024 * 4 bytes = 200 MiB
[ -s "$big" ] || nice "$py" bench/make_acts.py "$big" "$N" "$D" 1
[ -s "$small" ] || nice "$py" bench/make_acts.py "$small" 51200 1024 2
cat "$big" "$small" >/dev/null  # both pipelines start from a warm page cache

# measure LABEL CMD...: appends "wall_s rss_kb cpu_s" to $dir/LABEL.times, keeps stdout in $dir/LABEL.out
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$dir/$label.t" "$@" >"$dir/$label.out"
  awk '{print $1, $2, $3 + $4}' "$dir/$label.t" >"$dir/$label.t2" && mv "$dir/$label.t2" "$dir/$label.t"
  cat "$dir/$label.t" >>"$dir/$label.times"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

rm -f "$dir"/*.times
for ((i = 1; i <= RUNS; i++)); do
  measure numpy "$py" bench/numpy_pipeline.py "$big"
  measure ffnscope "$exe" analyze "$big" --format json
  measure small "$exe" analyze "$small" --format json
done

# the two pipelines must agree on what they measured
"$py" - "$dir/numpy.out" "$dir/ffnscope.out" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))[0]
for k in ("hard_rank", "soft_rank"):
    if abs(a[k] - b[k]) > 1e-6 * abs(a[k]):
        sys.exit("bench: %s differs: numpy %r ffnscope %r" % (k, a[k], b[k]))
EOF

np_wall=$(cut -d' ' -f1 "$dir/numpy.times" | median)
np_rss=$(cut -d' ' -f2 "$dir/numpy.times" | median)
ff_wall=$(cut -d' ' -f1 "$dir/ffnscope.times" | median)
ff_rss=$(cut -d' ' -f2 "$dir/ffnscope.times" | median)
np_cpu=$(cut -d' ' -f3 "$dir/numpy.times" | median)
ff_cpu=$(cut -d' ' -f3 "$dir/ffnscope.times" | median)
sm_rss=$(cut -d' ' -f2 "$dir/small.times" | median)
size_mb=$(( $(stat -c %s "$big") / 1000000 ))
small_mb=$(stat -c %s "$small" | awk '{printf "%.1f", $1 / 1048576}')

table=$(awk -v n="$N" -v d="$D" -v runs="$RUNS" -v size="$size_mb" -v nw="$np_wall" -v nr="$np_rss" \
  -v fw="$ff_wall" -v fr="$ff_rss" -v sr="$sm_rss" -v smb="$small_mb" -v nc="$np_cpu" -v fc="$ff_cpu" \
  -v cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores" \
  -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v date="$(date -u +%Y-%m-%d)" 'BEGIN {
  printf "N = %d rows, D = %d, float32 .npy (%d MB), page cache warm; median of %d alternating runs,\n", n, d, size, runs
  printf "wall time, CPU time (user + system) and peak RSS from GNU time. Machine: %s;\n", cpu
  printf "load average at the end %s (%s).\n\n", load, date
  printf "| pipeline | wall time (s) | CPU time (s) | peak RSS (MB) |\n|---|---:|---:|---:|\n"
  printf "| numpy: `np.load` + `np.cov` + `np.linalg.eigvalsh` | %.2f | %.2f | %.0f |\n", nw, nc, nr / 1024
  printf "| `ffnscope analyze --format json` | %.2f | %.2f | %.0f |\n", fw, fc, fr / 1024
  printf "| ratio (numpy / ffnscope) | %.2fx | %.2fx | %.1fx |\n\n", nw / fw, nc / fc, nr / fr
  printf "Peak RSS of `ffnscope analyze` on a %s MiB float32 file (51200 x 1024): %.0f MB ", smb, sr / 1024
  printf "(limit: file size + 100 MB = %.0f MB).\n", smb * 1.048576 + 100
}')
echo "$table"
awk -v sr="$sm_rss" -v smb="$small_mb" 'BEGIN { exit !(sr / 1024 < smb * 1.048576 + 100) }' ||
  { echo "bench: analyze peak RSS above file size + 100 MB" >&2; exit 1; }

if [ $write = 1 ]; then
  "$py" - "$root/BENCHMARKS.md" "$table" <<'EOF'
import os, re, sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
notes = open(os.path.join(os.path.dirname(path), "bench", "analyze_vs_numpy.md")).read().strip()
section = ("## analyze vs numpy\n\n`bench/analyze_vs_numpy.sh --write` (synthetic activations from "
           "`bench/make_acts.py`).\n\n" + table.strip() + "\n\n" + notes + "\n")
pattern = re.compile(r"^## analyze vs numpy\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda m: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open(path + ".tmp", "w").write(text.rstrip("\n") + "\n")
os.replace(path + ".tmp", path)
EOF
  echo "bench: BENCHMARKS.md updated" >&2
fi
