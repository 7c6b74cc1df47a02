#!/usr/bin/python3
"""Models named on the command line instead of a config, and fit groups.

- `ffnscope run MODEL... --corpus --tokens --seq-len --batch --sites --layers --out` gives the
  same results as the config `run MODEL... --print-config` writes, run as a config;
- without --out the results go to results/<first model's name> under the working folder;
- bad options give exit 2 and one error line;
- models of three architectures put into one `fit_group` give one fit over all of them, whose
  beta, interval and R^2 equal an ordinary least-squares fit computed here with numpy from
  metrics.csv (median rank over layers per model, log10 on log10).

usage: check_implicit.py FFNSCOPE
"""
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import make_random_model  # noqa: E402

# t quantiles (0.975) for 1..4 degrees of freedom, from the t distribution's tables
T975 = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 4: 2.776445105}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    ffn = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ffnscope-implicit-")
    models = os.path.join(tmp, "models")
    names = ["llama-dynamic-rope", "llama-linear-rope", "qwen2-nullscaling", "qwen3"]
    with open(os.devnull, "w") as null:
        old, sys.stdout = sys.stdout, null
        try:
            make_random_model.main(["--out", models, "--only", ",".join(names)])
        finally:
            sys.stdout = old
    corpus = os.path.join(tmp, "corpus.txt")
    shutil.copy(os.path.join(ROOT, "tests", "tokenizer", "varied.txt"), corpus)
    paths = [os.path.join(models, n) for n in names]
    opts = ["--corpus", corpus, "--tokens", "256", "--seq-len", "32", "--batch", "3", "--sites", "pre,post",
            "--layers", "0-1"]

    # 1. command line vs the printed config
    p = run([ffn, "run"] + paths[:2] + opts + ["--out", "a"], tmp)
    check(p.returncode == 0, "run MODEL...: exit %d: %s" % (p.returncode, p.stderr))
    p = run([ffn, "run"] + paths[:2] + opts + ["--print-config"], tmp)
    check(p.returncode == 0 and "models:" in p.stdout, "--print-config: %s" % p.stderr)
    with open(os.path.join(tmp, "printed.yaml"), "w") as f:
        f.write(p.stdout)
    p = run([ffn, "run", "printed.yaml", "--out", "b"], tmp)
    check(p.returncode == 0, "run printed.yaml: exit %d: %s" % (p.returncode, p.stderr))
    if not failures:
        a, b = rows_of(os.path.join(tmp, "a", "metrics.csv")), rows_of(os.path.join(tmp, "b", "metrics.csv"))
        check(a == b, "metrics of the command line and of its printed config differ")
        check(len(a) == 2 * 2 * 2, "expected 2 models x 2 layers x 2 sites, got %d rows" % len(a))
        check(all(int(r["tokens"]) == 8 * 32 for r in a), "tokens: %s" % sorted({r["tokens"] for r in a}))

    # 2. the default results folder
    p = run([ffn, "run", paths[2], "--corpus", corpus, "--tokens", "128", "--seq-len", "32", "--layers", "0,1"], tmp)
    check(p.returncode == 0, "run without --out: %s" % p.stderr)
    check(len(rows_of(os.path.join(tmp, "results", names[2], "metrics.csv"))) == 2 if p.returncode == 0 else False,
          "--layers 0,1: two rows")
    p = run([ffn, "run", paths[2], "--corpus", corpus, "--tokens", "128", "--seq-len", "32", "--layers", "1",
             "--out", "one"], tmp)
    check(p.returncode == 0 and [r["layer"] for r in rows_of(os.path.join(tmp, "one", "metrics.csv"))] == ["1"],
          "--layers 1: one row of layer 1: %s" % p.stderr)
    check(os.path.isfile(os.path.join(tmp, "results", names[2], "metrics.csv")),
          "results/%s/metrics.csv was not written" % names[2])

    # 3. bad options: exit 2, one line
    for args, want in [
        ([paths[0], "--tokens", "0"], "--tokens 0: expected a positive integer"),
        ([paths[0], "--corpus", os.path.join(tmp, "missing.txt")], "missing.txt: no such file"),
        ([paths[0], "--seq-len"], "--seq-len needs a value"),
        (["printed.yaml", "--tokens", "5"], "go with models named on the command line"),
        ([paths[0], corpus], "corpus.txt: not a model"),
    ]:
        p = run([ffn, "run"] + args, tmp)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(lines) == 1 and want in p.stderr,
              "run %s: exit %d, stderr %r (want %r)" % (" ".join(args), p.returncode, p.stderr, want))

    # 4. one fit over three architectures
    with open(os.path.join(tmp, "group.yaml"), "w") as f:
        f.write("version: 1\ncorpus: {path: corpus.txt, tokens: 512, seq_len: 32, batch: 4}\n"
                "capture: {sites: [post]}\nmodels:\n" +
                "".join("  - {path: models/%s, fit_group: sweep}\n" % n for n in names))
    p = run([ffn, "run", "group.yaml", "--out", "g"], tmp)
    check(p.returncode == 0, "run group.yaml: %s" % p.stderr)
    if p.returncode == 0:
        metrics = rows_of(os.path.join(tmp, "g", "metrics.csv"))
        fits = {(r["family"], r["site"], r["metric"]): r for r in rows_of(os.path.join(tmp, "g", "fits.csv"))}
        check(sorted({r["family"] for r in metrics}) == ["llama", "qwen2", "qwen3"],
              "families stay the architectures: %s" % sorted({r["family"] for r in metrics}))
        check(set(k[0] for k in fits) == {"sweep"}, "fit groups: %s" % sorted(set(k[0] for k in fits)))
        for metric in ("soft_rank", "hard_rank"):
            x, y = [], []
            for n in names:
                mine = [r for r in metrics if r["model"] == n]
                x.append(math.log10(int(mine[0]["width"])))
                y.append(math.log10(np.median([float(r[metric]) for r in mine])))
            x, y = np.array(x), np.array(y)
            xm, ym = x.mean(), y.mean()
            sxx = ((x - xm) ** 2).sum()
            beta = ((x - xm) * (y - ym)).sum() / sxx
            a = ym - beta * xm
            res = y - (a + beta * x)
            r2 = 1 - (res ** 2).sum() / ((y - ym) ** 2).sum()
            se = math.sqrt((res ** 2).sum() / (len(x) - 2) / sxx)
            f = fits.get(("sweep", "post", metric))
            check(f is not None and int(f["n_models"]) == 4, "%s: fit over 4 models: %s" % (metric, f))
            if f:
                for key, want in (("beta", beta), ("log10_a", a), ("r2", r2),
                                  ("beta_ci_low", beta - T975[2] * se), ("beta_ci_high", beta + T975[2] * se)):
                    got = float(f[key])
                    check(abs(got - want) <= 1e-6 * max(1.0, abs(want)), "%s %s: %.9g vs numpy %.9g" % (metric, key, got, want))

    if failures:
        print("%d check(s) failed; files kept in %s" % (len(failures), tmp))
        return 1
    shutil.rmtree(tmp)
    print("ok: command-line models, printed config, default results folder, bad options, fit groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
