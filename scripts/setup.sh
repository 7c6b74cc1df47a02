#!/usr/bin/env bash
# Installs what ffnscope needs on Debian 12, fetches the Austen corpus and configures the build.
# Idempotent: packages already present and a corpus already extracted are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential pkg-config meson ninja-build
  libncurses-dev libopenblas-dev liblapacke-dev libyaml-dev libjansson-dev libpcre2-dev libutf8proc-dev
  libcriterion-dev
  libcairo2-dev fonts-dejavu-core
  python3 python3-numpy python3-torch python3-regex
  tmux
  poppler-utils chromium
  time
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The tokenizer tests run the reference GPT-2 encoder under Node.js.
if ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Corpus: Jane Austen's six novels from Debian's r-cran-janeaustenr (unpacked, not installed).
if [ ! -s data/austen/persuasion.txt ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # apt-get download needs package lists; a fresh machine may have none yet.
  if ! apt-cache policy r-cran-janeaustenr 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
  fi
  # As root apt warns that _apt cannot write into the private temp dir; show its output only on failure.
  (cd "$tmp" && apt-get download -qq r-cran-janeaustenr >"$tmp/apt.log" 2>&1) || {
    cat "$tmp/apt.log" >&2; echo "setup: error: apt-get download r-cran-janeaustenr failed" >&2; exit 1; }
  dpkg-deb -x "$tmp"/r-cran-janeaustenr_*.deb "$tmp/root"
  rdb=$(find "$tmp/root" -path '*/janeaustenr/data/Rdata.rdb' | head -n 1)
  [ -n "$rdb" ] || { echo "setup: error: Rdata.rdb not found in r-cran-janeaustenr" >&2; exit 1; }
  /usr/bin/python3 tools/extract_austen.py "${rdb%.rdb}" data/austen
fi

[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
