/* LLaMA and the models shaped like it: Llama 1-3 (rope_scaling llama3,
 * linear, dynamic), Mistral (sliding window), Qwen2/2.5 (q/k/v biases,
 * windows above max_window_layers), SmolLM; llama2.c checkpoints load into
 * the llama family. RMSNorm, rotary positions (rotate-half), grouped-query
 * attention, SwiGLU. */
#include <stddef.h>
#include <string.h>

#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

#define F(x) offsetof(ArchConfig, x)

static const Hparam kHparams[] = {
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

/* The GGUF-only checks llama.cpp's llama files need. */
static int ggufChecks(ArchConfig *c, const HpSource *s, Error *err)
{
    int vlen, rot;
    char a[96];
    if (hpInt(s, NULL, "attention.value_length", 0, c->head_dim, &vlen, err) < 0 ||
        hpInt(s, NULL, "rope.dimension_count", 0, c->head_dim, &rot, err) < 0)
        return -1;
    if (vlen != c->head_dim)
        return errorSet(err, EXIT_INPUT, "%s: %s %d differs from key_length %d (not supported)", s->path,
                        hpKeyName(s, NULL, "attention.value_length", a, sizeof a), vlen, c->head_dim);
    if (rot != c->head_dim)
        return errorSet(err, EXIT_INPUT, "%s: %s %d differs from the head size %d (partial rotary is not supported)",
                        s->path, hpKeyName(s, NULL, "rope.dimension_count", a, sizeof a), rot, c->head_dim);
    c->tied = !hpHas(s, NULL, "tensor:output.weight");
    c->qkv_bias = hpHas(s, NULL, "tensor:blk.0.attn_q.bias");
    c->o_bias = hpHas(s, NULL, "tensor:blk.0.attn_output.bias");
    return 0;
}

/* kind: 0 llama, 1 mistral, 2 qwen2 */
static int configureKind(ArchConfig *c, const HpSource *s, int kind, Error *err)
{
    if (!c->n_kv_heads) c->n_kv_heads = c->n_heads;
    if (archHeadDim(c, s, "hidden_size", "num_attention_heads", err)) return -1;
    c->norm = NORM_RMS;
    c->layout = BLOCK_PRE_NORM;
    c->gated = 1;
    if (archActivation(s, "hidden_act", "silu", &c->act, err)) return -1;
    if (archReadRope(c, s, &c->rope, c->head_dim, err)) return -1;
    if (s->gguf) return ggufChecks(c, s, err);
    int attn_bias = 0, mlp_bias = 0;
    if (hpBool(s, "attention_bias", NULL, 0, &attn_bias, err) < 0 || hpBool(s, "mlp_bias", NULL, 0, &mlp_bias, err) < 0)
        return -1;
    if (mlp_bias) return errorSet(err, EXIT_INPUT, "%s: mlp_bias is not supported", s->path);
    c->qkv_bias = attn_bias || kind == 2;
    c->o_bias = attn_bias && kind != 2;
    /* Sliding windows: Mistral on every layer when sliding_window is set;
     * Qwen2 only with use_sliding_window, from layer max_window_layers on;
     * an explicit layer_types wins. */
    if (kind == 0 || !hpHas(s, "sliding_window", NULL)) return 0;
    int use = 1, from = 0;
    if (kind == 2 && (hpBool(s, "use_sliding_window", NULL, 0, &use, err) < 0 ||
                      hpInt(s, "max_window_layers", NULL, 0, c->n_layers, &from, err) < 0))
        return -1;
    if (!use) return 0;
    if (hpInt(s, "sliding_window", NULL, 1, 0, &c->window, err) < 0) return -1;
    int rc = archLayerTypes(c, s, err);
    if (rc < 0) return -1;
    if (rc == 0)
        for (int l = from; l < c->n_layers; l++) c->sliding[l] = 1;
    return 0;
}

static int configureLlama(ArchConfig *c, const HpSource *s, Error *err) { return configureKind(c, s, 0, err); }
static int configureMistral(ArchConfig *c, const HpSource *s, Error *err) { return configureKind(c, s, 1, err); }
static int configureQwen2(ArchConfig *c, const HpSource *s, Error *err) { return configureKind(c, s, 2, err); }

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, SLOT_ROPE, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, SLOT_ROPE, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_BQ, LAYER "self_attn.q_proj.bias", "blk.%d.attn_q.bias", DIM_Q, DIM_NONE, SLOT_ROPE, archHasQkvBias},
    {0, L_BK, LAYER "self_attn.k_proj.bias", "blk.%d.attn_k.bias", DIM_KV, DIM_NONE, SLOT_ROPE, archHasQkvBias},
    {0, L_BV, LAYER "self_attn.v_proj.bias", "blk.%d.attn_v.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {0, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_BO, LAYER "self_attn.o_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {0, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {1, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {1, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kLlamaArchs[] = {"LlamaForCausalLM", "LlamaModel", NULL};
static const char *const kMistralArchs[] = {"MistralForCausalLM", "MistralModel", NULL};
static const char *const kQwen2Archs[] = {"Qwen2ForCausalLM", "Qwen2Model", NULL};

const Family familyLlama = {
    .name = "llama", .hf_archs = kLlamaArchs, .gguf_arch = "llama", .hparams = kHparams,
    .configure = configureLlama, .roles = kRoles,
};
const Family familyMistral = {
    .name = "mistral", .hf_archs = kMistralArchs, .hparams = kHparams,
    .configure = configureMistral, .roles = kRoles,
};
const Family familyQwen2 = {
    .name = "qwen2", .hf_archs = kQwen2Archs, .hparams = kHparams,
    .configure = configureQwen2, .roles = kRoles,
};
