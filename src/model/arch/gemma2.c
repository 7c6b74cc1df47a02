/* Gemma 2: Gemma with four norms per layer (the attention and FFN outputs
 * normalised too), attention logits soft-capped, queries scaled by
 * query_pre_attn_scalar^-1/2, and a sliding window on the even layers. */
#include <math.h>

#include "model/arch/common.h"
#include "model/families.h"
#include "model/weights.h"

/* Gemma 2 and 3: sandwich norms, the query scale, soft-capping (dflt_cap
 * when the key is absent; null turns it off) and the window size. */
int archGemma2Like(ArchConfig *c, const HpSource *s, double dflt_cap, int big_layers, Error *err)
{
    if (archGemmaLike(c, s, err)) return -1;
    c->layout = BLOCK_SANDWICH;
    if (s->gguf) {
        /* llama.cpp keeps no query_pre_attn_scalar: it takes the model size
         * from the layer count and scales by d / heads for the 27B models
         * (big_layers layers), by the head size otherwise, which is what each
         * published model's query_pre_attn_scalar says. */
        int big = c->n_layers == big_layers;
        c->attn_scale = 1.0 / sqrt(big ? (double)(c->d / c->n_heads) : (double)c->head_dim);
        if (hpReal(s, NULL, "attn_logit_softcapping", 0, dflt_cap, &c->softcap, err) < 0) return -1;
        return hpInt(s, NULL, "attention.sliding_window", 0, 4096, &c->window, err) < 0 ? -1 : 0;
    }
    double qpas;
    if (hpReal(s, "query_pre_attn_scalar", NULL, 0, 256, &qpas, err) < 0) return -1;
    c->attn_scale = 1.0 / sqrt(qpas);
    if (!hpIsNull(s, "attn_logit_softcapping", NULL) &&
        hpReal(s, "attn_logit_softcapping", NULL, 0, dflt_cap, &c->softcap, err) < 0)
        return -1;
    if (!hpIsNull(s, "sliding_window", NULL) && hpInt(s, "sliding_window", NULL, 0, 4096, &c->window, err) < 0)
        return -1;
    return 0;
}

static int configure(ArchConfig *c, const HpSource *s, Error *err)
{
    if (archGemma2Like(c, s, 50.0, 46, err)) return -1;
    int rc = archLayerTypes(c, s, err);
    if (rc < 0) return -1;
    /* Even layers slide; llama.cpp hard-codes that period of 2 (an
     * attention.sliding_window_pattern key, where a file has one, wins). */
    int period = 2;
    if (rc == 0 && hpInt(s, NULL, "attention.sliding_window_pattern", 0, 2, &period, err) < 0) return -1;
    if (rc == 0) archSlidingEvery(c, period);
    return 0;
}

#define LAYER "model.layers.%d."
static const TensorRole kRoles[] = {
    {1, G_EMBED, "model.embed_tokens.weight", "token_embd.weight", DIM_VOCAB, DIM_D, 0, NULL},
    {0, L_ATTN_NORM, LAYER "input_layernorm.weight", "blk.%d.attn_norm.weight", DIM_D, DIM_NONE, SLOT_PLUS_ONE, NULL},
    {0, L_WQ, LAYER "self_attn.q_proj.weight", "blk.%d.attn_q.weight", DIM_Q, DIM_D, 0, NULL},
    {0, L_WK, LAYER "self_attn.k_proj.weight", "blk.%d.attn_k.weight", DIM_KV, DIM_D, 0, NULL},
    {0, L_WV, LAYER "self_attn.v_proj.weight", "blk.%d.attn_v.weight", DIM_KV, DIM_D, 0, NULL},
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

static const char *const kArchs[] = {"Gemma2ForCausalLM", "Gemma2Model", NULL};

const Family familyGemma2 = {
    .name = "gemma2", .hf_archs = kArchs, .gguf_arch = "gemma2", .hparams = archLlamaHparams,
    .configure = configure, .roles = kRoles,
};
