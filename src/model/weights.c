#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bigmem.h"
#include "util/pool.h"
#include "util/threads.h"

int weightsAdd(WeightSet *ws, float **dst, unsigned flags, int ndim, int64_t d0, int64_t d1, const char *name,
               const char *gguf, Error *err)
{
    if (ws->count == ws->cap) {
        int cap = ws->cap ? ws->cap * 2 : 64;
        WeightSlot *s = realloc(ws->slots, (size_t)cap * sizeof *s);
        if (!s) return errorNoMem(err, "model weights");
        ws->slots = s;
        ws->cap = cap;
    }
    WeightSlot *s = &ws->slots[ws->count++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->gguf, sizeof s->gguf, "%s", gguf ? gguf : "");
    s->dst = (flags & SLOT_CHECK_ONLY) ? NULL : dst;
    s->flags = flags;
    s->expert = -1;
    s->parts = 1;
    s->ndim = ndim;
    s->shape[0] = d0;
    s->shape[1] = ndim > 1 ? d1 : 1;
    return 0;
}

int64_t weightsElements(const WeightSlot *s) { return s->shape[0] * (s->ndim > 1 ? s->shape[1] : 1); }

int64_t weightsParams(const WeightSet *ws)
{
    int64_t n = 0;
    for (int i = 0; i < ws->count; i++) n += weightsElements(&ws->slots[i]);
    return n;
}

/* Rounded to 16 floats so each tensor starts on a cache line. */
static size_t padded(int64_t n) { return ((size_t)n + 15) & ~(size_t)15; }

int weightsAlloc(WeightSet *ws, Error *err)
{
    size_t total = 0;
    for (int i = 0; i < ws->count; i++)
        if (ws->slots[i].dst) total += padded(weightsElements(&ws->slots[i]));
    if (total == 0) total = 16;
    float *block = bigAlloc(total * sizeof(float));
    if (!block) return errorNoMem(err, "model weights");
    bigPrefault(block, total * sizeof(float), threadsWanted());
    ws->block = block;
    ws->block_floats = total;
    size_t off = 0;
    for (int i = 0; i < ws->count; i++) {
        WeightSlot *s = &ws->slots[i];
        if (!s->dst) continue;
        *s->dst = block + off;
        off += padded(weightsElements(s));
    }
    return 0;
}

int weightsWidenAll(WeightSet *ws, Error *err)
{
    for (int i = 0; i < ws->count; i++) {
        const WeightSlot *s = &ws->slots[i];
        if (s->dst && s->rd && s->rd->widen(s, *s->dst, err)) return -1;
    }
    return 0;
}

int weightsAllocStreamed(WeightSet *ws, const WeightSlot *skip, Error *err)
{
    size_t globals = 16, layer = 0, per[MODEL_MAX_LAYERS + 1] = {0};
    for (int i = 0; i < ws->count; i++) {
        const WeightSlot *s = &ws->slots[i];
        if (!s->dst || s == skip) continue;
        if (s->layer < 0) globals += padded(weightsElements(s));
        else if (s->layer < MODEL_MAX_LAYERS) per[s->layer] += padded(weightsElements(s));
    }
    for (int l = 0; l < MODEL_MAX_LAYERS; l++)
        if (per[l] > layer) layer = per[l];
    ws->block = bigAlloc(globals * sizeof(float));
    ws->layer_block = bigAlloc((layer ? layer : 16) * sizeof(float));
    if (!ws->block || !ws->layer_block) return errorNoMem(err, "model weights");
    ws->block_floats = globals;
    ws->streamed = 1;
    ws->layer_in_block = -1;
    size_t off = 0;
    for (int i = 0; i < ws->count; i++) {
        WeightSlot *s = &ws->slots[i];
        if (!s->dst || s == skip || s->layer >= 0) continue;
        *s->dst = ws->block + off;
        off += padded(weightsElements(s));
        if (s->rd && s->rd->widen(s, *s->dst, err)) return -1;
    }
    return 0;
}

/* One part of a layer's slots, widened on a pool thread; the first error wins. */
typedef struct WidenJob {
    WeightSlot **slots;
    Error *errs;        /* [poolThreads] */
} WidenJob;

static void widenPart(void *arg, size_t begin, size_t end, int part)
{
    WidenJob *job = arg;
    for (size_t i = begin; i < end && !job->errs[part].code; i++) {
        const WeightSlot *s = job->slots[i];
        if (s->rd->widen(s, *s->dst, &job->errs[part]) && !job->errs[part].code) job->errs[part].code = EXIT_RUNTIME;
    }
}

int weightsWidenLayer(WeightSet *ws, int layer, Pool *pool, Error *err)
{
    if (!ws->streamed || ws->layer_in_block == layer) return 0;
    ws->layer_in_block = -1;
    WidenJob job = {.slots = malloc((size_t)(ws->count ? ws->count : 1) * sizeof *job.slots),
                    .errs = calloc((size_t)poolThreads(pool), sizeof *job.errs)};
    if (!job.slots || !job.errs) {
        free(job.slots);
        free(job.errs);
        return errorNoMem(err, "model weights");
    }
    size_t off = 0, n = 0;
    for (int i = 0; i < ws->count; i++) {
        WeightSlot *s = &ws->slots[i];
        if (s->layer != layer || !s->dst) continue;
        *s->dst = ws->layer_block + off;
        off += padded(weightsElements(s));
        job.slots[n++] = s;
    }
    /* the tensors are independent: dequantising them is a tenth of an MoE
     * layer's work when each expert sees a few hundred rows of a batch */
    int parts = poolRun(pool, n, 1, widenPart, &job), rc = 0;
    for (int k = 0; k < parts && !rc; k++)
        if (job.errs[k].code) {
            if (err) *err = job.errs[k];
            rc = -1;
        }
    free(job.slots);
    free(job.errs);
    if (!rc) ws->layer_in_block = layer;
    return rc;
}

void weightsFree(WeightSet *ws)
{
    free(ws->slots);
    free(ws->block);
    free(ws->layer_block);
    memset(ws, 0, sizeof *ws);
}

int weightsFinish(const WeightSlot *s, WeightLayout layout, Error *err)
{
    if (!s->dst || layout != LAYOUT_HF) return 0;
    float *w = *s->dst;
    int64_t n = weightsElements(s);
    if (s->flags & SLOT_PLUS_ONE)
        for (int64_t i = 0; i < n; i++) w[i] += 1.0f;
    if (s->flags & SLOT_HEAD_QKV) {
        /* rows [heads, 3, hd] -> [3, heads, hd]; a bias is the case cols = 1 */
        int64_t rows = s->shape[0], cols = s->ndim > 1 ? s->shape[1] : 1, hd = s->head_dim;
        if (hd <= 0 || rows % (3 * hd)) return errorSet(err, EXIT_RUNTIME, "tensor '%s': bad fused QKV shape", s->name);
        int64_t heads = rows / (3 * hd);
        float *tmp = malloc((size_t)n * sizeof *tmp);
        if (!tmp) return errorNoMem(err, s->name);
        memcpy(tmp, w, (size_t)n * sizeof *tmp);
        for (int64_t h = 0; h < heads; h++)
            for (int64_t part = 0; part < 3; part++)
                memcpy(w + ((part * heads + h) * hd) * cols, tmp + ((h * 3 + part) * hd) * cols,
                       (size_t)(hd * cols) * sizeof *tmp);
        free(tmp);
    }
    return 0;
}
