#!/usr/bin/python3
"""Extract Jane Austen's six novels from r-cran-janeaustenr's lazy-load database.

usage: extract_austen.py RDATA_PREFIX OUTDIR

RDATA_PREFIX is the database path without its suffix (…/janeaustenr/data/Rdata):
  Rdata.rdx  the index, an R serialisation (gzip file as written by saveRDS, or a
             4-byte length + zlib stream) of list(variables=, references=, compressed=)
             where each variable maps to c(offset, length) in the .rdb;
  Rdata.rdb  entries of a 4-byte big-endian uncompressed length followed by a zlib
             stream holding an XDR serialisation of a character vector, one line per element.
Writes OUTDIR/<novel>.txt in UTF-8, one element per line. Only the standard library is used
so the corpus can be fetched before any Python package is installed.
Exit status 2 with one line on stderr for missing or malformed input.
"""
import os
import struct
import sys
import zlib

NOVELS = ("persuasion", "emma", "mansfieldpark", "northangerabbey",
          "prideprejudice", "sensesensibility")

# R SEXP type codes and serialisation pseudo-types used by these files.
NILSXP, SYMSXP, LISTSXP, CHARSXP, LGLSXP = 0, 1, 2, 9, 10
INTSXP, REALSXP, STRSXP, VECSXP = 13, 14, 16, 19
REFSXP, NILVALUE_SXP = 255, 254
NA_INT = -2147483648
LATIN1_MASK, UTF8_MASK, BYTES_MASK = 1 << 2, 1 << 3, 1 << 1
MAX_ENTRY = 1 << 30  # no novel comes anywhere near a gigabyte


class Malformed(Exception):
    pass


class Reader:
    """Minimal reader for R's XDR serialisation format (versions 2 and 3)."""

    def __init__(self, data, what):
        self.d = data
        self.p = 0
        self.what = what
        self.refs = []
        self.depth = 0

    def take(self, n):
        if n < 0 or self.p + n > len(self.d):
            raise Malformed("%s: truncated R serialisation at byte %d" % (self.what, self.p))
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def header(self):
        if self.take(2) != b"X\n":
            raise Malformed("%s: not an XDR R serialisation (missing 'X\\n' header)" % self.what)
        version = self.int()
        self.int()  # writer's R version
        self.int()  # minimal reader version
        if version == 3:
            n = self.int()
            if n < 0 or n > 64:
                raise Malformed("%s: bad native encoding length %d" % (self.what, n))
            self.take(n)
        elif version != 2:
            raise Malformed("%s: unsupported serialisation version %d" % (self.what, version))

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two more ints
            hi, lo = self.int(), self.int()
            n = (hi << 32) | (lo & 0xFFFFFFFF)
        if n < 0 or n > len(self.d):
            raise Malformed("%s: bad vector length %d" % (self.what, n))
        return n

    def item(self):
        self.depth += 1
        if self.depth > 200:
            raise Malformed("%s: nesting too deep" % self.what)
        try:
            return self._item()
        finally:
            self.depth -= 1

    def _item(self):
        flags = self.int()
        typ = flags & 0xFF
        levels = flags >> 12
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if typ == NILVALUE_SXP:
            return None
        if typ == REFSXP:
            idx = flags >> 8
            if idx == 0:
                idx = self.int()
            if idx < 1 or idx > len(self.refs):
                raise Malformed("%s: bad reference index %d" % (self.what, idx))
            return self.refs[idx - 1]
        if typ == SYMSXP:
            name = self.item()
            sym = ("sym", name)
            self.refs.append(sym)
            return sym
        if typ == LISTSXP:
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            out = [(tag[1] if isinstance(tag, tuple) else None, car)]
            if isinstance(cdr, list):
                out.extend(cdr)
            del attr
            return out
        if typ == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            if n < 0:
                raise Malformed("%s: bad string length %d" % (self.what, n))
            raw = self.take(n)
            if levels & LATIN1_MASK:
                return raw.decode("latin-1")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                if levels & (UTF8_MASK | BYTES_MASK):
                    raise Malformed("%s: string is not valid UTF-8" % self.what)
                return raw.decode("latin-1")
        if typ in (LGLSXP, INTSXP):
            n = self.length()
            vals = list(struct.unpack(">%di" % n, self.take(4 * n)))
            value = ("int", vals)
        elif typ == REALSXP:
            n = self.length()
            value = ("real", list(struct.unpack(">%dd" % n, self.take(8 * n))))
        elif typ == STRSXP:
            n = self.length()
            value = ("str", [self.item() for _ in range(n)])
        elif typ == VECSXP:
            n = self.length()
            value = ("list", [self.item() for _ in range(n)])
        elif typ == NILSXP:
            return None
        else:
            raise Malformed("%s: unsupported R object type %d" % (self.what, typ))
        attrs = {}
        if has_attr:
            pairs = self.item()
            if isinstance(pairs, list):
                for tag, val in pairs:
                    attrs[tag] = val
        return value + (attrs,)


def names_of(obj):
    nm = obj[2].get("names") if obj is not None and len(obj) == 3 else None
    if not nm or nm[0] != "str":
        return None
    return nm[1]


def read_index(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise Malformed("%s: %s" % (path, e.strerror))
    if raw[:2] == b"\x1f\x8b":  # saveRDS writes a gzip file
        try:
            data = zlib.decompress(raw, 47)
        except zlib.error as e:
            raise Malformed("%s: bad gzip stream (%s)" % (path, e))
    else:
        data = inflate_entry(raw, 0, len(raw), path)
    r = Reader(data, path)
    r.header()
    index = r.item()
    keys = names_of(index)
    if index is None or index[0] != "list" or keys is None:
        raise Malformed("%s: index is not a named list" % path)
    top = dict(zip(keys, index[1]))
    variables = top.get("variables")
    vnames = names_of(variables)
    if variables is None or variables[0] != "list" or vnames is None:
        raise Malformed("%s: index has no named 'variables' list" % path)
    comp = top.get("compressed")
    if comp is not None and comp[0] in ("int", "real") and comp[1] and comp[1][0] not in (0, 1):
        raise Malformed("%s: compression type %r is not zlib" % (path, comp[1][0]))
    out = {}
    for name, val in zip(vnames, variables[1]):
        if val is None or val[0] not in ("int", "real") or len(val[1]) != 2:
            raise Malformed("%s: entry %r is not an (offset, length) pair" % (path, name))
        off, ln = (int(v) for v in val[1])
        out[name] = (off, ln)
    return out


def inflate_entry(blob, off, ln, what):
    if off < 0 or ln < 5 or off + ln > len(blob):
        raise Malformed("%s: entry at %d (+%d) lies outside the file of %d bytes" % (what, off, ln, len(blob)))
    want = struct.unpack(">I", blob[off:off + 4])[0]
    if want > MAX_ENTRY:
        raise Malformed("%s: entry at %d claims %d bytes" % (what, off, want))
    try:
        d = zlib.decompressobj()
        data = d.decompress(blob[off + 4:off + ln], want + 1)
    except zlib.error as e:
        raise Malformed("%s: bad zlib stream at %d (%s)" % (what, off, e))
    if len(data) != want or not d.eof:
        raise Malformed("%s: entry at %d inflates to %d bytes, header says %d" % (what, off, len(data), want))
    return data


def extract(prefix, outdir):
    index = read_index(prefix + ".rdx")
    rdb = prefix + ".rdb"
    try:
        with open(rdb, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise Malformed("%s: %s" % (rdb, e.strerror))
    texts = {}
    for novel in NOVELS:
        if novel not in index:
            raise Malformed("%s: index has no entry %r" % (prefix + ".rdx", novel))
        off, ln = index[novel]
        r = Reader(inflate_entry(blob, off, ln, rdb), "%s[%s]" % (rdb, novel))
        r.header()
        obj = r.item()
        if obj is None or obj[0] != "str" or not obj[1]:
            raise Malformed("%s: %s is not a character vector" % (rdb, novel))
        texts[novel] = "".join(("" if s is None else s) + "\n" for s in obj[1])
    os.makedirs(outdir, exist_ok=True)
    for novel, text in texts.items():
        dst = os.path.join(outdir, novel + ".txt")
        tmp = dst + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, dst)
        print("%s: %d lines, %d characters" % (dst, text.count("\n"), len(text)))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: extract_austen.py RDATA_PREFIX OUTDIR\n")
        return 2
    try:
        extract(argv[1], argv[2])
    except Malformed as e:
        sys.stderr.write("extract_austen: error: %s\n" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
