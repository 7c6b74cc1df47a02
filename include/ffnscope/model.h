#ifndef FFNSCOPE_MODEL_H
#define FFNSCOPE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/site.h"
#include "ffnscope/tokenizer.h"

/* A loaded checkpoint (GPT-2, LLaMA or nGPT) that runs batched forward passes
 * on the CPU and hands FFN activations to a capture callback. */
typedef struct Model Model;

typedef struct ModelInfo {
    char family[16];     /* gpt2, llama, ngpt */
    char format[16];     /* hf, gguf, llama2c, llmc */
    char dtype[8];       /* storage dtype of the weights: F32, F16, BF16, Q8_0 */
    int d_model, n_layers, n_heads, n_kv_heads, ffn_width, vocab_size, context;
    int64_t n_params;
} ModelInfo;

typedef struct ModelOptions {
    const char *format;    /* NULL: detect from the path */
    const char *family;    /* NULL: detect from the checkpoint */
    const char *tokenizer; /* tokenizer path for formats that carry none, or NULL */
    int info_only;         /* validate every tensor (presence, dtype, shape) without loading
                            * weights: enough for modelInfo, not for modelForward */
} ModelOptions;

/* Called once per captured (layer, site) and batch: acts holds rows x width
 * floats, row-major, rows = batch * seq_len (sequence-major). */
typedef int (*CaptureFn)(void *ctx, int layer, Site site, const float *acts, size_t rows,
                         int width, Error *err);

int modelOpen(const char *path, const ModelOptions *opt, Model **out, Error *err);
const ModelInfo *modelInfo(const Model *m);
/* The model's tokenizer (owned by the model), or NULL when it has none. */
const Tokenizer *modelTokenizer(const Model *m);

/* Runs tokens [batch * seq_len] through the model. capture[layer] holds
 * SITE_BIT(site) flags; layers after the last captured one are skipped. */
int modelForward(Model *m, const int32_t *tokens, int batch, int seq_len, const uint8_t *capture,
                 CaptureFn fn, void *ctx, Error *err);

void modelFree(Model *m);

#endif
