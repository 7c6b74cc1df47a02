#ifndef FFNSCOPE_MODEL_WEIGHTS_H
#define FFNSCOPE_MODEL_WEIGHTS_H

/* The bridge between checkpoint readers and the per-family weight structs.
 * A family (gpt2.h, llama.h, ngpt.h) describes every tensor it has as a
 * WeightSlot: a canonical name, a canonical float32 shape, and the struct field
 * that will point at its data. The family allocates one block for all kept
 * tensors; a reader then walks the slots and writes each tensor's values into
 * *slot->dst in the canonical layout, converting from whatever its file holds
 * (dtype, transposition, rotary permutation, quantisation).
 *
 * Canonical layout: row-major float32; matrices are [out, in] (nn.Linear), so a
 * reader whose file stores [in, out] transposes (SLOT_CONV1D says that the
 * Hugging Face file does). Names are the Hugging Face names, without the
 * optional GPT-2 "transformer." prefix; readers of other formats map them. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

/* Bounds on any one dimension and on the layer count: far above real models,
 * low enough that no shape product or index overflows. */
#define MODEL_MAX_DIM (1 << 24)
#define MODEL_MAX_LAYERS 4096

enum {
    SLOT_CONV1D = 1u << 0,     /* the HF file stores this matrix [in, out] (GPT-2 Conv1D) */
    SLOT_CHECK_ONLY = 1u << 1, /* checked and counted, never loaded (LM heads: no logits here) */
    SLOT_ROPE = 1u << 2,       /* LLaMA q/k rows in HF rotate-half order; GGUF must un-permute
                                * (set by the decoder for Family.gguf_permutes_qk) */
    /* The next two describe the Hugging Face layout only: llama.cpp's
     * converter already adds the 1 to Gemma's norms and de-interleaves
     * GPT-NeoX's query_key_value, so GGUF readers leave those tensors as stored. */
    SLOT_PLUS_ONE = 1u << 3,   /* Gemma norm weights: the block multiplies by 1 + w, stored as such */
    SLOT_HEAD_QKV = 1u << 4,   /* GPT-NeoX fused QKV rows interleaved per head [heads, 3, head_dim];
                                * stored as [q; k; v] */
};

/* Which layout a reader's tensors are in (weightsFinish). */
typedef enum WeightLayout { LAYOUT_HF, LAYOUT_GGUF } WeightLayout;

struct WeightSlot;

/* How a reader turns the tensor it found for a slot into float32: the whole
 * tensor in the canonical layout with every transform of the slot's flags
 * applied, or a range of rows of a tensor stored untransposed (the
 * embedding, gathered token by token). */
typedef struct WeightReader {
    int (*widen)(const struct WeightSlot *s, float *dst, Error *err);
    int (*widen_rows)(const struct WeightSlot *s, int64_t row, int64_t n, float *dst, Error *err);
} WeightReader;

typedef struct WeightSlot {
    char name[96];      /* Hugging Face name */
    char gguf[96];      /* llama.cpp name, "" when GGUF has none */
    int head_dim;       /* for SLOT_ROPE and SLOT_HEAD_QKV */
    int layer;          /* -1 for a tensor outside the layers */
    int expert;         /* a routed expert's tensor: its index (GGUF stacks the experts of a
                         * layer in one 3-D tensor, this one is matrix `expert` of it); else -1 */
    char hf_alt[96];    /* Hugging Face name of another layout (TensorAlt), "" none */
    int part, parts;    /* of hf_alt's stacked matrix: rows [part, part + 1) x shape[0] of parts x shape[0] */
    const void *src;    /* the reader's tensor (in its file, kept open) */
    const WeightReader *rd;
    float **dst;        /* where the data pointer goes; NULL for SLOT_CHECK_ONLY */
    int ndim;           /* 1 or 2 */
    int64_t shape[2];   /* canonical shape */
    unsigned flags;
} WeightSlot;

typedef struct WeightSet {
    WeightSlot *slots;  /* [count] */
    int count, cap;
    float *block;       /* every kept tensor, back to back (streamed: the globals but the embedding) */
    size_t block_floats;
    int streamed;       /* layers are widened from the file when they run (weightsWidenLayer) */
    float *layer_block; /* streamed: one layer's tensors */
    int layer_in_block; /* the layer widened there, -1 none */
} WeightSet;

/* Appends a slot; gguf may be NULL. d1 is ignored when ndim is 1. */
int weightsAdd(WeightSet *ws, float **dst, unsigned flags, int ndim, int64_t d0, int64_t d1, const char *name,
               const char *gguf, Error *err);

/* After a reader wrote a slot's stored values into *dst (already [out, in]):
 * the transforms its flags ask for from files in the Hugging Face layout
 * (SLOT_PLUS_ONE, SLOT_HEAD_QKV); nothing for LAYOUT_GGUF. */
int weightsFinish(const WeightSlot *s, WeightLayout layout, Error *err);

/* Allocates the block and points every kept slot's *dst into it (64-byte aligned). */
int weightsAlloc(WeightSet *ws, Error *err);

int64_t weightsElements(const WeightSlot *s);

/* Parameters of all slots, loaded or not. */
int64_t weightsParams(const WeightSet *ws);

/* Widens every slot with a reader into its *dst (after weightsAlloc). */
int weightsWidenAll(WeightSet *ws, Error *err);

/* Streamed weights: allocates and widens the tensors outside the layers
 * (except skip, the embedding, read row by row) and a block for one layer;
 * the layers' *dst stay NULL until weightsWidenLayer points them there. */
int weightsAllocStreamed(WeightSet *ws, const WeightSlot *skip, Error *err);
struct Pool;
/* Widens layer's tensors into the layer block, split among the pool's
 * threads (NULL: on the caller). */
int weightsWidenLayer(WeightSet *ws, int layer, struct Pool *pool, Error *err);

void weightsFree(WeightSet *ws);

#endif
