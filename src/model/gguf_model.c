/* GGUF checkpoints: the llama and gpt2 architectures as llama.cpp's converter
 * writes them. Hyperparameters come from ARCH.* keys, the vocabulary size from
 * token_embd.weight, tensors are found under llama.cpp's names and turned into
 * the family's canonical float32 layout (weights.h): dimensions are innermost
 * first, so a ggml [in, out] matrix is the row-major [out, in] the families
 * use; LLaMA's attn_q and attn_k rows are back in rotate-half order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "model/ckpt.h"
#include "util/fileio.h"
#include "model/formats.h"
#include "model/gpt2.h"
#include "model/llama.h"
#include "model/tokenizer_build.h"

int ggufModelDetect(const char *path)
{
    return ckptHasMagic(path, "GGUF", 4) || (ckptHasSuffix(path, ".gguf") && fileIsRegular(path));
}

/* ---- hyperparameters ---- */

static int kvInt(const GgufFile *f, const char *arch, const char *name, int dflt, int *out, Error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    uint64_t v;
    int rc = ggufGetUint(f, key, &v, err);
    if (rc < 0) return -1;
    if (rc == 1) {
        if (dflt < 0) return errorSet(err, EXIT_INPUT, "%s: key '%s' is missing", ggufPath(f), key);
        *out = dflt;
        return 0;
    }
    if (v == 0 || v > (1u << 30))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' = %llu is out of range", ggufPath(f), key,
                        (unsigned long long)v);
    *out = (int)v;
    return 0;
}

static int kvReal(const GgufFile *f, const char *arch, const char *name, double dflt, double *out, Error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    int rc = ggufGetFloat(f, key, out, err);
    if (rc < 0) return -1;
    if (rc == 1) {
        if (dflt < 0) return errorSet(err, EXIT_INPUT, "%s: key '%s' is missing", ggufPath(f), key);
        *out = dflt;
        return 0;
    }
    if (!(*out > 0) || !isfinite(*out))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' = %g must be a positive number", ggufPath(f), key, *out);
    return 0;
}

/* Rows of token_embd.weight (its outer dimension). */
static int vocabRows(const GgufFile *f, int *vocab, Error *err)
{
    const GgufTensor *t = ggufFindTensor(f, "token_embd.weight");
    if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor 'token_embd.weight' is missing", ggufPath(f));
    if (t->ndim != 2 || t->dims[1] > (1 << 30))
        return errorSet(err, EXIT_INPUT, "%s: tensor 'token_embd.weight' is not a [vocab, d] matrix", ggufPath(f));
    *vocab = (int)t->dims[1];
    return 0;
}

static int llamaHparams(const GgufFile *f, LlamaConfig *c, Error *err)
{
    const char *a = "llama", *path = ggufPath(f);
    memset(c, 0, sizeof *c);
    double eps;
    if (kvInt(f, a, "embedding_length", -1, &c->d, err) || kvInt(f, a, "block_count", -1, &c->n_layers, err) ||
        kvInt(f, a, "feed_forward_length", -1, &c->ffn, err) ||
        kvInt(f, a, "attention.head_count", -1, &c->n_heads, err) ||
        kvInt(f, a, "attention.head_count_kv", c->n_heads, &c->n_kv_heads, err) ||
        kvInt(f, a, "context_length", -1, &c->context, err) ||
        kvReal(f, a, "attention.layer_norm_rms_epsilon", -1, &eps, err) ||
        kvReal(f, a, "rope.freq_base", 10000.0, &c->rope_theta, err) || vocabRows(f, &c->vocab, err))
        return -1;
    c->eps = (float)eps;
    if (c->d % c->n_heads && !ggufFindKv(f, "llama.attention.key_length"))
        return errorSet(err, EXIT_INPUT, "%s: llama.embedding_length %d is not divisible by llama.attention.head_count %d",
                        path, c->d, c->n_heads);
    if (c->n_heads % c->n_kv_heads)
        return errorSet(err, EXIT_INPUT, "%s: llama.attention.head_count %d is not a multiple of head_count_kv %d", path,
                        c->n_heads, c->n_kv_heads);
    int vlen, rot, vocab_key;
    if (kvInt(f, a, "attention.key_length", c->d / c->n_heads ? c->d / c->n_heads : 1, &c->head_dim, err) ||
        kvInt(f, a, "attention.value_length", c->head_dim, &vlen, err) ||
        kvInt(f, a, "rope.dimension_count", c->head_dim, &rot, err) ||
        kvInt(f, a, "vocab_size", c->vocab, &vocab_key, err))
        return -1;
    if (vlen != c->head_dim)
        return errorSet(err, EXIT_INPUT, "%s: llama.attention.value_length %d differs from key_length %d (not supported)",
                        path, vlen, c->head_dim);
    if (rot != c->head_dim)
        return errorSet(err, EXIT_INPUT, "%s: llama.rope.dimension_count %d differs from the head size %d (partial rotary is not supported)",
                        path, rot, c->head_dim);
    if (vocab_key != c->vocab)
        return errorSet(err, EXIT_INPUT, "%s: llama.vocab_size %d does not match token_embd.weight's %d rows", path,
                        vocab_key, c->vocab);
    const char *s;
    size_t len;
    int rc = ggufGetString(f, "llama.rope.scaling.type", &s, &len, err);
    if (rc < 0) return -1;
    if (rc == 0 && !(len == 4 && !memcmp(s, "none", 4)))
        return errorSet(err, EXIT_INPUT, "%s: llama.rope.scaling.type '%.*s' is not supported", path, (int)len, s);
    double scale = 1;
    if (ggufGetFloat(f, "llama.rope.scale_linear", &scale, err) < 0) return -1;
    if (scale != 1) return errorSet(err, EXIT_INPUT, "%s: llama.rope.scale_linear %g is not supported", path, scale);
    c->tied = ggufFindTensor(f, "output.weight") == NULL;
    c->qkv_bias = ggufFindTensor(f, "blk.0.attn_q.bias") != NULL;
    c->o_bias = ggufFindTensor(f, "blk.0.attn_output.bias") != NULL;
    return 0;
}

static int gpt2Hparams(const GgufFile *f, Gpt2Config *c, Error *err)
{
    const char *a = "gpt2";
    memset(c, 0, sizeof *c);
    double eps;
    if (kvInt(f, a, "embedding_length", -1, &c->d, err) || kvInt(f, a, "block_count", -1, &c->n_layers, err) ||
        kvInt(f, a, "attention.head_count", -1, &c->n_heads, err) ||
        kvInt(f, a, "context_length", -1, &c->context, err) ||
        kvInt(f, a, "feed_forward_length", 4 * c->d, &c->ffn, err) ||
        kvReal(f, a, "attention.layer_norm_epsilon", 1e-5, &eps, err) || vocabRows(f, &c->vocab, err))
        return -1;
    c->eps = (float)eps;
    c->act = GPT2_GELU_TANH; /* what llama.cpp runs for gpt2 */
    c->scale_attn = 1;
    return 0;
}

/* ---- tensor names: Hugging Face slot name -> llama.cpp name ---- */

typedef struct NameMap {
    const char *hf, *gguf;
} NameMap;

static const NameMap kGpt2Layer[] = {
    {"ln_1.weight", "attn_norm.weight"},       {"ln_1.bias", "attn_norm.bias"},
    {"attn.c_attn.weight", "attn_qkv.weight"}, {"attn.c_attn.bias", "attn_qkv.bias"},
    {"attn.c_proj.weight", "attn_output.weight"}, {"attn.c_proj.bias", "attn_output.bias"},
    {"ln_2.weight", "ffn_norm.weight"},        {"ln_2.bias", "ffn_norm.bias"},
    {"mlp.c_fc.weight", "ffn_up.weight"},      {"mlp.c_fc.bias", "ffn_up.bias"},
    {"mlp.c_proj.weight", "ffn_down.weight"},  {"mlp.c_proj.bias", "ffn_down.bias"},
    {NULL, NULL},
};
static const NameMap kGpt2Global[] = {
    {"wte.weight", "token_embd.weight"},   {"wpe.weight", "position_embd.weight"},
    {"ln_f.weight", "output_norm.weight"}, {"ln_f.bias", "output_norm.bias"},
    {NULL, NULL},
};
static const NameMap kLlamaLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},   {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"}, {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {NULL, NULL},
};
static const NameMap kLlamaGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
    {NULL, NULL},
};

static const char *lookupName(const NameMap *m, const char *hf)
{
    for (; m->hf; m++)
        if (!strcmp(m->hf, hf)) return m->gguf;
    return NULL;
}

/* 0 with the GGUF name in out, -1 when the slot has no GGUF counterpart (a bug). */
static int mapName(int is_llama, const char *hf, char *out, size_t len)
{
    const char *layer_prefix = is_llama ? "model.layers.%d.%n" : "h.%d.%n";
    int layer = -1, used = 0;
    if (sscanf(hf, layer_prefix, &layer, &used) == 1 && used > 0) {
        const char *g = lookupName(is_llama ? kLlamaLayer : kGpt2Layer, hf + used);
        if (!g) return -1;
        snprintf(out, len, "blk.%d.%s", layer, g);
        return 0;
    }
    const char *g = lookupName(is_llama ? kLlamaGlobal : kGpt2Global, hf);
    if (!g) return -1;
    snprintf(out, len, "%s", g);
    return 0;
}

static void dimsStr(char *buf, size_t len, int ndim, const int64_t *dims)
{
    size_t o = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (o < len) snprintf(buf + o, len - o, ")");
}

/* Finds, checks and (unless info_only) converts every slot's tensor. */
static int fillSlots(const GgufFile *f, WeightSet *ws, int is_llama, int head_dim, int info_only, char *dtype,
                     Error *err)
{
    int64_t by_type[4] = {0}; /* F32, F16, BF16, Q8_0 */
    const char *path = ggufPath(f);
    for (int i = 0; i < ws->count; i++) {
        const WeightSlot *s = &ws->slots[i];
        char name[GGUF_MAX_NAME + 32];
        if (mapName(is_llama, s->name, name, sizeof name))
            return errorSet(err, EXIT_RUNTIME, "%s: no GGUF name for tensor '%s'", path, s->name);
        const GgufTensor *t = ggufFindTensor(f, name);
        if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor '%s' is missing", path, name);
        /* Innermost first: canonical [out, in] is ggml (in, out). */
        int64_t want[2] = {s->ndim == 2 ? s->shape[1] : s->shape[0], s->shape[0]};
        int ok = t->ndim == s->ndim;
        for (int k = 0; ok && k < s->ndim; k++) ok = t->dims[k] == want[k];
        if (!ok) {
            char got[128], exp[64];
            dimsStr(got, sizeof got, t->ndim, t->dims);
            dimsStr(exp, sizeof exp, s->ndim, want);
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has dimensions %s, expected %s", path, name, got, exp);
        }
        by_type[t->type == GGML_TYPE_F32 ? 0 : t->type == GGML_TYPE_F16 ? 1 : t->type == GGML_TYPE_BF16 ? 2 : 3] +=
            ggufElements(t);
        if (info_only || !s->dst) continue;
        ggufToF32(t, *s->dst);
        ckptRelease(t->data, t->nbytes);
        if ((s->flags & SLOT_ROPE) &&
            ckptUnpermuteRope(*s->dst, s->shape[0], s->ndim == 2 ? s->shape[1] : 1, head_dim, err))
            return -1;
    }
    static const char *const names[] = {"F32", "F16", "BF16", "Q8_0"};
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (by_type[k] > by_type[best]) best = k;
    snprintf(dtype, 8, "%s", names[best]);
    return 0;
}

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
    if (ggufOpen(path, &f, err)) return -1;
    int rc = -1;
    const char *arch;
    size_t alen;
    int r = ggufGetString(f, "general.architecture", &arch, &alen, err);
    if (r) {
        if (r == 1) errorSet(err, EXIT_INPUT, "%s: key 'general.architecture' is missing", path);
        goto done;
    }
    int is_llama = strIs(arch, alen, "llama"), head_dim = 0;
    if (!is_llama && !strIs(arch, alen, "gpt2")) {
        errorSet(err, EXIT_INPUT, "%s: architecture '%.*s' is not supported (llama, gpt2)", path,
                 (int)(alen > 40 ? 40 : alen), arch);
        goto done;
    }
    const char *family = is_llama ? "llama" : "gpt2";
    if (opt->family && strcmp(opt->family, family)) {
        errorSet(err, EXIT_INPUT, "%s: family '%s' was asked for, but general.architecture is '%s'", path,
                 opt->family, family);
        goto done;
    }
    ModelInfo *info = &out->info;
    if (is_llama) {
        LlamaConfig c;
        Llama *m;
        if (llamaHparams(f, &c, err) || llamaNew(&c, path, &m, err)) goto done;
        out->cls = &llamaClass;
        out->impl = m;
        head_dim = c.head_dim;
        *info = (ModelInfo){.d_model = c.d, .n_layers = c.n_layers, .n_heads = c.n_heads, .n_kv_heads = c.n_kv_heads,
                            .ffn_width = c.ffn, .vocab_size = c.vocab, .context = c.context};
    } else {
        Gpt2Config c;
        Gpt2 *m;
        if (gpt2Hparams(f, &c, err) || gpt2New(&c, path, &m, err)) goto done;
        out->cls = &gpt2Class;
        out->impl = m;
        *info = (ModelInfo){.d_model = c.d, .n_layers = c.n_layers, .n_heads = c.n_heads, .n_kv_heads = c.n_heads,
                            .ffn_width = c.ffn, .vocab_size = c.vocab, .context = c.context};
    }
    snprintf(info->format, sizeof info->format, "gguf");
    snprintf(info->family, sizeof info->family, "%s", family);
    WeightSet *ws = out->cls->weights(out->impl);
    /* Every tensor is checked before the weights are allocated, so a lying
     * header cannot ask for more memory than its file backs. */
    if (fillSlots(f, ws, is_llama, head_dim, 1, info->dtype, err)) goto done;
    if (!opt->info_only && (weightsAlloc(ws, err) || fillSlots(f, ws, is_llama, head_dim, 0, info->dtype, err)))
        goto done;
    info->n_params = weightsParams(ws);
    /* A tokenizer named by the model entry replaces the embedded one (model.c
     * loads it), so a broken embedded one does not matter then. */
    if (!opt->tokenizer && buildTokenizer(f, info->vocab_size, &out->tok, err)) goto done;
    rc = 0;
done:
    if (rc && out->impl) {
        out->cls->free(out->impl);
        out->impl = NULL;
    }
    ggufClose(f);
    return rc;
}
