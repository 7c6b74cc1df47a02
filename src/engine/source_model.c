/* Checkpoints (model.h) as a source: the corpus goes through the model in
 * batches and the capture hook feeds the accumulators.
 *
 * Corpus to tokens: the whole corpus file is tokenized as one stream with the
 * model's tokenizer, without BOS/EOS, and cut into consecutive,
 * non-overlapping sequences of seq_len tokens from token 0 (seq_len capped at
 * the model's context). With corpus.add_bos every sequence starts with the
 * BOS token followed by the next seq_len-1 tokens of the stream. The first
 * corpus.tokens tokens are captured, rounded down to whole sequences (at
 * least one); a shorter corpus gives all its whole sequences. */
#include <stdlib.h>
#include <string.h>

#include "engine/run.h"
#include "ffnscope/model.h"
#include "ffnscope/tokenizer.h"

typedef struct Hook {
    ModelRun *run;
} Hook;

static int captureHook(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err)
{
    ModelRun *r = ((Hook *)ctx)->run;
    /* a quit or a restart of this model stops the forward pass at the next layer */
    if (runInterrupted(r)) return errorSet(err, EXIT_RUNTIME, "interrupted");
    Stream *s = runStream(r, key);
    if (!s) return 0;
    if (width != s->width)
        return errorSet(err, EXIT_RUNTIME, "%s: layer %d %s has width %d, expected %d", r->entry->path, key.layer,
                        siteName(key.site), width, s->width);
    return covaccAddF32(s->acc, acts, rows, (size_t)width, err);
}

int runCheckpoint(ModelRun *r, Error *err)
{
    const Config *cfg = r->cfg;
    const ModelEntry *e = r->entry;
    ModelOptions opt = {.format = e->format, .family = e->family, .tokenizer = e->tokenizer};
    Model *m = NULL;
    int32_t *ids = NULL, *batch = NULL;
    int *layers = NULL, *widths = NULL;
    Site *sites = NULL;
    uint8_t *mask = NULL;
    size_t n_ids = 0;
    int rc = -1;

    if (modelOpen(e->path, &opt, &m, err)) return -1;
    const ModelInfo *info = modelInfo(m);
    runDescribe(r, info->family, info->format, info->ffn_width, info->n_layers);
    const Tokenizer *tok = modelTokenizer(m);
    if (!tok) {
        errorSet(err, EXIT_INPUT, "%s: no tokenizer found (add 'tokenizer:' to the model entry)", e->path);
        goto out;
    }
    const char *text;
    size_t text_len;
    if (runCorpus(r, &text, &text_len, err)) goto out;
    Error inner = {0};
    if (tokenizerEncode(tok, text, text_len, &ids, &n_ids, &inner)) {
        errorSet(err, inner.code, "%s: %s", cfg->corpus.path, inner.msg);
        goto out;
    }
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= info->vocab_size) {
            errorSet(err, EXIT_INPUT, "%s: the tokenizer gives id %d, outside the model's vocabulary of %d", e->path,
                     ids[i], info->vocab_size);
            goto out;
        }
    int bos = -1;
    if (cfg->corpus.add_bos && (bos = tokenizerBos(tok)) < 0) {
        errorSet(err, EXIT_INPUT, "%s: corpus.add_bos is set but the tokenizer has no BOS token", e->path);
        goto out;
    }

    int seq_len = cfg->corpus.seq_len;
    if (info->context > 0 && seq_len > info->context) seq_len = info->context;
    int per_seq = bos >= 0 ? seq_len - 1 : seq_len;   /* stream tokens per sequence */
    if (per_seq < 1 || n_ids < (size_t)per_seq) {
        errorSet(err, EXIT_INPUT, "%s: the corpus gives %zu tokens with this tokenizer, fewer than one sequence of %d",
                 cfg->corpus.path, n_ids, seq_len);
        goto out;
    }
    int64_t want = cfg->corpus.tokens / seq_len;
    if (want < 1) want = 1;
    int64_t have = (int64_t)(n_ids / (size_t)per_seq);
    int64_t n_seq = want < have ? want : have;

    int n_layers = info->n_layers, n = 0;
    mask = calloc((size_t)(n_layers > 0 ? n_layers : 1), 1);
    layers = malloc(sizeof *layers * (size_t)(2 * n_layers + 1));
    widths = malloc(sizeof *widths * (size_t)(2 * n_layers + 1));
    sites = malloc(sizeof *sites * (size_t)(2 * n_layers + 1));
    batch = malloc(sizeof *batch * (size_t)cfg->corpus.batch * (size_t)seq_len);
    if (!mask || !layers || !widths || !sites || !batch) {
        errorNoMem(err, e->path);
        goto out;
    }
    for (int l = 0; l < n_layers; l++) {
        if (!configWantsLayer(cfg, l)) continue;
        for (int s = 0; s < SITE_COUNT; s++) {
            if (!(cfg->sites & SITE_BIT(s))) continue;
            mask[l] |= (uint8_t)SITE_BIT(s);
            layers[n] = l;
            sites[n] = (Site)s;
            widths[n] = info->ffn_width;
            n++;
        }
    }
    if (!n) {
        errorSet(err, EXIT_INPUT, "%s: the model has %d layers and none matches capture.layers", e->path, n_layers);
        goto out;
    }
    if (runSetStreams(r, n, layers, sites, widths, n_seq * seq_len, err)) goto out;

    Hook hook = {r};
    for (int64_t s0 = 0; s0 < n_seq; s0 += cfg->corpus.batch) {
        int b = (int)(n_seq - s0 < cfg->corpus.batch ? n_seq - s0 : cfg->corpus.batch);
        for (int j = 0; j < b; j++) {
            int32_t *dst = batch + (size_t)j * (size_t)seq_len;
            const int32_t *src = ids + (size_t)(s0 + j) * (size_t)per_seq;
            if (bos >= 0) *dst++ = bos;
            memcpy(dst, src, sizeof *src * (size_t)per_seq);
        }
        if (modelForward(m, batch, b, seq_len, mask, captureHook, &hook, err)) {
            if (!runInterrupted(r)) goto out;
            /* stopped on purpose: let the command decide (quit or restart) */
            Error ignored = {0};
            rc = runProgress(r, s0 * seq_len, &ignored);
            if (rc > 0) goto out;
            rc = -1;
            goto out;
        }
        int p = runProgress(r, (s0 + b) * seq_len, err);
        if (p) {
            rc = p;
            goto out;
        }
    }
    rc = 0;
out:
    free(ids);
    free(batch);
    free(mask);
    free(layers);
    free(widths);
    free(sites);
    modelFree(m);
    return rc;
}
