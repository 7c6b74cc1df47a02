#include "model/gpt2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"

static int buildSlots(Gpt2 *g, Error *err)
{
    const Gpt2Config *c = &g->cfg;
    WeightSet *ws = &g->ws;
    int d = c->d, D = c->ffn;
    if (weightsAdd(ws, &g->wte, 0, 2, c->vocab, d, err, "wte.weight") ||
        weightsAdd(ws, &g->wpe, 0, 2, c->context, d, err, "wpe.weight"))
        return -1;
    for (int l = 0; l < c->n_layers; l++) {
        Gpt2Layer *L = &g->layers[l];
        if (weightsAdd(ws, &L->ln1_g, 0, 1, d, 0, err, "h.%d.ln_1.weight", l) ||
            weightsAdd(ws, &L->ln1_b, 0, 1, d, 0, err, "h.%d.ln_1.bias", l) ||
            weightsAdd(ws, &L->w_qkv, SLOT_CONV1D, 2, 3 * d, d, err, "h.%d.attn.c_attn.weight", l) ||
            weightsAdd(ws, &L->b_qkv, 0, 1, 3 * d, 0, err, "h.%d.attn.c_attn.bias", l) ||
            weightsAdd(ws, &L->w_attn_out, SLOT_CONV1D, 2, d, d, err, "h.%d.attn.c_proj.weight", l) ||
            weightsAdd(ws, &L->b_attn_out, 0, 1, d, 0, err, "h.%d.attn.c_proj.bias", l) ||
            weightsAdd(ws, &L->ln2_g, 0, 1, d, 0, err, "h.%d.ln_2.weight", l) ||
            weightsAdd(ws, &L->ln2_b, 0, 1, d, 0, err, "h.%d.ln_2.bias", l) ||
            weightsAdd(ws, &L->w_fc, SLOT_CONV1D, 2, D, d, err, "h.%d.mlp.c_fc.weight", l) ||
            weightsAdd(ws, &L->b_fc, 0, 1, D, 0, err, "h.%d.mlp.c_fc.bias", l) ||
            weightsAdd(ws, &L->w_proj, SLOT_CONV1D, 2, d, D, err, "h.%d.mlp.c_proj.weight", l) ||
            weightsAdd(ws, &L->b_proj, 0, 1, d, 0, err, "h.%d.mlp.c_proj.bias", l))
            return -1;
    }
    if (weightsAdd(ws, &g->lnf_g, 0, 1, d, 0, err, "ln_f.weight") ||
        weightsAdd(ws, &g->lnf_b, 0, 1, d, 0, err, "ln_f.bias"))
        return -1;
    return 0;
}

static void gpt2Free(void *impl)
{
    Gpt2 *g = impl;
    if (!g) return;
    weightsFree(&g->ws);
    scratchFree(&g->scratch);
    free(g->layers);
    free(g);
}

int gpt2New(const Gpt2Config *cfg, const char *what, Gpt2 **out, Error *err)
{
    if (cfg->d <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 || cfg->ffn <= 0 ||
        cfg->context <= 0 || cfg->vocab <= 0 || !(cfg->eps > 0))
        return errorSet(err, EXIT_INPUT, "%s: GPT-2 sizes must be positive", what);
    if (cfg->d > MODEL_MAX_DIM || cfg->ffn > MODEL_MAX_DIM || cfg->context > MODEL_MAX_DIM ||
        cfg->vocab > MODEL_MAX_DIM || cfg->n_layers > MODEL_MAX_LAYERS)
        return errorSet(err, EXIT_INPUT, "%s: GPT-2 sizes are out of range", what);
    if (cfg->d % cfg->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: n_embd %d is not divisible by n_head %d", what, cfg->d,
                        cfg->n_heads);
    Gpt2 *g = calloc(1, sizeof *g);
    if (!g) return errorNoMem(err, what);
    g->cfg = *cfg;
    g->layers = calloc((size_t)cfg->n_layers, sizeof *g->layers);
    if (!g->layers) {
        gpt2Free(g);
        return errorNoMem(err, what);
    }
    if (buildSlots(g, err)) {
        gpt2Free(g);
        return -1;
    }
    *out = g;
    return 0;
}

enum { BUF_X, BUF_H, BUF_QKV, BUF_ATT, BUF_PRE, BUF_POST, BUF_SCORES };

static int gpt2Forward(void *impl, const int32_t *tokens, int batch, int seq_len,
                       const uint8_t *capture, int last, CaptureFn fn, void *ctx, Error *err)
{
    Gpt2 *g = impl;
    const Gpt2Config *c = &g->cfg;
    int d = c->d, D = c->ffn, hd = d / c->n_heads;
    size_t rows = (size_t)batch * seq_len;
    Scratch *s = &g->scratch;
    Pool *pool = scratchPool(s);
    if (scratchReserve(s, BUF_X, rows * d, err) || scratchReserve(s, BUF_H, rows * d, err) ||
        scratchReserve(s, BUF_QKV, rows * 3 * d, err) || scratchReserve(s, BUF_ATT, rows * d, err) ||
        scratchReserve(s, BUF_PRE, rows * D, err) || scratchReserve(s, BUF_POST, rows * D, err) ||
        scratchReserve(s, BUF_SCORES, (size_t)poolThreads(pool) * seq_len * seq_len, err))
        return -1;
    float *x = s->buf[BUF_X], *h = s->buf[BUF_H], *qkv = s->buf[BUF_QKV], *att = s->buf[BUF_ATT];
    float *pre = s->buf[BUF_PRE], *post = s->buf[BUF_POST];

    for (size_t r = 0; r < rows; r++) {
        const float *te = g->wte + (size_t)tokens[r] * d, *pe = g->wpe + (r % seq_len) * d;
        float *xr = x + r * d;
        for (int j = 0; j < d; j++) xr[j] = te[j] + pe[j];
    }
    for (int l = 0; l <= last; l++) {
        const Gpt2Layer *L = &g->layers[l];
        opsLayerNorm(pool, x, h, (int)rows, d, L->ln1_g, L->ln1_b, c->eps);
        opsLinear(pool, h, (int)rows, d, L->w_qkv, L->b_qkv, 3 * d, qkv, 3 * d, 0);
        float scale = c->scale_attn ? 1.0f / sqrtf((float)hd) : 1.0f;
        if (c->scale_by_layer) scale /= (float)(l + 1);
        AttnArgs a = {.q = qkv, .k = qkv + d, .v = qkv + 2 * d, .ldq = 3 * d, .ldk = 3 * d,
                      .ldv = 3 * d, .o = att, .ldo = d, .batch = batch, .seq_len = seq_len,
                      .n_heads = c->n_heads, .n_kv_heads = c->n_heads, .head_dim = hd, .scale = scale};
        opsAttention(pool, &a, s->buf[BUF_SCORES]);
        opsLinear(pool, att, (int)rows, d, L->w_attn_out, L->b_attn_out, d, x, d, 1);

        opsLayerNorm(pool, x, h, (int)rows, d, L->ln2_g, L->ln2_b, c->eps);
        opsLinear(pool, h, (int)rows, d, L->w_fc, L->b_fc, D, pre, D, 0);
        if (familyCapture(capture, l, SITE_PRE, pre, rows, D, fn, ctx, err)) return -1;
        switch (c->act) {
        case GPT2_GELU_TANH: opsGeluTanh(pool, pre, post, rows * D); break;
        case GPT2_GELU_ERF: opsGeluErf(pool, pre, post, rows * D); break;
        case GPT2_RELU: opsRelu(pool, pre, post, rows * D); break;
        case GPT2_SILU: opsSilu(pool, pre, post, rows * D); break;
        }
        if (familyCapture(capture, l, SITE_POST, post, rows, D, fn, ctx, err)) return -1;
        if (l == last) break; /* the residual update feeds only later layers */
        opsLinear(pool, post, (int)rows, D, L->w_proj, L->b_proj, d, x, d, 1);
    }
    return 0;
}

static WeightSet *gpt2Weights(void *impl) { return &((Gpt2 *)impl)->ws; }

const FamilyClass gpt2Class = {"gpt2", gpt2Weights, gpt2Forward, gpt2Free};
