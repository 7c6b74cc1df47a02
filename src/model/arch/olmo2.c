/* OLMo 2: LLaMA-shaped but post-norm (the attention and FFN outputs are
 * normalised, their inputs are not), with RMSNorm over the whole q and k
 * projections before the heads are split. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    /* OLMo 2's config class defaults to 1e-5 (the table's LLaMA default is 1e-6). */
    if (hpReal(s, "rms_norm_eps", "attention.layer_norm_rms_epsilon", 0, 1e-5, &c->eps, err) < 0 ||
        archLlamaLike(c, s, 0, err))
        return -1;
    c->layout = BLOCK_POST_NORM;
    c->qk_norm = QK_NORM_WHOLE;
    return 0;
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_BQ, LAYER "self_attn.q_proj.bias", "blk.%d.attn_q.bias", DIM_Q, DIM_NONE, 0, archHasQkvBias},
    {0, L_BK, LAYER "self_attn.k_proj.bias", "blk.%d.attn_k.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {0, L_BV, LAYER "self_attn.v_proj.bias", "blk.%d.attn_v.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {0, L_Q_NORM, LAYER "self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", DIM_Q, DIM_NONE, 0, NULL},
    {0, L_K_NORM, LAYER "self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", DIM_KV, DIM_NONE, 0, NULL},
    {0, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_BO, LAYER "self_attn.o_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {0, L_POST_ATTN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.post_attention_norm.weight", DIM_D,
     DIM_NONE, 0, NULL},
    {0, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {0, L_POST_FFN_NORM, LAYER "post_feedforward_layernorm.weight", "blk.%d.post_ffw_norm.weight", DIM_D, DIM_NONE,
     0, NULL},
    {1, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {1, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"Olmo2ForCausalLM", "Olmo2Model", NULL};

const Family familyOlmo2 = {
    .name = "olmo2", .hf_archs = kArchs, .gguf_arch = "olmo2", .hparams = archLlamaHparams, .configure = configure,
    .roles = kRoles,
};
