#ifndef FFNSCOPE_MODEL_ARCH_COMMON_H
#define FFNSCOPE_MODEL_ARCH_COMMON_H

/* Config readers more than one family shares: rotary scaling, sliding-window
 * layer patterns, the head size. */

#include "model/arch.h"

/* c->rope from rope_theta (already in c->rope.theta), rope_scaling (types
 * default, linear, dynamic, llama3; anything else refused naming the type
 * and the supported ones) and dims (the rotated part of each head). */
int archReadRope(ArchConfig *c, const HpSource *s, RopeSpec *r, int dims, Error *err);

/* c->rope.dims = int(head_dim * fraction) (Python's truncation, as Hugging
 * Face computes it), refused naming key when that is odd or zero. */
int archRotaryDims(ArchConfig *c, const HpSource *s, const char *key, double fraction, Error *err);

/* head_dim when the config gives it, else hidden / heads (which must divide). */
int archHeadDim(ArchConfig *c, const HpSource *s, const char *d_key, const char *heads_key, Error *err);

/* c->sliding[] from "layer_types" ("sliding_attention" / "full_attention")
 * when the config has it; returns 1 when it did, 0 when the key is absent. */
int archLayerTypes(ArchConfig *c, const HpSource *s, Error *err);

/* The activation named by key (dflt when absent); gated families accept the
 * SiLU and tanh/erf GELU names Hugging Face uses. */
int archActivation(const HpSource *s, const char *key, const char *dflt, ActKind *act, Error *err);

/* The hyperparameters of LLaMA-shaped configs (hidden_size, ..., rope_theta,
 * tie_word_embeddings), shared by the families that keep those names. */
extern const Hparam archLlamaHparams[];

/* LLaMA-shaped configuration: head size, RMSNorm, SwiGLU (hidden_act),
 * rope_scaling, attention_bias; on GGUF the rotary width, tied head and
 * biases as llama.cpp's files say them. Flags: */
enum {
    LLAMA_QKV_BIAS = 1u << 0,    /* q/k/v always carry biases, o never (Qwen2) */
    LLAMA_WINDOW_ALL = 1u << 1,  /* sliding_window on every layer (Mistral) */
    LLAMA_WINDOW_QWEN = 1u << 2, /* with use_sliding_window, from max_window_layers on (Qwen2/3) */
};
int archLlamaLike(ArchConfig *c, const HpSource *s, unsigned flags, Error *err);

/* Gemma: LLaMA-shaped with 1 + w RMSNorm, hidden_activation, scaled
 * embeddings, tied by default (gemma.c). Gemma 2 and 3 add sandwich norms,
 * query_pre_attn_scalar, soft-capping (dflt_cap when absent, off when null)
 * and sliding_window (gemma2.c); on GGUF the query scale is llama.cpp's,
 * d / heads for models of big_layers layers (the 27B ones). */
int archGemmaLike(ArchConfig *c, const HpSource *s, Error *err);
int archGemma2Like(ArchConfig *c, const HpSource *s, double dflt_cap, int big_layers, Error *err);

/* c->sliding[l] for llama.cpp's pattern of period P: every layer but each
 * P-th (l % P == P - 1) is sliding (P 1: none; P 0: all, as llama.cpp). */
void archSlidingEvery(ArchConfig *c, int period);

/* Mixture of experts, as a family's config names it. On GGUF the counts are
 * ARCH.expert_count and ARCH.expert_used_count, the widths
 * ARCH.expert_feed_forward_length and ARCH.expert_shared_feed_forward_length
 * (llama.cpp's defaults when absent), a layer is routed when it has
 * blk.N.ffn_gate_inp, and renormalisation is what llama.cpp's runtime fixes
 * for the architecture. */
typedef struct MoeSpec {
    const char *experts_key;    /* the number of routed experts */
    const char *width_key;      /* each expert's width; NULL: intermediate_size, and no dense layer */
    const char *shared_key;     /* the shared expert's width; NULL: none */
    int norm_dflt;              /* norm_topk_prob when absent; < 0: always renormalised, the key ignored */
    int gguf_norm;              /* renormalised on GGUF */
    int sparse_keys;            /* decoder_sparse_step and mlp_only_layers leave layers dense */
} MoeSpec;
int archMoe(ArchConfig *c, const HpSource *s, const MoeSpec *m, Error *err);

/* transformers 5's names of the routed experts of mlp.experts.E.{gate,up,down}_proj:
 * mlp.experts.gate_up_proj [E, 2 x width, d] and mlp.experts.down_proj [E, d, width]. */
extern const TensorAlt archMoeV5Alts[];

/* Reads key again with another default (families whose config class
 * defaults differ from LLaMA's). */
int archRealDefault(const HpSource *s, const char *key, double dflt, double *out, Error *err);

#endif
