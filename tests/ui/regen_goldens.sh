#!/bin/sh
# Rewrites tests/ui/golden/ from the current renderer; review `git diff` after.
# usage: tests/ui/regen_goldens.sh [BUILD_DIR]    (default: build)
set -eu
cd "$(dirname "$0")/../.."
build=${1:-build}
ninja -C "$build" tests/ui/ui_golden
FFNSCOPE_REGEN_GOLDEN=1 "$build/tests/ui/ui_golden"
rm -f tests/ui/golden/*.got
echo "goldens rewritten in tests/ui/golden/"
