#include "model/arch/common.h"

#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

int archReadRope(ArchConfig *c, const HpSource *s, RopeSpec *r, int dims, Error *err)
{
    r->type = ROPE_DEFAULT;
    r->dims = dims;
    if (s->gguf) {
        /* llama.cpp: rope.scaling.type none | linear (| yarn, refused) */
        const char *type;
        if (hpStr(s, NULL, "rope.scaling.type", "none", &type, err) < 0) return -1;
        double linear = 1;
        if (hpReal(s, NULL, "rope.scale_linear", 0, 1, &linear, err) < 0) return -1;
        if (!strcmp(type, "linear") || linear != 1) {
            r->type = ROPE_LINEAR;
            r->factor = linear;
            if (!strcmp(type, "linear") && hpReal(s, NULL, "rope.scaling.factor", 0, linear, &r->factor, err) < 0)
                return -1;
        } else if (strcmp(type, "none")) {
            char k[96];
            return errorSet(err, EXIT_INPUT, "%s: %s '%s' is not supported (none, linear)", s->path,
                            hpKeyName(s, NULL, "rope.scaling.type", k, sizeof k), type);
        }
        return 0;
    }
    if (!hpHas(s, "rope_scaling", NULL)) return 0;
    const char *type = NULL;
    /* Newer configs say rope_type, older ones type. */
    if (hpStr(s, "rope_scaling.rope_type", NULL, NULL, &type, err) < 0) return -1;
    if (!type && hpStr(s, "rope_scaling.type", NULL, NULL, &type, err) < 0) return -1;
    if (!type) return errorSet(err, EXIT_INPUT, "%s: key 'rope_scaling' names no rope_type", s->path);
    if (!strcmp(type, "default")) return 0;
    if (hpReal(s, "rope_scaling.factor", NULL, 0, 0, &r->factor, err) < 0) return -1;
    if (!strcmp(type, "linear")) r->type = ROPE_LINEAR;
    else if (!strcmp(type, "dynamic")) r->type = ROPE_DYNAMIC;
    else if (!strcmp(type, "llama3")) r->type = ROPE_LLAMA3;
    else
        return errorSet(err, EXIT_INPUT,
                        "%s: rope_scaling type '%s' is not supported (default, linear, dynamic, llama3)", s->path,
                        type);
    if (!(r->factor > 0))
        return errorSet(err, EXIT_INPUT, "%s: key 'rope_scaling.factor' is missing or not positive", s->path);
    r->original_context = c->context;
    if (r->type == ROPE_LLAMA3) {
        if (hpReal(s, "rope_scaling.low_freq_factor", NULL, 0, 1, &r->low_freq_factor, err) < 0 ||
            hpReal(s, "rope_scaling.high_freq_factor", NULL, 0, 4, &r->high_freq_factor, err) < 0 ||
            hpInt(s, "rope_scaling.original_max_position_embeddings", NULL, 0, 8192, &r->original_context, err) < 0)
            return -1;
        if (!(r->high_freq_factor > r->low_freq_factor))
            return errorSet(err, EXIT_INPUT, "%s: rope_scaling high_freq_factor must exceed low_freq_factor", s->path);
    }
    if (r->type == ROPE_DYNAMIC && r->dims <= 2)
        return errorSet(err, EXIT_INPUT, "%s: dynamic rope_scaling needs more than 2 rotary dimensions", s->path);
    return 0;
}

int archHeadDim(ArchConfig *c, const HpSource *s, const char *d_key, const char *heads_key, Error *err)
{
    char a[96], b[96];
    if (!hpHas(s, "head_dim", "attention.key_length") && c->d % c->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: %s %d is not divisible by %s %d", s->path,
                        hpKeyName(s, d_key, "embedding_length", a, sizeof a), c->d,
                        hpKeyName(s, heads_key, "attention.head_count", b, sizeof b), c->n_heads);
    int dflt = c->d / c->n_heads ? c->d / c->n_heads : 1;
    return hpInt(s, "head_dim", "attention.key_length", 0, dflt, &c->head_dim, err) < 0 ? -1 : 0;
}

int archLayerTypes(ArchConfig *c, const HpSource *s, Error *err)
{
    if (!hpHas(s, "layer_types", NULL)) return 0;
    for (int l = 0; l < c->n_layers; l++) {
        char key[48];
        const char *t = NULL;
        snprintf(key, sizeof key, "layer_types.%d", l);
        if (hpStr(s, key, NULL, NULL, &t, err) < 0) return -1;
        if (!t) return errorSet(err, EXIT_INPUT, "%s: key 'layer_types' has fewer than %d entries", s->path, c->n_layers);
        if (!strcmp(t, "sliding_attention")) c->sliding[l] = 1;
        else if (!strcmp(t, "full_attention")) c->sliding[l] = 0;
        else
            return errorSet(err, EXIT_INPUT, "%s: layer_types[%d] '%s' is not supported (sliding_attention, full_attention)",
                            s->path, l, t);
    }
    return 1;
}

int archActivation(const HpSource *s, const char *key, const char *dflt, ActKind *act, Error *err)
{
    const char *a;
    if (hpStr(s, key, NULL, dflt, &a, err) < 0) return -1;
    if (!strcmp(a, "silu") || !strcmp(a, "swish")) *act = ACT_SILU;
    else if (!strcmp(a, "gelu_pytorch_tanh") || !strcmp(a, "gelu_new") || !strcmp(a, "gelu_fast")) *act = ACT_GELU_TANH;
    else if (!strcmp(a, "gelu")) *act = ACT_GELU_ERF;
    else if (!strcmp(a, "relu")) *act = ACT_RELU;
    else
        return errorSet(err, EXIT_INPUT, "%s: %s '%s' is not supported (silu, gelu, gelu_pytorch_tanh, relu)", s->path,
                        key, a);
    return 0;
}

#define F(x) offsetof(ArchConfig, x)
const Hparam archLlamaHparams[] = {
    {"hidden_size", "embedding_length", HP_INT, F(d), HP_REQUIRED, 0},
    {"intermediate_size", "feed_forward_length", HP_INT, F(ffn), HP_REQUIRED, 0},
    {"num_hidden_layers", "block_count", HP_INT, F(n_layers), HP_REQUIRED, 0},
    {"num_attention_heads", "attention.head_count", HP_INT, F(n_heads), HP_REQUIRED, 0},
    {"num_key_value_heads", "attention.head_count_kv", HP_INT, F(n_kv_heads), 0, 0},
    {"vocab_size", "vocab_size", HP_INT, F(vocab), HP_REQUIRED, 0},
    {"max_position_embeddings", "context_length", HP_INT, F(context), HP_REQUIRED, 0},
    {"rms_norm_eps", "attention.layer_norm_rms_epsilon", HP_REAL, F(eps), 0, 1e-6},
    {"rope_theta", "rope.freq_base", HP_REAL, F(rope.theta), 0, 10000.0},
    {"tie_word_embeddings", NULL, HP_BOOL, F(tied), 0, 0},
    {NULL, NULL, 0, 0, 0, 0},
};

int archRealDefault(const HpSource *s, const char *key, double dflt, double *out, Error *err)
{
    return hpReal(s, key, NULL, 0, dflt, out, err) < 0 ? -1 : 0;
}

/* What llama.cpp's files of LLaMA-shaped architectures say through optional
 * keys (rope.dimension_count: the rotated part of each head, default all of
 * it) and through their tensors (a tied head has no output.weight; biases). */
static int ggufChecks(ArchConfig *c, const HpSource *s, Error *err)
{
    int vlen;
    char a[96];
    if (hpInt(s, NULL, "attention.value_length", 0, c->head_dim, &vlen, err) < 0 ||
        hpInt(s, NULL, "rope.dimension_count", 0, c->head_dim, &c->rope.dims, err) < 0)
        return -1;
    if (vlen != c->head_dim)
        return errorSet(err, EXIT_INPUT, "%s: %s %d differs from key_length %d (not supported)", s->path,
                        hpKeyName(s, NULL, "attention.value_length", a, sizeof a), vlen, c->head_dim);
    if (c->rope.dims > c->head_dim || c->rope.dims % 2)
        return errorSet(err, EXIT_INPUT, "%s: %s %d does not fit a head of %d (rotary needs pairs)", s->path,
                        hpKeyName(s, NULL, "rope.dimension_count", a, sizeof a), c->rope.dims, c->head_dim);
    c->tied = !hpHas(s, NULL, "tensor:output.weight");
    c->qkv_bias = hpHas(s, NULL, "tensor:blk.0.attn_q.bias");
    c->o_bias = hpHas(s, NULL, "tensor:blk.0.attn_output.bias");
    return 0;
}

void archSlidingEvery(ArchConfig *c, int period)
{
    for (int l = 0; l < c->n_layers; l++) c->sliding[l] = period == 0 || l % period < period - 1;
}

int archLlamaLike(ArchConfig *c, const HpSource *s, unsigned flags, Error *err)
{
    if (!c->n_kv_heads) c->n_kv_heads = c->n_heads;
    if (archHeadDim(c, s, "hidden_size", "num_attention_heads", err)) return -1;
    c->norm = NORM_RMS;
    c->layout = BLOCK_PRE_NORM;
    c->gated = 1;
    if (archActivation(s, "hidden_act", "silu", &c->act, err)) return -1;
    if (archReadRope(c, s, &c->rope, c->head_dim, err)) return -1;
    /* llama.cpp runs Qwen2/3 without their (rarely enabled) windows and
     * keeps no key for them. */
    if (s->gguf) return ggufChecks(c, s, err);
    int attn_bias = 0, mlp_bias = 0;
    if (hpBool(s, "attention_bias", NULL, 0, &attn_bias, err) < 0 || hpBool(s, "mlp_bias", NULL, 0, &mlp_bias, err) < 0)
        return -1;
    if (mlp_bias) return errorSet(err, EXIT_INPUT, "%s: mlp_bias is not supported", s->path);
    c->qkv_bias = attn_bias || (flags & LLAMA_QKV_BIAS);
    c->o_bias = attn_bias && !(flags & LLAMA_QKV_BIAS);
    /* Sliding windows: Mistral on every layer when sliding_window is set;
     * Qwen2 only with use_sliding_window, from layer max_window_layers on;
     * an explicit layer_types wins. */
    if (!(flags & (LLAMA_WINDOW_ALL | LLAMA_WINDOW_QWEN)) || !hpHas(s, "sliding_window", NULL)) return 0;
    int use = 1, from = 0;
    if ((flags & LLAMA_WINDOW_QWEN) && (hpBool(s, "use_sliding_window", NULL, 0, &use, err) < 0 ||
                                        hpInt(s, "max_window_layers", NULL, 0, 28, &from, err) < 0))
        return -1;
    if (!use) return 0;
    if (hpInt(s, "sliding_window", NULL, 1, 0, &c->window, err) < 0) return -1;
    int rc = archLayerTypes(c, s, err);
    if (rc < 0) return -1;
    if (rc == 0)
        for (int l = from; l < c->n_layers; l++) c->sliding[l] = 1;
    return 0;
}


int archRotaryDims(ArchConfig *c, const HpSource *s, const char *key, double fraction, Error *err)
{
    c->rope.dims = (int)(c->head_dim * fraction);
    if (c->rope.dims <= 0 || c->rope.dims % 2)
        return errorSet(err, EXIT_INPUT, "%s: key '%s' = %g gives %d rotary dimensions of a head of %d (rotary needs pairs)",
                        s->path, key, fraction, c->rope.dims, c->head_dim);
    return 0;
}

/* llama.cpp's files: counts and widths under its keys, with its runtime's
 * defaults (an expert n_ff / n_expert_used wide, a shared one n_ff), and a
 * router tensor in every routed layer. */
static int moeGguf(ArchConfig *c, const HpSource *s, const MoeSpec *m, Error *err)
{
    if (hpInt(s, NULL, "expert_count", HP_REQUIRED, 0, &c->n_experts, err) < 0 ||
        hpInt(s, NULL, "expert_used_count", HP_REQUIRED, 0, &c->top_k, err) < 0)
        return -1;
    if (c->top_k > c->n_experts) {
        char a[96], b[96];
        return errorSet(err, EXIT_INPUT, "%s: %s %d exceeds %s %d", s->path,
                        hpKeyName(s, NULL, "expert_used_count", a, sizeof a), c->top_k,
                        hpKeyName(s, NULL, "expert_count", b, sizeof b), c->n_experts);
    }
    c->expert_ffn = c->ffn;
    if (m->width_key &&
        hpInt(s, NULL, "expert_feed_forward_length", 0, c->ffn / c->top_k, &c->expert_ffn, err) < 0)
        return -1;
    if (m->shared_key && hpInt(s, NULL, "expert_shared_feed_forward_length", 0, c->ffn, &c->shared_ffn, err) < 0)
        return -1;
    c->norm_topk = m->gguf_norm;
    int any = 0;
    for (int l = 0; l < c->n_layers && l < ARCH_MAX_LAYERS; l++) {
        char key[64];
        snprintf(key, sizeof key, "tensor:blk.%d.ffn_gate_inp.weight", l);
        c->routed[l] = (uint8_t)hpHas(s, NULL, key);
        any |= c->routed[l];
    }
    if (!any) return errorSet(err, EXIT_INPUT, "%s: %d experts, but no layer has a router (blk.N.ffn_gate_inp.weight)",
                              s->path, c->n_experts);
    return 0;
}

const TensorAlt archMoeV5Alts[] = {
    {TR_EXPERT, X_GATE, "model.layers.%d.mlp.experts.gate_up_proj", 0, 2},
    {TR_EXPERT, X_UP, "model.layers.%d.mlp.experts.gate_up_proj", 1, 2},
    {TR_EXPERT, X_DOWN, "model.layers.%d.mlp.experts.down_proj", 0, 1},
    {0, 0, NULL, 0, 0},
};

int archMoe(ArchConfig *c, const HpSource *s, const MoeSpec *m, Error *err)
{
    if (c->layout != BLOCK_PRE_NORM)
        return errorSet(err, EXIT_INPUT, "%s: routed FFNs need pre-norm blocks", s->path);
    if (s->gguf) return moeGguf(c, s, m, err);
    if (hpInt(s, m->experts_key, NULL, HP_REQUIRED, 0, &c->n_experts, err) < 0 ||
        hpInt(s, "num_experts_per_tok", NULL, HP_REQUIRED, 0, &c->top_k, err) < 0)
        return -1;
    if (c->top_k > c->n_experts)
        return errorSet(err, EXIT_INPUT, "%s: num_experts_per_tok %d exceeds %s %d", s->path, c->top_k,
                        m->experts_key, c->n_experts);
    c->expert_ffn = c->ffn;
    if (m->width_key && hpInt(s, m->width_key, NULL, HP_REQUIRED, 0, &c->expert_ffn, err) < 0) return -1;
    if (m->shared_key && hpInt(s, m->shared_key, NULL, HP_REQUIRED, 0, &c->shared_ffn, err) < 0) return -1;
    c->norm_topk = 1;
    if (m->norm_dflt >= 0 && hpBool(s, "norm_topk_prob", NULL, m->norm_dflt, &c->norm_topk, err) < 0) return -1;
    int step = 1;
    if (m->sparse_keys && hpInt(s, "decoder_sparse_step", NULL, 0, 1, &step, err) < 0) return -1;
    for (int l = 0; l < c->n_layers && l < ARCH_MAX_LAYERS; l++) c->routed[l] = (l + 1) % step == 0;
    if (!m->sparse_keys || !hpHas(s, "mlp_only_layers", NULL)) return 0;
    for (int i = 0;; i++) {
        char key[48];
        double v;
        snprintf(key, sizeof key, "mlp_only_layers.%d", i);
        if (!hpHas(s, key, NULL)) break;
        if (hpReal(s, key, NULL, 1, 0, &v, err) < 0) return -1;
        if (v != floor(v) || v < 0 || v >= c->n_layers)
            return errorSet(err, EXIT_INPUT, "%s: mlp_only_layers[%d] is not a layer index below %d", s->path, i,
                            c->n_layers);
        c->routed[(int)v] = 0;
    }
    return 0;
}
