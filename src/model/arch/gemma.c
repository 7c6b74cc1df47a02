/* Gemma (1): LLaMA-shaped with GeGLU (hidden_activation, default the tanh
 * GELU; hidden_act is not read, as Hugging Face does), RMSNorm scaled by
 * 1 + w, embeddings multiplied by sqrt(hidden_size), tied LM head,
 * multi-query attention in 2B. */
#include <math.h>

#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

/* What Gemma 1, 2 and 3 share on top of a LLaMA-shaped config. */
int archGemmaLike(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archLlamaLike(c, s, 0, err)) return -1;
    c->norm = NORM_RMS_1P;
    if (archActivation(s, "hidden_activation", "gelu_pytorch_tanh", &c->act, err)) return -1;
    /* GGUF: tied unless output.weight is there (archLlamaLike looked). */
    if (!s->gguf && hpBool(s, "tie_word_embeddings", NULL, 1, &c->tied, err) < 0) return -1;
    c->embed_scale = sqrt((double)c->d);
    return 0;
}

static int configure(ArchConfig *c, const HpSource *s, Error *err) { return archGemmaLike(c, s, err); }

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, SLOT_PLUS_ONE, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE,
     SLOT_PLUS_ONE, NULL},
    {0, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {1, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, SLOT_PLUS_ONE, NULL},
    {1, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"GemmaForCausalLM", "GemmaModel", NULL};

const Family familyGemma = {
    .name = "gemma", .hf_archs = kArchs, .gguf_arch = "gemma", .hparams = archLlamaHparams, .configure = configure,
    .roles = kRoles,
};
