/* Qwen3 (dense): LLaMA-shaped with an explicit head_dim and RMSNorm over each
 * head of q and k (q_norm, k_norm) before the rotary positions; q/k/v/o
 * biases only with attention_bias; windows as Qwen2. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archLlamaLike(c, s, LLAMA_WINDOW_QWEN, err)) return -1;
    c->qk_norm = QK_NORM_HEAD;
    return 0;
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_BQ, LAYER "self_attn.q_proj.bias", "blk.%d.attn_q.bias", DIM_Q, DIM_NONE, 0, archHasQkvBias},
    {0, L_BK, LAYER "self_attn.k_proj.bias", "blk.%d.attn_k.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {0, L_BV, LAYER "self_attn.v_proj.bias", "blk.%d.attn_v.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {0, L_Q_NORM, LAYER "self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", DIM_HEAD, DIM_NONE, 0, NULL},
    {0, L_K_NORM, LAYER "self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", DIM_HEAD, DIM_NONE, 0, NULL},
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

static const char *const kArchs[] = {"Qwen3ForCausalLM", "Qwen3Model", NULL};

const Family familyQwen3 = {
    .name = "qwen3", .hf_archs = kArchs, .gguf_arch = "qwen3", .hparams = archLlamaHparams, .configure = configure,
    .roles = kRoles,
};
