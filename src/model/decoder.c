#include "model/decoder.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ops.h"
#include "util/bigmem.h"
#include "util/threads.h"

/* ---- sizes and slots ---- */

int64_t archDim(const ArchConfig *c, Dim d)
{
    switch (d) {
    case DIM_NONE: return 0;
    case DIM_1: return 1;
    case DIM_D: return c->d;
    case DIM_FFN: return c->ffn;
    case DIM_2FFN: return 2 * (int64_t)c->ffn;
    case DIM_Q: return (int64_t)c->n_heads * c->head_dim;
    case DIM_KV: return (int64_t)c->n_kv_heads * c->head_dim;
    case DIM_QKV: return ((int64_t)c->n_heads + 2 * (int64_t)c->n_kv_heads) * c->head_dim;
    case DIM_HEAD: return c->head_dim;
    case DIM_VOCAB: return c->vocab;
    case DIM_CTX: return c->context;
    case DIM_EXPERTS: return c->n_experts;
    case DIM_EXPERT_FFN: return c->expert_ffn;
    case DIM_SHARED_FFN: return c->shared_ffn;
    }
    return 0;
}

int archHasQkvBias(const ArchConfig *c) { return c->qkv_bias; }
int archHasOBias(const ArchConfig *c) { return c->o_bias; }
int archUntied(const ArchConfig *c) { return !c->tied; }

/* Whether table row r has a tensor in layer l (pass 0: the globals). */
static int rowInLayer(const TensorRole *r, const ArchConfig *c, int pass, int l)
{
    if ((r->global == TR_GLOBAL) != !pass || (r->present && !r->present(c))) return 0;
    switch (r->global) {
    case TR_DENSE: return !c->routed[l];
    case TR_ROUTED:
    case TR_EXPERT: return c->routed[l];
    default: return 1;
    }
}

static int buildSlots(Decoder *m, Error *err)
{
    const ArchConfig *c = &m->cfg;
    for (int l = 0; l < c->n_layers; l++)
        if (c->routed[l] && !(m->layers[l].ex = calloc((size_t)c->n_experts, sizeof *m->layers[l].ex)))
            return errorNoMem(err, "model weights");
    for (int pass = 0; pass < 2; pass++) /* globals first, then layer by layer */
        for (int l = 0; l < (pass ? c->n_layers : 1); l++)
            for (const TensorRole *r = m->family->roles; r->hf; r++) {
                if (!rowInLayer(r, c, pass, l)) continue;
                for (int e = 0; e < (r->global == TR_EXPERT ? c->n_experts : 1); e++) {
                    char name[96], gguf[96] = "";
                    snprintf(name, sizeof name, r->hf, l, e);
                    if (r->gguf) snprintf(gguf, sizeof gguf, r->gguf, l, e);
                    float **dst = r->global == TR_GLOBAL   ? &m->g[r->role]
                                  : r->global == TR_EXPERT ? &m->layers[l].ex[e][r->role]
                                                           : &m->layers[l].w[r->role];
                    int ndim = r->cols == DIM_NONE ? 1 : 2;
                    if (weightsAdd(&m->ws, dst, r->flags, ndim, archDim(c, r->rows), archDim(c, r->cols), name,
                                   gguf, err))
                        return -1;
                    WeightSlot *s = &m->ws.slots[m->ws.count - 1];
                    s->head_dim = c->head_dim;
                    s->layer = r->global == TR_GLOBAL ? -1 : l;
                    if (r->global == TR_EXPERT) s->expert = e;
                    if (m->family->gguf_permutes_qk && r->global == TR_LAYER &&
                        (r->role == L_WQ || r->role == L_WK || r->role == L_BQ || r->role == L_BK))
                        s->flags |= SLOT_ROPE;
                    for (const TensorAlt *a = m->family->hf_alts; a && a->hf; a++)
                        if (a->global == r->global && a->role == r->role) {
                            snprintf(s->hf_alt, sizeof s->hf_alt, a->hf, l);
                            s->part = a->part;
                            s->parts = a->parts;
                        }
                    if (r->global == TR_GLOBAL && r->role == G_EMBED) m->embed_slot = m->ws.count - 1;
                }
            }
    return 0;
}

/* The checks every family shares, after its configure. */
static int checkConfig(const ArchConfig *c, const HpSource *s, Error *err)
{
    if (c->d <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0 ||
        c->ffn <= 0 || c->context <= 0 || c->vocab <= 0 || !(c->eps > 0))
        return errorSet(err, EXIT_INPUT, "%s: model sizes must be positive", s->path);
    if (c->d > MODEL_MAX_DIM || c->ffn > MODEL_MAX_DIM || c->context > MODEL_MAX_DIM || c->vocab > MODEL_MAX_DIM ||
        c->n_layers > MODEL_MAX_LAYERS || c->n_layers > ARCH_MAX_LAYERS ||
        ((int64_t)c->n_heads + 2 * (int64_t)c->n_kv_heads) * c->head_dim > MODEL_MAX_DIM)
        return errorSet(err, EXIT_INPUT, "%s: model sizes are out of range", s->path);
    char a[96], b[96];
    if (c->n_heads % c->n_kv_heads)
        return errorSet(err, EXIT_INPUT, "%s: %s %d is not a multiple of %s %d", s->path,
                        hpKeyName(s, "num_attention_heads", "attention.head_count", a, sizeof a), c->n_heads,
                        hpKeyName(s, "num_key_value_heads", "attention.head_count_kv", b, sizeof b), c->n_kv_heads);
    for (int i = 0; i < 2; i++) {
        const RopeSpec *r = i ? &c->rope_local : &c->rope;
        if (r->type == ROPE_NONE) continue;
        if (r->dims <= 0 || r->dims > c->head_dim || r->dims % 2)
            return errorSet(err, EXIT_INPUT, "%s: %d rotary dimensions for a head of %d (rotary needs pairs)",
                            s->path, r->dims, c->head_dim);
        if (!(r->theta > 0)) return errorSet(err, EXIT_INPUT, "%s: the rotary base must be positive", s->path);
    }
    if (c->window < 0) return errorSet(err, EXIT_INPUT, "%s: the sliding window must be positive", s->path);
    if (c->n_experts && (c->top_k <= 0 || c->top_k > c->n_experts || c->expert_ffn <= 0 ||
                         c->expert_ffn > MODEL_MAX_DIM || c->shared_ffn < 0 || c->shared_ffn > MODEL_MAX_DIM ||
                         c->n_experts > MODEL_MAX_DIM))
        return errorSet(err, EXIT_INPUT, "%s: %d experts with %d per token and expert width %d are out of range",
                        s->path, c->n_experts, c->top_k, c->expert_ffn);
    return 0;
}

void decoderFree(Decoder *m)
{
    if (!m) return;
    weightsFree(&m->ws);
    for (int i = 0; i < SCR_COUNT; i++) free(m->scratch.buf[i]);
    poolFree(m->scratch.pool);
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++) free(m->layers[l].ex);
    free(m->layers);
    free(m);
}

int decoderNew(const Family *f, const HpSource *s, Decoder **out, Error *err)
{
    Decoder *m = calloc(1, sizeof *m);
    if (!m) return errorNoMem(err, s->path);
    m->family = f;
    m->embed_slot = -1;
    if (hparamsRead(f->hparams, s, &m->cfg, err) || f->configure(&m->cfg, s, err) || checkConfig(&m->cfg, s, err))
        goto fail;
    if (!(m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers))) {
        errorNoMem(err, s->path);
        goto fail;
    }
    if (buildSlots(m, err)) goto fail;
    *out = m;
    return 0;
fail:
    decoderFree(m);
    return -1;
}

/* Points the separate roles into a layer's fused tensors. */
static void splitFused(Decoder *m, int l)
{
    const ArchConfig *c = &m->cfg;
    int64_t qd = archDim(c, DIM_Q), kvd = archDim(c, DIM_KV), d = c->d, D = c->ffn;
    {
        float **w = m->layers[l].w;
        if (w[L_WQKV]) {
            w[L_WQ] = w[L_WQKV];
            w[L_WK] = w[L_WQKV] + qd * d;
            w[L_WV] = w[L_WQKV] + (qd + kvd) * d;
        }
        if (w[L_BQKV]) {
            w[L_BQ] = w[L_BQKV];
            w[L_BK] = w[L_BQKV] + qd;
            w[L_BV] = w[L_BQKV] + qd + kvd;
        }
        if (w[L_W_GATE_UP]) {
            w[L_W_GATE] = w[L_W_GATE_UP];
            w[L_W_UP] = w[L_W_GATE_UP] + D * d;
        }
    }
}

void decoderFinishLoad(Decoder *m)
{
    for (int l = 0; l < m->cfg.n_layers; l++) splitFused(m, l);
}

int decoderStream(Decoder *m, Error *err)
{
    const WeightSlot *embed = m->embed_slot >= 0 ? &m->ws.slots[m->embed_slot] : NULL;
    if (!embed || !embed->rd || !embed->rd->widen_rows)
        return errorSet(err, EXIT_RUNTIME, "this checkpoint format cannot stream its weights");
    return weightsAllocStreamed(&m->ws, embed, err);
}

/* The structural choices `inspect` shows, "key=value ..." (no spaces inside a value) */
static void describeArch(const ArchConfig *c, char *buf, size_t len)
{
    static const char *const norms[] = {"layernorm", "rmsnorm", "rmsnorm(1+w)"};
    static const char *const layouts[] = {"pre-norm", "parallel", "post-norm", "sandwich"};
    static const char *const acts[] = {"gelu_tanh", "gelu", "relu", "silu"};
    static const char *const ropes[] = {"none", "default", "linear", "dynamic", "llama3"};
    size_t o = 0;
#define PUT(...) o += (o < len ? (size_t)snprintf(buf + o, len - o, __VA_ARGS__) : 0)
    PUT("norm=%s eps=%g block=%s ffn=%s%s", norms[c->norm], c->eps, layouts[c->layout], c->gated ? "gated-" : "",
        acts[c->act]);
    if (c->learned_positions) PUT(" positions=learned");
    if (c->rope.type != ROPE_NONE) {
        PUT(" rope=%s theta=%g", ropes[c->rope.type], c->rope.theta);
        if (c->rope.dims != c->head_dim) PUT(" rotary_dims=%d", c->rope.dims);
        if (c->rope.type != ROPE_DEFAULT) PUT(" rope_factor=%g", c->rope.factor);
        if (c->rope.n_freq_div) PUT(" rope_freqs=%d", c->rope.n_freq_div);
    }
    if (c->qk_norm) PUT(" qk_norm=%s", c->qk_norm == QK_NORM_HEAD ? "per-head" : "whole");
    if (c->softcap > 0) PUT(" softcap=%g", c->softcap);
    if (c->attn_scale > 0) PUT(" attn_scale=%g", c->attn_scale);
    if (c->embed_scale > 0) PUT(" embed_scale=%g", c->embed_scale);
    if (c->window > 0) {
        int n = 0;
        for (int l = 0; l < c->n_layers; l++) n += c->sliding[l];
        PUT(" window=%d sliding_layers=%d/%d", c->window, n, c->n_layers);
        if (c->rope_local.type != ROPE_NONE) PUT(" rope_local_theta=%g", c->rope_local.theta);
    }
    if (c->n_experts) {
        int n = 0;
        for (int l = 0; l < c->n_layers; l++) n += c->routed[l];
        PUT(" experts=%d top_k=%d expert_ffn=%d routed_layers=%d/%d norm_topk=%s", c->n_experts, c->top_k,
            c->expert_ffn, n, c->n_layers, c->norm_topk ? "yes" : "no");
        if (c->shared_ffn) PUT(" shared_ffn=%d", c->shared_ffn);
    }
    PUT(" tied=%s", c->tied ? "yes" : "no");
#undef PUT
}

void decoderDescribe(const Decoder *m, ModelInfo *info)
{
    const ArchConfig *c = &m->cfg;
    snprintf(info->family, sizeof info->family, "%s", m->family->name);
    info->d_model = c->d;
    info->n_layers = c->n_layers;
    info->n_heads = c->n_heads;
    info->n_kv_heads = c->n_kv_heads;
    info->head_dim = c->head_dim;
    info->ffn_width = c->ffn;
    info->vocab_size = c->vocab;
    info->context = c->context;
    info->n_experts = c->n_experts;
    info->experts_used = c->top_k;
    info->n_params = weightsParams(&m->ws);
    /* what the forward pass reads, for the memory plan: slots pointing into the
     * layers versus the globals; check-only slots (LM heads) are never read */
    int64_t *per_layer = calloc((size_t)c->n_layers, sizeof *per_layer);
    info->layer_params = info->global_params = 0;
    for (int i = 0; i < m->ws.count; i++) {
        const WeightSlot *s = &m->ws.slots[i];
        if (!s->dst) continue;
        if (s->dst >= &m->g[0] && s->dst < &m->g[G_ROLE_COUNT]) {
            info->global_params += weightsElements(s);
        } else if (per_layer) {
            int l = (int)(((const char *)s->dst - (const char *)m->layers) / (ptrdiff_t)sizeof *m->layers);
            /* an expert's slots live in its layer's own expert table */
            for (int j = 0; j < c->n_layers && !(l >= 0 && l < c->n_layers); j++)
                if (m->layers[j].ex && s->dst >= m->layers[j].ex[0] && s->dst < m->layers[j].ex[c->n_experts])
                    l = j;
            if (l >= 0 && l < c->n_layers) per_layer[l] += weightsElements(s);
        }
    }
    for (int l = 0; per_layer && l < c->n_layers; l++)
        if (per_layer[l] > info->layer_params) info->layer_params = per_layer[l];
    free(per_layer);
    describeArch(c, info->details, sizeof info->details);
}

/* ---- forward pass ---- */

int scratchReserve(Scratch *s, ScratchBuf b, size_t n, Error *err)
{
    if (s->len[b] >= n) return 0;
    float *p = bigAlloc(n * sizeof(float));
    if (!p) return errorNoMem(err, "forward pass buffers");
    free(s->buf[b]);
    s->buf[b] = p;
    s->len[b] = n;
    return 0;
}

int decoderCapture(Fwd *f, int l, Site site, const float *acts, int width, Error *err)
{
    if (!(f->capture[l] & SITE_BIT(site)) || !f->fn) return 0;
    CaptureKey key = {l, site, CAPTURE_DENSE};
    return f->fn(f->ctx, key, acts, f->rows, width, err);
}

void decoderLayerFfn(const Decoder *m, int l, LayerFfn *out)
{
    const ArchConfig *c = &m->cfg;
    memset(out, 0, sizeof *out);
    out->width = c->ffn;
    if (l < 0 || l >= c->n_layers || !c->routed[l]) return;
    out->width = c->expert_ffn;
    out->n_experts = c->n_experts;
    out->top_k = c->top_k;
    out->expert_width = c->expert_ffn;
    out->shared_width = c->shared_ffn;
}

/* inv_freq[i] for i < dims/2 in float32, as Hugging Face's rope init
 * functions compute it for each scaling type. */
static void ropeInvFreq(const RopeSpec *r, int seq_len, float *inv)
{
    int half = r->dims / 2;
    double base = r->theta;
    if (r->type == ROPE_DYNAMIC) {
        /* NTK: the base grows once sequences outgrow the trained context. */
        double len = seq_len > r->original_context ? seq_len : r->original_context;
        base *= pow(r->factor * len / r->original_context - (r->factor - 1), (double)r->dims / (r->dims - 2));
    }
    for (int i = 0; i < half; i++) inv[i] = 1.0f / powf((float)base, (float)(2 * i) / (float)r->dims);
    if (r->type == ROPE_LINEAR)
        for (int i = 0; i < half; i++) inv[i] /= (float)r->factor;
    if (r->type == ROPE_LLAMA3) {
        /* Long wavelengths slowed by factor, short ones kept, the band between blended. */
        float orig = (float)r->original_context, lo = (float)r->low_freq_factor, hi = (float)r->high_freq_factor;
        float factor = (float)r->factor, low_wavelen = orig / lo, high_wavelen = orig / hi;
        for (int i = 0; i < half; i++) {
            float wavelen = 2.0f * (float)M_PI / inv[i];
            float scaled = wavelen > low_wavelen ? inv[i] / factor : inv[i];
            float smooth = (orig / wavelen - lo) / (hi - lo);
            float blended = (1.0f - smooth) * scaled / factor + smooth * scaled;
            if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) scaled = blended;
            inv[i] = scaled;
        }
    }
    for (int i = 0; i < r->n_freq_div && i < half; i++) inv[i] /= r->freq_div[i];
}

int decoderRope(Decoder *m, int local, int seq_len, const float **cs, const float **sn, Error *err)
{
    const RopeSpec *r = local && m->cfg.rope_local.type != ROPE_NONE ? &m->cfg.rope_local : &m->cfg.rope;
    local = r == &m->cfg.rope_local;
    Scratch *s = &m->scratch;
    ScratchBuf b = local ? SCR_ROPE_LOCAL : SCR_ROPE;
    size_t half = (size_t)r->dims / 2, n = (size_t)seq_len * half;
    if (s->rope_len[local] != seq_len) {
        s->rope_len[local] = 0;
        if (scratchReserve(s, b, 2 * n + half, err)) return -1;
        float *c = s->buf[b], *sv = c + n, *inv = sv + n;
        ropeInvFreq(r, seq_len, inv);
        for (int p = 0; p < seq_len; p++)
            for (size_t i = 0; i < half; i++) {
                float ang = (float)p * inv[i];
                c[p * half + i] = cosf(ang);
                sv[p * half + i] = sinf(ang);
            }
        s->rope_len[local] = seq_len;
    }
    *cs = s->buf[b];
    *sn = s->buf[b] + n;
    return 0;
}

static void norm(Pool *pool, const ArchConfig *c, const float *x, float *y, int rows, int n, const float *w,
                 const float *b)
{
    if (c->norm == NORM_LAYER) opsLayerNorm(pool, x, y, rows, n, w, b, (float)c->eps);
    else opsRmsNorm(pool, x, y, rows, n, w, (float)c->eps);
}

void decoderActivate(Pool *pool, ActKind act, const float *x, float *y, size_t n)
{
    switch (act) {
    case ACT_GELU_TANH: opsGeluTanh(pool, x, y, n); break;
    case ACT_GELU_ERF: opsGeluErf(pool, x, y, n); break;
    case ACT_RELU: opsRelu(pool, x, y, n); break;
    case ACT_SILU: opsSilu(pool, x, y, n); break;
    }
}

int decoderBlock(Decoder *m, int l, Fwd *f, Error *err)
{
    const ArchConfig *c = &m->cfg;
    float *const *w = m->layers[l].w;
    Scratch *s = &m->scratch;
    Pool *pool = f->pool;
    int rows = (int)f->rows, d = c->d, D = c->ffn, hd = c->head_dim;
    int qd = c->n_heads * hd, kvd = c->n_kv_heads * hd;
    float *x = s->buf[SCR_X], *h = s->buf[SCR_H], *q = s->buf[SCR_Q], *k = s->buf[SCR_K], *v = s->buf[SCR_V];
    float *att = s->buf[SCR_ATT], *out = s->buf[SCR_OUT], *gate = s->buf[SCR_GATE], *up = s->buf[SCR_UP];
    int sliding = c->sliding[l]; /* picks the window and, where the family has one, the local rope */

    /* attention */
    const float *in = x;
    if (c->layout != BLOCK_POST_NORM) {
        norm(pool, c, x, h, rows, d, w[L_ATTN_NORM], w[L_ATTN_NORM_B]);
        in = h;
    }
    int ldq = qd, ldkv = kvd;
    if (w[L_WQKV] && c->qk_norm == QK_NORM_NONE && c->rope.type == ROPE_NONE) {
        /* a fused projection that nothing rotates or normalises (GPT-2): one
         * sgemm, the heads read as strided views of its rows */
        ldq = ldkv = qd + 2 * kvd;
        opsLinear(pool, in, rows, d, w[L_WQKV], w[L_BQKV], ldq, q, ldq, 0);
        k = q + qd;
        v = q + qd + kvd;
    } else {
        opsLinear(pool, in, rows, d, w[L_WQ], w[L_BQ], qd, q, qd, 0);
        opsLinear(pool, in, rows, d, w[L_WK], w[L_BK], kvd, k, kvd, 0);
        opsLinear(pool, in, rows, d, w[L_WV], w[L_BV], kvd, v, kvd, 0);
    }
    if (c->qk_norm == QK_NORM_WHOLE) {
        norm(pool, c, q, q, rows, qd, w[L_Q_NORM], NULL);
        norm(pool, c, k, k, rows, kvd, w[L_K_NORM], NULL);
    } else if (c->qk_norm == QK_NORM_HEAD) {
        norm(pool, c, q, q, rows * c->n_heads, hd, w[L_Q_NORM], NULL);
        norm(pool, c, k, k, rows * c->n_kv_heads, hd, w[L_K_NORM], NULL);
    }
    const RopeSpec *rs = sliding && c->rope_local.type != ROPE_NONE ? &c->rope_local : &c->rope;
    if (rs->type != ROPE_NONE) {
        const float *cs, *sn;
        if (decoderRope(m, sliding, f->seq_len, &cs, &sn, err)) return -1;
        opsRope(pool, q, f->rows, f->seq_len, c->n_heads, hd, rs->dims, cs, sn);
        opsRope(pool, k, f->rows, f->seq_len, c->n_kv_heads, hd, rs->dims, cs, sn);
    }
    float scale = c->attn_scale > 0 ? (float)c->attn_scale : 1.0f / sqrtf((float)hd);
    if (c->scale_by_layer) scale /= (float)(l + 1);
    AttnArgs a = {.q = q, .k = k, .v = v, .ldq = ldq, .ldk = ldkv, .ldv = ldkv, .o = att, .ldo = qd,
                  .batch = f->batch, .seq_len = f->seq_len, .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads,
                  .head_dim = hd, .scale = scale, .window = sliding ? c->window : 0,
                  .softcap = (float)c->softcap};
    opsAttention(pool, &a, s->buf[SCR_SCORES]);
    if (c->layout == BLOCK_PRE_NORM) {
        opsLinear(pool, att, rows, qd, w[L_WO], w[L_BO], d, x, d, 1);
    } else {
        opsLinear(pool, att, rows, qd, w[L_WO], w[L_BO], d, out, d, 0);
        if (c->layout != BLOCK_PARALLEL) {
            norm(pool, c, out, out, rows, d, w[L_POST_ATTN_NORM], NULL);
            opsAdd(pool, x, out, f->rows * d);
        }
    }

    /* FFN; a parallel block reads the same x the attention read */
    in = x;
    if (c->layout != BLOCK_POST_NORM) {
        norm(pool, c, x, h, rows, d, w[L_FFN_NORM], w[L_FFN_NORM_B]);
        in = h;
    }
    if (c->routed[l]) {
        /* The routed sum goes to out; only pre-norm layouts are routed (checked in configure). */
        if (decoderMoe(m, l, f, in, out, err)) return -1;
        if (l != f->last) opsAdd(pool, x, out, f->rows * d);
        return 0;
    }
    float *post;
    if (c->gated) {
        opsLinear(pool, in, rows, d, w[L_W_GATE], NULL, D, gate, D, 0);
        if (decoderCapture(f, l, SITE_PRE, gate, D, err)) return -1;
        opsLinear(pool, in, rows, d, w[L_W_UP], w[L_B_UP], D, up, D, 0);
        decoderActivate(pool, c->act, gate, gate, f->rows * D);
        opsMul(pool, up, gate, f->rows * D);
        post = up;
    } else {
        opsLinear(pool, in, rows, d, w[L_W_UP], w[L_B_UP], D, up, D, 0);
        if (decoderCapture(f, l, SITE_PRE, up, D, err)) return -1;
        decoderActivate(pool, c->act, up, gate, f->rows * D);
        post = gate;
    }
    if (decoderCapture(f, l, SITE_POST, post, D, err)) return -1;
    if (l == f->last) return 0; /* the residual update feeds only later layers */
    switch (c->layout) {
    case BLOCK_PRE_NORM: opsLinear(pool, post, rows, D, w[L_W_DOWN], w[L_B_DOWN], d, x, d, 1); break;
    case BLOCK_PARALLEL:
        opsLinear(pool, post, rows, D, w[L_W_DOWN], w[L_B_DOWN], d, out, d, 1);
        opsAdd(pool, x, out, f->rows * d);
        break;
    case BLOCK_POST_NORM:
    case BLOCK_SANDWICH:
        opsLinear(pool, post, rows, D, w[L_W_DOWN], w[L_B_DOWN], d, out, d, 0);
        norm(pool, c, out, out, rows, d, w[L_POST_FFN_NORM], NULL);
        opsAdd(pool, x, out, f->rows * d);
        break;
    }
    return 0;
}

/* Grows the named forward buffers for rows = batch x seq_len. */
static int reserveForward(Decoder *m, Pool *pool, int batch, int seq_len, Error *err)
{
    const ArchConfig *c = &m->cfg;
    Scratch *s = &m->scratch;
    size_t rows = (size_t)batch * seq_len, d = (size_t)c->d, D = (size_t)c->ffn;
    size_t qd = (size_t)archDim(c, DIM_Q), kvd = (size_t)archDim(c, DIM_KV);
    if (scratchReserve(s, SCR_X, rows * d, err) || scratchReserve(s, SCR_H, rows * d, err) ||
        scratchReserve(s, SCR_Q, rows * (qd + 2 * kvd), err) || scratchReserve(s, SCR_K, rows * kvd, err) ||
        scratchReserve(s, SCR_V, rows * kvd, err) || scratchReserve(s, SCR_ATT, rows * qd, err) ||
        scratchReserve(s, SCR_OUT, rows * d, err) || scratchReserve(s, SCR_GATE, rows * D, err) ||
        scratchReserve(s, SCR_UP, rows * D, err) ||
        scratchReserve(s, SCR_SCORES, (size_t)poolThreads(pool) * seq_len * seq_len, err))
        return -1;
    if (c->n_experts) {
        /* expert widths may exceed the dense one; SCR_ROUTE holds probabilities, choices and row lists */
        size_t De = (size_t)(c->expert_ffn > c->shared_ffn ? c->expert_ffn : c->shared_ffn);
        size_t E = (size_t)c->n_experts, k = (size_t)c->top_k;
        if (scratchReserve(s, SCR_GATE, rows * (De > D ? De : D), err) ||
            scratchReserve(s, SCR_UP, rows * (De > D ? De : D), err) || scratchReserve(s, SCR_MOE_IN, rows * d, err) ||
            scratchReserve(s, SCR_MOE_OUT, rows * d, err) ||
            scratchReserve(s, SCR_ROUTE, rows * E + 3 * rows * k + 3 * E + 1, err))
            return -1;
    }
    return 0;
}

int decoderEmbed(const Decoder *m, const int32_t *tokens, size_t rows, int seq_len, float *x, Error *err)
{
    const ArchConfig *c = &m->cfg;
    size_t d = (size_t)c->d;
    const float *embed = m->g[G_EMBED], *pos = m->g[G_POS_EMBED];
    const WeightSlot *stored = embed ? NULL : &m->ws.slots[m->embed_slot];
    float scale = c->embed_scale > 0 ? (float)c->embed_scale : 1.0f;
    for (size_t r = 0; r < rows; r++) {
        float *xr = x + r * d;
        if (stored) {
            /* streamed weights: the row widened from the file */
            if (stored->rd->widen_rows(stored, tokens[r], 1, xr, err)) return -1;
        } else {
            memcpy(xr, embed + (size_t)tokens[r] * d, d * sizeof(float));
        }
        if (scale != 1.0f)
            for (size_t j = 0; j < d; j++) xr[j] *= scale;
        if (pos)
            for (size_t j = 0; j < d; j++) xr[j] += pos[(r % (size_t)seq_len) * d + j];
    }
    return 0;
}

int decoderForwardRange(Decoder *m, const int32_t *tokens, const float *x_in, float *x_out, int batch, int seq_len,
                        const uint8_t *capture, int first, int last, CaptureFn fn, void *ctx, Error *err)
{
    Scratch *s = &m->scratch;
    if (!s->pool) s->pool = poolNew(threadsWanted());
    /* without x_out nothing reads the last layer's residual update, so the block skips it */
    Fwd f = {.pool = s->pool, .batch = batch, .seq_len = seq_len, .rows = (size_t)batch * seq_len,
             .capture = capture, .last = x_out ? -1 : last, .fn = fn, .ctx = ctx};
    if (reserveForward(m, f.pool, batch, seq_len, err)) return -1;
    float *x = s->buf[SCR_X];
    size_t bytes = f.rows * (size_t)m->cfg.d * sizeof(float);
    if (x_in) memcpy(x, x_in, bytes);
    else if (decoderEmbed(m, tokens, f.rows, seq_len, x, err)) return -1;
    for (int l = first; l <= last; l++) {
        if (m->ws.streamed) {
            if (weightsWidenLayer(&m->ws, l, f.pool, err)) return -1;
            splitFused(m, l);
        }
        int rc = m->family->block ? m->family->block(m, l, &f, err) : decoderBlock(m, l, &f, err);
        if (rc) return -1;
    }
    if (x_out) memcpy(x_out, x, bytes);
    return 0;
}

int decoderForward(Decoder *m, const int32_t *tokens, int batch, int seq_len, const uint8_t *capture, int last,
                   CaptureFn fn, void *ctx, Error *err)
{
    return decoderForwardRange(m, tokens, NULL, NULL, batch, seq_len, capture, 0, last, fn, ctx, err);
}
