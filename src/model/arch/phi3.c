/* Phi-3 / Phi-3.5 / Phi-4-mini: LLaMA-shaped with fused qkv_proj ([q; k; v]
 * rows) and gate_up_proj ([gate; up] rows), partial rotary
 * (partial_rotary_factor) and a sliding window on every layer when the
 * config sets one. longrope scaling (the 128k models) is refused. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (hpReal(s, "rms_norm_eps", "attention.layer_norm_rms_epsilon", 0, 1e-5, &c->eps, err) < 0 ||
        archLlamaLike(c, s, LLAMA_WINDOW_ALL, err))
        return -1;
    if (s->gguf) {
        /* The rotary width came with rope.dimension_count. llama.cpp's
         * converter writes sliding_window 0 for none; its runtime currently
         * leaves Phi-3's window off, but the model has one on every layer. */
        if (hpInt(s, NULL, "attention.sliding_window", 0, 0, &c->window, err) < 0) return -1;
        for (int l = 0; l < c->n_layers; l++) c->sliding[l] = c->window > 0;
        return 0;
    }
    double f;
    if (archRealDefault(s, "partial_rotary_factor", 1.0, &f, err)) return -1;
    if (f > 1) return errorSet(err, EXIT_INPUT, "%s: key 'partial_rotary_factor' must be at most 1", s->path);
    return archRotaryDims(c, s, "partial_rotary_factor", f, err);
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_WQKV, LAYER "self_attn.qkv_proj.weight", "blk.%d.attn_qkv.weight", DIM_QKV, DIM_D, 0, NULL},
    {0, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_FFN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {0, L_W_GATE_UP, LAYER "mlp.gate_up_proj.weight", "blk.%d.ffn_up.weight", DIM_2FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {1, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, 0, NULL},
    {1, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"Phi3ForCausalLM", "Phi3Model", NULL};

const Family familyPhi3 = {
    .name = "phi3", .hf_archs = kArchs, .gguf_arch = "phi3", .hparams = archLlamaHparams, .configure = configure,
    .roles = kRoles,
};
