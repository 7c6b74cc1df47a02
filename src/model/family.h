#ifndef FFNSCOPE_MODEL_FAMILY_H
#define FFNSCOPE_MODEL_FAMILY_H

/* What model.c needs from a family (gpt2.c, llama.c, ngpt.c): its weight slots
 * for the readers to fill, a batched forward pass, and a destructor. */

#include <stdint.h>

#include "ffnscope/model.h"
#include "model/weights.h"
#include "util/pool.h"

typedef struct FamilyClass {
    const char *name;
    WeightSet *(*weights)(void *impl);
    /* tokens are validated by the caller; capture[layer] holds SITE_BIT flags
     * and last is the last layer with any flag (layers after it are skipped). */
    int (*forward)(void *impl, const int32_t *tokens, int batch, int seq_len,
                   const uint8_t *capture, int last, CaptureFn fn, void *ctx, Error *err);
    void (*free)(void *impl);
} FamilyClass;

extern const FamilyClass gpt2Class, llamaClass, ngptClass;

/* What a checkpoint reader hands to model.c: the family, its filled weight
 * struct, the description, and the tokenizer when the checkpoint carries one
 * inside (GGUF); model.c loads a directory's tokenizer files itself. */
typedef struct LoadedModel {
    const FamilyClass *cls;
    void *impl;
    ModelInfo info;
    Tokenizer *tok;
} LoadedModel;

/* A checkpoint reader (hf.c; the GGUF, llama2.c and llm.c readers join the
 * table in model.c). detect: 1 when path looks like this format. load: fills
 * out (family struct built with gpt2New/llamaNew/ngptNew and every slot
 * written unless opt->info_only). */
typedef struct ModelReader {
    const char *format;
    int (*detect)(const char *path);
    int (*load)(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err);
} ModelReader;

/* Scratch buffers kept across batches, grown when a larger batch arrives,
 * and the helper threads of the forward pass's loops. */
typedef struct Scratch {
    float *buf[12];
    size_t len[12];   /* floats */
    Pool *pool;       /* started on the first forward pass */
} Scratch;

/* Makes buf[i] hold at least n floats (contents not kept). */
int scratchReserve(Scratch *s, int i, size_t n, Error *err);
/* The pool, threadsWanted() threads; NULL (loops on the caller) when it
 * cannot be made. */
Pool *scratchPool(Scratch *s);
void scratchFree(Scratch *s);

/* Calls fn for one site when capture[layer] asks for it. */
static inline int familyCapture(const uint8_t *capture, int layer, Site site, const float *acts,
                                size_t rows, int width, CaptureFn fn, void *ctx, Error *err)
{
    if (!(capture[layer] & SITE_BIT(site)) || !fn) return 0;
    return fn(ctx, layer, site, acts, rows, width, err);
}

#endif
