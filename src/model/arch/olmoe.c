/* OLMoE: pre-norm LLaMA blocks with RMSNorm over the whole q and k
 * projections (before the head split and RoPE, as OLMo 2), every FFN routed:
 * num_experts experts of intermediate_size, norm_topk_prob (default false).
 * clip_qkv is refused. llama.cpp's olmoe files: stacked *_exps, never
 * renormalised (as the published configs). */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    /* OlmoeConfig's default differs from the LLaMA table's */
    if (hpReal(s, "rms_norm_eps", "attention.layer_norm_rms_epsilon", 0, 1e-5, &c->eps, err) < 0 ||
        archLlamaLike(c, s, 0, err))
        return -1;
    if (hpHas(s, "clip_qkv", NULL)) return errorSet(err, EXIT_INPUT, "%s: clip_qkv is not supported", s->path);
    c->qk_norm = QK_NORM_WHOLE;
    static const MoeSpec moe = {.experts_key = "num_experts", .norm_dflt = 0, .gguf_norm = 0};
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
    {TR_LAYER, L_Q_NORM, LAYER "self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", DIM_Q, DIM_NONE, 0, NULL},
    {TR_LAYER, L_K_NORM, LAYER "self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", DIM_KV, DIM_NONE, 0, NULL},
    {TR_LAYER, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {TR_LAYER, L_BO, LAYER "self_attn.o_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {TR_LAYER, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_ROUTED, L_ROUTER, LAYER "mlp.gate.weight", "blk.%d.ffn_gate_inp.weight", DIM_EXPERTS, DIM_D, 0, NULL},
    {TR_EXPERT, X_GATE, LAYER "mlp.experts.%d.gate_proj.weight", "blk.%d.ffn_gate_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_UP, LAYER "mlp.experts.%d.up_proj.weight", "blk.%d.ffn_up_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_DOWN, LAYER "mlp.experts.%d.down_proj.weight", "blk.%d.ffn_down_exps.weight", DIM_D, DIM_EXPERT_FFN, 0, NULL},
    {TR_GLOBAL, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_GLOBAL, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"OlmoeForCausalLM", "OlmoeModel", NULL};

const Family familyOlmoe = {
    .name = "olmoe", .hf_archs = kArchs, .gguf_arch = "olmoe", .hparams = archLlamaHparams, .configure = configure, .roles = kRoles,
    .hf_alts = archMoeV5Alts,
};
