#ifndef FFNSCOPE_MODEL_H
#define FFNSCOPE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/site.h"
#include "ffnscope/tokenizer.h"

/* A loaded checkpoint of any registered architecture (README "Models") that
 * runs batched forward passes on the CPU and hands FFN activations to a
 * capture callback. */
typedef struct Model Model;

typedef struct ModelInfo {
    char family[24];     /* the architecture: gpt2, llama, qwen3, gemma2, gpt_neox, ... */
    char format[16];     /* hf, gguf, llama2c, llmc */
    char dtype[8];       /* storage dtype holding most weights: F32, F16, BF16, Q8_0, Q4_K, ... */
    char type_mix[128];  /* GGUF: every type's share of the elements ("Q4_K 67%, Q6_K 12%, F32 ..."); else "" */
    int d_model, n_layers, n_heads, n_kv_heads, head_dim, ffn_width, vocab_size, context;
    int n_experts, experts_used;    /* mixture of experts: routed experts per routed layer, per token; else 0 */
    int64_t n_params;
    int64_t layer_params;  /* parameters the forward pass reads per layer (the largest layer) */
    int64_t global_params; /* and outside the layers (embeddings, final norm; never the LM head) */
    char details[256];   /* the architecture's choices, "key=value key=value ..." (values without spaces) */
} ModelInfo;

typedef struct ModelOptions {
    const char *format;    /* NULL: detect from the path */
    const char *family;    /* NULL: detect from the checkpoint */
    const char *tokenizer; /* tokenizer path for formats that carry none, or NULL */
    int stream_weights;    /* keep the weights in the file in their stored dtype and widen one layer
                            * at a time when it runs (Hugging Face and GGUF) */
    int info_only;         /* validate every tensor (presence, dtype, shape) without loading
                            * weights: enough for modelInfo, not for modelForward */
    int header_only;       /* with info_only: leave the checks that read tensor data (GGUF's block
                            * scales) to the load that follows (the memory plan's first look) */
} ModelOptions;

/* What one captured activation matrix is: the layer, the site and, for a
 * mixture-of-experts FFN, the expert (CAPTURE_DENSE for a dense FFN). */
#define CAPTURE_DENSE (-1)
#define CAPTURE_SHARED (-2) /* the shared expert of a routed FFN: every row */
typedef struct CaptureKey {
    int layer;
    Site site;
    int expert;
} CaptureKey;

/* The FFN of one layer. Dense: width. Routed (mixture of experts): n_experts
 * experts of expert_width, top_k of them per token, and a shared expert of
 * shared_width over every token when shared_width > 0. */
typedef struct LayerFfn {
    int width;
    int n_experts, top_k, expert_width, shared_width;
} LayerFfn;

/* Called once per captured key and batch: acts holds rows x width floats,
 * row-major, rows = batch * seq_len (sequence-major) for a dense FFN and the
 * shared expert; for a routed expert the rows routed to it, in row order
 * (never called with 0 rows). */
typedef int (*CaptureFn)(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err);

int modelOpen(const char *path, const ModelOptions *opt, Model **out, Error *err);
const ModelInfo *modelInfo(const Model *m);
/* The model's tokenizer (owned by the model), or NULL when it has none. */
const Tokenizer *modelTokenizer(const Model *m);

/* Runs tokens [batch * seq_len] through the model. capture[layer] holds
 * SITE_BIT(site) flags; layers after the last captured one are skipped. */
int modelForward(Model *m, const int32_t *tokens, int batch, int seq_len, const uint8_t *capture,
                 CaptureFn fn, void *ctx, Error *err);

/* The forward pass in pieces, for captures that run one group of layers at
 * a time (README "Memory"). modelEmbed writes the hidden states entering
 * layer 0 for tokens [batch * seq_len] into x [batch * seq_len, d_model].
 * modelForwardLayers runs layers first..last on x_in (same layout) and, when
 * x_out is not NULL, writes the states after layer last there (x_out may be
 * x_in); capture as for modelForward. Chaining them over consecutive ranges
 * gives exactly what one modelForward gives. */
int modelEmbed(Model *m, const int32_t *tokens, int batch, int seq_len, float *x, Error *err);
int modelForwardLayers(Model *m, const float *x_in, float *x_out, int batch, int seq_len, int first, int last,
                       const uint8_t *capture, CaptureFn fn, void *ctx, Error *err);

/* The FFN of layer l (0 <= l < n_layers). */
void modelLayerFfn(const Model *m, int l, LayerFfn *out);

void modelFree(Model *m);

#endif
