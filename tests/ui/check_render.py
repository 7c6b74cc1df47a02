#!/usr/bin/python3
"""`ffnscope render` and `ffnscope RESULTS_DIR` headless, on a real run.

Runs ffnscope on small activation files, then renders every view in every
format (checking each output: the view's title in text, SGR codes in ANSI,
an HTML document, well-formed SVG XML with text and shapes), the render
options, the error exits, and the dashboard's behaviour without a terminal
(a config runs like `run`, a results directory prints its table).

usage: check_render.py FFNSCOPE
"""
import csv
import os
import subprocess
import sys
import tempfile
import numpy as np
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, **kw)


def main():
    ffn = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_acts.py"), tmp], check=True)
        p = run([ffn, "run", "dash.yaml", "--out", "results"], tmp)
        check(p.returncode == 0, "run: exit %d: %s" % (p.returncode, p.stderr))
        titles = {"spectrum": "Spectrum", "heatmap": "Heatmap", "scaling": "Scaling", "table": "Table"}
        for view, title in titles.items():
            for fmt in ("txt", "ansi", "html", "svg"):
                out = os.path.join(tmp, "%s.%s" % (view, fmt))
                p = run([ffn, "render", "results", "--view", view, "--format", fmt, "--size", "120x40", "-o", out], tmp)
                check(p.returncode == 0 and p.stdout == "", "render %s %s: %d %s" % (view, fmt, p.returncode, p.stderr))
                data = open(out, encoding="utf-8").read() if os.path.exists(out) else ""
                check(len(data) > 1000, "%s: %d bytes" % (out, len(data)))
                if fmt == "txt":
                    lines = data.split("\n")
                    check(len(lines) == 41 and all(len(l) <= 120 for l in lines), "%s: 40 lines of 120" % out)
                    check(title + "  " in lines[1], "%s: view title" % out)
                    check("saved run" in lines[0], "%s: header" % out)
                elif fmt == "ansi":
                    check("\x1b[0;" in data and "38;2;" in data and data.count("\n") == 40, "%s: SGR" % out)
                elif fmt == "html":
                    check(data.startswith("<!DOCTYPE html>") and "<pre>" in data and data.rstrip().endswith("</html>"),
                          "%s: html document" % out)
                else:
                    try:
                        root = ET.fromstring(data)
                        check(root.tag == "{http://www.w3.org/2000/svg}svg", "%s: root %s" % (out, root.tag))
                        texts = root.findall(".//{http://www.w3.org/2000/svg}text")
                        check(any(title in (t.text or "") for t in texts), "%s: title text" % out)
                        check(len(root.findall(".//{http://www.w3.org/2000/svg}rect")) > 10, "%s: shapes" % out)
                    except ET.ParseError as e:
                        check(False, "%s: not well-formed XML: %s" % (out, e))
            # stdout and -o give the same bytes
            p = run([ffn, "render", "results", "--view", view], tmp)
            check(p.returncode == 0 and p.stdout == open(os.path.join(tmp, view + ".txt"), encoding="utf-8").read(),
                  "render %s to stdout differs from -o" % view)

        p = run([ffn, "render", "results", "--view", "heatmap", "--metric", "soft_rank", "--select", "beta-w96:2",
                 "--size", "100x30"], tmp)
        check(p.returncode == 0 and "soft_rank · post" in p.stdout and "beta-w96 · L2 post" in p.stdout,
              "render options: %s" % p.stderr)
        p = run([ffn, "render", "results", "--view", "table", "--sort", "sui:desc", "--filter", "beta",
                 "--ascii", "--size", "120x30"], tmp)
        table_part = [line.split("|", 1)[1] for line in p.stdout.split("\n")[1:-3] if "|" in line]
        check(p.returncode == 0 and "9 rows" in p.stdout and "sort sui" in p.stdout
              and not any("alpha-w" in t for t in table_part) and sum("beta-w" in t for t in table_part) == 9
              and all(ord(ch) < 128 for ch in p.stdout), "render table sorted, filtered, ascii")
        p = run([ffn, "render", "results", "--view", "spectrum", "--theme", "light", "--format", "html"], tmp)
        check(p.returncode == 0 and "background: #fafafa" in p.stdout, "render --theme light")

        for args, what in ((["render", "nowhere"], "nowhere"), (["render", "results", "--view", "pie"], "--view"),
                           (["render", "results", "--size", "10"], "--size"),
                           (["render", "results", "--select", "gamma-w1"], "gamma-w1"),
                           (["render", "results", "--view", "heatmap", "--experts"], "no experts"),
                           (["render", "results", "--view", "table", "--experts"], "--view heatmap"),
                           (["render", "results", "--view", "heatmap", "--metric", "load"], "needs --experts"),
                           (["render", "results", "--bogus"], "--bogus")):
            p = run([ffn] + args, tmp)
            check(p.returncode == 2 and p.stderr.startswith("ffnscope: error: ") and what in p.stderr
                  and p.stderr.count("\n") == 1, "%s: exit %d, %r" % (args, p.returncode, p.stderr))

        # mixture of experts (tests/plot/make_results.py --moe): an expert opened in the sidebar, its
        # count once the model is done; 128 experts' columns labelled at a step so that none touch
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "plot", "make_results.py"), "--moe", "moe"],
                       cwd=tmp, check=True)
        with open(os.path.join(tmp, "moe", "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
        med = float(np.median([float(r["sui"]) for r in rows if r["model"] == "moe-e6" and r["layer"] == "2"
                               and r["expert"] not in ("", "shared") and r["sui"]]))
        p = run([ffn, "render", "moe", "--select", "moe-e6:2:post:3", "--size", "120x40"], tmp)
        side = [line[:28].split() for line in p.stdout.split("\n")]
        check(p.returncode == 0 and ["e3", "0", "tok"] in side and ["▾", "L2", "post", "6+shared", ("%.3f" % med)[1:]] in side
              and "no_tokens" in p.stdout, "render an expert without tokens: %r" % p.stdout[:600])
        # an MoE model is shown at its experts' width (as its scaling point), not its dense layers'
        ew = {r["width"] for r in rows if r["model"] == "moe-e6" and r["expert"] not in ("", "shared")}
        dw = {r["width"] for r in rows if r["model"] == "moe-e6" and r["expert"] == ""}
        p = run([ffn, "render", "moe", "--view", "heatmap", "--size", "120x40"], tmp)
        shown = [w[2] for w in (line[:28].split() for line in p.stdout.split("\n")) if len(w) > 2 and w[1] == "moe-e6"]
        check(len(ew) == 1 and dw and not dw & ew and shown == list(ew),
              "render: moe-e6 shown at its expert width %s (dense layers %s), shown %s" % (ew, dw, shown))
        p = run([ffn, "render", "moe", "--view", "heatmap", "--experts", "--select", "moe-e128:1:post:100",
                 "--metric", "load", "--size", "120x40"], tmp)
        lines = p.stdout.split("\n")
        idx = [int(w.strip("◀▶")[1:]) for w in (lines[3][29:].split() if len(lines) > 3 else []) if w.strip("◀▶")]
        others = [i for i in idx if i != 100]
        steps = {b - a for a, b in zip(others, others[1:])}
        check(p.returncode == 0 and "load · post · layers × experts of moe-e128" in p.stdout
              and len(others) > 5 and len(steps) == 1 and 100 in idx
              and "moe-e128 · L1 post e100 · load" in p.stdout,
              "render layers x experts of 128: %r" % lines[1:5])
        # thinned labels still name the selected expert, whatever its index
        for e in (101, 3):
            p = run([ffn, "render", "moe", "--view", "heatmap", "--experts", "--select", "moe-e128:1:post:%d" % e,
                     "--size", "120x40"], tmp)
            lines = p.stdout.split("\n")
            names = [w.strip("◀▶") for w in (lines[3][29:].split() if len(lines) > 3 else [])]
            check(p.returncode == 0 and "e%d" % e in names, "render 128 experts, e%d selected: labels %r" % (e, names))
        # no terminal: a results directory prints its table, a config runs headless
        p = run([ffn, "results"], tmp)
        check(p.returncode == 0 and p.stdout.startswith("| model | family | width | layer |")
              and p.stdout.count("\n") == 2 + 18, "browse without a terminal: %r" % p.stdout[:200])
        p = run([ffn, "dash.yaml"], tmp)
        check(p.returncode == 0 and os.path.exists(os.path.join(tmp, "results", "metrics.csv"))
              and "soft_rank" in p.stdout, "dashboard without a terminal runs: %d %s" % (p.returncode, p.stderr))
        # no argument: ./ffnscope.yaml, else the bundled configs/demo.yaml (here via FFNSCOPE_DATA_DIR)
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        with open(os.path.join(tmp, "dash.yaml")) as f:
            cfg = f.read()
        with open(os.path.join(work, "ffnscope.yaml"), "w") as f:
            f.write(cfg.replace("acts/", "../acts/"))
        p = run([ffn], work)
        check(p.returncode == 0 and os.path.exists(os.path.join(work, "results", "metrics.csv")),
              "no argument runs ./ffnscope.yaml: %d %s" % (p.returncode, p.stderr))
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "configs"))
        with open(os.path.join(data, "configs", "demo.yaml"), "w") as f:
            f.write(cfg.replace("acts/", "../../acts/").replace("dir: results", "dir: %s/demo-results" % tmp))
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        p = run([ffn], empty, env=dict(os.environ, FFNSCOPE_DATA_DIR=data))
        check(p.returncode == 0 and os.path.exists(os.path.join(tmp, "demo-results", "metrics.csv")),
              "no argument falls back to the bundled demo: %d %s" % (p.returncode, p.stderr))
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("render checks passed")


if __name__ == "__main__":
    main()
