#!/usr/bin/env bash
# Builds if needed and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ninja -C build
meson test -C build --print-errorlogs --num-processes 2
