#!/usr/bin/python3
"""`ffnscope run` on activation files against numpy float64.

Writes .npy and .safetensors activation files (several widths, dtypes, 2-D
and 3-D, named layers and sites, NaN rows), runs the real binary on a config
that names them, and checks every row of metrics.csv and metrics.json and
every spectrum of spectra.safetensors against tools/np_metrics.py (np.cov +
eigvalsh) to 1e-6 relative, the scaling fits against an ordinary least
squares written here, the exact CSV headers, the exit statuses of the failure
cases and that no temp file is ever left behind.

usage: check_run.py FFNSCOPE
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import np_metrics  # noqa: E402
import npsafetensors  # noqa: E402

METRICS_HEADER = ("model,family,width,layer,site,expert,tokens,hard_rank,soft_rank,hard_util,soft_util,"
                  "concentration,eee,sui,alpha,warnings")
FITS_HEADER = "family,site,metric,n_models,beta,beta_ci_low,beta_ci_high,log10_a,r2"
KEYS = ["hard_rank", "soft_rank", "hard_util", "soft_util", "concentration", "eee", "sui", "alpha"]
# two-sided 95% Student t quantiles by degrees of freedom
T975 = {1: 12.706204736174698, 2: 4.302652729749464, 3: 3.182446305284263, 4: 2.7764451051977934}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def close(a, b, rel=1e-6, what=""):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        check((a is None or (isinstance(a, float) and math.isnan(a)))
              and (b is None or math.isnan(b)), "%s: %r vs %r" % (what, a, b))
        return
    check(abs(a - b) <= rel * max(abs(b), 1e-12), "%s: %.12g vs numpy %.12g" % (what, a, b))


def spectrum_like(rng, n, d, decay, dtype):
    """Well-conditioned activations with a power-law spectrum and a mean."""
    scale = np.arange(1, d + 1, dtype=np.float64) ** (-decay / 2)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    x = (rng.standard_normal((n, d)) * scale) @ q.T + rng.standard_normal(d)
    return x.astype(dtype)


def run(ffn, cfg, out, cwd):
    p = subprocess.run([ffn, "run", cfg, "--out", out], cwd=cwd, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def leftovers(folder):
    return [f for f in os.listdir(folder) if ".tmp." in f] if os.path.isdir(folder) else []


def ols(x, y):
    lx, ly = np.log10(x), np.log10(y)
    n = len(x)
    b, a = np.polyfit(lx, ly, 1)
    res = ly - (a + b * lx)
    r2 = 1 - np.sum(res ** 2) / np.sum((ly - ly.mean()) ** 2)
    se = math.sqrt(np.sum(res ** 2) / (n - 2) / np.sum((lx - lx.mean()) ** 2))
    return b, b - T975[n - 2] * se, b + T975[n - 2] * se, a, r2


def main():
    ffn = os.path.abspath(sys.argv[1])
    rng = np.random.default_rng(20250)
    tmp = tempfile.mkdtemp(prefix="ffnscope-run-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)

    # The activation "models" and the matrices numpy sees for each row.
    expect = {}   # (model, layer, site) -> float64 matrix as ffnscope reads it
    for d, decay in ((48, 1.2), (96, 1.0), (192, 0.9)):
        x = spectrum_like(rng, 3000, d, decay, np.float32)
        np.save(os.path.join(data, "w%d.npy" % d), x)
        expect[("w%d" % d, 0, "post")] = x
    # 3-D [B, T, D] float16, flattened to rows
    x3 = spectrum_like(rng, 4 * 500, 80, 1.1, np.float16).reshape(4, 500, 80)
    np.save(os.path.join(data, "batched.npy"), x3)
    expect[("batched", 0, "post")] = x3.reshape(-1, 80)
    # safetensors with layers and sites in the names, a NaN row, and a tensor
    # of a layer that the config does not select
    st = {}
    for layer in range(3):
        for site in ("post", "pre"):
            a = spectrum_like(rng, 1500, 64, 0.8 + 0.1 * layer, np.float32)
            if layer == 1 and site == "post":
                a[7, 3] = np.nan
                a[99, 0] = np.inf
            st["blocks.%d.mlp.hook_%s" % (layer, site)] = a
            if layer in (0, 1):
                expect[("named", layer, site)] = a
    npsafetensors.save(os.path.join(data, "named.safetensors"), st)

    cfg = os.path.join(tmp, "run.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\n"
                "capture:\n  sites: [post, pre]\n  layers: \"0-1\"\n  refresh_tokens: 700\n"
                "metrics:\n  concentration_k: 0.05\n"
                "models:\n"
                "  - glob: data/w*.npy\n    family: sweep\n"
                "  - path: data/batched.npy\n"
                "  - path: data/named.safetensors\n")
    out = os.path.join(tmp, "out")
    rc, stdout, stderr = run(ffn, cfg, out, tmp)
    check(rc == 0, "run exit status %d, stderr: %s" % (rc, stderr))
    check(leftovers(out) == [], "temp files left: %s" % leftovers(out))
    check(sorted(os.listdir(out)) == ["fits.csv", "metrics.csv", "metrics.json", "run.yaml", "spectra.safetensors"],
          "results folder: %s" % sorted(os.listdir(out)))
    check("w48" in stdout and "soft_rank" in stdout, "metrics table on stdout")
    for name in ("w48", "w96", "w192", "batched", "named"):
        check(any(line.startswith(name + ": done") for line in stderr.splitlines()), "progress line for " + name)

    with open(os.path.join(out, "metrics.csv")) as f:
        check(f.readline().rstrip("\n") == METRICS_HEADER, "metrics.csv header")
    with open(os.path.join(out, "fits.csv")) as f:
        check(f.readline().rstrip("\n") == FITS_HEADER, "fits.csv header")
    rows = list(csv.DictReader(open(os.path.join(out, "metrics.csv"))))
    jrows = json.load(open(os.path.join(out, "metrics.json")))["rows"]
    spectra, _ = npsafetensors.load(os.path.join(out, "spectra.safetensors"))
    got = {(r["model"], int(r["layer"]), r["site"]): r for r in rows}
    check(set(got) == set(expect), "rows: %s vs %s" % (sorted(got), sorted(expect)))
    check(len(jrows) == len(rows), "metrics.json has %d rows, csv %d" % (len(jrows), len(rows)))
    jgot = {(r["model"], r["layer"], r["site"]): r for r in jrows}
    for key, x in expect.items():
        if key not in got:
            continue
        ref = np_metrics.metrics(x.astype(np.float64), concentration_k=0.05)
        r, j = got[key], jgot[key]
        what = "%s layer %d %s" % key
        check(int(r["tokens"]) == ref["tokens"] == j["tokens"], what + " tokens")
        check(int(r["width"]) == ref["width"], what + " width")
        check(r["warnings"] == ref["warnings"] == j["warnings"],
              "%s warnings %r / %r vs %r" % (what, r["warnings"], j["warnings"], ref["warnings"]))
        for k in KEYS:
            close(float(r[k]) if r[k] != "" else None, ref[k], 1e-6, what + " csv " + k)
            close(j[k], ref[k], 1e-6, what + " json " + k)
        eig, _, _ = np_metrics.spectrum(x.astype(np.float64))
        s = spectra["%s/%s/layer%d" % (key[0], key[2], key[1])]
        check(s.dtype == np.float64 and s.shape == eig.shape, what + " spectrum dtype/shape")
        check(np.max(np.abs(s - eig)) <= 1e-6 * eig[0], what + " spectrum values")

    # fits: sweep family, post site, three models -> valid; others have one point
    fits = {(r["family"], r["site"], r["metric"]): r for r in csv.DictReader(open(os.path.join(out, "fits.csv")))}
    widths = np.array([48.0, 96.0, 192.0])
    for metric in ("soft_rank", "hard_rank"):
        y = np.array([float(got[("w%d" % d, 0, "post")][metric]) for d in (48, 96, 192)])
        b, lo, hi, a, r2 = ols(widths, y)
        f = fits.get(("sweep", "post", metric))
        check(f is not None and f["n_models"] == "3", "fit sweep/post/%s present with 3 models" % metric)
        if f:
            for name, v in (("beta", b), ("beta_ci_low", lo), ("beta_ci_high", hi), ("log10_a", a), ("r2", r2)):
                close(float(f[name]), v, 1e-8, "fit %s %s" % (metric, name))
    f = fits.get(("acts", "post", "soft_rank"))
    check(f is not None and f["n_models"] == "2" and f["beta"] == "", "fit with 2 models has empty values: %s" % f)
    meta = json.load(open(os.path.join(out, "metrics.json")))
    db = [d for d in meta["delta_beta"] if d["family"] == "sweep" and d["site"] == "post"]
    soft = float(fits[("sweep", "post", "soft_rank")]["beta"])
    hard = float(fits[("sweep", "post", "hard_rank")]["beta"])
    check(len(db) == 1 and abs(db[0]["delta_beta"] - (soft - hard)) < 1e-9, "delta beta in metrics.json")
    check(meta["errors"] == [], "no errors")

    # One bad file among good ones: exit 1, results for the rest, the failure listed.
    with open(os.path.join(data, "w48.npy"), "rb") as f:
        blob = f.read()
    with open(os.path.join(data, "cut.npy"), "wb") as f:
        f.write(blob[: len(blob) // 2])
    cfg2 = os.path.join(tmp, "some_fail.yaml")
    with open(cfg2, "w") as f:
        f.write("version: 1\nmodels:\n  - path: data/w48.npy\n  - path: data/cut.npy\n")
    out2 = os.path.join(tmp, "out2")
    rc, stdout, stderr = run(ffn, cfg2, out2, tmp)
    check(rc == 1, "one failed model: exit %d" % rc)
    check("cut.npy" in stderr and "failed" in stderr, "the failure is listed: %s" % stderr)
    rows2 = list(csv.DictReader(open(os.path.join(out2, "metrics.csv"))))
    check([r["model"] for r in rows2] == ["w48"], "results for the good model only")
    errs = json.load(open(os.path.join(out2, "metrics.json")))["errors"]
    check(len(errs) == 1 and errs[0]["model"] == "cut" and "cut.npy" in errs[0]["error"], "errors: %s" % errs)
    check(leftovers(out2) == [], "temp files left after a failure")

    # Every model failing on bad input: exit 2, one line, nothing written.
    cfg3 = os.path.join(tmp, "all_fail.yaml")
    with open(cfg3, "w") as f:
        f.write("version: 1\nmodels:\n  - path: data/cut.npy\n")
    out3 = os.path.join(tmp, "out3")
    rc, stdout, stderr = run(ffn, cfg3, out3, tmp)
    check(rc == 2, "all failed: exit %d" % rc)
    check(stderr.count("ffnscope: error:") == 1 and "cut.npy" in stderr.splitlines()[-1], "one error line: " + stderr)
    check(not os.path.exists(out3), "nothing written when every model failed")

    # Config errors: exit 2, one line with line:column, nothing written.
    cfg4 = os.path.join(tmp, "bad.yaml")
    with open(cfg4, "w") as f:
        f.write("version: 1\ncapture:\n  sites: [middle]\nmodels:\n  - path: data/w48.npy\n")
    out4 = os.path.join(tmp, "out4")
    rc, stdout, stderr = run(ffn, cfg4, out4, tmp)
    check(rc == 2, "config error: exit %d" % rc)
    check(stderr == "ffnscope: error: bad.yaml:3:11: capture.sites: unknown site 'middle' (expected post or pre)\n"
          or stderr.endswith(":3:11: capture.sites: unknown site 'middle' (expected post or pre)\n"),
          "config error line: %r" % stderr)
    check(not os.path.exists(out4), "nothing written on a config error")

    # Usage errors.
    p = subprocess.run([ffn, "run"], capture_output=True, text=True)
    check(p.returncode == 2 and "usage" in p.stderr, "run without a config: %d %r" % (p.returncode, p.stderr))
    p = subprocess.run([ffn, "run", cfg, "--bogus"], capture_output=True, text=True)
    check(p.returncode == 2, "unknown option: %d" % p.returncode)

    if failures:
        print("%d check(s) failed; files kept in %s" % (len(failures), tmp))
        return 1
    subprocess.run(["rm", "-rf", tmp])
    print("ok: %d rows against numpy" % len(expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
