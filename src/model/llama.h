#ifndef FFNSCOPE_MODEL_LLAMA_H
#define FFNSCOPE_MODEL_LLAMA_H

/* LLaMA-shaped dense decoders (also Mistral and Qwen2): RMSNorm, rotary
 * positions in the Hugging Face rotate-half layout, grouped-query attention,
 * SwiGLU MLP. Filled through weight slots like gpt2.h. */

#include "ffnscope/error.h"
#include "model/family.h"
#include "model/weights.h"

typedef struct LlamaConfig {
    int d;              /* hidden_size */
    int n_layers;       /* num_hidden_layers */
    int n_heads;        /* num_attention_heads */
    int n_kv_heads;     /* num_key_value_heads (divides n_heads) */
    int head_dim;       /* head_dim, default hidden_size / num_attention_heads; even */
    int ffn;            /* intermediate_size, D */
    int context;        /* max_position_embeddings */
    int vocab;          /* vocab_size */
    float eps;          /* rms_norm_eps */
    double rope_theta;  /* rope_theta */
    int tied;           /* tie_word_embeddings: no separate lm_head.weight */
    int qkv_bias;       /* q/k/v projections carry biases (attention_bias, Qwen2) */
    int o_bias;         /* o_proj carries a bias (attention_bias) */
} LlamaConfig;

typedef struct LlamaLayer {
    float *attn_norm;           /* [d] input_layernorm */
    float *wq;                  /* [n_heads*head_dim, d] rows in rotate-half order per head */
    float *wk;                  /* [n_kv_heads*head_dim, d] same order */
    float *wv;                  /* [n_kv_heads*head_dim, d] */
    float *bq, *bk, *bv;        /* [rows of wq, wk, wv], or NULL */
    float *wo;                  /* [d, n_heads*head_dim] */
    float *bo;                  /* [d] or NULL */
    float *ffn_norm;            /* [d] post_attention_layernorm */
    float *w_gate;              /* [D, d] */
    float *w_up;                /* [D, d] */
    float *w_down;              /* [d, D] */
} LlamaLayer;

typedef struct Llama {
    LlamaConfig cfg;
    float *embed;               /* [vocab, d] */
    LlamaLayer *layers;         /* [n_layers] */
    float *norm;                /* [d]; unused without an LM head */
    WeightSet ws;               /* lm_head.weight [vocab, d] is a check-only slot when untied */
    Scratch scratch;
    int rope_len;               /* positions in the cos/sin tables */
} Llama;

int llamaNew(const LlamaConfig *cfg, const char *what, Llama **out, Error *err);

#endif
