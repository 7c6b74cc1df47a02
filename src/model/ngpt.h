#ifndef FFNSCOPE_MODEL_NGPT_H
#define FFNSCOPE_MODEL_NGPT_H

/* nGPT (normalized transformer, NVIDIA/ngpt model.py with use_nGPT = 1): no
 * norm layers; hidden states live on the unit sphere and each block moves them
 * toward the normalised attention / MLP output by learned per-channel rates.
 * Stored parameters are raw; the effective scales are derived in the forward
 * pass exactly as model.py does (sqk/base_scale, suv*sqrt(n_embd),
 * |alpha|*0.05/base_scale). Filled through weight slots like gpt2.h. */

#include "ffnscope/error.h"
#include "model/family.h"
#include "model/weights.h"

typedef struct NgptConfig {
    int d;              /* n_embd */
    int n_layers;       /* n_layer */
    int n_heads;        /* n_head */
    int ffn;            /* ffn_width, D (model.py hard-codes 4 * n_embd) */
    int context;        /* block_size */
    int vocab;          /* vocab_size */
    double base_scale;  /* base_scale, default 1/sqrt(n_embd) */
} NgptConfig;

typedef struct NgptLayer {
    float *wq, *wk, *wv;        /* [d, d] query, key, value */
    float *wo;                  /* [d, d] att_c_proj */
    float *w_fc;                /* [2D, d] c_fc: rows 0..D-1 give u, rows D..2D-1 the gate v */
    float *w_proj;              /* [d, D] mlp_c_proj */
    float *attn_alpha;          /* [d] */
    float *mlp_alpha;           /* [d] */
    float *sqk;                 /* [d] */
    float *suv;                 /* [2D] */
} NgptLayer;

typedef struct Ngpt {
    NgptConfig cfg;
    float *wte;                 /* [vocab, d] transformer.wte.weight */
    NgptLayer *layers;          /* [n_layers] */
    WeightSet ws;               /* lm_head.weight [vocab, d] and sz [vocab] are check-only slots */
    Scratch scratch;
    int rot_len;                /* positions in the sinusoid table */
} Ngpt;

int ngptNew(const NgptConfig *cfg, const char *what, Ngpt **out, Error *err);

#endif
