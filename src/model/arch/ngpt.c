/* nGPT (normalized transformer, NVIDIA/ngpt model.py with use_nGPT = 1): no
 * norm layers; hidden states live on the unit sphere and each block moves
 * them toward the normalised attention / MLP output by learned per-channel
 * rates. Stored parameters are raw; the effective scales are derived in the
 * block exactly as model.py does (sqk/base_scale, suv*sqrt(n_embd),
 * |alpha|*0.05/base_scale). Tensor names are listed in README "Models". */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "model/decoder.h"
#include "model/families.h"
#include "model/ops.h"

#define F(x) offsetof(ArchConfig, x)
#define BASE_SCALE extra[0]

static const Hparam kHparams[] = {
    {"n_embd", NULL, HP_INT, F(d), HP_REQUIRED, 0},
    {"n_layer", NULL, HP_INT, F(n_layers), HP_REQUIRED, 0},
    {"n_head", NULL, HP_INT, F(n_heads), HP_REQUIRED, 0},
    {"vocab_size", NULL, HP_INT, F(vocab), HP_REQUIRED, 0},
    {"block_size", NULL, HP_INT, F(context), HP_REQUIRED, 0},
    {"ffn_width", NULL, HP_INT, F(ffn), 0, 0},
    {NULL, NULL, 0, 0, 0, 0},
};

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (!c->ffn) c->ffn = 4 * c->d; /* model.py hard-codes 4 * n_embd */
    if (hpReal(s, "base_scale", NULL, 0, 1.0 / sqrt((double)c->d), &c->BASE_SCALE, err) < 0) return -1;
    if (c->d % c->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: n_embd %d is not divisible by n_head %d", s->path, c->d, c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d / c->n_heads;
    if (c->head_dim % 2)
        return errorSet(err, EXIT_INPUT, "%s: head dimension %d is odd (rotary needs pairs)", s->path, c->head_dim);
    c->eps = 1; /* no norms; keeps the shared checks meaningful */
    c->gated = 1;
    c->act = ACT_SILU;
    c->tied = 0;
    return 0;
}

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

static int ngptBlock(Decoder *m, int l, Fwd *f, Error *err)
{
    const ArchConfig *c = &m->cfg;
    float *const *w = m->layers[l].w;
    Scratch *s = &m->scratch;
    Pool *pool = f->pool;
    int d = c->d, D = c->ffn, H = c->n_heads, hd = c->head_dim, seq_len = f->seq_len;
    size_t rows = f->rows;
    if (scratchReserve(s, SCR_FAMILY, 3 * (size_t)d + 2 * (size_t)D, err)) return -1;
    if (s->rope_len[0] != seq_len) {
        s->rope_len[0] = 0;
        if (scratchReserve(s, SCR_ROPE, (size_t)seq_len * hd, err)) return -1;
        sinusoids(s->buf[SCR_ROPE], seq_len, hd);
        s->rope_len[0] = seq_len;
    }
    float *x = s->buf[SCR_X], *q = s->buf[SCR_Q], *k = s->buf[SCR_K], *v = s->buf[SCR_V];
    float *att = s->buf[SCR_ATT], *out = s->buf[SCR_OUT], *u = s->buf[SCR_UP], *gate = s->buf[SCR_GATE];
    float *sqk = s->buf[SCR_FAMILY], *lr_a = sqk + d, *lr_m = lr_a + d, *suv = lr_m + d;
    const float *attn_alpha = w[L_EXTRA0], *mlp_alpha = w[L_EXTRA1], *sqk_raw = w[L_EXTRA2], *suv_raw = w[L_EXTRA3];
    float sqk_mul = (float)(1.0 / c->BASE_SCALE), alpha_mul = (float)(0.05 / c->BASE_SCALE);
    float suv_mul = (float)sqrt((double)d);
    for (int j = 0; j < d; j++) {
        sqk[j] = sqk_raw[j] * sqk_mul;
        lr_a[j] = fabsf(attn_alpha[j] * alpha_mul);
        lr_m[j] = fabsf(mlp_alpha[j] * alpha_mul);
    }
    for (int j = 0; j < 2 * D; j++) suv[j] = suv_raw[j] * suv_mul;

    opsLinear(pool, x, (int)rows, d, w[L_WQ], NULL, d, q, d, 0);
    opsLinear(pool, x, (int)rows, d, w[L_WK], NULL, d, k, d, 0);
    opsLinear(pool, x, (int)rows, d, w[L_WV], NULL, d, v, d, 0);
    ngptRotary(q, rows, seq_len, H, hd, s->buf[SCR_ROPE]);
    ngptRotary(k, rows, seq_len, H, hd, s->buf[SCR_ROPE]);
    opsL2Normalize(pool, q, (int)(rows * H), hd, hd);
    opsL2Normalize(pool, k, (int)(rows * H), hd, hd);
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < d; j++) {
            q[r * d + j] *= sqk[j];
            k[r * d + j] *= sqk[j];
        }
    AttnArgs a = {.q = q, .k = k, .v = v, .ldq = d, .ldk = d, .ldv = d, .o = att, .ldo = d, .batch = f->batch,
                  .seq_len = seq_len, .n_heads = H, .n_kv_heads = H, .head_dim = hd, .scale = sqrtf((float)hd)};
    opsAttention(pool, &a, s->buf[SCR_SCORES]);
    opsLinear(pool, att, (int)rows, d, w[L_WO], NULL, d, out, d, 0);
    sphereStep(pool, x, out, rows, d, lr_a);

    /* c_fc rows 0..D-1 give u, rows D..2D-1 the gate v */
    const float *w_fc = w[L_W_GATE_UP];
    opsLinear(pool, x, (int)rows, d, w_fc, NULL, D, u, D, 0);
    opsLinear(pool, x, (int)rows, d, w_fc + (size_t)D * d, NULL, D, gate, D, 0);
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < D; j++) {
            u[r * D + j] *= suv[j];
            gate[r * D + j] *= suv[D + j];
        }
    if (decoderCapture(f, l, SITE_PRE, gate, D, err)) return -1;
    opsSilu(pool, gate, gate, rows * D);
    opsMul(pool, u, gate, rows * D);
    if (decoderCapture(f, l, SITE_POST, u, D, err)) return -1;
    if (l == f->last) return 0;
    opsLinear(pool, u, (int)rows, D, w[L_W_DOWN], NULL, d, out, d, 0);
    sphereStep(pool, x, out, rows, d, lr_m);
    return 0;
}

#define LAYER "transformer.h.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "transformer.wte.weight", NULL, DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_WQ, LAYER "query.weight", NULL, DIM_D, DIM_D, 0, NULL},
    {0, L_WK, LAYER "key.weight", NULL, DIM_D, DIM_D, 0, NULL},
    {0, L_WV, LAYER "value.weight", NULL, DIM_D, DIM_D, 0, NULL},
    {0, L_WO, LAYER "att_c_proj.weight", NULL, DIM_D, DIM_D, 0, NULL},
    {0, L_W_GATE_UP, LAYER "c_fc.weight", NULL, DIM_2FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp_c_proj.weight", NULL, DIM_D, DIM_FFN, 0, NULL},
    {0, L_EXTRA0, LAYER "attn_alpha", NULL, DIM_D, DIM_NONE, 0, NULL},
    {0, L_EXTRA1, LAYER "mlp_alpha", NULL, DIM_D, DIM_NONE, 0, NULL},
    {0, L_EXTRA2, LAYER "sqk", NULL, DIM_D, DIM_NONE, 0, NULL},
    {0, L_EXTRA3, LAYER "suv", NULL, DIM_2FFN, DIM_NONE, 0, NULL},
    {1, G_LM_HEAD, "lm_head.weight", NULL, DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, NULL},
    {1, G_EXTRA0, "sz", NULL, DIM_VOCAB, DIM_NONE, SLOT_CHECK_ONLY, NULL},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"nGPT", "NGPT", NULL};

const Family familyNgpt = {
    .name = "ngpt", .hf_archs = kArchs, .hparams = kHparams, .configure = configure, .roles = kRoles,
    .block = ngptBlock,
};
