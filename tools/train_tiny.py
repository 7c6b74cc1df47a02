#!/usr/bin/python3
"""Train ffnscope's bundled width sweep on Jane Austen (models/README.md).

    /usr/bin/python3 tools/train_tiny.py [--corpus data/austen] [--out models] [--steps N]

1. A byte-level BPE tokenizer (256 bytes + merges + <|endoftext|> = --vocab ids) learned from
   word frequencies of five novels (all but Persuasion) under GPT-2's pre-tokenizer pattern,
   saved as a Hugging Face tokenizer.json in the GPT-2 layout.
2. Families gpt2, llama, ngpt x FFN widths 64..1024 (d_model 64, 4 layers, 4 heads, context
   128), all with the same seed, the same batches in the same order and the same token budget,
   so width is the only difference inside a family. gpt2/llama: AdamW with weight decay on
   matrices, linear warmup then cosine decay. ngpt: the NVIDIA/ngpt recipe (AdamW without weight
   decay or warmup, cosine to zero, weights re-normalised after every step).
   Held-out loss is measured on Persuasion. Models are written with tools/reference.py's
   save_model to OUT/<family>-w<width>/, and a summary to OUT/training.json.
"""
import argparse
import collections
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402  (the one copy of the model code)

TRAIN_NOVELS = ("emma", "mansfieldpark", "northangerabbey", "prideprejudice", "sensesensibility")
HELDOUT = "persuasion"
FAMILIES = ("gpt2", "llama", "ngpt")
WIDTHS = (64, 128, 256, 512, 1024)
EOT = "<|endoftext|>"


# ---------------------------------------------------------------------------------------------
# tokenizer


def train_bpe(texts, vocab_size):
    """Byte-level BPE merges learned from pre-tokenized word counts (incremental pair counts)."""
    import regex
    pat = regex.compile(R.GPT2_PATTERN)
    bmap = R.bytes_to_unicode()
    counts = collections.Counter()
    for text in texts:
        counts.update(pat.findall(text))
    words, freqs = [], []
    for w, n in sorted(counts.items()):
        words.append([bmap[b] for b in w.encode("utf-8")])
        freqs.append(n)
    pair_count = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pair_count[p] += freqs[i]
            where[p].add(i)
    n_merges = vocab_size - 256 - 1
    merges = []
    while len(merges) < n_merges and pair_count:
        # highest count; ties go to the lexicographically smallest pair so the result is stable
        best = min(pair_count.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if pair_count[best] < 2:
            break
        merges.append(best)
        a, b = best
        for i in list(where[best]):
            w = words[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= freqs[i]
                if pair_count[p] <= 0:
                    del pair_count[p]
            out, j = [], 0
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += freqs[i]
                where[p].add(i)
        del where[best]
    vocab = {bmap[b]: b for b in range(256)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab, merges


def tokenizer_json(vocab, merges):
    """The Hugging Face tokenizer.json of a GPT-2 style byte-level BPE."""
    eot_id = len(vocab)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eot_id, "content": EOT, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": dict(list(vocab.items()) + [(EOT, eot_id)]),
                  "merges": ["%s %s" % m for m in merges]},
    }


# ---------------------------------------------------------------------------------------------
# models


def model_config(family, width, vocab, d=64, layers=4, heads=4, ctx=128):
    if family == "gpt2":
        return {"model_type": "gpt2", "n_embd": d, "n_layer": layers, "n_head": heads,
                "n_inner": width, "n_positions": ctx, "vocab_size": vocab,
                "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}
    if family == "llama":
        return {"model_type": "llama", "hidden_size": d, "intermediate_size": width,
                "num_hidden_layers": layers, "num_attention_heads": heads,
                "num_key_value_heads": heads, "max_position_embeddings": ctx,
                "vocab_size": vocab, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
                "tie_word_embeddings": True, "hidden_act": "silu"}
    return {"model_type": "ngpt", "n_embd": d, "n_layer": layers, "n_head": heads,
            "ffn_width": width, "vocab_size": vocab, "block_size": ctx,
            "base_scale": 1.0 / math.sqrt(d)}


@torch.no_grad()
def init_weights(model, seed):
    """GPT-2 / LLaMA: normal(0, 0.02), residual projections scaled by 1/sqrt(2 layers), norms 1,
    biases 0. nGPT: its own init (normal(0, base_scale), scalars at their init scaling), then
    unit-norm matrices."""
    torch.manual_seed(seed)
    n_layer = model.n_layer()
    std = model.config["base_scale"] if model.family == "ngpt" else 0.02
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if p.dim() == 2:
            s = std
            if name.endswith(("c_proj.weight", "o_proj.weight", "down_proj.weight")):
                s = std / math.sqrt(2 * n_layer)
            p.normal_(0.0, s)
        elif leaf == "bias":
            p.zero_()
        elif leaf == "weight":  # LayerNorm / RMSNorm gains
            p.fill_(1.0)
        elif leaf == "suv":
            p.fill_(1.0)
        else:  # nGPT attn_alpha, mlp_alpha, sqk, sz
            p.fill_(model.config["base_scale"])
    if model.family == "ngpt":
        model.normalize_weights()


def make_optimizer(model, family, lr):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    wd = 0.0 if family == "ngpt" else 0.1
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": other, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step, steps, lr, family):
    if family == "ngpt":  # ngpt: no warmup, cosine to zero
        return 0.5 * lr * (1.0 + math.cos(math.pi * step / steps))
    warm = max(1, steps // 20)
    if step < warm:
        return lr * (step + 1) / warm
    ratio = (step - warm) / max(1, steps - warm)
    return 0.1 * lr + 0.9 * lr * 0.5 * (1.0 + math.cos(math.pi * ratio))


def batches(stream, steps, batch, ctx, seed):
    """The same random windows for every model: (x, y) pairs of [batch, ctx]."""
    rng = np.random.RandomState(seed)
    for _ in range(steps):
        starts = rng.randint(0, len(stream) - ctx - 1, size=batch)
        chunk = np.stack([stream[s:s + ctx + 1] for s in starts])
        yield torch.from_numpy(chunk[:, :-1]), torch.from_numpy(chunk[:, 1:])


def loss_of(model, x, y):
    dev = next(model.parameters()).device
    x, y = x.to(dev), y.to(dev)
    logits = model.logits(model(x))
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


@torch.no_grad()
def heldout_loss(model, stream, ctx, batch, max_seqs=None):
    """Mean next-token loss over consecutive non-overlapping windows of the held-out text."""
    model.eval()
    n = (len(stream) - 1) // ctx
    if max_seqs:
        n = min(n, max_seqs)
    total, count = 0.0, 0
    for i in range(0, n, batch):
        k = min(batch, n - i)
        idx = np.arange(i, i + k)[:, None] * ctx + np.arange(ctx + 1)[None]
        chunk = torch.from_numpy(stream[idx])
        total += loss_of(model, chunk[:, :-1], chunk[:, 1:]).item() * k * ctx
        count += k * ctx
    model.train()
    return total / count


def train_one(family, width, vocab_size, train_ids, held_ids, a, log):
    peak = a.lr_ngpt if family == "ngpt" else a.lr
    model = R.build_model(model_config(family, width, vocab_size, ctx=a.ctx), family)
    init_weights(model, a.seed)  # on the CPU, so every device starts from the same weights
    model.to(a.device)
    opt = make_optimizer(model, family, peak)
    model.train()
    curve, recent = [], []
    t0 = time.time()
    for step, (x, y) in enumerate(batches(train_ids, a.steps, a.batch, a.ctx, a.seed)):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.steps, peak, family)
        loss = loss_of(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if family == "ngpt":
            model.normalize_weights()
        recent.append(loss.item())
        last = step + 1 == a.steps
        if (step + 1) % a.eval_every == 0 or last:
            point = {"step": step + 1, "tokens": (step + 1) * a.batch * a.ctx,
                     "train_loss": float(np.mean(recent[-a.eval_every:])),
                     "heldout_loss": heldout_loss(model, held_ids, a.ctx, a.batch, max_seqs=64),
                     "seconds": round(time.time() - t0, 1)}
            curve.append(point)
            log("%s-w%d step %d/%d train %.4f heldout(64 seqs) %.4f %.0fs"
                % (family, width, step + 1, a.steps, point["train_loss"], point["heldout_loss"],
                   point["seconds"]))
    train_secs = time.time() - t0
    tail = max(1, a.steps // 20)
    return model, {
        "family": family, "width": width, "parameters": model.n_params(),
        "training_tokens": a.steps * a.batch * a.ctx, "steps": a.steps, "batch": a.batch,
        "context": a.ctx, "seed": a.seed, "peak_lr": peak, "device": a.device,
        "final_train_loss": round(float(np.mean(recent[-tail:])), 4),
        "heldout_loss": round(heldout_loss(model, held_ids, a.ctx, a.batch), 4),
        "train_seconds": round(train_secs, 1), "curve": curve,
    }


def read_novels(corpus):
    texts = {}
    for name in TRAIN_NOVELS + (HELDOUT,):
        path = os.path.join(corpus, name + ".txt")
        try:
            with open(path, encoding="utf-8") as f:
                texts[name] = f.read()
        except OSError as e:
            sys.exit("train_tiny: error: %s: %s (run scripts/setup.sh first)" % (path, e.strerror))
    return texts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", default="data/austen")
    p.add_argument("--out", default="models")
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--widths", default=",".join(map(str, WIDTHS)))
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of gpt2 and llama")
    p.add_argument("--lr-ngpt", type=float, default=1e-2,
                   help="peak learning rate of ngpt (normalised weights tolerate a larger step)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="torch device, such as cpu or cuda")
    p.add_argument("--jobs", type=int, default=1, help="models trained in parallel, each with --threads")
    p.add_argument("--cache", help="an .npz holding the tokenizer and token ids: written if absent, reused if present")
    p.add_argument("--skip-existing", action="store_true",
                   help="keep models already saved (resume an interrupted sweep)")
    p.add_argument("--time-steps", type=int, default=0,
                   help="only time this many steps per model and print seconds per step")
    a = p.parse_args()
    torch.set_num_threads(a.threads)

    log = _log
    os.makedirs(a.out, exist_ok=True)
    tok_path = os.path.join(a.out, "tokenizer.json")
    t0 = time.time()
    train_ids, held_ids, n_merges = prepare_data(a, tok_path)
    vocab_size = a.vocab
    log("tokenizer: %d ids, %d merges; train %d tokens, held-out %d tokens (%.1fs)"
        % (vocab_size, n_merges, len(train_ids), len(held_ids), time.time() - t0))

    families = [f for f in a.families.split(",") if f]
    widths = [int(w) for w in a.widths.split(",") if w]
    if a.time_steps:
        for fam in families:
            for w in widths:
                m = R.build_model(model_config(fam, w, vocab_size, ctx=a.ctx), fam)
                init_weights(m, a.seed)
                opt = make_optimizer(m, fam, a.lr)
                times = []
                for x, y in batches(train_ids, a.time_steps + 1, a.batch, a.ctx, a.seed):
                    t = time.time()
                    loss = loss_of(m, x, y)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
                    opt.step()
                    if fam == "ngpt":
                        m.normalize_weights()
                    times.append(time.time() - t)
                log("timing %s-w%d: %.3f s/step (params %d)" % (fam, w, float(np.median(times[1:])), m.n_params()))
        return

    summary_path = os.path.join(a.out, "training.json")
    summary = {"models": []}
    if a.skip_existing and os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    summary.update({
        "command": "/usr/bin/python3 tools/train_tiny.py " + " ".join(sys.argv[1:]),
        "corpus": {"train": [n + ".txt" for n in TRAIN_NOVELS], "heldout": HELDOUT + ".txt",
                   "train_tokens": int(len(train_ids)), "heldout_tokens": int(len(held_ids))},
        "tokenizer": {"vocab_size": vocab_size, "merges": n_merges},
        "recipe": {"steps": a.steps, "batch": a.batch, "context": a.ctx,
                   "peak_lr": {"gpt2": a.lr, "llama": a.lr, "ngpt": a.lr_ngpt},
                   "seed": a.seed, "gpt2_llama": "AdamW(0.9,0.95), wd 0.1 on matrices, 5% warmup, "
                   "cosine to 10% of peak, grad clip 1.0",
                   "ngpt": "AdamW(0.9,0.95), no weight decay, no warmup, cosine to 0, grad clip 1.0, "
                   "matrices re-normalised after each step", "threads": a.threads},
    })
    done = {(m["family"], m["width"]) for m in summary["models"]}
    todo = []
    for fam in families:
        for w in widths:
            out_dir = os.path.join(a.out, "%s-w%d" % (fam, w))
            if a.skip_existing and (fam, w) in done and os.path.exists(os.path.join(out_dir, "model.safetensors")):
                log("%s exists, skipped" % out_dir)
                continue
            todo.append((fam, w))

    def record(info):
        summary["models"] = [m for m in summary["models"]
                             if (m["family"], m["width"]) != (info["family"], info["width"])]
        summary["models"].append(info)
        summary["models"].sort(key=lambda m: (FAMILIES.index(m["family"]), m["width"]))
        tmp = summary_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
        os.replace(tmp, summary_path)

    shared = (vocab_size, train_ids, held_ids, a, tok_path)
    if a.jobs <= 1:
        _init_job(*shared)
        for job in todo:
            record(_train_job(job))
    else:  # one model per process; spawn, not fork, so no OpenMP state is inherited
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(a.jobs, initializer=_init_job, initargs=shared) as pool:
            for info in pool.imap_unordered(_train_job, todo):
                record(info)


_JOB = {}


def _log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def _init_job(vocab_size, train_ids, held_ids, a, tok_path):
    torch.set_num_threads(a.threads)
    _JOB.update(vocab_size=vocab_size, train_ids=train_ids, held_ids=held_ids, a=a, tok_path=tok_path)


def _train_job(job):
    fam, w = job
    j = _JOB
    a = j["a"]
    model, info = train_one(fam, w, j["vocab_size"], j["train_ids"], j["held_ids"], a, _log)
    out_dir = os.path.join(a.out, "%s-w%d" % (fam, w))
    # <|endoftext|> is the last id; nGPT's config keeps exactly the keys its loaders know
    extra = None if fam == "ngpt" else {"bos_token_id": j["vocab_size"] - 1, "eos_token_id": j["vocab_size"] - 1}
    R.save_model(model.cpu(), out_dir, dtype="F32", tokenizer_json=j["tok_path"], config_extra=extra)
    _log("saved %s: train %.4f heldout %.4f (%.0fs)"
         % (out_dir, info["final_train_loss"], info["heldout_loss"], info["train_seconds"]))
    return info


def prepare_data(a, tok_path):
    """Learn the tokenizer and encode the corpus, or reuse --cache (an .npz of both) when given
    and present, so a machine without the corpus or the regex module can still train."""
    if a.cache and os.path.exists(a.cache):
        z = np.load(a.cache)
        tj = str(z["tokenizer"])
        with open(tok_path, "w", encoding="utf-8") as f:
            f.write(tj)
        return z["train"].astype(np.int64), z["heldout"].astype(np.int64), int(z["merges"])
    texts = read_novels(a.corpus)
    vocab, merges = train_bpe([texts[n] for n in TRAIN_NOVELS], a.vocab)
    if len(vocab) + 1 != a.vocab:
        sys.exit("train_tiny: error: the corpus yields only %d merges" % len(merges))
    tj = json.dumps(tokenizer_json(vocab, merges), ensure_ascii=False, indent=1) + "\n"
    tmp = tok_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(tj)
    os.replace(tmp, tok_path)
    bpe = R.ByteBPE.from_tokenizer_json(tok_path)
    eot = len(vocab)
    train = []
    for n in TRAIN_NOVELS:  # novels joined by <|endoftext|>
        train.extend(bpe.encode_plain(texts[n]))
        train.append(eot)
    train_ids = np.array(train, dtype=np.int64)
    held_ids = np.array(bpe.encode_plain(texts[HELDOUT]), dtype=np.int64)
    if a.cache:
        np.savez(a.cache, tokenizer=np.array(tj), train=train_ids.astype(np.int32),
                 heldout=held_ids.astype(np.int32), merges=len(merges))
    return train_ids, held_ids, len(merges)

if __name__ == "__main__":
    main()
