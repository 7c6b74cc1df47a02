/* LLaMA and the models shaped like it: Llama 1-3 (rope_scaling llama3,
 * linear, dynamic), Mistral (sliding window), Qwen2/2.5 (q/k/v biases,
 * windows above max_window_layers), SmolLM; llama2.c checkpoints load into
 * the llama family. RMSNorm, rotary positions (rotate-half), grouped-query
 * attention, SwiGLU. */
#include <string.h>

#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configureLlama(ArchConfig *c, const HpSource *s, Error *err) { return archLlamaLike(c, s, 0, err); }
static int configureMistral(ArchConfig *c, const HpSource *s, Error *err)
{
    return archLlamaLike(c, s, LLAMA_WINDOW_ALL, err);
}
static int configureQwen2(ArchConfig *c, const HpSource *s, Error *err)
{
    return archLlamaLike(c, s, LLAMA_QKV_BIAS | LLAMA_WINDOW_QWEN, err);
}

#define LAYER "model.layers.%d."
/* One table for the three: only GGUF tells them apart, where llama.cpp's
 * converter permutes LLaMA's q/k rows (gguf_permutes_qk) and never Qwen2's;
 * it writes Mistral as llama. */
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_BQ, LAYER "self_attn.q_proj.bias", "blk.%d.attn_q.bias", DIM_Q, DIM_NONE, 0, archHasQkvBias},
    {0, L_BK, LAYER "self_attn.k_proj.bias", "blk.%d.attn_k.bias", DIM_KV, DIM_NONE, 0, archHasQkvBias},
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
    .name = "llama", .hf_archs = kLlamaArchs, .gguf_arch = "llama", .gguf_permutes_qk = 1,
    .hparams = archLlamaHparams, .configure = configureLlama, .roles = kRoles,
};
const Family familyMistral = {
    .name = "mistral", .hf_archs = kMistralArchs, .hparams = archLlamaHparams,
    .configure = configureMistral, .roles = kRoles,
};
const Family familyQwen2 = {
    .name = "qwen2", .hf_archs = kQwen2Archs, .gguf_arch = "qwen2", .hparams = archLlamaHparams,
    .configure = configureQwen2, .roles = kRoles,
};
