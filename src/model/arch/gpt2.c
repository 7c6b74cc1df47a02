/* GPT-2 (Hugging Face GPT2LMHeadModel / GPT2Model; llama.cpp "gpt2"; llm.c):
 * learned positions, pre-LayerNorm blocks with biases, fused QKV, a plain
 * GELU MLP. The Hugging Face file stores its Conv1D matrices [in, out]. */
#include <stddef.h>
#include <string.h>

#include "model/families.h"
#include "model/weights.h"

#define F(x) offsetof(ArchConfig, x)

static const Hparam kHparams[] = {
    {"n_embd", "embedding_length", HP_INT, F(d), HP_REQUIRED, 0},
    {"n_layer", "block_count", HP_INT, F(n_layers), HP_REQUIRED, 0},
    {"n_head", "attention.head_count", HP_INT, F(n_heads), HP_REQUIRED, 0},
    {"vocab_size", "vocab_size", HP_INT, F(vocab), HP_REQUIRED, 0},
    {"n_inner", "feed_forward_length", HP_INT, F(ffn), 0, 0},
    {"layer_norm_epsilon", "attention.layer_norm_epsilon", HP_REAL, F(eps), 0, 1e-5},
    {"scale_attn_by_inverse_layer_idx", NULL, HP_BOOL, F(scale_by_layer), 0, 0},
    {NULL, NULL, 0, 0, 0, 0},
};

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    /* n_ctx is the older name of n_positions. */
    const char *ctx = !hpHas(s, "n_positions", NULL) && hpHas(s, "n_ctx", NULL) ? "n_ctx" : "n_positions";
    if (hpInt(s, ctx, "context_length", 1, 0, &c->context, err) < 0) return -1;
    if (!c->ffn) c->ffn = 4 * c->d;
    char a[96], b[96];
    if (c->d % c->n_heads)
        return errorSet(err, EXIT_INPUT, "%s: %s %d is not divisible by %s %d", s->path,
                        hpKeyName(s, "n_embd", "embedding_length", a, sizeof a), c->d,
                        hpKeyName(s, "n_head", "attention.head_count", b, sizeof b), c->n_heads);
    c->n_kv_heads = c->n_heads;
    c->head_dim = c->d / c->n_heads;
    c->norm = NORM_LAYER;
    c->layout = BLOCK_PRE_NORM;
    c->learned_positions = 1;
    c->qkv_bias = c->o_bias = c->mlp_bias = 1;
    int scale = 1;
    if (hpBool(s, "scale_attn_weights", NULL, 1, &scale, err) < 0) return -1;
    c->attn_scale = scale ? 0 : 1.0;
    const char *act;
    if (hpStr(s, "activation_function", NULL, "gelu_new", &act, err) < 0) return -1;
    /* llama.cpp runs gpt2 with the tanh GELU, which is also the default */
    if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh") || !strcmp(act, "gelu_fast"))
        c->act = ACT_GELU_TANH;
    else if (!strcmp(act, "gelu")) c->act = ACT_GELU_ERF;
    else if (!strcmp(act, "relu")) c->act = ACT_RELU;
    else if (!strcmp(act, "silu") || !strcmp(act, "swish")) c->act = ACT_SILU;
    else return errorSet(err, EXIT_INPUT, "%s: activation_function '%s' is not supported", s->path, act);
    return 0;
}

static const TensorRole kRoles[] = {
    {1, G_EMBED, "wte.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {1, G_POS_EMBED, "wpe.weight", "position_embd.weight", DIM_CTX, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, "h.%d.ln_1.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_ATTN_NORM_B, "h.%d.ln_1.bias", "blk.%d.attn_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQKV, "h.%d.attn.c_attn.weight", "blk.%d.attn_qkv.weight", DIM_QKV, DIM_D, SLOT_CONV1D, NULL},
    {0, L_BQKV, "h.%d.attn.c_attn.bias", "blk.%d.attn_qkv.bias", DIM_QKV, DIM_NONE, 0, NULL},
    {0, L_WO, "h.%d.attn.c_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, SLOT_CONV1D, NULL},
    {0, L_BO, "h.%d.attn.c_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, L_FFN_NORM, "h.%d.ln_2.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_FFN_NORM_B, "h.%d.ln_2.bias", "blk.%d.ffn_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, L_W_UP, "h.%d.mlp.c_fc.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, SLOT_CONV1D, NULL},
    {0, L_B_UP, "h.%d.mlp.c_fc.bias", "blk.%d.ffn_up.bias", DIM_FFN, DIM_NONE, 0, NULL},
    {0, L_W_DOWN, "h.%d.mlp.c_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, SLOT_CONV1D, NULL},
    {0, L_B_DOWN, "h.%d.mlp.c_proj.bias", "blk.%d.ffn_down.bias", DIM_D, DIM_NONE, 0, NULL},
    {1, G_OUT_NORM, "ln_f.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {1, G_OUT_NORM_B, "ln_f.bias", "output_norm.bias", DIM_D, DIM_NONE, 0, NULL},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"GPT2LMHeadModel", "GPT2Model", NULL};

const Family familyGpt2 = {
    .name = "gpt2", .hf_archs = kArchs, .gguf_arch = "gpt2", .hf_prefix = "transformer.",
    .hparams = kHparams, .configure = configure, .roles = kRoles,
};
