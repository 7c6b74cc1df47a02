#!/usr/bin/python3
"""Capture FFN covariance statistics with PyTorch, on one process or many (torch.distributed).

For models too big for ffnscope's CPU forward pass: run them where they already run, under
PyTorch on GPUs, and bring back only the sufficient statistics of each layer's activation
covariance (count, mean, centred scatter in float64; 8*D^2 bytes per layer and site). The file
is ffnscope's statistics format (src/io/stats.h) and reads with `ffnscope analyze`, as a model
source in a config, and combines with `ffnscope merge`.

    python3 -m torch.distributed.run --nproc_per_node=N tools/capture_torch.py \\
        --model DIR --corpus FILE --tokens N --seq-len T --batch B \\
        --sites post[,pre] [--layers all|0,3|0-3] --out FILE
    python3 tools/capture_torch.py ...            (one process)

The tokens are the ones `ffnscope run` captures: the corpus read as UTF-8 and encoded as one
stream with the model's byte-level BPE tokenizer, no BOS, cut into consecutive non-overlapping
seq_len sequences from token 0 (seq_len capped at the model's context), the first `tokens`
tokens in whole sequences. Ranks take contiguous blocks of those sequences, accumulate in
float64 with matrix products (per batch: mean, centred X^T X, Chan's update), and combine with
collective sums around the global mean (exact in float64). Rank 0 writes the file atomically.
Models come from tools/reference.py: every family it reads in the Hugging Face layout (GPT-2,
LLaMA, Mistral, Qwen2, Qwen3, Gemma 1-3, GPT-NeoX, Phi-3, OLMo 2, nGPT, and the mixture-of-experts
Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE; docs/architectures.md). A routed layer is captured per
expert, on the rows routed to it, as `layers.N.SITE.expertE.*` at the expert's width (and
`layers.N.SITE.expertshared.*` for a shared expert, every row), as `ffnscope run` captures it.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402
from reference import InputError  # noqa: E402

FORMAT_VERSION = 1
SITE_ORDER = {"post": 0, "pre": 1}  # ffnscope's Site enum: entries sort by layer, then this


def entry_order(key):
    """The file's entry order (src/io/stats.h): layer, site, then a dense entry (expert None),
    experts by index, the shared expert last."""
    layer, site, expert = key
    rank = -1 if expert is None else (1 << 30) if expert == "shared" else expert
    return (layer, SITE_ORDER[site], rank)


def entry_name(key):
    layer, site, expert = key
    return "layers.%d.%s" % (layer, site) + ("" if expert is None else ".expert%s" % expert)


# ---------------------------------------------------------------------------------------------
# tokens


def load_tokenizer(model_dir, path=None):
    """Byte-level BPE from tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe."""
    if path and os.path.isfile(path):
        folder, files = os.path.dirname(path), [os.path.basename(path)]
    else:
        folder = path or model_dir
        files = os.listdir(folder) if os.path.isdir(folder) else []
    if "tokenizer.json" in files:
        tj_path = os.path.join(folder, "tokenizer.json")
        try:
            with open(tj_path, encoding="utf-8") as f:
                tj = json.load(f)
        except (OSError, ValueError) as e:
            raise InputError("%s: %s" % (tj_path, e))
        if "ByteLevel" not in json.dumps(tj.get("pre_tokenizer")):
            raise InputError("%s: not a byte-level BPE tokenizer; tokenize with ffnscope "
                             "(`ffnscope tokenize MODEL CORPUS --format json > ids.json`) and pass --ids"
                             % tj_path)
        return reference.ByteBPE.from_tokenizer_json(tj_path)
    for vocab_name, merges_name in (("vocab.json", "merges.txt"), ("encoder.json", "vocab.bpe")):
        if vocab_name in files and merges_name in files:
            vp, mp = os.path.join(folder, vocab_name), os.path.join(folder, merges_name)
            try:
                with open(vp, encoding="utf-8") as f:
                    vocab = json.load(f)
                with open(mp, encoding="utf-8") as f:
                    lines = f.read().split("\n")
            except (OSError, ValueError) as e:
                raise InputError("%s: %s" % (vp, e))
            merges = [tuple(l.split(" ")) for l in lines if l and not l.startswith("#version")]
            if not isinstance(vocab, dict) or any(len(m) != 2 for m in merges):
                raise InputError("%s: not a BPE vocabulary and merge list" % folder)
            return reference.ByteBPE(vocab, merges)
    raise InputError("%s: no tokenizer.json, vocab.json + merges.txt or encoder.json + vocab.bpe" % folder)


def read_ids(path):
    """Token ids from a JSON array (such as `ffnscope tokenize ... --format json`) or a 1-D .npy."""
    try:
        if path.endswith(".npy"):
            ids = np.load(path, allow_pickle=False)
        else:
            with open(path) as f:
                ids = json.load(f)
            if isinstance(ids, dict):
                ids = ids.get("ids")
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise InputError("%s: expected a JSON array of token ids" % path)
            ids = np.array(ids, dtype=np.int64)
    except (OSError, ValueError) as e:
        raise InputError("%s: %s" % (path, e))
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise InputError("%s: expected a 1-D array of integer token ids" % path)
    return ids.astype(np.int64)


def corpus_ids(args, model_dir):
    if args.ids:
        return read_ids(args.ids)
    try:
        with open(args.corpus, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError("%s: %s" % (args.corpus, e.strerror))
    try:
        text = raw.decode("utf-8")  # bytes as they are: no newline translation
    except UnicodeDecodeError as e:
        raise InputError("%s: not valid UTF-8 (byte %d)" % (args.corpus, e.start))
    tok = load_tokenizer(model_dir, args.tokenizer)
    return np.array(tok.encode(text), dtype=np.int64)


def cut_sequences(ids, tokens, seq_len, bos=None):
    """[n_seq, seq_len] as ffnscope's run cuts them: consecutive non-overlapping pieces of the
    stream from token 0, tokens // seq_len of them (at least one), fewer when the corpus is short.
    With a BOS id each sequence is BOS followed by the next seq_len - 1 stream tokens."""
    per_seq = seq_len - 1 if bos is not None else seq_len
    if per_seq < 1 or len(ids) < per_seq:
        raise InputError("the corpus gives %d tokens, fewer than one sequence of %d" % (len(ids), seq_len))
    n_seq = min(max(tokens // seq_len, 1), len(ids) // per_seq)
    seqs = ids[:n_seq * per_seq].reshape(n_seq, per_seq)
    if bos is not None:
        seqs = np.concatenate([np.full((n_seq, 1), bos, dtype=seqs.dtype), seqs], axis=1)
    return np.ascontiguousarray(seqs)


def parse_layers(spec, n_layer):
    """all | 0,3,5 | 0-3 | mixtures such as 0-3,7."""
    if spec in (None, "", "all"):
        return list(range(n_layer))
    out = set()
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                out.update(range(a, b + 1))
            elif part:
                out.add(int(part))
        except ValueError:
            raise InputError("--layers: %r is not a layer, a range A-B or 'all'" % part)
    bad = [l for l in out if l < 0 or l >= n_layer]
    if bad:
        raise InputError("--layers: layer %d out of range (the model has %d layers)" % (bad[0], n_layer))
    if not out:
        raise InputError("--layers: no layer selected")
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# statistics


class Accumulator:
    """count, mean and centred scatter of rows, float64, on the device of the activations."""

    def __init__(self, width, device):
        self.count = 0
        self.nonfinite = 0
        self.mean = torch.zeros(width, dtype=torch.float64, device=device)
        self.scatter = torch.zeros(width, width, dtype=torch.float64, device=device)

    def add(self, y):
        x = y.reshape(-1, y.shape[-1]).to(torch.float64, copy=True)  # ours: centred in place below
        finite = torch.isfinite(x).all(dim=1)
        nb = int(finite.sum())
        if nb < x.shape[0]:  # ffnscope drops rows holding NaN/Inf and counts them
            self.nonfinite += x.shape[0] - nb
            x = x[finite]
        if nb == 0:
            return
        block_mean = x.mean(dim=0)
        x -= block_mean
        na = self.count
        n = na + nb
        delta = block_mean - self.mean
        self.scatter.addmm_(x.t(), x)  # the batch's centred scatter, one matrix product
        if na:
            self.scatter.addr_(delta, delta, alpha=na * nb / n)  # Chan et al.: shift between means
        self.mean.add_(delta, alpha=nb / n)
        self.count = n

    def all_combine(self):
        """Combines every rank's statistics in place (collective; every rank must call it):
        n = sum n_r, mean = sum n_r mean_r / n, S = sum S_r + n_r (mean_r - mean)(mean_r - mean)^T,
        the k-way form of Chan's update, exact up to float64 rounding."""
        counts = torch.tensor([self.count, self.nonfinite], dtype=torch.int64, device=self.mean.device)
        dist.all_reduce(counts)
        n, bad = int(counts[0]), int(counts[1])
        weighted = self.mean * float(self.count)
        dist.all_reduce(weighted)
        mean = weighted / n if n else torch.zeros_like(self.mean)
        delta = self.mean - mean
        if self.count:
            self.scatter.addr_(delta, delta, alpha=float(self.count))
        dist.reduce(self.scatter, dst=0)
        self.count, self.nonfinite, self.mean = n, bad, mean


class _Enough(Exception):
    """Raised by the last hook of a forward pass: later layers are not needed."""


def capture_modules(model, layers, sites):
    """{(layer, site, expert): (module, width)}: expert None for a dense FFN, else the routed
    expert's index or "shared"."""
    out = {}
    for l in layers:
        for s, m in model.sites(l).items():
            if s in sites:
                out[(l, s, None)] = (m, model.ffn_width())
        if hasattr(model, "expert_sites"):
            for (s, e), m in model.expert_sites(l).items():
                if s in sites:
                    out[(l, s, e)] = (m, model.expert_width(e))
    return out


def capture_stats(model, seqs, batch, layers, sites, device, autocast_dtype):
    """Runs seqs [n, T] through the model, batch sequences at a time; returns
    {(layer, site, expert): acc}. Every expert's hook fires once per forward pass, on the rows
    routed to it (possibly none)."""
    mods = capture_modules(model, layers, sites)
    accs = {k: Accumulator(w, device) for k, (_, w) in mods.items()}
    fired = [0]

    def make_hook(key):
        def hook(_module, _inputs, y):
            accs[key].add(y.detach())
            fired[0] += 1
            if fired[0] == len(accs):
                raise _Enough()
        return hook

    handles = [mods[k][0].register_forward_hook(make_hook(k)) for k in accs]
    try:
        with torch.no_grad():
            for i in range(0, len(seqs), batch):
                ids = torch.from_numpy(seqs[i:i + batch]).to(device)
                fired[0] = 0
                try:
                    if autocast_dtype is not None:
                        with torch.autocast(device_type=device.type, dtype=autocast_dtype):
                            model(ids)
                    else:
                        model(ids)
                except _Enough:
                    pass
    finally:
        for h in handles:
            h.remove()
    return accs


def write_stats(path, meta, entries):
    """Streams the statistics file: header first, then one entry at a time, so host memory stays
    at one scatter matrix; temp file in the same folder, fsync, rename."""
    entries = sorted(entries, key=lambda e: entry_order(e[0]))
    header, at = {"__metadata__": {k: str(v) for k, v in meta.items()}}, 0
    for key, acc in entries:
        base = entry_name(key) + "."
        width = acc.mean.shape[0]
        for field, dtype, shape in (("count", "I64", [1]), ("nonfinite", "I64", [1]),
                                    ("mean", "F64", [width]), ("scatter", "F64", [width, width])):
            size = 8 * int(np.prod(shape))
            header[base + field] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + size]}
            at += size
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(hj).to_bytes(8, "little"))
            f.write(hj)
            for _, acc in entries:
                f.write(np.array([acc.count, acc.nonfinite], dtype="<i8").tobytes())
                f.write(acc.mean.cpu().numpy().astype("<f8").tobytes())
                s = acc.scatter.cpu().numpy()
                s += s.T  # float64 products are symmetric only to rounding; store it exactly so
                s *= 0.5
                f.write(s.astype("<f8", copy=False).tobytes())
                del s
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# main


def parse_args(argv):
    p = argparse.ArgumentParser(prog="capture_torch.py", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="Hugging Face model directory (any family of tools/reference.py)")
    p.add_argument("--corpus", help="UTF-8 text file (the config's corpus.path)")
    p.add_argument("--ids", help="token ids instead of --corpus: a JSON array or 1-D .npy "
                                 "(for tokenizers other than byte-level BPE)")
    p.add_argument("--tokenizer", help="tokenizer file or folder (default: the model directory)")
    p.add_argument("--bos-id", type=int, help="start every sequence with this token id "
                                               "(the config's corpus.add_bos)")
    p.add_argument("--tokens", type=int, default=65536, help="tokens to capture (default 65536)")
    p.add_argument("--seq-len", type=int, default=128, help="tokens per sequence (default 128)")
    p.add_argument("--batch", type=int, default=16, help="sequences per forward pass (default 16)")
    p.add_argument("--sites", default="post", help="post, pre or post,pre (default post)")
    p.add_argument("--layers", default="all", help="all (default), 0,3,5 or 0-3")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                   help="forward pass precision (statistics are always float64); default float32")
    p.add_argument("--name", help="model name stored in the file (default: the model folder's name)")
    p.add_argument("--out", required=True, help="statistics file to write (.safetensors)")
    a = p.parse_args(argv)
    if bool(a.corpus) == bool(a.ids):
        raise InputError("give exactly one of --corpus and --ids")
    for name in ("tokens", "seq_len", "batch"):
        if getattr(a, name) <= 0:
            raise InputError("--%s must be positive" % name.replace("_", "-"))
    a.site_list = [s.strip() for s in a.sites.split(",") if s.strip()]
    if not a.site_list or any(s not in SITE_ORDER for s in a.site_list) or \
            len(set(a.site_list)) != len(a.site_list):
        raise InputError("--sites: %r is not post, pre or post,pre" % a.sites)
    return a


def choose_device(spec, local_rank):
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if not spec.startswith("cuda") or not torch.cuda.is_available():
        raise InputError("--device %s: no CUDA device available" % spec)
    return torch.device("cuda", local_rank if spec == "cuda" else torch.device(spec).index)


def load_model_staggered(model_dir, device, dtype, distributed, local_rank, local_world):
    """Ranks of one machine load one after the other: reference.load_model reads float32 weights
    on the host, and N copies at once could exhaust its memory."""
    model = None
    for turn in range(local_world):
        if turn == local_rank:
            model = reference.load_model(model_dir)
            model = model.to(device=device, dtype=dtype)
        if distributed and local_world > 1:
            dist.barrier()
    return model


def run(argv):
    args = parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    distributed = world > 1
    device = choose_device(args.device, local_rank)
    if distributed:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    t0 = time.time()
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[args.dtype]
    model = load_model_staggered(args.model, device, dtype, distributed, local_rank, local_world)
    seq_len = min(args.seq_len, model.context())
    seqs = cut_sequences(corpus_ids(args, args.model), args.tokens, seq_len, args.bos_id)
    vocab = model.config["vocab_size"]
    if seqs.min() < 0 or seqs.max() >= vocab:
        raise InputError("token id %d is outside the model's vocabulary (%d)"
                         % (int(seqs.max() if seqs.max() >= vocab else seqs.min()), vocab))
    layers = parse_layers(args.layers, model.n_layer())
    n_seq = len(seqs)
    lo, hi = rank * n_seq // world, (rank + 1) * n_seq // world
    accs = capture_stats(model, seqs[lo:hi], args.batch, layers, args.site_list, device,
                         None if dtype == torch.float32 else dtype)
    if distributed:
        for key in sorted(accs, key=entry_order):  # the same order on every rank
            accs[key].all_combine()
    if rank == 0:
        meta = {
            "ffnscope_stats": FORMAT_VERSION,
            "width": model.ffn_width(),
            "model": args.name or os.path.basename(os.path.normpath(args.model)),
            "family": model.family,
            "n_layers": model.n_layer(),
            "producer": "capture_torch.py (torch %s, %d rank%s, %s, %s)"
                        % (torch.__version__, world, "" if world == 1 else "s", device.type, args.dtype),
            "corpus": os.path.basename(args.corpus or args.ids),
            "tokens": n_seq * seq_len,
            "seq_len": seq_len,
        }
        write_stats(args.out, meta, list(accs.items()))
        experts = sum(1 for k in accs if k[2] is not None)
        sys.stderr.write("capture_torch.py: %s: %d tokens, %d statistics entries (%d of experts), width %d, "
                         "%d rank%s, %.1f s\n"
                         % (args.out, n_seq * seq_len, len(accs), experts, model.ffn_width(), world,
                            "" if world == 1 else "s", time.time() - t0))
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except InputError as e:
        sys.stderr.write("capture_torch.py: error: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
