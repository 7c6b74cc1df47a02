#!/usr/bin/python3
"""Puts freshly measured numbers into BENCHMARKS.md without touching the prose around them.

  update_md.py FILE table "## Section title" OUTPUT   the first Markdown table of that section is
                                                     replaced by the table lines of OUTPUT
  update_md.py FILE block NAME OUTPUT                the text between <!-- NAME begin --> and
                                                     <!-- NAME end --> is replaced by OUTPUT
                                                     (the block is appended when missing)
The file is rewritten atomically."""
import os
import sys


def main():
    path, mode, key, out = sys.argv[1:5]
    text = open(path).read()
    new = open(out).read().rstrip("\n")
    if mode == "block":
        begin, end = "<!-- %s begin -->" % key, "<!-- %s end -->" % key
        if begin in text and end in text:
            a = text.index(begin) + len(begin)
            b = text.index(end)
            text = text[:a] + "\n" + new + "\n" + text[b:]
        else:
            text = text.rstrip("\n") + "\n\n" + begin + "\n" + new + "\n" + end + "\n"
    else:
        lines = text.split("\n")
        try:
            start = lines.index(key)
        except ValueError:
            print("update_md: no section %r in %s" % (key, path), file=sys.stderr)
            return 1
        stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        first = next((i for i in range(start, stop) if lines[i].startswith("|")), None)
        if first is None:
            print("update_md: no table in section %r" % key, file=sys.stderr)
            return 1
        last = first
        while last + 1 < stop and lines[last + 1].startswith("|"):
            last += 1
        table = [l for l in new.split("\n") if l.startswith("|")]
        if not table:
            print("update_md: no table in the output", file=sys.stderr)
            return 1
        lines[first:last + 1] = table
        text = "\n".join(lines)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
