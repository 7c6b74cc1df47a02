#ifndef FFNSCOPE_MODEL_GPT2_H
#define FFNSCOPE_MODEL_GPT2_H

/* GPT-2: learned positions, pre-LayerNorm blocks, fused QKV, GELU MLP.
 * Readers fill Gpt2Config, call gpt2New (which checks it and builds the weight
 * slots), check their tensors against the slots, call weightsAlloc and write
 * each slot (weights.h). llama.h and ngpt.h work the same way. */

#include "ffnscope/error.h"
#include "model/family.h"
#include "model/weights.h"

typedef enum Gpt2Act { GPT2_GELU_TANH, GPT2_GELU_ERF, GPT2_RELU, GPT2_SILU } Gpt2Act;

typedef struct Gpt2Config {
    int d;              /* n_embd */
    int n_layers;       /* n_layer */
    int n_heads;        /* n_head */
    int ffn;            /* n_inner, D */
    int context;        /* n_positions */
    int vocab;          /* vocab_size */
    float eps;          /* layer_norm_epsilon */
    Gpt2Act act;        /* activation_function */
    int scale_attn;             /* scale_attn_weights: divide scores by sqrt(head_dim) */
    int scale_by_layer;         /* scale_attn_by_inverse_layer_idx: also by (layer + 1) */
} Gpt2Config;

typedef struct Gpt2Layer {
    float *ln1_g, *ln1_b;       /* [d] */
    float *w_qkv;               /* [3d, d]  q, k, v blocks of rows */
    float *b_qkv;               /* [3d] */
    float *w_attn_out;          /* [d, d] */
    float *b_attn_out;          /* [d] */
    float *ln2_g, *ln2_b;       /* [d] */
    float *w_fc;                /* [D, d] */
    float *b_fc;                /* [D] */
    float *w_proj;              /* [d, D] */
    float *b_proj;              /* [d] */
} Gpt2Layer;

typedef struct Gpt2 {
    Gpt2Config cfg;
    float *wte;                 /* [vocab, d] */
    float *wpe;                 /* [context, d] */
    Gpt2Layer *layers;          /* [n_layers] */
    float *lnf_g, *lnf_b;       /* [d]; unused without an LM head, kept for completeness */
    WeightSet ws;               /* the slots above, and the memory behind them */
    Scratch scratch;
} Gpt2;

/* Checks cfg and builds the slots (HF names); allocates no weights. Errors
 * name `what` (the config file). */
int gpt2New(const Gpt2Config *cfg, const char *what, Gpt2 **out, Error *err);

#endif
