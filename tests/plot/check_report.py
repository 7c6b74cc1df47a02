#!/usr/bin/python3
"""ffnscope report, rendered by headless Chromium (Debian's chromium).

usage: check_report.py FFNSCOPE

The page must hold four inline SVG figures and nothing fetched from
elsewhere; Chromium renders it with no console message (the check is first
shown to catch a console.error planted in a copy), its script runs (the
sortable headers get their class), and the screenshot shows the figures'
colours. Chromium missing is a failure, not a skip: CI installs it
(scripts/setup.sh). As root it needs --no-sandbox.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FFN = os.path.abspath(sys.argv[1])
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def chromium(*args):
    exe = shutil.which("chromium")
    if not exe:
        raise SystemExit("chromium is not installed (scripts/setup.sh installs it)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
           "--v=0", *args]
    # a private profile: nothing from an earlier run, nothing left in $HOME
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(cmd + ["--user-data-dir=" + profile], capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        raise SystemExit("chromium failed (%d):\n%s" % (p.returncode, p.stderr[-2000:]))
    return p


def console(stderr):
    return [l for l in stderr.splitlines() if ":CONSOLE" in l or "Uncaught" in l]


def png_pixels(path):
    """(width, height, rows of RGBA or RGB bytes) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_moe(tmp):
    """Mixture-of-experts results: a model's row gives its experts' width, its layers (a routed
    layer once, not once per expert) and, for SUI, numpy's median over its routed experts (the shared
    expert and its dense layers left out), as its scaling point takes them."""
    import csv
    import numpy as np
    res = os.path.join(tmp, "moe")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_results.py"), "--moe", res], check=True)
    html = os.path.join(tmp, "moe.html")
    p = subprocess.run([FFN, "report", res, "-o", html], capture_output=True, text=True)
    check(p.returncode == 0, "ffnscope report on MoE results: %s" % p.stderr)
    page = open(html, encoding="utf-8").read()
    table = page[page.index('id="models"'):]
    rows = list(csv.DictReader(open(os.path.join(res, "metrics.csv"))))
    for name in ("moe-e6", "moe-e128"):
        m = re.search(r"<tr><td>%s</td><td class=\"t\">[^<]*</td><td class=\"t\">post</td>((?:<td data-v=\"[^\"]*\">"
                      r"[^<]*</td>)+)" % re.escape(name), table)
        vals = [float(v) for v in re.findall(r'data-v="([^"]*)"', m.group(1))] if m else []
        mine = [r for r in rows if r["model"] == name and r["site"] == "post"]
        routed = [r for r in mine if r["expert"] not in ("", "shared") and r["sui"]]
        want_w = float(routed[0]["width"])
        want_layers = len({r["layer"] for r in mine if r["sui"]})
        want_sui = float(np.median([float(r["sui"]) for r in routed]))
        check(len(vals) >= 8 and vals[0] == want_w and vals[1] == want_layers and abs(vals[7] - want_sui) <= 1e-12,
              "report, %s: width %s, layers %s, SUI %s (want %s, %d, %.6f)" % (
                  name, vals[0] if vals else None, vals[1] if len(vals) > 1 else None,
                  vals[7] if len(vals) > 7 else None, want_w, want_layers, want_sui))


def main():
    tmp = tempfile.mkdtemp(prefix="ffnscope-report-")
    res = os.path.join(tmp, "res")
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_results.py"), res], check=True)
    html = os.path.join(tmp, "report.html")
    p = subprocess.run([FFN, "report", res, "-o", html], capture_output=True, text=True)
    check(p.returncode == 0, "ffnscope report: %s" % p.stderr)
    page = open(html, encoding="utf-8").read()
    check(page.count("<svg") == 4, "four inline SVG figures (%d)" % page.count("<svg"))
    for fig in ("scaling", "spectrum", "heatmap", "depth"):
        check('<figure id="%s">' % fig in page, "the %s figure" % fig)
    check(not re.search(r"""(src|href)\s*=\s*["'](https?:|//)""", page) and "<link" not in page and "@import" not in page
          and not re.search(r"<script[^>]*src", page), "nothing fetched from elsewhere")
    ids = re.findall(r'\bid="([^"]+)"', page)
    check(len(ids) == len(set(ids)), "ids unique across the inline figures")
    check('id="fits"' in page and page.count("<tr>") > 20, "the fits and model tables")
    check("alpha-w512" in page and "known-values fixture" in page, "the models and run.yaml")

    # the console check catches a planted error, then finds none in the report
    probe = os.path.join(tmp, "probe.html")
    open(probe, "w", encoding="utf-8").write(page.replace("<script>", "<script>console.error('planted');", 1))
    check(any("planted" in l for l in console(chromium("--dump-dom", "file://" + probe).stderr)),
          "the console check sees a planted console.error")
    d = chromium("--dump-dom", "file://" + html)
    check(not console(d.stderr), "no console messages: %s" % console(d.stderr))
    check(d.stdout.count("<svg") == 4, "the DOM holds the four figures")
    check(d.stdout.count('class="sort"') >= 20, "the sorting script ran (headers marked sortable)")

    shot = os.path.join(tmp, "report.png")
    s = chromium("--window-size=1100,3400", "--screenshot=" + shot, "file://" + html)
    check(not console(s.stderr), "no console messages while rendering: %s" % console(s.stderr))
    w, h, bpp, rows = png_pixels(shot)
    check((w, h) == (1100, 3400), "screenshot size %dx%d" % (w, h))
    # the figures' own colours reach the screen: Okabe-Ito blue (scaling markers) and cividis' dark end (heatmap)
    want = {(0x00, 0x72, 0xb2): 0, (0x00, 0x20, 0x4d): 0}
    for row in rows:
        for x in range(0, w * bpp, bpp):
            px = (row[x], row[x + 1], row[x + 2])
            for c in want:
                if max(abs(a - b) for a, b in zip(px, c)) <= 3:
                    want[c] += 1
    for c, n in want.items():
        check(n >= 30, "rendered pixels of #%02x%02x%02x: %d" % (c + (n,)))
    print("report: %d bytes, screenshot %dx%d, %s" % (len(page), w, h, want))
    check_moe(tmp)
    print("%d passed, %d failed" % (1 if not failures else 0, 1 if failures else 0))
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
