#include "model/ngpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"

static int buildSlots(Ngpt *m, Error *err)
{
    const NgptConfig *c = &m->cfg;
    WeightSet *ws = &m->ws;
    int d = c->d, D = c->ffn;
    if (weightsAdd(ws, &m->wte, 0, 2, c->vocab, d, err, "transformer.wte.weight")) return -1;
    for (int l = 0; l < c->n_layers; l++) {
        NgptLayer *L = &m->layers[l];
        const char *p = "transformer.h";
        if (weightsAdd(ws, &L->wq, 0, 2, d, d, err, "%s.%d.query.weight", p, l) ||
            weightsAdd(ws, &L->wk, 0, 2, d, d, err, "%s.%d.key.weight", p, l) ||
            weightsAdd(ws, &L->wv, 0, 2, d, d, err, "%s.%d.value.weight", p, l) ||
            weightsAdd(ws, &L->wo, 0, 2, d, d, err, "%s.%d.att_c_proj.weight", p, l) ||
            weightsAdd(ws, &L->w_fc, 0, 2, 2 * (int64_t)D, d, err, "%s.%d.c_fc.weight", p, l) ||
            weightsAdd(ws, &L->w_proj, 0, 2, d, D, err, "%s.%d.mlp_c_proj.weight", p, l) ||
            weightsAdd(ws, &L->attn_alpha, 0, 1, d, 0, err, "%s.%d.attn_alpha", p, l) ||
            weightsAdd(ws, &L->mlp_alpha, 0, 1, d, 0, err, "%s.%d.mlp_alpha", p, l) ||
            weightsAdd(ws, &L->sqk, 0, 1, d, 0, err, "%s.%d.sqk", p, l) ||
            weightsAdd(ws, &L->suv, 0, 1, 2 * (int64_t)D, 0, err, "%s.%d.suv", p, l))
            return -1;
    }
    if (weightsAdd(ws, NULL, SLOT_CHECK_ONLY, 2, c->vocab, d, err, "lm_head.weight") ||
        weightsAdd(ws, NULL, SLOT_CHECK_ONLY, 1, c->vocab, 0, err, "sz"))
        return -1;
    return 0;
}

static void ngptFree(void *impl)
{
    Ngpt *m = impl;
    if (!m) return;
    weightsFree(&m->ws);
    scratchFree(&m->scratch);
    free(m->layers);
    free(m);
}

int ngptNew(const NgptConfig *cfg, const char *what, Ngpt **out, Error *err)
{
    if (cfg->d <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 || cfg->ffn <= 0 ||
        cfg->context <= 0 || cfg->vocab <= 0 || !(cfg->base_scale > 0) || !isfinite(cfg->base_scale))
        return errorSet(err, EXIT_INPUT, "%s: nGPT sizes must be positive", what);
    if (cfg->d > MODEL_MAX_DIM || cfg->ffn > MODEL_MAX_DIM || cfg->context > MODEL_MAX_DIM ||
        cfg->vocab > MODEL_MAX_DIM || cfg->n_layers > MODEL_MAX_LAYERS)
        return errorSet(err, EXIT_INPUT, "%s: nGPT sizes are out of range", what);
    if (cfg->d % cfg->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: n_embd %d is not divisible by n_head %d", what, cfg->d,
                        cfg->n_heads);
    if ((cfg->d / cfg->n_heads) % 2)
        return errorSet(err, EXIT_INPUT, "%s: head dimension %d is odd (rotary needs pairs)", what,
                        cfg->d / cfg->n_heads);
    Ngpt *m = calloc(1, sizeof *m);
    if (!m) return errorNoMem(err, what);
    m->cfg = *cfg;
    m->layers = calloc((size_t)cfg->n_layers, sizeof *m->layers);
    if (!m->layers) {
        ngptFree(m);
        return errorNoMem(err, what);
    }
    if (buildSlots(m, err)) {
        ngptFree(m);
        return -1;
    }
    *out = m;
    return 0;
}

enum { BUF_X, BUF_Q, BUF_K, BUF_V, BUF_ATT, BUF_OUT, BUF_U, BUF_GATE, BUF_SCORES, BUF_ROT, BUF_SCALE };

/* model.py's get_sinusoidal_embeddings(T, hd): row p holds sin(p*f_i) at even
 * and cos(p*f_i) at odd columns, f_i = exp(2i * -ln(10000)/hd), in float32. */
static void sinusoids(float *e, int positions, int hd)
{
    float k = (float)(-log(10000.0) / hd);
    for (int i = 0; i < hd / 2; i++) {
        float f = expf((float)(2 * i) * k);
        for (int p = 0; p < positions; p++) {
            float ang = (float)p * f;
            e[(size_t)p * hd + 2 * i] = sinf(ang);
            e[(size_t)p * hd + 2 * i + 1] = cosf(ang);
        }
    }
}

/* model.py's apply_rotary_position_embeddings, which is not a rotation: it
 * splits the sinusoid row into "sin" = its first half and "cos" = its second
 * half (each still interleaving sines and cosines) and, for each pair j, sets
 * x[2j] = -x[2j+1] * cos[j] and x[2j+1] = x[2j] * sin[j], dropping the x*cos
 * terms of a textbook rotation. */
static void ngptRotary(float *x, size_t rows, int seq_len, int heads, int hd, const float *e)
{
    int half = hd / 2;
    for (size_t r = 0; r < rows; r++) {
        const float *row = e + (r % seq_len) * hd;
        const float *sn = row, *cs = row + half;
        for (int h = 0; h < heads; h++) {
            float *v = x + (r * heads + h) * hd;
            for (int j = 0; j < half; j++) {
                float a = v[2 * j], b = v[2 * j + 1];
                v[2 * j] = -b * cs[j];
                v[2 * j + 1] = a * sn[j];
            }
        }
    }
}

/* x <- normalize(normalize(x) + lr * (normalize(y) - normalize(x))), per row. */
static void sphereStep(Pool *pool, float *x, float *y, size_t rows, int d, const float *lr)
{
    opsL2Normalize(pool, x, (int)rows, d, d);
    opsL2Normalize(pool, y, (int)rows, d, d);
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * d;
        const float *yr = y + r * d;
        for (int j = 0; j < d; j++) xr[j] = xr[j] + lr[j] * (yr[j] - xr[j]);
    }
    opsL2Normalize(pool, x, (int)rows, d, d);
}

static int ngptForward(void *impl, const int32_t *tokens, int batch, int seq_len,
                       const uint8_t *capture, int last, CaptureFn fn, void *ctx, Error *err)
{
    Ngpt *m = impl;
    const NgptConfig *c = &m->cfg;
    int d = c->d, D = c->ffn, H = c->n_heads, hd = d / H;
    size_t rows = (size_t)batch * seq_len;
    Scratch *s = &m->scratch;
    Pool *pool = scratchPool(s);
    if (scratchReserve(s, BUF_X, rows * d, err) || scratchReserve(s, BUF_Q, rows * d, err) ||
        scratchReserve(s, BUF_K, rows * d, err) || scratchReserve(s, BUF_V, rows * d, err) ||
        scratchReserve(s, BUF_ATT, rows * d, err) || scratchReserve(s, BUF_OUT, rows * d, err) ||
        scratchReserve(s, BUF_U, rows * D, err) || scratchReserve(s, BUF_GATE, rows * D, err) ||
        scratchReserve(s, BUF_SCORES, (size_t)poolThreads(pool) * seq_len * seq_len, err) ||
        scratchReserve(s, BUF_SCALE, 3 * (size_t)d + 2 * (size_t)D, err))
        return -1;
    if (m->rot_len != seq_len) {
        m->rot_len = 0;
        if (scratchReserve(s, BUF_ROT, (size_t)seq_len * hd, err)) return -1;
        sinusoids(s->buf[BUF_ROT], seq_len, hd);
        m->rot_len = seq_len;
    }
    float *x = s->buf[BUF_X], *q = s->buf[BUF_Q], *k = s->buf[BUF_K], *v = s->buf[BUF_V];
    float *att = s->buf[BUF_ATT], *out = s->buf[BUF_OUT], *u = s->buf[BUF_U], *gate = s->buf[BUF_GATE];
    float *sqk = s->buf[BUF_SCALE], *lr_a = sqk + d, *lr_m = lr_a + d, *suv = lr_m + d;

    for (size_t r = 0; r < rows; r++)
        memcpy(x + r * d, m->wte + (size_t)tokens[r] * d, (size_t)d * sizeof(float));
    float sqk_mul = (float)(1.0 / c->base_scale), alpha_mul = (float)(0.05 / c->base_scale);
    float suv_mul = (float)sqrt((double)d);
    for (int l = 0; l <= last; l++) {
        const NgptLayer *L = &m->layers[l];
        for (int j = 0; j < d; j++) {
            sqk[j] = L->sqk[j] * sqk_mul;
            lr_a[j] = fabsf(L->attn_alpha[j] * alpha_mul);
            lr_m[j] = fabsf(L->mlp_alpha[j] * alpha_mul);
        }
        for (int j = 0; j < 2 * D; j++) suv[j] = L->suv[j] * suv_mul;

        opsLinear(pool, x, (int)rows, d, L->wq, NULL, d, q, d, 0);
        opsLinear(pool, x, (int)rows, d, L->wk, NULL, d, k, d, 0);
        opsLinear(pool, x, (int)rows, d, L->wv, NULL, d, v, d, 0);
        ngptRotary(q, rows, seq_len, H, hd, s->buf[BUF_ROT]);
        ngptRotary(k, rows, seq_len, H, hd, s->buf[BUF_ROT]);
        opsL2Normalize(pool, q, (int)(rows * H), hd, hd);
        opsL2Normalize(pool, k, (int)(rows * H), hd, hd);
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < d; j++) {
                q[r * d + j] *= sqk[j];
                k[r * d + j] *= sqk[j];
            }
        AttnArgs a = {.q = q, .k = k, .v = v, .ldq = d, .ldk = d, .ldv = d, .o = att, .ldo = d,
                      .batch = batch, .seq_len = seq_len, .n_heads = H, .n_kv_heads = H,
                      .head_dim = hd, .scale = sqrtf((float)hd)};
        opsAttention(pool, &a, s->buf[BUF_SCORES]);
        opsLinear(pool, att, (int)rows, d, L->wo, NULL, d, out, d, 0);
        sphereStep(pool, x, out, rows, d, lr_a);

        opsLinear(pool, x, (int)rows, d, L->w_fc, NULL, D, u, D, 0);
        opsLinear(pool, x, (int)rows, d, L->w_fc + (size_t)D * d, NULL, D, gate, D, 0);
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < D; j++) {
                u[r * D + j] *= suv[j];
                gate[r * D + j] *= suv[D + j];
            }
        if (familyCapture(capture, l, SITE_PRE, gate, rows, D, fn, ctx, err)) return -1;
        opsSilu(pool, gate, gate, rows * D);
        opsMul(pool, u, gate, rows * D);
        if (familyCapture(capture, l, SITE_POST, u, rows, D, fn, ctx, err)) return -1;
        if (l == last) break;
        opsLinear(pool, u, (int)rows, D, L->w_proj, NULL, d, out, d, 0);
        sphereStep(pool, x, out, rows, d, lr_m);
    }
    return 0;
}

static WeightSet *ngptWeights(void *impl) { return &((Ngpt *)impl)->ws; }

const FamilyClass ngptClass = {"ngpt", ngptWeights, ngptForward, ngptFree};
