/* llm.c GPT-2 checkpoints (train_gpt2.c / train_gpt2.py's write_model).
 *
 * A header of 256 int32: magic 20240326, version (3: float32 tensors, 5:
 * bfloat16), max_seq_len, vocab_size, num_layers, num_heads, channels,
 * padded_vocab_size. Then the parameters back to back, each a stack over
 * layers where it has one: wte [Vp, C] (rows past vocab_size are padding),
 * wpe [maxT, C], ln1w, ln1b [L, C], qkvw [L, 3C, C], qkvb [L, 3C], attprojw
 * [L, C, C], attprojb, ln2w, ln2b [L, C], fcw [L, 4C, C], fcb [L, 4C],
 * fcprojw [L, C, 4C], fcprojb [L, C], lnfw, lnfb [C]. Matrices are [out, in],
 * the FFN is 4C wide, LayerNorm epsilon 1e-5, GELU in its tanh form. The file
 * size must be exactly what the header implies. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ckpt.h"
#include "util/fileio.h"
#include "model/formats.h"
#include "model/families.h"
#include "util/half.h"

enum { LLMC_MAGIC = 20240326, HEADER_BYTES = 1024, MAX_DIM = 1 << 24 };

int llmcDetect(const char *path)
{
    int32_t magic = LLMC_MAGIC;
    return ckptHasMagic(path, &magic, 4);
}

typedef struct Cur {
    const unsigned char *p;
    size_t es;  /* bytes per value */
} Cur;

static void convert(const unsigned char *src, float *dst, size_t n, size_t es)
{
    if (es == 4) memcpy(dst, src, n * 4);
    else bf16ToF32n(src, dst, n);
}

/* One parameter stacked over layers: layer l's slice goes to the float*
 * field at `field` of layer l. */
static void copyStack(Cur *c, Decoder *g, LayerRole role, int64_t per)
{
    size_t n = (size_t)per * (size_t)g->cfg.n_layers;
    for (int l = 0; l < g->cfg.n_layers; l++)
        convert(c->p + (size_t)l * (size_t)per * c->es, g->layers[l].w[role], (size_t)per, c->es);
    fileMapRelease(c->p, n * c->es);
    c->p += n * c->es;
}

static void copyOne(Cur *c, float *dst, int64_t n, int64_t stored)
{
    convert(c->p, dst, (size_t)n, c->es);
    fileMapRelease(c->p, (size_t)stored * c->es);
    c->p += (size_t)stored * c->es;
}

int llmcLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err)
{
    memset(out, 0, sizeof *out);
    if (opt->family && strcmp(opt->family, "gpt2"))
        return errorSet(err, EXIT_INPUT, "%s: an llm.c checkpoint is a gpt2 model, not '%s'", path, opt->family);
    CkptMap map;
    if (ckptMapOpen(path, &map, err)) return -1;
    int rc = -1;
    Decoder *g = NULL;
    int32_t h[8];
    if (map.size < HEADER_BYTES) {
        errorSet(err, EXIT_INPUT, "%s: too short for an llm.c checkpoint (%zu bytes, the header alone is %d)", path,
                 map.size, HEADER_BYTES);
        goto done;
    }
    memcpy(h, map.data, sizeof h);
    if (h[0] != LLMC_MAGIC) {
        errorSet(err, EXIT_INPUT, "%s: not an llm.c checkpoint (bad magic %d, expected %d)", path, h[0], LLMC_MAGIC);
        goto done;
    }
    if (h[1] != 3 && h[1] != 5) {
        errorSet(err, EXIT_INPUT, "%s: llm.c checkpoint version %d is not supported (3 float32, 5 bfloat16)", path, h[1]);
        goto done;
    }
    static const char *const names[] = {"", "", "max_seq_len", "vocab_size", "num_layers", "num_heads", "channels",
                                        "padded_vocab_size"};
    for (int i = 2; i < 8; i++)
        if (h[i] <= 0 || h[i] > MAX_DIM) {
            errorSet(err, EXIT_INPUT, "%s: header %s %d is out of range", path, names[i], h[i]);
            goto done;
        }
    int64_t maxT = h[2], V = h[3], L = h[4], NH = h[5], C = h[6], Vp = h[7];
    if (Vp < V) {
        errorSet(err, EXIT_INPUT, "%s: padded_vocab_size %lld is smaller than vocab_size %lld", path, (long long)Vp,
                 (long long)V);
        goto done;
    }
    if (C % NH) {
        errorSet(err, EXIT_INPUT, "%s: channels %lld is not divisible by num_heads %lld", path, (long long)C,
                 (long long)NH);
        goto done;
    }
    size_t es = h[1] == 3 ? 4 : 2;
    int64_t n = 0;
    if (ckptMulAdd(&n, Vp, C, 0) || ckptMulAdd(&n, maxT, C, 0) || ckptMulAdd(&n, L, C, 2) ||
        ckptMulAdd(&n, L, 3 * C, C) || ckptMulAdd(&n, L, 3 * C, 0) || ckptMulAdd(&n, L, C, C) ||
        ckptMulAdd(&n, L, C, 3) || ckptMulAdd(&n, L, 4 * C, C) || ckptMulAdd(&n, L, 4 * C, 0) ||
        ckptMulAdd(&n, L, C, 4 * C) || ckptMulAdd(&n, L, C, 0) || ckptMulAdd(&n, C, 2, 0) ||
        n > (int64_t)(SIZE_MAX / 8) || HEADER_BYTES + (size_t)n * es != map.size) {
        errorSet(err, EXIT_INPUT,
                 "%s: the file has %zu bytes, but its version %d header (max_seq_len %lld, vocab_size %lld, "
                 "num_layers %lld, num_heads %lld, channels %lld, padded_vocab_size %lld) needs %lld",
                 path, map.size, h[1], (long long)maxT, (long long)V, (long long)L, (long long)NH, (long long)C,
                 (long long)Vp, n < 0 ? -1LL : (long long)(HEADER_BYTES + (size_t)n * es));
        goto done;
    }
    /* llm.c: a 4C-wide FFN, LayerNorm epsilon 1e-5, the tanh GELU */
    const HpPair pairs[] = {
        HP_NUM("n_embd", (double)C), HP_NUM("n_layer", (double)L), HP_NUM("n_head", (double)NH), HP_NUM("vocab_size", (double)V),
        HP_NUM("n_positions", (double)maxT), HP_NUM("layer_norm_epsilon", 1e-5), HP_END,
    };
    HpSource src;
    hpListSource(&src, path, pairs);
    if (decoderNew(familyByName("gpt2"), &src, &g, err)) goto done;
    if (!opt->info_only) {
        if (weightsAlloc(&g->ws, err)) goto done;
        Cur cur = {map.data + HEADER_BYTES, es};
        copyOne(&cur, g->g[G_EMBED], V * C, Vp * C);
        copyOne(&cur, g->g[G_POS_EMBED], maxT * C, maxT * C);
        copyStack(&cur, g, L_ATTN_NORM, C);
        copyStack(&cur, g, L_ATTN_NORM_B, C);
        copyStack(&cur, g, L_WQKV, 3 * C * C);
        copyStack(&cur, g, L_BQKV, 3 * C);
        copyStack(&cur, g, L_WO, C * C);
        copyStack(&cur, g, L_BO, C);
        copyStack(&cur, g, L_FFN_NORM, C);
        copyStack(&cur, g, L_FFN_NORM_B, C);
        copyStack(&cur, g, L_W_UP, 4 * C * C);
        copyStack(&cur, g, L_B_UP, 4 * C);
        copyStack(&cur, g, L_W_DOWN, C * 4 * C);
        copyStack(&cur, g, L_B_DOWN, C);
        copyOne(&cur, g->g[G_OUT_NORM], C, C);
        copyOne(&cur, g->g[G_OUT_NORM_B], C, C);
    }
    decoderFinishLoad(g);
    out->dec = g;
    g = NULL;
    ModelInfo *info = &out->info;
    decoderDescribe(out->dec, info);
    snprintf(info->format, sizeof info->format, "llmc");
    snprintf(info->dtype, sizeof info->dtype, "%s", es == 4 ? "F32" : "BF16");
    rc = 0;
done:
    decoderFree(g);
    ckptMapClose(&map);
    return rc;
}
