#!/bin/sh
# Renders the README screenshots: each view of a saved run at 120x40 as SVG,
# with the same code as the dashboard's `s` key.
# usage: tests/ui/screenshots.sh FFNSCOPE RESULTS_DIR [OUT_DIR] [MODEL:LAYER]
#   OUT_DIR defaults to docs/screenshots; MODEL:LAYER picks the spectrum shown.
set -eu
ffn=$1
results=$2
out=${3:-docs/screenshots}
select=${4:-}
mkdir -p "$out"
for view in spectrum heatmap scaling table; do
  if [ -n "$select" ]; then
    "$ffn" render "$results" --view "$view" --format svg --size 120x40 --select "$select" -o "$out/$view.svg"
  else
    "$ffn" render "$results" --view "$view" --format svg --size 120x40 -o "$out/$view.svg"
  fi
  echo "$out/$view.svg"
done
