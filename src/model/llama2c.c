/* llama2.c checkpoints (run.c / export.py).
 *
 * Version 0: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len), vocab_size negative when the classifier is not shared
 * with the embedding; then float32 tensors: embedding, per-layer stacks of
 * attention norms, wq, wk, wv, wo, ffn norms, w1 (gate), w2 (down), w3 (up),
 * the final norm, the rotary cos and sin tables [seq_len, head_size/2] and,
 * when unshared, the classifier.
 *
 * Version 1: uint32 magic "ak42", int32 version 1, the seven ints, a byte
 * saying whether the classifier is shared, zeros up to byte 256; then the
 * norms first (attention, ffn, final), the embedding, wq, wk, wv, wo, w1, w2,
 * w3 and the unshared classifier.
 *
 * Every matrix is [out, in]. wq and wk carry llama2.c's interleaved rotary
 * order, undone here. RMSNorm epsilon 1e-5 and rotary base 10000 are fixed by
 * run.c. The file size must be exactly what the header implies. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ckpt.h"
#include "util/fileio.h"
#include "model/formats.h"
#include "model/families.h"

enum { V1_MAGIC = 0x616b3432, V1_HEADER = 256, V0_HEADER = 28, MAX_DIM = 1 << 24 };

int llama2cDetect(const char *path) { return ckptHasSuffix(path, ".bin") && fileIsRegular(path); }

typedef struct L2Header {
    int version;
    int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    int shared;
    size_t data_off;
} L2Header;

static int readHeader(const char *path, const CkptMap *m, L2Header *h, Error *err)
{
    memset(h, 0, sizeof *h);
    if (m->size < V0_HEADER)
        return errorSet(err, EXIT_INPUT, "%s: too short for a llama2.c checkpoint (%zu bytes)", path, m->size);
    uint32_t magic;
    int32_t cfg[7];
    memcpy(&magic, m->data, 4);
    if (magic == V1_MAGIC) {
        int32_t version;
        if (m->size < V1_HEADER)
            return errorSet(err, EXIT_INPUT, "%s: truncated: a llama2.c version 1 header needs %d bytes, the file has %zu",
                            path, V1_HEADER, m->size);
        memcpy(&version, m->data + 4, 4);
        if (version == 2)
            return errorSet(err, EXIT_INPUT, "%s: llama2.c version 2 (int8-quantised) checkpoints are not supported (0, 1)",
                            path);
        if (version != 1)
            return errorSet(err, EXIT_INPUT, "%s: llama2.c checkpoint version %d is not supported (0, 1)", path, version);
        memcpy(cfg, m->data + 8, sizeof cfg);
        if (m->data[36] > 1)
            return errorSet(err, EXIT_INPUT, "%s: the shared-classifier flag is %u, not 0 or 1", path, m->data[36]);
        h->version = 1;
        h->shared = m->data[36];
        h->data_off = V1_HEADER;
        if (cfg[5] <= 0)
            return errorSet(err, EXIT_INPUT, "%s: vocab_size %d must be positive in a version 1 header", path, cfg[5]);
    } else {
        memcpy(cfg, m->data, sizeof cfg);
        h->shared = cfg[5] > 0;
        if (cfg[5] < 0 && cfg[5] != INT32_MIN) cfg[5] = -cfg[5];
        h->data_off = V0_HEADER;
    }
    h->dim = cfg[0];
    h->hidden = cfg[1];
    h->n_layers = cfg[2];
    h->n_heads = cfg[3];
    h->n_kv_heads = cfg[4];
    h->vocab = cfg[5];
    h->seq_len = cfg[6];
    for (int i = 0; i < 7; i++)
        if (cfg[i] <= 0 || cfg[i] > MAX_DIM)
            return errorSet(err, EXIT_INPUT,
                            "%s: not a llama2.c checkpoint: header value %d (%s) is out of range", path, cfg[i],
                            (const char *[]){"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                                             "seq_len"}[i]);
    if (h->dim % h->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: dim %d is not divisible by n_heads %d", path, h->dim, h->n_heads);
    if (h->n_heads % h->n_kv_heads)
        return errorSet(err, EXIT_INPUT, "%s: n_heads %d is not a multiple of n_kv_heads %d", path, h->n_heads,
                        h->n_kv_heads);
    if ((h->dim / h->n_heads) % 2)
        return errorSet(err, EXIT_INPUT, "%s: head size %d is odd (rotary needs pairs)", path, h->dim / h->n_heads);
    return 0;
}

/* Floats the header implies; -1 on overflow. */
static int64_t expectedFloats(const L2Header *h)
{
    int64_t d = h->dim, hd = h->hidden, L = h->n_layers, V = h->vocab, hs = h->dim / h->n_heads;
    int64_t kvd = (int64_t)h->n_kv_heads * hs, n = 0;
    if (ckptMulAdd(&n, V, d, 0) ||                    /* embedding */
        ckptMulAdd(&n, L, d, 2) ||                    /* attention and ffn norms */
        ckptMulAdd(&n, L, d, d) || ckptMulAdd(&n, L, kvd, d) || ckptMulAdd(&n, L, kvd, d) || /* wq wk wv */
        ckptMulAdd(&n, L, d, d) ||                    /* wo */
        ckptMulAdd(&n, L, hd, d) || ckptMulAdd(&n, L, hd, d) || ckptMulAdd(&n, L, hd, d) || /* w1 w2 w3 */
        ckptMulAdd(&n, d, 1, 0) ||                    /* final norm */
        (h->version == 0 && ckptMulAdd(&n, h->seq_len, hs, 0)) || /* cos and sin, half a head each */
        (!h->shared && ckptMulAdd(&n, V, d, 0)))
        return -1;
    return n;
}

/* A cursor over the float32 data. */
typedef struct Cur {
    const unsigned char *p;
} Cur;

static const unsigned char *take(Cur *c, int64_t floats)
{
    const unsigned char *p = c->p;
    c->p += floats * 4;
    return p;
}

/* Copies one tensor of each layer from a stack [n_layers, per]. */
static void copyStack(Cur *c, Decoder *m, LayerRole role, int64_t per)
{
    const unsigned char *src = take(c, per * m->cfg.n_layers);
    for (int l = 0; l < m->cfg.n_layers; l++)
        memcpy(m->layers[l].w[role], src + (size_t)l * (size_t)per * 4, (size_t)per * 4);
    fileMapRelease(src, (size_t)(per * m->cfg.n_layers) * 4);
}

static void copyOne(Cur *c, float *dst, int64_t n)
{
    const unsigned char *src = take(c, n);
    memcpy(dst, src, (size_t)n * 4);
    fileMapRelease(src, (size_t)n * 4);
}

static int fill(const L2Header *h, const CkptMap *map, Decoder *m, Error *err)
{
    int64_t d = h->dim, hd = h->hidden, V = h->vocab, hs = h->dim / h->n_heads, kvd = (int64_t)h->n_kv_heads * hs;
    Cur c = {map->data + h->data_off};
    if (h->version == 0) {
        copyOne(&c, m->g[G_EMBED], V * d);
        copyStack(&c, m, L_ATTN_NORM, d);
    } else {
        copyStack(&c, m, L_ATTN_NORM, d);
        copyStack(&c, m, L_FFN_NORM, d);
        copyOne(&c, m->g[G_OUT_NORM], d);
        copyOne(&c, m->g[G_EMBED], V * d);
    }
    copyStack(&c, m, L_WQ, d * d);
    copyStack(&c, m, L_WK, kvd * d);
    copyStack(&c, m, L_WV, kvd * d);
    copyStack(&c, m, L_WO, d * d);
    if (h->version == 0) copyStack(&c, m, L_FFN_NORM, d);
    copyStack(&c, m, L_W_GATE, hd * d);
    copyStack(&c, m, L_W_DOWN, d * hd);
    copyStack(&c, m, L_W_UP, hd * d);
    if (h->version == 0) copyOne(&c, m->g[G_OUT_NORM], d);
    for (int l = 0; l < h->n_layers; l++)
        if (ckptUnpermuteRope(m->layers[l].w[L_WQ], d, d, (int)hs, err) ||
            ckptUnpermuteRope(m->layers[l].w[L_WK], kvd, d, (int)hs, err))
            return -1;
    return 0;
}

int llama2cLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err)
{
    memset(out, 0, sizeof *out);
    if (opt->family && strcmp(opt->family, "llama"))
        return errorSet(err, EXIT_INPUT, "%s: a llama2.c checkpoint is a llama model, not '%s'", path, opt->family);
    CkptMap map;
    if (ckptMapOpen(path, &map, err)) return -1;
    L2Header h;
    Decoder *m = NULL;
    int rc = -1;
    if (readHeader(path, &map, &h, err)) goto done;
    int64_t floats = expectedFloats(&h);
    if (floats < 0 || floats > (int64_t)(SIZE_MAX / 8) || h.data_off + (size_t)floats * 4 != map.size) {
        errorSet(err, EXIT_INPUT,
                 "%s: the file has %zu bytes, but its version %d header (dim %d, hidden_dim %d, n_layers %d, "
                 "n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d, %s classifier) needs %lld",
                 path, map.size, h.version, h.dim, h.hidden, h.n_layers, h.n_heads, h.n_kv_heads, h.vocab, h.seq_len,
                 h.shared ? "shared" : "separate",
                 floats < 0 ? -1LL : (long long)(h.data_off + (size_t)floats * 4));
        goto done;
    }
    /* run.c fixes RMSNorm epsilon 1e-5 and rotary base 10000 */
    const HpPair pairs[] = {
        HP_NUM("hidden_size", h.dim), HP_NUM("intermediate_size", h.hidden), HP_NUM("num_hidden_layers", h.n_layers),
        HP_NUM("num_attention_heads", h.n_heads), HP_NUM("num_key_value_heads", h.n_kv_heads), HP_NUM("vocab_size", h.vocab),
        HP_NUM("max_position_embeddings", h.seq_len), HP_NUM("rms_norm_eps", 1e-5), HP_NUM("rope_theta", 10000.0),
        HP_BOOL_PAIR("tie_word_embeddings", h.shared), HP_END,
    };
    HpSource src;
    hpListSource(&src, path, pairs);
    if (decoderNew(familyByName("llama"), &src, &m, err)) goto done;
    if (!opt->info_only && (weightsAlloc(&m->ws, err) || fill(&h, &map, m, err))) goto done;
    out->dec = m;
    ModelInfo *info = &out->info;
    decoderDescribe(m, info);
    snprintf(info->format, sizeof info->format, "llama2c");
    snprintf(info->dtype, sizeof info->dtype, "F32");
    m = NULL;
    if (!opt->tokenizer) {
        if (ckptSiblingTokenizer(path, "tokenizer.bin", &out->tok, err)) goto done;
        if (out->tok && tokenizerVocabSize(out->tok) != info->vocab_size) {
            errorSet(err, EXIT_INPUT, "%s: tokenizer.bin next to it has %d tokens, the model's vocabulary is %d", path,
                     tokenizerVocabSize(out->tok), info->vocab_size);
            goto done;
        }
    }
    rc = 0;
done:
    decoderFree(m);
    if (rc) {
        decoderFree(out->dec);
        out->dec = NULL;
    }
    if (rc && out->tok) {
        tokenizerFree(out->tok);
        out->tok = NULL;
    }
    ckptMapClose(&map);
    return rc;
}
