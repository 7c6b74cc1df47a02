/* Mixtral: LLaMA-shaped attention (sliding_window on every layer when set),
 * every FFN routed: num_local_experts SwiGLU experts (w1 gate, w3 up, w2
 * down) under block_sparse_moe, the top num_experts_per_tok of a float32
 * softmax always renormalised. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archRealDefault(s, "rms_norm_eps", 1e-5, &c->eps, err) ||
        archRealDefault(s, "rope_theta", 1e6, &c->rope.theta, err) ||
        archLlamaLike(c, s, LLAMA_WINDOW_ALL, err))
        return -1;
    return archMoe(c, s, "num_local_experts", NULL, NULL, -1, 0, err);
}

#define LAYER "model.layers.%d."
#define MOE LAYER "block_sparse_moe."
static const TensorRole kRoles[] = {
    {TR_GLOBAL, G_EMBED, "model.embed_tokens.weight", NULL, DIM_VOCAB, DIM_D, 0, NULL},
    {TR_LAYER, L_ATTN_NORM, LAYER "input_layernorm.weight", NULL, DIM_D, DIM_NONE, 0, NULL},
    {TR_LAYER, L_WQ, LAYER "self_attn.q_proj.weight", NULL, DIM_Q, DIM_D, 0, NULL},
    {TR_LAYER, L_WK, LAYER "self_attn.k_proj.weight", NULL, DIM_KV, DIM_D, 0, NULL},
    {TR_LAYER, L_WV, LAYER "self_attn.v_proj.weight", NULL, DIM_KV, DIM_D, 0, NULL},
    {TR_LAYER, L_BQ, LAYER "self_attn.q_proj.bias", NULL, DIM_Q, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_BK, LAYER "self_attn.k_proj.bias", NULL, DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_BV, LAYER "self_attn.v_proj.bias", NULL, DIM_KV, DIM_NONE, 0, archHasQkvBias},
    {TR_LAYER, L_WO, LAYER "self_attn.o_proj.weight", NULL, DIM_D, DIM_Q, 0, NULL},
    {TR_LAYER, L_BO, LAYER "self_attn.o_proj.bias", NULL, DIM_D, DIM_NONE, 0, archHasOBias},
    {TR_LAYER, L_FFN_NORM, LAYER "post_attention_layernorm.weight", NULL, DIM_D, DIM_NONE, 0, NULL},
    {TR_ROUTED, L_ROUTER, MOE "gate.weight", NULL, DIM_EXPERTS, DIM_D, 0, NULL},
    {TR_EXPERT, X_GATE, MOE "experts.%d.w1.weight", NULL, DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_UP, MOE "experts.%d.w3.weight", NULL, DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_DOWN, MOE "experts.%d.w2.weight", NULL, DIM_D, DIM_EXPERT_FFN, 0, NULL},
    {TR_GLOBAL, G_OUT_NORM, "model.norm.weight", NULL, DIM_D, DIM_NONE, 0, NULL},
    {TR_GLOBAL, G_LM_HEAD, "lm_head.weight", NULL, DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"MixtralForCausalLM", "MixtralModel", NULL};

const Family familyMixtral = {
    .name = "mixtral", .hf_archs = kArchs, .hparams = archLlamaHparams, .configure = configure, .roles = kRoles,
};
