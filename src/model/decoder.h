#ifndef FFNSCOPE_MODEL_DECODER_H
#define FFNSCOPE_MODEL_DECODER_H

/* A decoder-only transformer of any registered family: its config, its
 * weights by role, and the batched forward pass (embedding, then one block
 * function per layer, composed from the kernels in ops.h). Readers build one
 * with decoderNew from an HpSource, fill its WeightSet (weights.h) and hand
 * it to model.c. */

#include <stdint.h>

#include "ffnscope/model.h"
#include "model/arch.h"
#include "model/weights.h"
#include "util/pool.h"

typedef struct Layer {
    float *w[L_ROLE_COUNT];     /* by LayerRole; NULL where the family has no such tensor */
    float *(*ex)[X_ROLE_COUNT]; /* [n_experts] by ExpertRole in a routed layer, else NULL */
} Layer;

/* Scratch buffers of the forward pass, kept across batches and grown when a
 * larger batch arrives; a fixed set, named. */
typedef enum ScratchBuf {
    SCR_X, SCR_H, SCR_Q, SCR_K, SCR_V, SCR_ATT, SCR_OUT, SCR_GATE, SCR_UP, SCR_SCORES,
    SCR_ROPE, SCR_ROPE_LOCAL, SCR_FAMILY,
    SCR_MOE_IN, SCR_MOE_OUT, SCR_ROUTE,     /* routed FFN: gathered rows, summed output, routing */
    SCR_COUNT
} ScratchBuf;

typedef struct Scratch {
    float *buf[SCR_COUNT];
    size_t len[SCR_COUNT];      /* floats */
    Pool *pool;                 /* started on the first forward pass */
    int rope_len[2];            /* positions in the SCR_ROPE / SCR_ROPE_LOCAL tables */
} Scratch;

typedef struct Decoder {
    const Family *family;
    ArchConfig cfg;
    float *g[G_ROLE_COUNT];     /* by GlobalRole */
    Layer *layers;              /* [n_layers] */
    WeightSet ws;
    int embed_slot;             /* index of the embedding's slot in ws, -1 none */
    Scratch scratch;
} Decoder;

/* One forward pass in progress, as block functions see it. */
typedef struct Fwd {
    Pool *pool;
    int batch, seq_len;
    size_t rows;                /* batch * seq_len, sequence-major */
    const uint8_t *capture;     /* [n_layers] SITE_BIT flags */
    int last;                   /* last layer to run */
    CaptureFn fn;
    void *ctx;
} Fwd;

/* Reads the family's hyperparameters from s, checks them and builds the
 * weight slots (no weights allocated). Errors name s->path. */
int decoderNew(const Family *f, const HpSource *s, Decoder **out, Error *err);
void decoderFree(Decoder *m);

/* After every slot was written: splits fused tensors into their roles. */
void decoderFinishLoad(Decoder *m);

/* Instead of loading every slot: keeps the weights in the reader's file (every
 * slot's src and rd set), widens the tensors outside the layers now and each
 * layer into one block when it runs; the embedding is read row by row.
 * Weights then cost their stored size plus one float32 layer. */
int decoderStream(Decoder *m, Error *err);

/* family, sizes and parameter count for ModelInfo (format and dtype are the reader's). */
void decoderDescribe(const Decoder *m, ModelInfo *info);

/* Tokens validated by the caller; runs layers 0..last. */
int decoderForward(Decoder *m, const int32_t *tokens, int batch, int seq_len, const uint8_t *capture, int last,
                   CaptureFn fn, void *ctx, Error *err);

/* The hidden states entering layer 0 for rows tokens into x [rows, d]:
 * embedding rows gathered by id, scaled, plus learned positions. */
int decoderEmbed(const Decoder *m, const int32_t *tokens, size_t rows, int seq_len, float *x, Error *err);

/* Runs layers first..last on the hidden states x_in [batch * seq_len, d]
 * (NULL: the embedding of tokens) and, when x_out is not NULL, writes the
 * states after layer last there (x_out may be x_in). */
int decoderForwardRange(Decoder *m, const int32_t *tokens, const float *x_in, float *x_out, int batch, int seq_len,
                        const uint8_t *capture, int first, int last, CaptureFn fn, void *ctx, Error *err);

/* The shared block: any BlockLayout, norm, attention and FFN the config says. */
int decoderBlock(Decoder *m, int l, Fwd *f, Error *err);

/* Makes buffer b hold at least n floats (contents not kept). */
int scratchReserve(Scratch *s, ScratchBuf b, size_t n, Error *err);

/* Calls f->fn for one site when layer l captures it. */
int decoderCapture(Fwd *f, int l, Site site, const float *acts, int width, Error *err);

/* The FFN of layer l: a routed layer has experts (expert width, shared expert). */
void decoderLayerFfn(const Decoder *m, int l, LayerFfn *out);

/* The routed FFN of layer l on the rows of in (n = in normalised), written to out [rows, d]
 * (not added); captures each expert's rows under its own key (moe.c). */
int decoderMoe(Decoder *m, int l, Fwd *f, const float *in, float *out, Error *err);

/* y = act(x) over n values (y may be x). */
void decoderActivate(Pool *pool, ActKind act, const float *x, float *y, size_t n);

/* The rotary cos/sin tables [seq_len, dims/2] of one spec (cached). */
int decoderRope(Decoder *m, int local, int seq_len, const float **cs, const float **sn, Error *err);

#endif
