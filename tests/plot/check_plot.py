#!/usr/bin/python3
"""ffnscope plot on a results directory of known values (make_results.py).

usage: check_plot.py FFNSCOPE

The SVGs are read back like a reader of the figure would: the axes from the
tick marks and their labels (no knowledge of ffnscope's layout), then every
marker, line, band and cell is mapped back to data through those axes and
compared with the known values (numpy, fits.csv) to 0.375 pt, i.e. half a
CSS pixel. PNG sizes against --size and --dpi, the PDF through poppler.
"""
import csv
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_results import FAMILIES, MOE_FEW, T975  # noqa: E402

FFN = os.path.abspath(sys.argv[1])
TOL = 0.375          # points: 0.5 CSS px
NS = {"s": "http://www.w3.org/2000/svg"}
SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
OKABE_ITO = [(0x00, 0x72, 0xb2), (0xd5, 0x5e, 0x00), (0x00, 0x9e, 0x73)]
CIVIDIS = [(0x00, 0x20, 0x4d), (0x41, 0x4d, 0x6b), (0x7c, 0x7b, 0x78), (0xbc, 0xaf, 0x6f), (0xff, 0xea, 0x46)]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run(*args, expect=0):
    p = subprocess.run([FFN, "plot", *args], capture_output=True, text=True)
    if p.returncode != expect:
        raise SystemExit("ffnscope %s: exit %d, wanted %d\n%s" % (" ".join(args), p.returncode, expect, p.stderr))
    return p


# ---- reading cairo's SVG ----

def style(el):
    return dict(kv.split(":", 1) for kv in el.get("style", "").replace(" ", "").split(";") if ":" in kv)


def colour(s):
    m = re.match(r"rgb\(([\d.]+)%,([\d.]+)%,([\d.]+)%\)", s or "")
    return tuple(round(float(v) * 2.55) for v in m.groups()) if m else None


def points(d):
    """The coordinates of a path's vertices and control points, and its number of segments."""
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return list(zip(nums[0::2], nums[1::2])), len(re.findall(r"[MLCZ]", d))


class Svg:
    def __init__(self, path):
        self.root = ET.parse(path).getroot()
        self.paths = []
        for el in self.root.iter("{%s}path" % NS["s"]):
            if el.get("transform"):
                raise SystemExit("%s: a path with a transform; the test reads untransformed paths" % path)
            pts, segs = points(el.get("d", ""))
            st = style(el)
            self.paths.append({"pts": pts, "d": el.get("d"), "style": st, "fill": colour(st.get("fill")),
                               "stroke": colour(st.get("stroke")), "segs": segs})
        self.texts = []
        for el in self.root.iter("{%s}text" % NS["s"]):
            rot = el.get("transform")
            self.texts.append({"text": el.text or "", "x": float(el.get("x", "nan")), "y": float(el.get("y", "nan")),
                               "rot": rot})
        # the frame: the largest stroked rectangle
        rects = [p for p in self.paths if p["stroke"] and p["style"].get("fill") == "none" and len(p["pts"]) == 5]
        best = max(rects, key=lambda p: bbox_area(p["pts"]))
        xs, ys = [q[0] for q in best["pts"]], [q[1] for q in best["pts"]]
        self.left, self.right, self.top, self.bottom = min(xs), max(xs), min(ys), max(ys)

    def axis(self, which, log):
        """(scale) -> pixel map fitted to the labelled ticks of the x or y axis."""
        ticks, labels = [], []
        for p in self.paths:
            if not p["stroke"] or len(p["pts"]) != 2:
                continue
            (x0, y0), (x1, y1) = p["pts"]
            if which == "x" and x0 == x1 and abs(y0 - self.bottom) < 1e-6 and abs(y1 - y0 - 3.5) < 1e-6:
                ticks.append(x0)
            if which == "y" and y0 == y1 and abs(x0 - self.left) < 1e-6 and abs(x0 - x1 - 3.5) < 1e-6:
                ticks.append(y0)
        for t in self.texts:
            if t["rot"]:
                continue
            if which == "x" and self.bottom < t["y"] < self.bottom + 15 and self.left - 10 < t["x"] < self.right:
                labels.append((t["x"], t["text"]))
            if which == "y" and t["x"] < self.left and self.top - 5 < t["y"] < self.bottom + 5:
                labels.append((t["y"], t["text"]))
        ticks.sort()
        labels.sort()
        if len(ticks) != len(labels) or len(ticks) < 2:
            raise SystemExit("%s axis: %d ticks, %d labels" % (which, len(ticks), len(labels)))
        vals = np.array([label_value(s) for _, s in labels])
        s = np.log10(vals) if log else vals
        slope, icpt = np.polyfit(s, ticks, 1)
        resid = np.abs(np.polyval([slope, icpt], s) - ticks).max()
        check(resid < 0.01, "%s ticks lie on one %s scale (residual %.4f)" % (which, "log" if log else "linear", resid))
        return lambda v: slope * (math.log10(v) if log else v) + icpt


def label_value(s):
    s = s.replace("−", "-")
    if s.startswith("10") and len(s) > 2 and not s[2:].isdigit():
        return 10.0 ** int(s[2:].translate(SUP))
    return float(s)


def bbox_area(pts):
    xs, ys = [q[0] for q in pts], [q[1] for q in pts]
    return (max(xs) - min(xs)) * (max(ys) - min(ys))


def centre(pts):
    xs, ys = [q[0] for q in pts], [q[1] for q in pts]
    return 0.5 * (min(xs) + max(xs)), 0.5 * (min(ys) + max(ys)), max(xs) - min(xs)


def inside(svg, x, y):
    return svg.left - 1e-6 <= x <= svg.right + 1e-6 and svg.top - 1e-6 <= y <= svg.bottom + 1e-6


def markers(svg, filled=True):
    out = []
    for p in svg.paths:
        if filled and not (p["style"].get("stroke") == "none" and p["style"].get("fill-opacity") == "1"):
            continue
        if not filled and not (p["style"].get("fill") == "none" and p["stroke"]):
            continue
        x, y, w = centre(p["pts"])
        if 0 < w < 8 and inside(svg, x, y) and p["segs"] >= 4:
            out.append((x, y, p))
    return out


def nearest(found, x, y):
    return min(math.hypot(fx - x, fy - y) for fx, fy, *_ in found) if found else float("inf")


# ---- the known values ----

def load_rows(d):
    rows = list(csv.DictReader(open(os.path.join(d, "metrics.csv"))))
    for r in rows:
        for k in ("width", "layer"):
            r[k] = int(r[k])
        for k in ("hard_rank", "soft_rank", "sui", "soft_util"):
            r[k] = float(r[k])
    return rows


def n_layers_of(fam):
    return {f: n for f, _, n, _, _ in FAMILIES}[fam]


def cividis(t):
    """The colour of t in [0, 1] on the five cividis stops, interpolated in sRGB."""
    t = min(max(t, 0.0), 1.0) * 4
    i = min(int(t), 3)
    return tuple(round(CIVIDIS[i][c] * (1 - (t - i)) + CIVIDIS[i + 1][c] * (t - i)) for c in range(3))


def grid_cells(svg):
    return [p for p in svg.paths if p["style"].get("stroke") == "none" and p["fill"] and len(p["pts"]) == 5
            and inside(svg, *centre(p["pts"])[:2])]


def check_grid(svg, want, n_cols, n_rows, what):
    """want: {(column, row): value}; every other cell blank. Colours on the scale of the values."""
    cells = grid_cells(svg)
    check(len(cells) == len(want), "%s: %d cells, expected %d" % (what, len(cells), len(want)))
    lo, hi = min(want.values()), max(want.values())
    cw, rh = (svg.right - svg.left) / n_cols, (svg.bottom - svg.top) / n_rows
    bad = 0
    for (c, r), v in want.items():
        x, y = svg.left + (c + 0.5) * cw, svg.top + (r + 0.5) * rh
        hit = [p for p in cells if abs(centre(p["pts"])[0] - x) < TOL and abs(centre(p["pts"])[1] - y) < TOL]
        if len(hit) != 1 or max(abs(a - b) for a, b in zip(hit[0]["fill"], cividis((v - lo) / (hi - lo)))) > 1:
            bad += 1
    check(bad == 0, "%s: %d cells misplaced or of the wrong colour" % (what, bad))
    return cells


def check_moe(tmp):
    """Mixture of experts: a routed layer's cell in layers x models is the numpy median over its routed
    experts (the shared one and those without a spectrum left out); --experts draws one model's layers x
    experts, of a metric or of the load (tokens per expert, no shared column)."""
    res = os.path.join(tmp, "moe")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_results.py"), "--moe", res], check=True)
    rows = list(csv.DictReader(open(os.path.join(res, "metrics.csv"))))
    for r in rows:
        r["layer"] = int(r["layer"])
    models = []
    for r in rows:
        if r["model"] not in models:
            models.append(r["model"])

    # layers x models: soft_util
    out = os.path.join(tmp, "moe-heatmap.svg")
    run(res, "--figure", "heatmap", "--metric", "soft_util", "-o", out, "--size", "7x3")
    svg = Svg(out)
    n_layers = max(r["layer"] for r in rows) + 1
    want, medians = {}, 0
    for mi, m in enumerate(models):
        for layer in range(n_layers):
            mine = [r for r in rows if r["model"] == m and r["layer"] == layer]
            dense = [float(r["soft_util"]) for r in mine if r["expert"] == ""]
            routed = [float(r["soft_util"]) for r in mine if r["expert"] not in ("", "shared") and r["soft_util"]]
            if dense:
                want[(mi, layer)] = dense[0]
            elif routed:
                want[(mi, layer)] = float(np.median(routed))
                medians += 1
    check(medians == 4, "moe heatmap: 4 routed layers, got %d" % medians)
    check_grid(svg, want, len(models), n_layers, "moe heatmap (routed layers: median over experts)")
    check(any("median over the routed experts" in t["text"] for t in svg.texts), "moe heatmap: the note on medians")
    print("moe heatmap: %d cells, %d of them medians over experts" % (len(want), medians))

    # depth: one marker per layer, a routed layer's the median over its routed experts (as the heatmap)
    out = os.path.join(tmp, "moe-depth.svg")
    run(res, "--figure", "depth", "--metric", "soft_util", "-o", out)
    svg = Svg(out)
    fx, fy = svg.axis("x", False), svg.axis("y", False)
    found = markers(svg)
    pts = [(layer / (max(r["layer"] for r in rows if r["model"] == models[mi]) + 1), v)
           for (mi, layer), v in want.items()]
    check(len(found) == len(pts), "moe depth: %d markers, expected one per layer (%d)" % (len(found), len(pts)))
    worst = max(nearest(found, fx(x), fy(v)) for x, v in pts) if pts and found else float("inf")
    check(worst <= TOL, "moe depth: markers at the layers' values within %.3f pt (worst %.4f)" % (TOL, worst))
    print("moe depth: %d markers, worst %.4f pt" % (len(found), worst))

    # layers x experts of moe-e6: sui, then the load
    e6 = [r for r in rows if r["model"] == "moe-e6"]
    cols = [str(e) for e in range(6)] + ["shared"]
    for metric in ("sui", "load"):
        out = os.path.join(tmp, "moe-experts-%s.svg" % metric)
        run(res, "--figure", "heatmap", "--experts", "moe-e6", "--metric", metric, "-o", out, "--size", "5x3")
        svg = Svg(out)
        c_here = cols[:-1] if metric == "load" else cols
        want = {}
        for r in e6:
            if r["expert"] not in c_here:
                continue
            v = r["tokens"] if metric == "load" else r[metric]
            if v != "":
                want[(c_here.index(r["expert"]), r["layer"])] = float(v)
        check(len(want) == (12 if metric == "load" else 12 + 2 - len([k for k in MOE_FEW if k[0] == "moe-e6"])),
              "moe experts %s: %d values from metrics.csv" % (metric, len(want)))
        check_grid(svg, want, len(c_here), 3, "moe experts %s" % metric)
        labels = [t["text"] for t in svg.texts if t["rot"]]
        check(all(("e" + c if c != "shared" else c) in labels for c in c_here), "moe experts %s: every column named: %s" % (metric, labels))
        check(metric != "load" or "shared" not in labels, "moe experts load: no shared column")
        print("moe experts %s: %d cells" % (metric, len(want)))

    # 128 experts in one column of a paper: every cell drawn, labels thinned so that none touch
    out = os.path.join(tmp, "moe-e128.svg")
    run(res, "--figure", "heatmap", "--experts", "moe-e128", "-o", out)
    svg = Svg(out)
    e128 = [r for r in rows if r["model"] == "moe-e128"]
    want = {(int(r["expert"]), r["layer"]): float(r["sui"]) for r in e128 if r["sui"]}
    cells = check_grid(svg, want, 128, 2, "moe 128 experts")
    check(min(centre(p["pts"])[2] for p in cells) >= 0.5, "moe 128 experts: cells at least 0.5 pt wide")
    xs = sorted(float(re.search(r"translate\(([-\d.]+)", t["rot"]).group(1)) for t in svg.texts if t["rot"] and t["text"].startswith("e"))
    check(4 <= len(xs) < 128 and min(b - a for a, b in zip(xs, xs[1:])) >= 7 * 1.3,
          "moe 128 experts: %d labels, closest %.2f pt apart" % (len(xs), min(b - a for a, b in zip(xs, xs[1:])) if len(xs) > 1 else 0))
    print("moe 128 experts: %d cells, %d labels" % (len(cells), len(xs)))

    # spectra of experts: --expert E at every routed layer, or every expert of the one layer --layers names
    import npsafetensors
    spectra, _ = npsafetensors.load(os.path.join(res, "spectra.safetensors"))
    for args, keys in ((["--expert", "1"], ["layer0/expert1", "layer2/expert1"]),
                       (["--layers", "0"], ["layer0/expert%s" % r["expert"] for r in e6 if r["layer"] == 0
                                            and r["site"] == "post" and r["expert"] and r["sui"]]),
                       (["--expert", "shared", "--layers", "2"], ["layer2/expertshared"])):
        out = os.path.join(tmp, "moe-spectrum.svg")
        run(res, "--figure", "spectrum", "--models", "^moe-e6$", *args, "-o", out)
        svg = Svg(out)
        fx, fy = svg.axis("x", True), svg.axis("y", True)
        curves = [p for p in svg.paths if p["stroke"] and p["style"].get("stroke-width") == "0.9" and len(p["pts"]) > 5
                  and inside(svg, *p["pts"][0])]
        found = 0
        for k in keys:
            lam = spectra["moe-e6/post/" + k]
            lam = lam[lam > 1e-12 * lam[0]]
            a0, a1 = (fx(1), fy(lam[0])), (fx(len(lam)), fy(lam[-1]))
            found += any(math.hypot(c["pts"][0][0] - a0[0], c["pts"][0][1] - a0[1]) < TOL and
                         math.hypot(c["pts"][-1][0] - a1[0], c["pts"][-1][1] - a1[1]) < TOL for c in curves)
        check(len(keys) > 0 and len(curves) == len(keys) and found == len(keys),
              "moe spectrum %s: %d lines, %d of the %d expected spectra (%s)" % (args, len(curves), found, len(keys), keys))
    p = run(res, "--figure", "spectrum", "--models", "^moe-e128$", "-o", os.path.join(tmp, "x.pdf"), expect=2)
    check("--expert" in p.stderr and not os.path.exists(os.path.join(tmp, "x.pdf")),
          "moe spectrum of an all-routed model without --expert or one layer: %r" % p.stderr)

    # bad input: one line, exit 2, no file
    for args, what in ((["--experts", "nothing"], "no model named 'nothing'"), (["--experts", "dense-w64"], "no experts"),
                       (["--metric", "load"], "needs --experts"), (["--experts", "moe-e6", "--models", "moe"], "--models"),
                       (["--figure", "depth", "--experts", "moe-e6"], "heatmap figure"),
                       (["--figure", "spectrum", "--expert", "e1"], "expert's index or shared"),
                       (["--expert", "1"], "spectrum figure")):
        fig = [] if "--figure" in args else ["--figure", "heatmap"]
        p = run(res, *fig, *args, "-o", os.path.join(tmp, "x.pdf"), expect=2)
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("ffnscope: error: ") and what in lines[0], "error for %s: %r" % (args, p.stderr))
    check(not os.path.exists(os.path.join(tmp, "x.pdf")), "moe: no file written on error")


def main():
    tmp = tempfile.mkdtemp(prefix="ffnscope-plot-")
    res = os.path.join(tmp, "res")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_results.py"), res], check=True)
    rows = load_rows(res)
    fits = {(f["family"], f["site"], f["metric"]): f for f in csv.DictReader(open(os.path.join(res, "fits.csv")))}
    fams = [f for f, *_ in FAMILIES]

    # ---- scaling ----
    for size in ("3.4x3.3", "7x3.5"):
        out = os.path.join(tmp, "scaling-%s.svg" % size)
        run(res, "--figure", "scaling", "-o", out, "--size", size)
        svg = Svg(out)
        w, h = (float(v) for v in size.split("x"))
        check(svg.root.get("viewBox") == "0 0 %g %g" % (w * 72, h * 72), "scaling %s: viewBox %s" % (size, svg.root.get("viewBox")))
        fx, fy = svg.axis("x", True), svg.axis("y", True)
        xt = sorted(float(t["text"]) for t in svg.texts if not t["rot"] and svg.bottom < t["y"] < svg.bottom + 15)
        check(all(math.log2(v) == int(math.log2(v)) for v in xt), "scaling: width ticks at powers of two: %s" % xt)
        found = markers(svg)
        expect = []
        for fi, fam in enumerate(fams):
            for metric, shape in (("soft_rank", "circle"), ("hard_rank", "square")):
                for d in sorted({r["width"] for r in rows if r["family"] == fam}):
                    y = float(np.median([r[metric] for r in rows if r["family"] == fam and r["width"] == d and r["site"] == "post"]))
                    expect.append((fx(d), fy(y), OKABE_ITO[fi], shape))
        check(len(found) == len(expect), "scaling %s: %d markers, expected %d" % (size, len(found), len(expect)))
        worst = 0
        for x, y, col, shape in expect:
            near = min(found, key=lambda m: math.hypot(m[0] - x, m[1] - y))
            dist = math.hypot(near[0] - x, near[1] - y)
            worst = max(worst, dist)
            check(near[2]["fill"] == col, "scaling: marker colour %s, expected %s" % (near[2]["fill"], col))
            is_circle = "C" in near[2]["d"]
            check(is_circle == (shape == "circle"), "scaling: a %s rank marker is a %s" % (shape, "circle" if is_circle else "polygon"))
        check(worst <= TOL, "scaling %s: markers within %.3f pt of the data (worst %.4f)" % (size, TOL, worst))
        print("scaling %s: %d markers, worst %.4f pt" % (size, len(found), worst))
        # fitted lines: two-point strokes of width 1 inside the frame; bands: filled at opacity 0.16
        lines = [p for p in svg.paths if p["stroke"] and len(p["pts"]) == 2 and p["style"].get("stroke-width") == "1"
                 and inside(svg, *p["pts"][0]) and inside(svg, *p["pts"][1])]
        bands = [p for p in svg.paths if p["style"].get("fill-opacity") == "0.16"]
        valid = [k for k, f in fits.items() if k[1] == "post" and f["beta"]]
        check(len(lines) == len(valid), "scaling: %d fitted lines, expected %d" % (len(lines), len(valid)))
        check(len(bands) == len(valid), "scaling: %d bands, expected %d" % (len(bands), len(valid)))
        worst = 0
        for (fam, site, metric) in valid:
            f = fits[(fam, site, metric)]
            beta, la = float(f["beta"]), float(f["log10_a"])
            ds = sorted({r["width"] for r in rows if r["family"] == fam})
            ends = [(fx(d), fy(10 ** (la + beta * math.log10(d)))) for d in (ds[0], ds[-1])]
            dash = metric == "hard_rank"
            cand = [p for p in lines if p["stroke"] == OKABE_ITO[fams.index(fam)] and ("stroke-dasharray" in p["style"]) == dash]
            check(len(cand) == 1, "scaling: one line for %s %s" % (fam, metric))
            if cand:
                err = max(math.hypot(a[0] - b[0], a[1] - b[1]) for a, b in zip(cand[0]["pts"], ends))
                worst = max(worst, err)
            # the band's edges at the ends: fit +- t s sqrt(1/n + (x - xbar)^2 / Sxx), from the medians
            lx = np.log10(ds)
            ly = np.log10([np.median([r[metric] for r in rows if r["family"] == fam and r["width"] == d and r["site"] == "post"]) for d in ds])
            n = len(ds)
            s2 = ((ly - (la + beta * lx)) ** 2).sum() / (n - 2)
            sxx = ((lx - lx.mean()) ** 2).sum()
            band = [p for p in bands if p["fill"] == OKABE_ITO[fams.index(fam)]]
            want = []
            for x in (lx[0], lx[-1]):
                hw = T975[n - 2] * math.sqrt(s2 * (1 / n + (x - lx.mean()) ** 2 / sxx))
                for sgn in (1, -1):
                    want.append((fx(10 ** x), fy(10 ** (la + beta * x + sgn * hw))))
            for wx, wy in want:
                d = min(min(math.hypot(px - wx, py - wy) for px, py in b["pts"]) for b in band) if band else 1e9
                check(d <= TOL, "scaling: %s %s band edge at (%.1f, %.1f) off by %.4f" % (fam, metric, wx, wy, d))
        check(worst <= TOL, "scaling: fitted lines of fits.csv within %.3f pt (worst %.4f)" % (TOL, worst))
        legend = " ".join(t["text"] for t in svg.texts)
        for (fam, site, metric) in valid:
            f = fits[(fam, site, metric)]
            want = "%s %s: β = %.2f [%.2f, %.2f], R² = %.3f" % (fam, metric[:4], float(f["beta"]), float(f["beta_ci_low"]),
                                                            float(f["beta_ci_high"]), float(f["r2"]))
            check(want.replace("-0.00", "0.00") in legend, "scaling legend has '%s'" % want)
        db = float(fits[("alpha", "post", "soft_rank")]["beta"]) - float(fits[("alpha", "post", "hard_rank")]["beta"])
        check("Δβ = %.2f" % db in legend, "scaling legend has Δβ = %.2f" % db)
        check("gamma soft: 2 models, no fit" in legend, "scaling legend says gamma has no fit")
        check(any(t["rot"] and "rank" in t["text"] for t in svg.texts) and "FFN width D (neurons)" in legend,
              "scaling: axis labels with units")
        # no two tick labels overlap
        xl = sorted((t["x"], t["text"]) for t in svg.texts if not t["rot"] and svg.bottom < t["y"] < svg.bottom + 15)
        for (x0, s0), (x1, s1) in zip(xl, xl[1:]):
            check(x1 - x0 > 4.3 * len(s0), "scaling: tick labels '%s' and '%s' overlap" % (s0, s1))

    # ---- spectrum: beta-w64, layers 1 and 3, and the HR/SR markers ----
    out = os.path.join(tmp, "spectrum.svg")
    run(res, "--figure", "spectrum", "--models", "^beta-w64$", "--layers", "1,3", "-o", out)
    svg = Svg(out)
    fx, fy = svg.axis("x", True), svg.axis("y", True)
    curves = [p for p in svg.paths if p["stroke"] and len(p["pts"]) > 20]
    check(len(curves) == 2, "spectrum: %d lines, expected 2" % len(curves))
    import npsafetensors
    spectra, _ = npsafetensors.load(os.path.join(res, "spectra.safetensors"))
    worst = 0
    for layer in (1, 3):
        lam = spectra["beta-w64/post/layer%d" % layer]
        want = [(fx(i + 1), fy(v)) for i, v in enumerate(lam)]
        # cairo may merge vertices closer than its fixed-point grid: every drawn vertex must be a data point
        match = [c for c in curves if math.hypot(c["pts"][0][0] - want[0][0], c["pts"][0][1] - want[0][1]) < TOL
                 and math.hypot(c["pts"][-1][0] - want[-1][0], c["pts"][-1][1] - want[-1][1]) < TOL]
        check(len(match) == 1, "spectrum: the line of layer %d" % layer)
        if match:
            check(len(match[0]["pts"]) >= 0.9 * len(lam), "spectrum: layer %d drawn with %d of %d points" % (layer, len(match[0]["pts"]), len(lam)))
            worst = max(worst, max(min(math.hypot(a[0] - b[0], a[1] - b[1]) for b in want) for a in match[0]["pts"]))
        r = [r for r in rows if r["model"] == "beta-w64" and r["layer"] == layer and r["site"] == "post"][0]
        for rank in ("hard_rank", "soft_rank"):
            i = r[rank]
            k = int(math.floor(i))
            t = (math.log10(i) - math.log10(k)) / (math.log10(k + 1) - math.log10(k))
            v = 10 ** (math.log10(lam[k - 1]) + t * (math.log10(lam[k]) - math.log10(lam[k - 1])))
            d = nearest(markers(svg, filled=False), fx(i), fy(v))
            check(d <= TOL, "spectrum: layer %d %s marker off by %.4f" % (layer, rank, d))
    check(worst <= TOL, "spectrum: line vertices within %.3f pt of (i, λ_i) (worst %.4f)" % (TOL, worst))
    print("spectrum: 2 lines of 64 points, worst %.4f pt" % worst)
    # default: one line per model (its middle layer) when several models are chosen
    out = os.path.join(tmp, "spectrum-all.svg")
    run(res, "--figure", "spectrum", "-o", out)
    svg = Svg(out)
    n_models = len({r["model"] for r in rows if r["site"] == "post"})
    check(len([p for p in svg.paths if p["stroke"] and len(p["pts"]) > 20]) == n_models, "spectrum: one line per model")

    # ---- heatmap: soft_util, site post; cells of the cividis colour of their value ----
    out = os.path.join(tmp, "heatmap.svg")
    run(res, "--figure", "heatmap", "--metric", "soft_util", "-o", out, "--size", "7x3")
    svg = Svg(out)
    cells = [p for p in svg.paths if p["style"].get("stroke") == "none" and p["fill"] and len(p["pts"]) == 5
             and inside(svg, *centre(p["pts"])[:2])]
    post = [r for r in rows if r["site"] == "post"]
    check(len(cells) == len(post), "heatmap: %d cells, expected %d" % (len(cells), len(post)))
    lo, hi = min(r["soft_util"] for r in post), max(r["soft_util"] for r in post)
    models_order = []
    for r in post:
        if r["model"] not in models_order:
            models_order.append(r["model"])
    max_layer = max(r["layer"] for r in post)
    cw = (svg.right - svg.left) / len(models_order)
    rh = (svg.bottom - svg.top) / (max_layer + 1)
    bad = 0
    for r in post:
        x = svg.left + (models_order.index(r["model"]) + 0.5) * cw
        y = svg.top + (r["layer"] + 0.5) * rh
        cell = [c for c in cells if abs(centre(c["pts"])[0] - x) < TOL and abs(centre(c["pts"])[1] - y) < TOL]
        t = (r["soft_util"] - lo) / (hi - lo) * 4
        i = min(int(t), 3)
        want = tuple(round(CIVIDIS[i][c] * (1 - (t - i)) + CIVIDIS[i + 1][c] * (t - i)) for c in range(3))
        if len(cell) != 1 or max(abs(a - b) for a, b in zip(cell[0]["fill"], want)) > 1:
            bad += 1
    check(bad == 0, "heatmap: %d cells misplaced or of the wrong colour" % bad)
    names = [t["text"] for t in svg.texts if t["rot"]]
    check(all(m in names for m in models_order), "heatmap: every model named")
    print("heatmap: %d cells" % len(cells))

    # ---- depth: sui against layer / n_layers ----
    out = os.path.join(tmp, "depth.svg")
    run(res, "--figure", "depth", "-o", out)
    svg = Svg(out)
    fx, fy = svg.axis("x", False), svg.axis("y", False)
    found = markers(svg)
    check(len(found) == len(post), "depth: %d markers, expected %d" % (len(found), len(post)))
    worst = max(nearest(found, fx(r["layer"] / n_layers_of(r["family"])), fy(r["sui"])) for r in post)
    check(worst <= TOL, "depth: markers within %.3f pt (worst %.4f)" % (TOL, worst))
    lines = [p for p in svg.paths if p["stroke"] and p["style"].get("stroke-width") == "0.9" and inside(svg, *p["pts"][0])]
    check(len(lines) == len(models_order), "depth: %d lines, expected one per model (%d)" % (len(lines), len(models_order)))
    print("depth: %d markers, worst %.4f pt" % (len(found), worst))
    run(res, "--figure", "depth", "--site", "pre", "-o", out)
    check(len(markers(Svg(out))) == len([r for r in rows if r["site"] == "pre"]), "depth --site pre")

    # ---- the dark theme: its background and light text ----
    out = os.path.join(tmp, "dark.svg")
    run(res, "--figure", "depth", "--theme", "dark", "-o", out)
    root = ET.parse(out).getroot()
    bg = [style(r).get("fill") for r in root.iter("{%s}rect" % NS["s"])]
    check(bg and colour(bg[0]) == (0x16, 0x19, 0x1f), "dark theme background: %s" % bg[:1])
    check({t.get("fill") for t in root.iter("{%s}text" % NS["s"])} == {"#e6e6e6"}, "dark theme text colour")

    # ---- PNG sizes follow --size and --dpi ----
    for size, dpi, want in (("3.4x2.6", None, (1020, 780)), ("2x1.5", "100", (200, 150)), ("7x3", "150", (1050, 450))):
        out = os.path.join(tmp, "f.png")
        run(res, "--figure", "depth", "-o", out, "--size", size, *(["--dpi", dpi] if dpi else []))
        head = open(out, "rb").read(24)
        check(head[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature")
        got = struct.unpack(">II", head[16:24])
        check(got == want, "PNG --size %s --dpi %s: %s, expected %s" % (size, dpi, got, want))

    # ---- PDF: poppler opens it; the page size and the text ----
    out = os.path.join(tmp, "f.pdf")
    run(res, "--figure", "scaling", "-o", out, "--size", "3.4x3.3")
    info = subprocess.run(["pdfinfo", out], capture_output=True, text=True, check=True).stdout
    check("Page size:       244.8 x 237.6 pts" in info, "pdfinfo page size: %s" % info)
    fonts = subprocess.run(["pdffonts", out], capture_output=True, text=True, check=True).stdout
    check("DejaVuSans" in fonts and " yes " in fonts, "pdffonts: an embedded DejaVu Sans")
    text = subprocess.run(["pdftotext", out, "-"], capture_output=True, text=True, check=True).stdout
    check("FFN width D (neurons)" in text and "alpha soft" in text, "pdftotext finds the labels")
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", out, os.path.join(tmp, "pdf")], check=True)
    head = open(os.path.join(tmp, "pdf.png"), "rb").read(24)
    check(struct.unpack(">II", head[16:24]) == (245, 238), "pdftoppm page at 72 dpi: %s" % (struct.unpack(">II", head[16:24]),))

    # ---- bad input: one error line, exit 2, no file ----
    for args, what in ((["--figure", "pie"], "--figure is"), (["--figure", "scaling", "-o", os.path.join(tmp, "x.gif")], ".pdf, .svg or .png"),
                       (["--figure", "scaling", "--models", "(", "-o", os.path.join(tmp, "x.pdf")], "--models"),
                       (["--figure", "scaling", "--models", "nothing", "-o", os.path.join(tmp, "x.pdf")], "no model"),
                       (["--figure", "spectrum", "--layers", "3-1", "-o", os.path.join(tmp, "x.pdf")], "--layers"),
                       (["--figure", "scaling", "--dpi", "300", "-o", os.path.join(tmp, "x.pdf")], "PNG files only"),
                       (["--figure", "scaling", "--metric", "sui", "-o", os.path.join(tmp, "x.pdf")], "heatmap and depth"),
                       (["--figure", "heatmap", "--size", "0.5x9", "-o", os.path.join(tmp, "x.pdf")], "--size"),
                       (["--figure", "heatmap", "--theme", "neon", "-o", os.path.join(tmp, "x.pdf")], "--theme")):
        p = run(res, *args, expect=2)
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and lines[0].startswith("ffnscope: error: ") and what in lines[0], "error for %s: %r" % (args, p.stderr))
    check(not [f for f in os.listdir(tmp) if f.startswith("x.")], "no file written on error")
    p = run(os.path.join(tmp, "missing"), "--figure", "scaling", "-o", os.path.join(tmp, "x.pdf"), expect=2)
    check(p.stderr.startswith("ffnscope: error: ") and "missing" in p.stderr, "a missing results folder: %r" % p.stderr)

    check_moe(tmp)

    print("%d passed, %d failed" % (1 if not failures else 0, 1 if failures else 0))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
