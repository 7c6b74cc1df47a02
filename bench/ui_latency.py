#!/usr/bin/python3
"""Dashboard responsiveness: key-to-redraw latency while the worker captures
and eigensolves a D=3072 layer, and frame render time at 200x60.

The real binary runs on a pseudo-terminal of 200x60 (TERM=xterm-256color)
with FFNSCOPE_FRAME_LOG set, on activation files of one model with two
D=3072 layers (N rows each). Keys are written to the terminal at random
intervals of 40..120 ms, cycling through view switches and cursor moves. The
app logs when it reads each key and when each frame starts and how long its
render (views into the canvas) and its whole frame (render + ncurses blit +
refresh) took, on CLOCK_MONOTONIC, the clock this script stamps its writes
with. A key's latency is from the write to the end of the first frame drawn
after the app read it: it includes any time the key waited while the UI
thread was busy or starved of CPU.

usage: ui_latency.py FFNSCOPE [--rows N] [--keys K] [--runs R]
prints one line per run and a summary; writes nothing else.
"""
import argparse
import fcntl
import os
import pty
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KEYS = [b"2", b"j", b"3", b"k", b"4", b"j", b"1", b"j", b"\t", b"k", b"1"]


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    i = min(len(xs) - 1, max(0, int(round(q / 100.0 * (len(xs) - 1)))))
    return xs[i]


def drain(fd, stop):
    while not stop.is_set():
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return


def one_run(ffn, cfg, cwd, n_keys, seed):
    log = os.path.join(cwd, "frames.log")
    if os.path.exists(log):
        os.remove(log)
    env = {"PATH": "/usr/bin:/bin", "HOME": cwd, "TERM": "xterm-256color", "LANG": "C.UTF-8",
           "FFNSCOPE_FRAME_LOG": log}
    pid, fd = pty.fork()
    if pid == 0:
        # the size is set on the terminal before the program starts
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
        os.chdir(cwd)
        os.execve(ffn, [ffn, cfg], env)
    stop = threading.Event()
    reader = threading.Thread(target=drain, args=(fd, stop), daemon=True)
    reader.start()

    def frames():
        try:
            with open(log) as f:
                return [l.split() for l in f if l.startswith("frame")]
        except FileNotFoundError:
            return []

    # wait until the big model is being captured (the worker is running)
    deadline = time.time() + 60
    while time.time() < deadline:
        fr = frames()
        if fr and fr[-1][5] == "running" and len(fr) > 3:
            break
        time.sleep(0.05)
    rng = random.Random(seed)
    sent = []
    for i in range(n_keys):
        time.sleep(rng.uniform(0.04, 0.12))
        k = KEYS[i % len(KEYS)]
        sent.append(time.monotonic_ns())
        os.write(fd, k)
    # then the same keys once the worker has finished: the idle baseline
    deadline = time.time() + 300
    while time.time() < deadline:
        fr = frames()
        if fr and fr[-1][5] in ("finished", "done"):
            break
        time.sleep(0.1)
    for i in range(n_keys // 4):
        time.sleep(rng.uniform(0.04, 0.12))
        sent.append(time.monotonic_ns())
        os.write(fd, KEYS[i % len(KEYS)])
    time.sleep(0.3)
    os.write(fd, b"q")
    _, status = os.waitpid(pid, 0)
    stop.set()
    reader.join(1)
    os.close(fd)

    lines = open(log).read().split("\n")
    key_reads = [int(l.split()[1]) for l in lines if l.startswith("key ")]
    fr = [l.split() for l in lines if l.startswith("frame ")]
    starts = [int(f[1]) for f in fr]
    ends = [int(f[1]) + int(f[3]) for f in fr]
    lat = []
    busy = []
    j = 0
    fi = 0
    for t_send in sent:
        while j < len(key_reads) and key_reads[j] < t_send:
            j += 1
        if j >= len(key_reads):
            break
        t_read = key_reads[j]
        j += 1
        while fi < len(starts) and starts[fi] < t_read:
            fi += 1
        if fi >= len(starts):
            break
        lat.append((ends[fi] - t_send) / 1e6)
        busy.append(fr[fi][5] == "running")
    big = [f for f in fr if f[7] == "200x60"]
    render = [int(f[2]) / 1e6 for f in big]
    total = [int(f[3]) / 1e6 for f in big]
    per_view = {}
    for f in big:
        per_view.setdefault(f[6], []).append(int(f[2]) / 1e6)
    return {"status": status, "lat_busy": [l for l, b in zip(lat, busy) if b],
            "lat_idle": [l for l, b in zip(lat, busy) if not b], "render": render, "total": total,
            "per_view": per_view, "keys": len(sent), "matched": len(lat)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ffnscope")
    ap.add_argument("--rows", type=int, default=65536,
                    help="tokens per D=3072 layer (enough to keep the worker busy while the keys arrive)")
    ap.add_argument("--keys", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ffn = os.path.abspath(a.ffnscope)
    tmp = tempfile.mkdtemp(prefix="ffnscope-ui-bench-")
    try:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "ui", "make_acts.py"), tmp,
                        "--big", "3072", str(a.rows)], check=True)
        with open(os.path.join(tmp, "big.yaml"), "w") as f:
            f.write("version: 1\ncapture:\n  sites: [post]\n  refresh_tokens: 2048\nmodels:\n"
                    "  - path: big-w3072.safetensors\n    family: big\n"
                    "output:\n  dir: results\n  export_dir: exports\n")
        all_busy, all_idle, all_render, all_total = [], [], [], []
        views = {}
        for r in range(a.runs):
            res = one_run(ffn, "big.yaml", tmp, a.keys, 1000 + r)
            b, i = res["lat_busy"], res["lat_idle"]
            print("run %d: exit %d, %d keys, %d matched; busy: %d keys median %.1f ms p99 %.1f ms max %.1f ms; "
                  "idle: %d keys median %.1f ms; frames at 200x60: %d, render median %.2f ms, frame median %.2f ms"
                  % (r + 1, res["status"] >> 8, res["keys"], res["matched"], len(b), pct(b, 50), pct(b, 99),
                     max(b) if b else float("nan"), len(i), pct(i, 50), len(res["render"]), pct(res["render"], 50),
                     pct(res["total"], 50)))
            all_busy += b
            all_idle += i
            all_render += res["render"]
            all_total += res["total"]
            for v, xs in res["per_view"].items():
                views.setdefault(v, []).extend(xs)
        print("summary: key-to-redraw while capturing/eigensolving D=3072: n=%d median %.1f ms p99 %.1f ms max %.1f ms"
              % (len(all_busy), pct(all_busy, 50), pct(all_busy, 99), max(all_busy) if all_busy else float("nan")))
        print("summary: key-to-redraw with the worker idle: n=%d median %.1f ms p99 %.1f ms"
              % (len(all_idle), pct(all_idle, 50), pct(all_idle, 99)))
        print("summary: 200x60 frames: render median %.2f ms p99 %.2f ms; render+blit+refresh median %.2f ms p99 %.2f ms"
              % (pct(all_render, 50), pct(all_render, 99), pct(all_total, 50), pct(all_total, 99)))
        for v in sorted(views):
            print("summary: render %s median %.2f ms p99 %.2f ms (n=%d)"
                  % (v, pct(views[v], 50), pct(views[v], 99), len(views[v])))
        # the table of BENCHMARKS.md's dashboard section (bench/update_md.py takes the | lines)
        print()
        print("| what | median | p99 | max |")
        print("|---|---|---|---|")
        print("| key-to-redraw, worker capturing and eigensolving D = 3072 (%d keys) | %.1f ms | %.1f ms | %.1f ms |"
              % (len(all_busy), pct(all_busy, 50), pct(all_busy, 99), max(all_busy) if all_busy else float("nan")))
        print("| key-to-redraw, worker finished (idle baseline, %d keys) | %.1f ms | %.1f ms | |"
              % (len(all_idle), pct(all_idle, 50), pct(all_idle, 99)))
        print("| frame render at 200x60 (views into the canvas), all views | %.2f ms | %.2f ms | |"
              % (pct(all_render, 50), pct(all_render, 99)))
        print("| whole frame at 200x60 (render + blit + refresh) | %.2f ms | %.2f ms | |"
              % (pct(all_total, 50), pct(all_total, 99)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
