/* Mixtral: LLaMA-shaped attention (sliding_window on every layer when set),
 * every FFN routed: num_local_experts SwiGLU experts (w1 gate, w3 up, w2
 * down) under block_sparse_moe, the top num_experts_per_tok of a float32
 * softmax always renormalised. llama.cpp writes it as a llama GGUF with
 * llama.expert_count (q/k permuted as LLaMA's) and stacked *_exps tensors. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    /* MixtralConfig's defaults differ from the LLaMA table's */
    if (hpReal(s, "rms_norm_eps", "attention.layer_norm_rms_epsilon", 0, 1e-5, &c->eps, err) < 0 ||
        hpReal(s, "rope_theta", "rope.freq_base", 0, 1e6, &c->rope.theta, err) < 0 ||
        archLlamaLike(c, s, LLAMA_WINDOW_ALL, err))
        return -1;
    static const MoeSpec moe = {.experts_key = "num_local_experts", .norm_dflt = -1, .gguf_norm = 1};
    return archMoe(c, s, &moe, err);
}

/* A llama GGUF with experts. */
static int claimsGguf(const HpSource *s)
{
    Error ignored;
    int n = 0;
    return hpInt(s, NULL, "expert_count", 0, 0, &n, &ignored) == 0 && n > 0;
}

#define LAYER "model.layers.%d."
#define MOE LAYER "block_sparse_moe."
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
    {TR_LAYER, L_BO, LAYER "self_attn.o_proj.bias", "blk.%d.attn_output.bias", DIM_D, DIM_NONE, 0, archHasOBias},
    {TR_LAYER, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_ROUTED, L_ROUTER, MOE "gate.weight", "blk.%d.ffn_gate_inp.weight", DIM_EXPERTS, DIM_D, 0, NULL},
    {TR_EXPERT, X_GATE, MOE "experts.%d.w1.weight", "blk.%d.ffn_gate_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_UP, MOE "experts.%d.w3.weight", "blk.%d.ffn_up_exps.weight", DIM_EXPERT_FFN, DIM_D, 0, NULL},
    {TR_EXPERT, X_DOWN, MOE "experts.%d.w2.weight", "blk.%d.ffn_down_exps.weight", DIM_D, DIM_EXPERT_FFN, 0, NULL},
    {TR_GLOBAL, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {TR_GLOBAL, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

/* transformers 5 renames block_sparse_moe to mlp and stacks the experts */
static const TensorAlt kAlts[] = {
    {TR_ROUTED, L_ROUTER, LAYER "mlp.gate.weight", 0, 1},
    {TR_EXPERT, X_GATE, LAYER "mlp.experts.gate_up_proj", 0, 2},
    {TR_EXPERT, X_UP, LAYER "mlp.experts.gate_up_proj", 1, 2},
    {TR_EXPERT, X_DOWN, LAYER "mlp.experts.down_proj", 0, 1},
    {0, 0, NULL, 0, 0},
};

static const char *const kArchs[] = {"MixtralForCausalLM", "MixtralModel", NULL};

const Family familyMixtral = {
    .name = "mixtral", .hf_archs = kArchs, .gguf_arch = "llama", .gguf_claims = claimsGguf, .gguf_permutes_qk = 1,
    .hparams = archLlamaHparams, .configure = configure, .roles = kRoles, .hf_alts = kAlts,
};
