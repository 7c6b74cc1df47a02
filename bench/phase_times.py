#!/usr/bin/python3
"""Runs `ffnscope run ... --out DIR` under GNU time and reports where each model's time went: the
phases `run` itself measures (README "Results": load, tokenize, forward, covariance, spectra and
the rest, read from DIR/metrics.json), the wall time and peak RSS of the whole command.

usage: phase_times.py OUT.json -- ffnscope run CONFIG --out DIR ...
Prints the result as JSON (also written to OUT.json) with the plan and done lines.
"""
import json
import os
import subprocess
import sys


def main():
    out, cmd = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
    if "--out" not in cmd:
        sys.exit("phase_times.py: the command needs --out DIR (the phases are read from DIR/metrics.json)")
    results = cmd[cmd.index("--out") + 1]
    timef = out + ".time"
    p = subprocess.run(["/usr/bin/time", "-v", "-o", timef] + cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True)
    rss = wall = None
    for line in open(timef):
        if "Maximum resident set size" in line:
            rss = int(line.split()[-1]) / 1024
        if "Elapsed (wall clock)" in line:
            parts = line.split()[-1].split(":")
            wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(parts)))
    models = []
    path = os.path.join(results, "metrics.json")
    if os.path.exists(path):
        for m in json.load(open(path))["models"]:
            models.append({"name": m["name"], "status": m["status"], "tokens": m["tokens"],
                           "elapsed_s": m["elapsed_s"], "tokens_per_s": m["tokens_per_s"],
                           "phases": m.get("phases"), "refresh_s": m.get("refresh_s")})
    r = {"rc": p.returncode, "wall_s": wall, "peak_rss_mib": rss, "models": models,
         "loadavg_end": open("/proc/loadavg").read().split()[:3],
         "lines": [l for l in p.stderr.splitlines() if ": done" in l or ": plan:" in l or "error" in l]}
    with open(out, "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps(r))
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
