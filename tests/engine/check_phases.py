#!/usr/bin/python3
"""Where a run's time goes: the per-model phases of `ffnscope run` (README "Results").

A random-weight GPT-2 checkpoint (tools/make_random_model.py) whose FFN is wide next to its
d_model, so that one captured layer's covariance costs about as much as the whole forward pass,
runs twice on the same tokens: capturing only its last layer (every layer still runs) and
capturing all of them. In each run the finished line, metrics.json and run.yaml must carry the
phases, none negative, their sum within elapsed_s and at least half of it, other_s the rest.
Covariance time must grow with the captured layers while forward time does not: the ratio
forward/covariance, which a busy machine changes little, must fall well below what a forward time
that kept the capture hook's time would give. Each case runs twice and the faster run counts. An activation file and the run's saved
statistics as sources report only their phases (no tokenizing, no forward pass). The results
load back (`render`, `report`) with the phases and, once the phase keys are removed from
metrics.json and run.yaml (results of an older version), without them.

usage: check_phases.py FFNSCOPE
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_random_model  # noqa: E402

PHASES = ("load", "tokenize", "forward", "covariance", "spectra")
LINE = re.compile(r"^(\S+): done, (\d+) tokens, ([\d.]+) s \(([^)]*)\), (\d+) tokens/s$")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def quiet(argv):
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            make_random_model.main(argv)
        finally:
            sys.stdout = old


def run(ffn, cfg, out, cwd, extra=()):
    p = subprocess.run([ffn, "run", cfg, "--out", out] + list(extra), cwd=cwd, capture_output=True, text=True,
                       timeout=600)
    check(p.returncode == 0, "%s: exit %d: %s" % (out, p.returncode, p.stderr))
    return p.stderr


def phases_of(ffn, out, err, name, want):
    """Checks one model's phases in the line, metrics.json and run.yaml; returns metrics.json's."""
    line = [l for l in err.splitlines() if l.startswith(name + ": done")]
    check(len(line) == 1, "%s: one finished line in %r" % (name, err))
    m = LINE.match(line[0]) if line else None
    check(m is not None, "%s: finished line %r" % (name, line))
    if m:
        words = [w.split(" ")[0] for w in m.group(4).split(", ")]
        check(words[:len(want)] == list(want) and set(words[len(want):]) <= {"other"},
              "%s: line phases %r, want %r" % (name, words, want))
    js = {o["name"]: o for o in json.load(open(os.path.join(out, "metrics.json")))["models"]}[name]
    ph = js.get("phases", {})
    check(set(ph) == {p + "_s" for p in want} | {"other_s"}, "%s: metrics.json phases %r" % (name, ph))
    el = js["elapsed_s"]
    total = sum(ph.get(p + "_s", 0) for p in want)
    check(all(v >= 0 for v in ph.values()), "%s: a negative phase %r" % (name, ph))
    check(total <= el + 1e-3, "%s: phases sum to %.4f s, more than elapsed %.4f s" % (name, total, el))
    check(total >= 0.5 * el, "%s: phases sum to %.4f s, under half of elapsed %.4f s" % (name, total, el))
    check(abs(ph.get("other_s", -1) - max(el - total, 0)) < 1e-6, "%s: other_s %r" % (name, ph.get("other_s")))
    check(0 <= js.get("refresh_s", -1) <= ph.get("spectra_s", 0) + 1e-9, "%s: refresh_s %r" % (name, js))
    ry = {o["name"]: o for o in yaml.safe_load(open(os.path.join(out, "run.yaml")))["models"]}[name]
    check(set(ry.get("phases", {})) == set(ph), "%s: run.yaml phases %r" % (name, ry.get("phases")))
    for k, v in ry.get("phases", {}).items():
        check(abs(v - ph[k]) <= 6e-4, "%s: run.yaml %s %r vs %r" % (name, k, v, ph[k]))
    return ph


def loads(ffn, out, what):
    for argv in (["render", out, "--view", "table", "--format", "txt", "-o", os.path.join(out, "..", "t.txt")],
                 ["report", out, "-o", os.path.join(out, "..", "r.html")]):
        p = subprocess.run([ffn] + argv, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, "%s: %s: exit %d: %s" % (what, argv[0], p.returncode, p.stderr))


def strip_phases(out):
    """The results as a version without phases wrote them."""
    path = os.path.join(out, "metrics.json")
    j = json.load(open(path))
    for o in j["models"]:
        o.pop("phases", None)
        o.pop("refresh_s", None)
    json.dump(j, open(path, "w"))
    path = os.path.join(out, "run.yaml")
    text = open(path).read()
    kept = "".join(l for l in text.splitlines(True) if not re.match(r"\s+(phases|refresh_s):", l))
    check(kept != text, "run.yaml had phases")
    open(path, "w").write(kept)


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-phases-")
    quiet(["--out", os.path.join(tmp, "models"), "--shape", "gpt2", "--name", "wide", "--d", "128", "--layers", "4",
           "--heads", "4", "--ffn", "1024", "--vocab", "1024", "--context", "64"])
    rng = np.random.default_rng(5)
    words = ["anne", "walked", "to", "the", "sea", "and", "captain", "wentworth", "said", "nothing", "of", "it",
             "lady", "russell", "thought", "persuasion", "was", "a", "duty", "then", "evening", "came", "on"]
    with open(os.path.join(tmp, "corpus.txt"), "w") as f:
        f.write(" ".join(words[i] for i in rng.integers(len(words), size=8000)))
    tok = os.path.join(ROOT, "models", "tokenizer.json")
    split = {}
    for case, layers in (("last", "[3]"), ("all", "all")):
        cfg = os.path.join(tmp, case + ".yaml")
        with open(cfg, "w") as f:
            f.write("version: 1\ncorpus: {path: corpus.txt, tokens: 4096, seq_len: 64, batch: 8}\n"
                    "capture: {sites: [post], layers: %s}\nmodels:\n  - {path: models/wide, tokenizer: %s}\n"
                    % (layers, tok))
        best = None
        for k in range(2):
            out = os.path.join(tmp, "%s-%d" % (case, k))
            extra = ["--save-stats", os.path.join(tmp, "stats") + "/"] if case == "all" and k == 0 else []
            ph = phases_of(ffn, out, run(ffn, cfg, out, tmp, extra), "wide", PHASES)
            if ph and (best is None or sum(ph.values()) < sum(best.values())):
                best = ph
        split[case] = best or {}
        print("%s: %s" % (case, ", ".join("%s %.3f" % (k, v) for k, v in sorted(split[case].items()))))
    one, four = split["last"], split["all"]
    if one and four:
        # Ratios within one run, which a busy machine slows alike: forward/covariance falls about 4x
        # from one captured layer to four (the same forward, four times the updates); had forward kept
        # the hook's time it would fall by well under 2x (forward ~ covariance for one layer here).
        r1 = one["forward_s"] / max(one["covariance_s"], 1e-9)
        r4 = four["forward_s"] / max(four["covariance_s"], 1e-9)
        check(r4 < 0.6 * r1, "forward/covariance: %.3f capturing 4 layers, %.3f capturing 1 (forward %.3f and "
              "%.3f s, covariance %.3f and %.3f s)" % (r4, r1, four["forward_s"], one["forward_s"],
                                                       four["covariance_s"], one["covariance_s"]))

    # other sources: an activation file, and the statistics the run saved
    acts = rng.standard_normal((20000, 256)).astype(np.float32)   # long enough that a stall is noise
    np.save(os.path.join(tmp, "acts.npy"), acts)
    cfg = os.path.join(tmp, "sources.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\nmodels:\n  - {path: acts.npy, name: acts}\n  - {path: stats/wide.stats.safetensors, "
                "name: stats}\n")
    out = os.path.join(tmp, "sources")
    err = run(ffn, cfg, out, tmp)
    phases_of(ffn, out, err, "acts", ("load", "covariance", "spectra"))
    phases_of(ffn, out, err, "stats", ("load", "spectra"))

    for d in ("all-0", "sources"):
        out = os.path.join(tmp, d)
        loads(ffn, out, d + " with phases")
        strip_phases(out)
        loads(ffn, out, d + " without phases")
    subprocess.run(["rm", "-rf", tmp])
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("phases: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
