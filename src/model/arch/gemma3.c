/* Gemma 3 text models (Gemma3ForCausalLM: 270M, 1B): Gemma 2's sandwich
 * norms and query scale, Gemma-style RMSNorm on each head of q and k, and
 * local layers (a sliding window and rope_local_base_freq) interleaved with
 * global ones (rope_theta, rope_scaling) by layer_types or
 * sliding_window_pattern. Soft-capping only when the config asks. */
#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

/* llama.cpp's Gemma 3: the sliding window only when the file gives one, the
 * local layers' rotary base 10000 and a pattern of 6 hard-coded (newer
 * files' rope.freq_base_swa and attention.sliding_window_pattern win). */
static int configureGguf(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archGemma2Like(c, s, 0, 62, err)) return -1;
    c->qk_norm = QK_NORM_HEAD;
    int window = 0, period;
    if (hpInt(s, NULL, "attention.sliding_window", 0, 0, &window, err) < 0) return -1;
    c->window = window;
    if (!window) return 0;
    c->rope_local = (RopeSpec){.type = ROPE_DEFAULT, .dims = c->rope.dims};
    if (hpReal(s, NULL, "rope.freq_base_swa", 0, 10000.0, &c->rope_local.theta, err) < 0 ||
        hpInt(s, NULL, "attention.sliding_window_pattern", 0, 6, &period, err) < 0)
        return -1;
    archSlidingEvery(c, period);
    return 0;
}

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (s->gguf) return configureGguf(c, s, err);
    if (archRealDefault(s, "rope_theta", 1e6, &c->rope.theta, err) || archGemma2Like(c, s, 0, 62, err)) return -1;
    c->qk_norm = QK_NORM_HEAD;
    c->rope_local = (RopeSpec){.type = ROPE_DEFAULT, .dims = c->head_dim};
    if (archRealDefault(s, "rope_local_base_freq", 10000.0, &c->rope_local.theta, err)) return -1;
    int rc = archLayerTypes(c, s, err);
    if (rc < 0) return -1;
    if (rc == 0) {
        int pattern;
        if (hpInt(s, "sliding_window_pattern", NULL, 0, 6, &pattern, err) < 0) return -1;
        for (int l = 0; l < c->n_layers; l++) c->sliding[l] = (l + 1) % pattern != 0;
    }
    return 0;
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, SLOT_PLUS_ONE, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_Q_NORM, LAYER "self_attn.q_norm.weight", "blk.%d.attn_q_norm.weight", DIM_HEAD, DIM_NONE, SLOT_PLUS_ONE,
     NULL},
    {0, L_K_NORM, LAYER "self_attn.k_norm.weight", "blk.%d.attn_k_norm.weight", DIM_HEAD, DIM_NONE, SLOT_PLUS_ONE,
     NULL},
    {0, L_WO, LAYER "self_attn.o_proj.weight", "blk.%d.attn_output.weight", DIM_D, DIM_Q, 0, NULL},
    {0, L_POST_ATTN_NORM, LAYER "post_attention_layernorm.weight", "blk.%d.post_attention_norm.weight", DIM_D,
     DIM_NONE, SLOT_PLUS_ONE, NULL},
    {0, L_FFN_NORM, LAYER "pre_feedforward_layernorm.weight", "blk.%d.ffn_norm.weight", DIM_D, DIM_NONE,
     SLOT_PLUS_ONE, NULL},
    {0, L_W_GATE, LAYER "mlp.gate_proj.weight", "blk.%d.ffn_gate.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_UP, LAYER "mlp.up_proj.weight", "blk.%d.ffn_up.weight", DIM_FFN, DIM_D, 0, NULL},
    {0, L_W_DOWN, LAYER "mlp.down_proj.weight", "blk.%d.ffn_down.weight", DIM_D, DIM_FFN, 0, NULL},
    {0, L_POST_FFN_NORM, LAYER "post_feedforward_layernorm.weight", "blk.%d.post_ffw_norm.weight", DIM_D, DIM_NONE,
     SLOT_PLUS_ONE, NULL},
    {1, G_OUT_NORM, "model.norm.weight", "output_norm.weight", DIM_D, DIM_NONE, SLOT_PLUS_ONE, NULL},
    {1, G_LM_HEAD, "lm_head.weight", "output.weight", DIM_VOCAB, DIM_D, SLOT_CHECK_ONLY, archUntied},
    {0, 0, NULL, NULL, 0, 0, 0, NULL},
};

static const char *const kArchs[] = {"Gemma3ForCausalLM", NULL};

const Family familyGemma3Text = {
    .name = "gemma3_text", .hf_archs = kArchs, .gguf_arch = "gemma3", .hparams = archLlamaHparams,
    .configure = configure, .roles = kRoles,
};
