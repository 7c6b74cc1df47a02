#!/usr/bin/python3
"""Runs every case of the bad-input catalogue (manifest.json, made by tools/make_bad_inputs.py)
through ffnscope from the repository root and checks the error contract of README "Commands": exit status 2,
nothing on stdout, exactly one stderr line equal to the expected one (which names the file), no
crash or hang, and nothing written to the results folder.

usage: check.py FFNSCOPE [--show] [CASE...]     (--show prints what each case gives)
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    args = sys.argv[1:]
    show = "--show" in args
    args = [a for a in args if a != "--show"]
    exe, only = os.path.abspath(args[0]), set(args[1:])
    with open(os.path.join(HERE, "manifest.json")) as f:
        manifest = json.load(f)
    failures = 0
    ran = 0
    for c in manifest:
        if only and c["case"] not in only:
            continue
        ran += 1
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "results")
            argv = [exe] + [a.replace("{out}", out) for a in c["args"]]
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1", TERM="dumb")
            try:
                p = subprocess.run(argv, capture_output=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                print("FAIL %s: hung (no exit within 60 s)" % c["case"])
                failures += 1
                continue
            err = p.stderr.decode("utf-8", "replace")
            problems = []
            if p.returncode != 2:
                problems.append("exit %d, expected 2" % p.returncode)
            if p.stdout:
                problems.append("stdout not empty: %r" % p.stdout[:200])
            if err.count("\n") != 1 or not err.endswith("\n"):
                problems.append("stderr is not exactly one line: %r" % err[:600])
            elif err.rstrip("\n") != c["expect"]:
                problems.append("stderr %r, expected %r" % (err.rstrip("\n"), c["expect"]))
            if os.path.exists(out):
                problems.append("results folder was created: %s" % os.listdir(out))
            leftovers = [n for n in os.listdir(tmp)]
            if leftovers:
                problems.append("files left in the temp folder: %s" % leftovers)
            if show:
                print("%-32s rc=%d %s" % (c["case"], p.returncode, err.rstrip("\n")))
            elif problems:
                failures += 1
                print("FAIL %s (%s): %s" % (c["case"], c["what"], "; ".join(problems)))
    if only and ran != len(only):
        print("unknown case in %s" % sorted(only))
        return 1
    print("%d of %d bad-input cases behaved" % (ran - failures, ran))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
