/* GPT-NeoX (Pythia): LayerNorm with biases, a fused query_key_value
 * projection interleaved per head, rotary positions on the first rotary_pct
 * of each head, exact GELU, and the attention and FFN in parallel on the
 * same input (use_parallel_residual) or one after the other. */
#include <stddef.h>

#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

#define F(x) offsetof(ArchConfig, x)

static const Hparam kHparams[] = {
    {"hidden_size", "embedding_length", HP_INT, F(d), HP_REQUIRED, 0},
    {"intermediate_size", "feed_forward_length", HP_INT, F(ffn), HP_REQUIRED, 0},
    {"num_hidden_layers", "block_count", HP_INT, F(n_layers), HP_REQUIRED, 0},
    {"num_attention_heads", "attention.head_count", HP_INT, F(n_heads), HP_REQUIRED, 0},
    {"vocab_size", "vocab_size", HP_INT, F(vocab), HP_REQUIRED, 0},
    {"max_position_embeddings", "context_length", HP_INT, F(context), HP_REQUIRED, 0},
    {"layer_norm_eps", "attention.layer_norm_epsilon", HP_REAL, F(eps), 0, 1e-5},
    {"tie_word_embeddings", NULL, HP_BOOL, F(tied), 0, 0},
    {"attention_bias", NULL, HP_BOOL, F(qkv_bias), 0, 1},
    {NULL, NULL, 0, 0, 0, 0},
};

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    char a[96], b[96];
    if (c->d % c->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: %s %d is not divisible by %s %d", s->path,
                        hpKeyName(s, "hidden_size", "embedding_length", a, sizeof a), c->d,
                        hpKeyName(s, "num_attention_heads", "attention.head_count", b, sizeof b), c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d / c->n_heads;
    c->norm = NORM_LAYER;
    c->mlp_bias = 1;
    int parallel;
    if (hpBool(s, "use_parallel_residual", "use_parallel_residual", 1, &parallel, err) < 0) return -1;
    c->layout = parallel ? BLOCK_PARALLEL : BLOCK_PRE_NORM;
    /* GGUF names no activation: Pythia's exact GELU (llama.cpp runs ggml's
     * tanh approximation of it). */
    if (archActivation(s, "hidden_act", "gelu", &c->act, err)) return -1;
    if (s->gguf) {
        /* llama.cpp's converter writes the rotated width, no base (its
         * runtime's default is 10000, Pythia's) and the biases as tensors. */
        c->tied = !hpHas(s, NULL, "tensor:output.weight");
        c->qkv_bias = c->o_bias = hpHas(s, NULL, "tensor:blk.0.attn_qkv.bias");
        c->rope.type = ROPE_DEFAULT;
        if (hpInt(s, NULL, "rope.dimension_count", 1, 0, &c->rope.dims, err) < 0 ||
            hpReal(s, NULL, "rope.freq_base", 0, 10000.0, &c->rope.theta, err) < 0)
            return -1;
        return 0;
    }
    c->o_bias = c->qkv_bias;
    /* Newer configs say rope_theta and partial_rotary_factor. */
    double pct;
    const char *pct_key = hpHas(s, "partial_rotary_factor", NULL) ? "partial_rotary_factor" : "rotary_pct";
    const char *base_key = hpHas(s, "rope_theta", NULL) ? "rope_theta" : "rotary_emb_base";
    if (archRealDefault(s, pct_key, 0.25, &pct, err) || archRealDefault(s, base_key, 10000.0, &c->rope.theta, err))
        return -1;
    if (pct > 1) return errorSet(err, EXIT_INPUT, "%s: key '%s' must be at most 1", s->path, pct_key);
    return archRotaryDims(c, s, pct_key, pct, err) || archReadRope(c, s, &c->rope, c->rope.dims, err);
}

#define LAYER "gpt_neox.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "gpt_neox.embed_in.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_ATTN_NORM_B, LAYER "input_layernorm.bias", "blk.%d.attn_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQKV, LAYER "attention.query_key_value.weight", "blk.%d.attn_qkv.weight", DIM_QKV, DIM_D, SLOT_HEAD_QKV,
     NULL},
    {0, L_BQKV, LAYER "attention.query_key_value.bias", "blk.%d.attn_qkv.bias", DIM_QKV, DIM_NONE, SLOT_HEAD_QKV,
     archHasQkvBias},
    {0, L_WO, LAYER "attention.dense.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_BO, LAYER "attention.dense.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {0, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_FFN_NORM_B, LAYER "post_attention_layernorm.bias", "blk.%d.ffn_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, L_W_UP, LAYER "mlp.dense_h_to_4h.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_B_UP, LAYER "mlp.dense_h_to_4h.bias", "blk.%d.ffn_up.bias", DIM_FFN, DIM_NONE, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.dense_4h_to_h.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {0, L_B_DOWN, LAYER "mlp.dense_4h_to_h.bias", "blk.%d.ffn_down.bias", DIM_D, DIM_NONE, 0, NULL},
    {1, G_OUT_NORM, "gpt_neox.final_layer_norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {1, G_OUT_NORM_B, "gpt_neox.final_layer_norm.bias", "output_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {1, G_LM_HEAD, "embed_out.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"GPTNeoXForCausalLM", "GPTNeoXModel", NULL};

const Family familyGptNeox = {
    .name = "gpt_neox", .hf_archs = kArchs, .gguf_arch = "gptneox", .hparams = kHparams, .configure = configure,
    .roles = kRoles,
};
