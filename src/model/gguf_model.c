/* GGUF checkpoints as llama.cpp's converter writes them, for every family
 * with a gguf_arch in the registry. Hyperparameters come from ARCH.* keys
 * through the family's table, the vocabulary size from token_embd.weight,
 * tensors are found under the llama.cpp names of the family's tensor table
 * and turned into the canonical float32 layout (weights.h): dimensions are
 * innermost first, so a ggml [in, out] matrix is the row-major [out, in] the
 * families use; LLaMA's attn_q and attn_k rows are back in rotate-half order
 * (SLOT_ROPE: only the families llama.cpp's converter permutes); the
 * converter's other rewrites (Gemma's 1 + w norms, GPT-NeoX's [q; k; v]) are
 * kept as stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "model/ckpt.h"
#include "util/fileio.h"
#include "model/families.h"
#include "model/formats.h"
#include "model/tokenizer_build.h"

int ggufModelDetect(const char *path)
{
    return ckptHasMagic(path, "GGUF", 4) || (ckptHasSuffix(path, ".gguf") && fileIsRegular(path));
}

/* ---- GGUF metadata as a hyperparameter source ---- */

typedef struct GgufSrc {
    const GgufFile *f;
    char str[4][256];   /* NUL-terminated copies of the strings handed out */
    int next;
} GgufSrc;

/* Keys are ARCH.key; two virtual keys answer what llama.cpp's files say only
 * through their tensors: "vocab_size" (the rows of token_embd.weight, checked
 * against ARCH.vocab_size when present) and "tensor:NAME" (present or not). */
static int ggufFind(const HpSource *s, const char *key, HpKind want, HpValue *v, Error *err)
{
    GgufSrc *g = (GgufSrc *)s->impl;
    const GgufFile *f = g->f;
    memset(v, 0, sizeof *v);
    if (!strncmp(key, "tensor:", 7)) {
        if (ggufFindTensor(f, key + 7)) {
            v->kind = HPV_BOOL;
            v->i = 1;
        }
        return 0;
    }
    char full[160];
    snprintf(full, sizeof full, "%s.%s", s->arch, key);
    if (!strcmp(key, "vocab_size")) {
        const GgufTensor *t = ggufFindTensor(f, "token_embd.weight");
        if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor 'token_embd.weight' is missing", s->path);
        if (t->ndim != 2 || t->dims[1] > (1 << 30))
            return errorSet(err, EXIT_INPUT, "%s: tensor 'token_embd.weight' is not a [vocab, d] matrix", s->path);
        uint64_t n;
        int rc = ggufGetUint(f, full, &n, err);
        if (rc < 0) return -1;
        if (rc == 0 && n != (uint64_t)t->dims[1])
            return errorSet(err, EXIT_INPUT, "%s: %s %llu does not match token_embd.weight's %lld rows", s->path, full,
                            (unsigned long long)n, (long long)t->dims[1]);
        v->kind = HPV_INT;
        v->i = t->dims[1];
        v->r = (double)v->i;
        return 0;
    }
    const GgufKv *kv = ggufFindKv(f, full);
    if (!kv) return 0;
    /* the typed getters name the key and its type when it is not what is wanted */
    GgufType type = want == HPV_REAL ? GGUF_FLOAT64 : want == HPV_BOOL ? GGUF_BOOL : want == HPV_STR ? GGUF_STRING
                  : want == HPV_INT ? GGUF_UINT64 : kv->type;
    switch (type) {
    case GGUF_FLOAT32:
    case GGUF_FLOAT64:
        v->kind = HPV_REAL;
        return ggufGetFloat(f, full, &v->r, err) < 0 ? -1 : 0;
    case GGUF_BOOL: {
        int b;
        if (ggufGetBool(f, full, &b, err) < 0) return -1;
        v->kind = HPV_BOOL;
        v->i = b;
        return 0;
    }
    case GGUF_STRING: {
        const char *str;
        size_t len;
        if (ggufGetString(f, full, &str, &len, err) < 0) return -1;
        char *dst = g->str[g->next++ % 4];
        snprintf(dst, sizeof g->str[0], "%.*s", (int)(len < 255 ? len : 255), str);
        v->kind = HPV_STR;
        v->s = dst;
        v->len = strlen(dst);
        return 0;
    }
    case GGUF_ARRAY: v->kind = HPV_OTHER; return 0;
    default: {
        uint64_t u;
        if (ggufGetUint(f, full, &u, err) < 0) return -1;
        v->kind = HPV_INT;
        v->i = u > INT64_MAX ? INT64_MAX : (int64_t)u;
        v->r = (double)u;
        return 0;
    }
    }
}

static void dimsStr(char *buf, size_t len, int ndim, const int64_t *dims)
{
    size_t o = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (o < len) snprintf(buf + o, len - o, ")");
}

/* The slot's tensor in canonical float32: dequantised, LLaMA's rotary rows
 * back in rotate-half order, the slot's transforms applied; then its mapped
 * bytes are dropped from this process. */
static int widenSlot(const WeightSlot *s, float *dst, Error *err)
{
    const GgufTensor *t = s->src;
    if (s->expert >= 0 && t->ndim == 3) {
        /* one matrix of the layer's stacked experts: its rows, then its bytes dropped */
        int64_t rows = s->shape[0];
        if (ggufRowsToF32(t, s->expert * rows, rows, dst, err)) return -1;
        size_t per = t->nbytes / (size_t)t->dims[2];
        fileMapRelease((const char *)t->data + per * (size_t)s->expert, per);
    } else {
        ggufToF32(t, dst);
        fileMapRelease(t->data, t->nbytes);
    }
    if ((s->flags & SLOT_ROPE) && ckptUnpermuteRope(dst, s->shape[0], s->ndim == 2 ? s->shape[1] : 1, s->head_dim, err))
        return -1;
    return weightsFinish(s, LAYOUT_GGUF, err); /* dst is *s->dst */
}

/* Rows of a [rows, cols] tensor (ggml (cols, rows)): the embedding. */
static int widenRows(const WeightSlot *s, int64_t row, int64_t n, float *dst, Error *err)
{
    return ggufRowsToF32(s->src, row, n, dst, err);
}

static const WeightReader kReader = {widenSlot, widenRows};

/* Whether t's dimensions are want[0..n); trailing 1s do not count, as in
 * llama.cpp's loader (a [1, d] gate may be stored as (d) or (d, 1)). */
static int dimsMatch(const GgufTensor *t, const int64_t *want, int n)
{
    for (int k = 0; k < GGUF_MAX_DIMS; k++)
        if ((k < n ? want[k] : 1) != (k < t->ndim ? t->dims[k] : 1)) return 0;
    return 1;
}

/* The first Mixtral conversions stored each expert as a tensor of its own,
 * blk.N.ffn_gate.E.weight, which llama.cpp still reads: that name for
 * expert e beside the stacked name "blk.N.ffn_gate_exps.weight". */
static const GgufTensor *findSplitExpert(const GgufFile *f, const char *stacked, int e)
{
    const char *sfx = "_exps.weight";
    size_t n = strlen(stacked), k = strlen(sfx);
    if (n <= k || strcmp(stacked + n - k, sfx)) return NULL;
    char name[128];
    snprintf(name, sizeof name, "%.*s.%d.weight", (int)(n - k), stacked, e);
    return ggufFindTensor(f, name);
}

/* Finds and checks every slot's tensor under its llama.cpp name and points
 * the slot at it. Canonical [out, in] is ggml (in, out); a routed expert's
 * matrix is one of n_experts stacked along a third dimension (*_exps).
 * dtype gets the type holding most elements. */
static int findSlots(const GgufFile *f, WeightSet *ws, int n_experts, char *dtype, Error *err)
{
    int64_t by_type[64] = {0}; /* elements by ggml type */
    const char *path = ggufPath(f);
    for (int i = 0; i < ws->count; i++) {
        WeightSlot *s = &ws->slots[i];
        if (!s->gguf[0]) return errorSet(err, EXIT_RUNTIME, "%s: no GGUF name for tensor '%s'", path, s->name);
        const GgufTensor *t = ggufFindTensor(f, s->gguf);
        int stacked = s->expert >= 0;
        if (!t && stacked && (t = findSplitExpert(f, s->gguf, s->expert))) stacked = 0;
        if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor '%s' is missing", path, s->gguf);
        int64_t want[GGUF_MAX_DIMS] = {s->ndim == 2 ? s->shape[1] : s->shape[0], s->shape[0], 0, 0};
        int n = s->ndim;
        if (stacked) want[n++] = n_experts;
        if (!dimsMatch(t, want, n)) {
            char got[128], exp[80];
            dimsStr(got, sizeof got, t->ndim, t->dims);
            dimsStr(exp, sizeof exp, n, want);
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has dimensions %s, expected %s", path, t->name, got, exp);
        }
        /* a stacked tensor is counted once, with its first expert */
        if (t->type < 64 && (!stacked || s->expert == 0)) by_type[t->type] += ggufElements(t);
        s->src = t;
        s->rd = &kReader;
    }
    int best = 0;
    for (int k = 1; k < 64; k++)
        if (by_type[k] > by_type[best]) best = k;
    snprintf(dtype, 8, "%s", ggmlTypeName((uint32_t)best));
    return 0;
}

/* llama.cpp keeps Llama 3's rope scaling out of the metadata: its converter
 * bakes it into rope_freqs.weight, one divisor per rotary frequency, which
 * its runtime applies to the (global) rotary positions of any architecture. */
static int readRopeFreqs(const GgufFile *f, RopeSpec *r, Error *err)
{
    const GgufTensor *t = ggufFindTensor(f, "rope_freqs.weight");
    if (!t) return 0;
    const char *path = ggufPath(f);
    int half = r->dims / 2;
    if (r->type == ROPE_NONE)
        return errorSet(err, EXIT_INPUT, "%s: tensor 'rope_freqs.weight' in a model without rotary positions", path);
    if (t->ndim != 1 || t->dims[0] != half || half > ROPE_MAX_FREQ_DIV)
        return errorSet(err, EXIT_INPUT, "%s: tensor 'rope_freqs.weight' must hold %d values (half the %d rotary dimensions)",
                        path, half, r->dims);
    ggufToF32(t, r->freq_div);
    for (int i = 0; i < half; i++)
        if (!isfinite(r->freq_div[i]) || !(r->freq_div[i] > 0))
            return errorSet(err, EXIT_INPUT, "%s: tensor 'rope_freqs.weight' holds %g at %d (divisors must be positive)",
                            path, r->freq_div[i], i);
    r->n_freq_div = half;
    return 0;
}

static void fileFree(void *f) { ggufClose(f); }

/* ---- the embedded tokenizer ---- */

typedef struct TokParts {
    const char **tokens;
    uint32_t *lens;
    int32_t *types;
    float *scores;
    const char **merge_raw;
    uint32_t *merge_lens;
    char **merges;      /* NUL-terminated copies of merge_raw */
    char *merge_pool;
    TokenizerAddedToken *added;
    char *added_pool;
} TokParts;

static void tokPartsFree(TokParts *p)
{
    free(p->tokens);
    free(p->lens);
    free(p->types);
    free(p->scores);
    free(p->merge_raw);
    free(p->merge_lens);
    free(p->merges);
    free(p->merge_pool);
    free(p->added);
    free(p->added_pool);
}

/* An optional token id key; -1 when absent. */
static int tokenId(const GgufFile *f, const char *key, int32_t n, int32_t dflt, int32_t *out, Error *err)
{
    uint64_t v;
    int rc = ggufGetUint(f, key, &v, err);
    if (rc < 0) return -1;
    if (rc == 1) {
        *out = dflt < n ? dflt : -1;
        return 0;
    }
    if (v >= (uint64_t)n)
        return errorSet(err, EXIT_INPUT, "%s: %s %llu is outside the %d tokens", ggufPath(f), key,
                        (unsigned long long)v, n);
    *out = (int32_t)v;
    return 0;
}

static int strIs(const char *s, size_t len, const char *lit) { return len == strlen(lit) && !memcmp(s, lit, len); }

static int buildTokenizer(const GgufFile *f, int vocab, Tokenizer **out, Error *err)
{
    const char *path = ggufPath(f), *model;
    size_t mlen;
    *out = NULL;
    int rc = ggufGetString(f, "tokenizer.ggml.model", &model, &mlen, err);
    if (rc) return rc < 0 ? -1 : 0; /* absent: no embedded tokenizer */
    if (strIs(model, mlen, "no") || strIs(model, mlen, "none")) return 0;
    int byte_bpe = strIs(model, mlen, "gpt2");
    if (!byte_bpe && !strIs(model, mlen, "llama"))
        return errorSet(err, EXIT_INPUT,
                        "%s: tokenizer.ggml.model '%.*s' is not supported (gpt2, llama); give the model entry a 'tokenizer:'",
                        path, (int)(mlen > 40 ? 40 : mlen), model);
    TokParts p = {0};
    uint64_t n = 0, nt = 0, ns = 0, nm = 0;
    rc = -1;
    int r = ggufGetStrings(f, "tokenizer.ggml.tokens", &p.tokens, &p.lens, &n, err);
    if (r < 0) goto done;
    if (r == 1) {
        errorSet(err, EXIT_INPUT, "%s: key 'tokenizer.ggml.tokens' is missing", path);
        goto done;
    }
    if (n == 0 || n > (uint64_t)vocab) {
        errorSet(err, EXIT_INPUT, "%s: tokenizer.ggml.tokens has %llu entries for a vocabulary of %d", path,
                 (unsigned long long)n, vocab);
        goto done;
    }
    if ((r = ggufGetI32Array(f, "tokenizer.ggml.token_type", &p.types, &nt, err)) < 0) goto done;
    if (r == 0 && nt != n) {
        errorSet(err, EXIT_INPUT, "%s: tokenizer.ggml.token_type has %llu entries, tokens %llu", path,
                 (unsigned long long)nt, (unsigned long long)n);
        goto done;
    }
    if ((r = ggufGetF32Array(f, "tokenizer.ggml.scores", &p.scores, &ns, err)) < 0) goto done;
    if (r == 0 && ns != n) {
        errorSet(err, EXIT_INPUT, "%s: tokenizer.ggml.scores has %llu entries, tokens %llu", path,
                 (unsigned long long)ns, (unsigned long long)n);
        goto done;
    }
    if ((r = ggufGetStrings(f, "tokenizer.ggml.merges", &p.merge_raw, &p.merge_lens, &nm, err)) < 0) goto done;
    if (r == 1 && byte_bpe) {
        errorSet(err, EXIT_INPUT, "%s: key 'tokenizer.ggml.merges' is missing (a gpt2 tokenizer needs it)", path);
        goto done;
    }
    if (nm > INT32_MAX) {
        errorSet(err, EXIT_INPUT, "%s: too many merges", path);
        goto done;
    }
    if (nm) {
        size_t total = 0;
        for (uint64_t i = 0; i < nm; i++) total += p.merge_lens[i] + 1;
        p.merges = malloc(nm * sizeof *p.merges);
        p.merge_pool = malloc(total);
        if (!p.merges || !p.merge_pool) {
            errorNoMem(err, path);
            goto done;
        }
        char *w = p.merge_pool;
        for (uint64_t i = 0; i < nm; i++) {
            if (memchr(p.merge_raw[i], 0, p.merge_lens[i])) {
                errorSet(err, EXIT_INPUT, "%s: merge %llu contains a NUL byte", path, (unsigned long long)i);
                goto done;
            }
            p.merges[i] = w;
            memcpy(w, p.merge_raw[i], p.merge_lens[i]);
            w[p.merge_lens[i]] = 0;
            w += p.merge_lens[i] + 1;
        }
    }

    TokenizerSpec spec;
    tokenizerSpecInit(&spec, byte_bpe ? TOKENIZER_BYTE_BPE : TOKENIZER_SP_BPE, path, "gguf");
    spec.n_tokens = (int32_t)n;
    spec.tokens = p.tokens;
    spec.token_lens = p.lens;
    spec.types = p.types;
    spec.n_merges = (int32_t)nm;
    spec.merges = (const char *const *)p.merges;
    spec.merge_order = TOKENIZER_MERGE_RANK;
    if (byte_bpe) {
        const char *pre;
        size_t plen;
        if ((r = ggufGetString(f, "tokenizer.ggml.pre", &pre, &plen, err)) < 0) goto done;
        if (r == 0 && !strIs(pre, plen, "default") && !strIs(pre, plen, "gpt-2") && !strIs(pre, plen, "gpt2")) {
            errorSet(err, EXIT_INPUT, "%s: tokenizer.ggml.pre '%.*s' is not supported (gpt-2)", path,
                     (int)(plen > 40 ? 40 : plen), pre);
            goto done;
        }
        if (tokenId(f, "tokenizer.ggml.bos_token_id", (int32_t)n, -1, &spec.bos, err) ||
            tokenId(f, "tokenizer.ggml.eos_token_id", (int32_t)n, -1, &spec.eos, err))
            goto done;
    } else {
        /* llama.cpp's SentencePiece defaults: unk 0, bos 1, eos 2, a space prefix. */
        int prefix = 1;
        if (ggufGetBool(f, "tokenizer.ggml.add_space_prefix", &prefix, err) < 0 ||
            tokenId(f, "tokenizer.ggml.unknown_token_id", (int32_t)n, 0, &spec.unk, err) ||
            tokenId(f, "tokenizer.ggml.bos_token_id", (int32_t)n, 1, &spec.bos, err) ||
            tokenId(f, "tokenizer.ggml.eos_token_id", (int32_t)n, 2, &spec.eos, err))
            goto done;
        spec.prefix = prefix ? "\xe2\x96\x81" : NULL;
        spec.escape_spaces = true;
        spec.byte_fallback = TOKENIZER_BYTES_BY_NAME;
        spec.fuse_unk = true;
        if (!nm) {
            /* No merges: adjacent pieces merge by score, as SentencePiece and
             * llama.cpp do; a missing score list means equal scores. */
            spec.merge_order = TOKENIZER_MERGE_SCORE;
            if (!p.scores && !(p.scores = calloc(n, sizeof *p.scores))) {
                errorNoMem(err, path);
                goto done;
            }
        }
        spec.scores = p.scores;
    }
    /* Control, user-defined and unknown tokens are matched in the text as
     * wholes, as llama.cpp's special-token parsing and Hugging Face's added
     * tokens do. */
    if (p.types) {
        size_t n_added = 0, total = 0;
        for (uint64_t i = 0; i < n; i++)
            if ((p.types[i] == TOKEN_TYPE_CONTROL || p.types[i] == TOKEN_TYPE_USER_DEFINED ||
                 p.types[i] == TOKEN_TYPE_UNKNOWN) && p.lens[i] && !memchr(p.tokens[i], 0, p.lens[i])) {
                n_added++;
                total += p.lens[i] + 1;
            }
        if (n_added) {
            p.added = calloc(n_added, sizeof *p.added);
            p.added_pool = malloc(total);
            if (!p.added || !p.added_pool) {
                errorNoMem(err, path);
                goto done;
            }
            char *w = p.added_pool;
            size_t k = 0;
            for (uint64_t i = 0; i < n; i++)
                if ((p.types[i] == TOKEN_TYPE_CONTROL || p.types[i] == TOKEN_TYPE_USER_DEFINED ||
                     p.types[i] == TOKEN_TYPE_UNKNOWN) && p.lens[i] && !memchr(p.tokens[i], 0, p.lens[i])) {
                    memcpy(w, p.tokens[i], p.lens[i]);
                    w[p.lens[i]] = 0;
                    p.added[k].id = (int32_t)i;
                    p.added[k].content = w;
                    w += p.lens[i] + 1;
                    k++;
                }
            spec.n_added = (int32_t)n_added;
            spec.added = p.added;
        }
    }
    rc = tokenizerBuild(&spec, out, err);
done:
    tokPartsFree(&p);
    return rc;
}

/* ---- loading ---- */

int ggufModelLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err)
{
    memset(out, 0, sizeof *out);
    GgufFile *f;
    if ((opt->info_only && opt->header_only ? ggufOpenHeader : ggufOpen)(path, &f, err)) return -1;
    int rc = -1;
    const char *arch;
    size_t alen;
    int r = ggufGetString(f, "general.architecture", &arch, &alen, err);
    if (r) {
        if (r == 1) errorSet(err, EXIT_INPUT, "%s: key 'general.architecture' is missing", path);
        goto done;
    }
    char arch_name[64];
    snprintf(arch_name, sizeof arch_name, "%.*s", (int)(alen < sizeof arch_name ? alen : 0), arch);
    GgufSrc gs = {.f = f};
    HpSource src = {.path = path, .gguf = 1, .arch = arch_name, .find = ggufFind, .impl = &gs};
    const Family *family = memchr(arch, 0, alen) ? NULL : familyByGguf(arch_name, &src);
    if (!family) {
        char list[256];
        errorSet(err, EXIT_INPUT, "%s: architecture '%.*s' is not supported (%s)", path, (int)(alen > 40 ? 40 : alen),
                 arch, familyList(list, sizeof list, 1));
        goto done;
    }
    if (opt->family && strcmp(opt->family, family->name)) {
        errorSet(err, EXIT_INPUT, "%s: family '%s' was asked for, but the file holds a '%s' model (general.architecture '%s')",
                 path, opt->family, family->name, arch_name);
        goto done;
    }
    if (decoderNew(family, &src, &out->dec, err) || readRopeFreqs(f, &out->dec->cfg.rope, err)) goto done;
    ModelInfo *info = &out->info;
    snprintf(info->format, sizeof info->format, "gguf");
    WeightSet *ws = &out->dec->ws;
    /* Every tensor is checked before the weights are allocated, so a lying
     * header cannot ask for more memory than its file backs. */
    if (findSlots(f, ws, out->dec->cfg.n_experts, info->dtype, err)) goto done;
    if (!opt->info_only && opt->stream_weights) {
        /* the file stays mapped: layers are widened from it when they run */
        if (decoderStream(out->dec, err)) goto done;
    } else if (!opt->info_only && (weightsAlloc(ws, err) || weightsWidenAll(ws, err))) {
        goto done;
    }
    decoderFinishLoad(out->dec);
    decoderDescribe(out->dec, info);
    ggufTypeMix(f, info->type_mix, sizeof info->type_mix);
    /* A tokenizer named by the model entry replaces the embedded one (model.c
     * loads it), so a broken embedded one does not matter then. */
    if (!opt->tokenizer && buildTokenizer(f, info->vocab_size, &out->tok, err)) goto done;
    if (!opt->info_only && opt->stream_weights) {
        out->keep = f;
        out->keep_free = fileFree;
        f = NULL;
    }
    rc = 0;
done:
    if (rc) {
        decoderFree(out->dec);
        out->dec = NULL;
    }
    ggufClose(f);
    return rc;
}
