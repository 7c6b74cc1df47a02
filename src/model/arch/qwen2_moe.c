/* Qwen2-MoE (Qwen1.5-MoE, Qwen2-57B-A14B): Qwen2 attention (q/k/v biases
 * unless qkv_bias is false, never an o bias; windows as Qwen2), routed FFNs
 * of num_experts experts of moe_intermediate_size with norm_topk_prob, a
 * shared expert of shared_expert_intermediate_size scaled by
 * sigmoid(shared_expert_gate), and dense FFNs of intermediate_size in the
 * layers decoder_sparse_step and mlp_only_layers leave dense. llama.cpp's
 * qwen2moe files: stacked *_exps, the shared expert as *_shexp, never
 * renormalised. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archLlamaLike(c, s, LLAMA_QKV_BIAS | LLAMA_WINDOW_QWEN, err)) return -1;
    if (!s->gguf && hpBool(s, "qkv_bias", NULL, 1, &c->qkv_bias, err) < 0) return -1;
    c->o_bias = 0;
    static const MoeSpec moe = {.experts_key = "num_experts", .width_key = "moe_intermediate_size",
                                .shared_key = "shared_expert_intermediate_size", .norm_dflt = 0, .gguf_norm = 0,
                                .sparse_keys = 1};
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
    {TR_LAYER, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {TR_LAYER, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_DENSE, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {TR_DENSE, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {TR_DENSE, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {TR_ROUTED, L_ROUTER, LAYER "mlp.gate.weight", "blk.%d.ffn_gate_inp.weight", DIM_EXPERTS, DIM_D, 0, NULL},
    {TR_EXPERT, X_GATE, LAYER "mlp.experts.%d.gate_proj.weight", "blk.%d.ffn_gate_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_UP, LAYER "mlp.experts.%d.up_proj.weight", "blk.%d.ffn_up_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_DOWN, LAYER "mlp.experts.%d.down_proj.weight", "blk.%d.ffn_down_exps.weight", DIM_D, DIM_EXPERT_FFN, 0, NULL},
    {TR_ROUTED, L_SH_GATE, LAYER "mlp.shared_expert.gate_proj.weight", "blk.%d.ffn_gate_shexp.weight", DIM_SHARED_FFN, DIM_D, 0, NULL},
    {TR_ROUTED, L_SH_UP, LAYER "mlp.shared_expert.up_proj.weight", "blk.%d.ffn_up_shexp.weight", DIM_SHARED_FFN, DIM_D, 0, NULL},
    {TR_ROUTED, L_SH_DOWN, LAYER "mlp.shared_expert.down_proj.weight", "blk.%d.ffn_down_shexp.weight", DIM_D, DIM_SHARED_FFN, 0, NULL},
    {TR_ROUTED, L_SH_GATE_INP, LAYER "mlp.shared_expert_gate.weight", "blk.%d.ffn_gate_inp_shexp.weight", DIM_1, DIM_D, 0, NULL},
    {TR_GLOBAL, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_GLOBAL, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"Qwen2MoeForCausalLM", "Qwen2MoeModel", NULL};

const Family familyQwen2Moe = {
    .name = "qwen2_moe", .hf_archs = kArchs, .gguf_arch = "qwen2moe", .hparams = archLlamaHparams, .configure = configure, .roles = kRoles,
    .hf_alts = archMoeV5Alts,
};
