#!/usr/bin/python3
"""Runs `ffnscope run ...` on a pseudo-terminal, so that it draws its progress bar, and stamps
when each phase began: loading (start), capturing (the first "N/M tokens" bar), the final spectra
(the bar at 100%) and the end. Peak RSS comes from GNU time around the command.

usage: phase_times.py OUT.json -- ffnscope run ...
Prints the phases in seconds as JSON (also written to OUT.json) with the plan and done lines.
"""
import json
import os
import pty
import re
import subprocess
import sys
import time


def main():
    out, cmd = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
    timef = out + ".time"
    master, slave = pty.openpty()
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", timef] + cmd, stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, close_fds=True)
    os.close(slave)
    buf, stamps = b"", {}
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic() - t0
        buf += chunk
        text = chunk.decode("utf-8", "replace")
        if "capturing" not in stamps and re.search(r"\d+/\d+ tokens", text):
            stamps["capturing"] = now
        # at 100% the worker solves the final spectra (the words saying so may be cut at the width)
        if "spectra" not in stamps and " 100% " in text:
            stamps["spectra"] = now
    rc = p.wait()
    end = time.monotonic() - t0
    lines = [l.rstrip("\r").split("\r")[-1].replace("\x1b[K", "").strip() for l in buf.decode("utf-8", "replace").split("\n")]
    rss = wall = None
    for l in open(timef):
        if "Maximum resident set size" in l:
            rss = int(l.split()[-1]) / 1024
        if "Elapsed (wall clock)" in l:
            parts = l.split()[-1].split(":")
            wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(parts)))
    r = {"rc": rc, "wall_s": wall, "peak_rss_mib": rss, "load_s": stamps.get("capturing"),
         "capture_s": (stamps["spectra"] - stamps["capturing"]) if "spectra" in stamps and "capturing" in stamps
         else None, "spectra_s": (end - stamps["spectra"]) if "spectra" in stamps else None,
         "loadavg_end": open("/proc/loadavg").read().split()[:3],
         "lines": [l for l in lines if l.endswith("tokens/s") or ": plan:" in l or "error" in l]}
    with open(out, "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps(r))
    return rc


if __name__ == "__main__":
    sys.exit(main())
