/* Qwen3-MoE (Qwen3-30B-A3B, 235B-A22B): Qwen3 attention (per-head q/k
 * RMSNorm before RoPE, biases only with attention_bias), routed FFNs of
 * num_experts experts of moe_intermediate_size with norm_topk_prob, no
 * shared expert, dense FFNs where decoder_sparse_step and mlp_only_layers
 * say. llama.cpp's qwen3moe files: stacked *_exps, always renormalised. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archLlamaLike(c, s, LLAMA_WINDOW_QWEN, err)) return -1;
    c->qk_norm = QK_NORM_HEAD;
    static const MoeSpec moe = {.experts_key = "num_experts", .width_key = "moe_intermediate_size", .norm_dflt = 0,
                                .gguf_norm = 1, .sparse_keys = 1};
    return archMoe(c, s, &moe, err);
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {TR_GLOBAL, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {TR_LAYER, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_LAYER, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {TR_LAYER, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {TR_LAYER, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {TR_LAYER, L_BQ, LAYER "self_attn.q_proj.bias", "blk.%d.attn_q.bias", DIM_Q, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_BK, LAYER "self_attn.k_proj.bias", "blk.%d.attn_k.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_BV, LAYER "self_attn.v_proj.bias", "blk.%d.attn_v.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_Q_NORM, LAYER "self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", DIM_HEAD, DIM_NONE, 0, NULL},
    {TR_LAYER, L_K_NORM, LAYER "self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", DIM_HEAD, DIM_NONE, 0, NULL},
    {TR_LAYER, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {TR_LAYER, L_BO, LAYER "self_attn.o_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {TR_LAYER, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_DENSE, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {TR_DENSE, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {TR_DENSE, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {TR_ROUTED, L_ROUTER, LAYER "mlp.gate.weight", "blk.%d.ffn_gate_inp.weight", DIM_EXPERTS, DIM_D, 0, NULL},
    {TR_EXPERT, X_GATE, LAYER "mlp.experts.%d.gate_proj.weight", "blk.%d.ffn_gate_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_UP, LAYER "mlp.experts.%d.up_proj.weight", "blk.%d.ffn_up_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_DOWN, LAYER "mlp.experts.%d.down_proj.weight", "blk.%d.ffn_down_exps.weight", DIM_D, DIM_EXPERT_FFN, 0, NULL},
    {TR_GLOBAL, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_GLOBAL, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"Qwen3MoeForCausalLM", "Qwen3MoeModel", NULL};

const Family familyQwen3Moe = {
    .name = "qwen3_moe", .hf_archs = kArchs, .gguf_arch = "qwen3moe", .hparams = archLlamaHparams, .configure = configure, .roles = kRoles,
    .hf_alts = archMoeV5Alts,
};
