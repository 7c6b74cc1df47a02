#include "model/llama.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"

static int buildSlots(Llama *m, Error *err)
{
    const LlamaConfig *c = &m->cfg;
    WeightSet *ws = &m->ws;
    int d = c->d, D = c->ffn, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    if (weightsAdd(ws, &m->embed, 0, 2, c->vocab, d, err, "model.embed_tokens.weight")) return -1;
    for (int l = 0; l < c->n_layers; l++) {
        LlamaLayer *L = &m->layers[l];
        const char *p = "model.layers";
        if (weightsAdd(ws, &L->attn_norm, 0, 1, d, 0, err, "%s.%d.input_layernorm.weight", p, l) ||
            weightsAdd(ws, &L->wq, SLOT_ROPE, 2, qd, d, err, "%s.%d.self_attn.q_proj.weight", p, l) ||
            weightsAdd(ws, &L->wk, SLOT_ROPE, 2, kvd, d, err, "%s.%d.self_attn.k_proj.weight", p, l) ||
            weightsAdd(ws, &L->wv, 0, 2, kvd, d, err, "%s.%d.self_attn.v_proj.weight", p, l))
            return -1;
        if (c->qkv_bias &&
            (weightsAdd(ws, &L->bq, SLOT_ROPE, 1, qd, 0, err, "%s.%d.self_attn.q_proj.bias", p, l) ||
             weightsAdd(ws, &L->bk, SLOT_ROPE, 1, kvd, 0, err, "%s.%d.self_attn.k_proj.bias", p, l) ||
             weightsAdd(ws, &L->bv, 0, 1, kvd, 0, err, "%s.%d.self_attn.v_proj.bias", p, l)))
            return -1;
        if (weightsAdd(ws, &L->wo, 0, 2, d, qd, err, "%s.%d.self_attn.o_proj.weight", p, l)) return -1;
        if (c->o_bias && weightsAdd(ws, &L->bo, 0, 1, d, 0, err, "%s.%d.self_attn.o_proj.bias", p, l))
            return -1;
        if (weightsAdd(ws, &L->ffn_norm, 0, 1, d, 0, err, "%s.%d.post_attention_layernorm.weight", p, l) ||
            weightsAdd(ws, &L->w_gate, 0, 2, D, d, err, "%s.%d.mlp.gate_proj.weight", p, l) ||
            weightsAdd(ws, &L->w_up, 0, 2, D, d, err, "%s.%d.mlp.up_proj.weight", p, l) ||
            weightsAdd(ws, &L->w_down, 0, 2, d, D, err, "%s.%d.mlp.down_proj.weight", p, l))
            return -1;
    }
    if (weightsAdd(ws, &m->norm, 0, 1, d, 0, err, "model.norm.weight")) return -1;
    if (!c->tied && weightsAdd(ws, NULL, SLOT_CHECK_ONLY, 2, c->vocab, d, err, "lm_head.weight"))
        return -1;
    return 0;
}

static void llamaFree(void *impl)
{
    Llama *m = impl;
    if (!m) return;
    weightsFree(&m->ws);
    scratchFree(&m->scratch);
    free(m->layers);
    free(m);
}

int llamaNew(const LlamaConfig *cfg, const char *what, Llama **out, Error *err)
{
    if (cfg->d <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 || cfg->n_kv_heads <= 0 ||
        cfg->head_dim <= 0 || cfg->ffn <= 0 || cfg->context <= 0 || cfg->vocab <= 0 ||
        !(cfg->eps > 0) || !(cfg->rope_theta > 0))
        return errorSet(err, EXIT_INPUT, "%s: LLaMA sizes must be positive", what);
    if (cfg->d > MODEL_MAX_DIM || cfg->ffn > MODEL_MAX_DIM || cfg->context > MODEL_MAX_DIM ||
        cfg->vocab > MODEL_MAX_DIM || cfg->n_layers > MODEL_MAX_LAYERS ||
        (int64_t)cfg->n_heads * cfg->head_dim > MODEL_MAX_DIM)
        return errorSet(err, EXIT_INPUT, "%s: LLaMA sizes are out of range", what);
    if (cfg->n_heads % cfg->n_kv_heads)
        return errorSet(err, EXIT_INPUT,
                        "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d",
                        what, cfg->n_heads, cfg->n_kv_heads);
    if (cfg->head_dim % 2)
        return errorSet(err, EXIT_INPUT, "%s: head dimension %d is odd (rotary needs pairs)", what,
                        cfg->head_dim);
    Llama *m = calloc(1, sizeof *m);
    if (!m) return errorNoMem(err, what);
    m->cfg = *cfg;
    m->layers = calloc((size_t)cfg->n_layers, sizeof *m->layers);
    if (!m->layers) {
        llamaFree(m);
        return errorNoMem(err, what);
    }
    if (buildSlots(m, err)) {
        llamaFree(m);
        return -1;
    }
    *out = m;
    return 0;
}

enum { BUF_X, BUF_H, BUF_Q, BUF_K, BUF_V, BUF_ATT, BUF_GATE, BUF_UP, BUF_SCORES, BUF_ROPE };

/* cos/sin [positions, head_dim/2] computed in float32 like the reference:
 * inv_freq = 1 / theta^(2i/dim), angle = position * inv_freq. */
static void ropeTables(float *cs, float *sn, int positions, int hd, double theta)
{
    int half = hd / 2;
    for (int i = 0; i < half; i++) {
        float inv = 1.0f / powf((float)theta, (float)(2 * i) / (float)hd);
        for (int p = 0; p < positions; p++) {
            float ang = (float)p * inv;
            cs[(size_t)p * half + i] = cosf(ang);
            sn[(size_t)p * half + i] = sinf(ang);
        }
    }
}

/* Rotate-half: pairs (i, i + half) of each head rotate by the position's angle. */
static void ropeApply(float *x, size_t rows, int seq_len, int heads, int hd, const float *cs,
                      const float *sn)
{
    int half = hd / 2;
    for (size_t r = 0; r < rows; r++) {
        size_t p = r % seq_len;
        const float *c = cs + p * half, *s = sn + p * half;
        for (int h = 0; h < heads; h++) {
            float *v = x + (r * heads + h) * hd;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * c[i] - b * s[i];
                v[i + half] = b * c[i] + a * s[i];
            }
        }
    }
}

static int llamaForward(void *impl, const int32_t *tokens, int batch, int seq_len,
                        const uint8_t *capture, int last, CaptureFn fn, void *ctx, Error *err)
{
    Llama *m = impl;
    const LlamaConfig *c = &m->cfg;
    int d = c->d, D = c->ffn, hd = c->head_dim;
    int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    size_t rows = (size_t)batch * seq_len;
    Scratch *s = &m->scratch;
    Pool *pool = scratchPool(s);
    size_t rope = (size_t)seq_len * (hd / 2);
    if (scratchReserve(s, BUF_X, rows * d, err) || scratchReserve(s, BUF_H, rows * d, err) ||
        scratchReserve(s, BUF_Q, rows * qd, err) || scratchReserve(s, BUF_K, rows * kvd, err) ||
        scratchReserve(s, BUF_V, rows * kvd, err) || scratchReserve(s, BUF_ATT, rows * qd, err) ||
        scratchReserve(s, BUF_GATE, rows * D, err) || scratchReserve(s, BUF_UP, rows * D, err) ||
        scratchReserve(s, BUF_SCORES, (size_t)poolThreads(pool) * seq_len * seq_len, err))
        return -1;
    if (m->rope_len != seq_len) {
        m->rope_len = 0;
        if (scratchReserve(s, BUF_ROPE, 2 * rope, err)) return -1;
        ropeTables(s->buf[BUF_ROPE], s->buf[BUF_ROPE] + rope, seq_len, hd, c->rope_theta);
        m->rope_len = seq_len;
    }
    float *x = s->buf[BUF_X], *h = s->buf[BUF_H], *q = s->buf[BUF_Q], *k = s->buf[BUF_K];
    float *v = s->buf[BUF_V], *att = s->buf[BUF_ATT], *gate = s->buf[BUF_GATE], *up = s->buf[BUF_UP];
    float *scores = s->buf[BUF_SCORES], *cs = s->buf[BUF_ROPE], *sn = cs + rope;

    for (size_t r = 0; r < rows; r++)
        memcpy(x + r * d, m->embed + (size_t)tokens[r] * d, (size_t)d * sizeof(float));
    for (int l = 0; l <= last; l++) {
        const LlamaLayer *L = &m->layers[l];
        opsRmsNorm(pool, x, h, (int)rows, d, L->attn_norm, c->eps);
        opsLinear(pool, h, (int)rows, d, L->wq, L->bq, qd, q, qd, 0);
        opsLinear(pool, h, (int)rows, d, L->wk, L->bk, kvd, k, kvd, 0);
        opsLinear(pool, h, (int)rows, d, L->wv, L->bv, kvd, v, kvd, 0);
        ropeApply(q, rows, seq_len, c->n_heads, hd, cs, sn);
        ropeApply(k, rows, seq_len, c->n_kv_heads, hd, cs, sn);
        AttnArgs a = {.q = q, .k = k, .v = v, .ldq = qd, .ldk = kvd, .ldv = kvd, .o = att,
                      .ldo = qd, .batch = batch, .seq_len = seq_len, .n_heads = c->n_heads,
                      .n_kv_heads = c->n_kv_heads, .head_dim = hd, .scale = 1.0f / sqrtf((float)hd)};
        opsAttention(pool, &a, scores);
        opsLinear(pool, att, (int)rows, qd, L->wo, L->bo, d, x, d, 1);

        opsRmsNorm(pool, x, h, (int)rows, d, L->ffn_norm, c->eps);
        opsLinear(pool, h, (int)rows, d, L->w_gate, NULL, D, gate, D, 0);
        if (familyCapture(capture, l, SITE_PRE, gate, rows, D, fn, ctx, err)) return -1;
        opsLinear(pool, h, (int)rows, d, L->w_up, NULL, D, up, D, 0);
        opsSilu(pool, gate, gate, rows * D);
        opsMul(pool, up, gate, rows * D);
        if (familyCapture(capture, l, SITE_POST, up, rows, D, fn, ctx, err)) return -1;
        if (l == last) break;
        opsLinear(pool, up, (int)rows, D, L->w_down, NULL, d, x, d, 1);
    }
    return 0;
}

static WeightSet *llamaWeights(void *impl) { return &((Llama *)impl)->ws; }

const FamilyClass llamaClass = {"llama", llamaWeights, llamaForward, llamaFree};
