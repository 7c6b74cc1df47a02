/* Checkpoints (model.h) as a source: the corpus goes through the model in
 * batches and the capture hook feeds the accumulators.
 *
 * Corpus to tokens: the whole corpus file is tokenized as one stream with the
 * model's tokenizer, without BOS/EOS, and cut into consecutive,
 * non-overlapping sequences of seq_len tokens from token 0 (seq_len capped at
 * the model's context). With corpus.add_bos every sequence starts with the
 * BOS token followed by the next seq_len-1 tokens of the stream. The first
 * corpus.tokens tokens are captured, rounded down to whole sequences (at
 * least one); a shorter corpus gives all its whole sequences.
 *
 * Memory (README "Memory"): before any weight is loaded the model's plan
 * (engine/plan.h) is computed from its header. A model whose one layer does
 * not fit under the limit is refused; when every captured layer's
 * accumulators fit, the corpus goes through the model once as it always
 * did; otherwise once per group of layers: the first pass embeds the tokens,
 * every pass runs its layers from the hidden states the previous one left
 * (kept for every captured token, in memory or in an unlinked temporary
 * file beside the results), and each group's spectra are solved and its
 * accumulators freed before the next group starts. Each layer sees the same
 * inputs in the same batches either way, so the results do not depend on
 * the grouping. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/plan.h"
#include "engine/run.h"
#include "ffnscope/model.h"
#include "ffnscope/tokenizer.h"
#include "util/fileio.h"

typedef struct Hook {
    ModelRun *run;
    double seconds;   /* inside the hook since the last forwardDone */
} Hook;

/* The hook updates the accumulators, which only the worker thread may touch:
 * the forward pass calls it on the thread that called modelForward, between
 * its parallel kernels, so its clock needs no lock either. */
static int captureHook(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err)
{
    Hook *h = ctx;
    ModelRun *r = h->run;
    /* a quit or a restart of this model stops the forward pass at the next layer */
    if (runInterrupted(r)) return errorSet(err, EXIT_RUNTIME, "interrupted");
    Stream *s = runStream(r, key);
    if (!s) return 0;   /* not captured, or not in the running pass */
    if (width != s->width)
        return errorSet(err, EXIT_RUNTIME, "%s: layer %d %s has width %d, expected %d", r->entry->path, key.layer,
                        siteName(key.site), width, s->width);
    double t = runNow();
    int rc = covaccAddF32(s->acc, acts, rows, (size_t)width, err);
    h->seconds += runNow() - t;
    return rc;
}

/* A batch's forward pass began at t0: the hook's share is the covariance's,
 * the rest the forward pass's. */
static void forwardDone(ModelRun *r, Hook *h, double t0)
{
    double wall = runNow() - t0;
    runPhaseAdd(r, PHASE_COVARIANCE, h->seconds);
    runPhaseAdd(r, PHASE_FORWARD, wall > h->seconds ? wall - h->seconds : 0);
    h->seconds = 0;
}

/* Sequences s0 .. s0+b-1 of the token stream into batch [b, seq_len]. */
static void fillBatch(int32_t *batch, const int32_t *ids, int64_t s0, int b, int seq_len, int per_seq, int bos)
{
    for (int j = 0; j < b; j++) {
        int32_t *dst = batch + (size_t)j * (size_t)seq_len;
        const int32_t *src = ids + (size_t)(s0 + j) * (size_t)per_seq;
        if (bos >= 0) *dst++ = bos;
        memcpy(dst, src, sizeof *src * (size_t)per_seq);
    }
}

/* A forward pass failed: on purpose (quit, restart) the command decides,
 * otherwise it is the model's failure. */
static int stopped(ModelRun *r, int64_t tokens_done)
{
    if (!runInterrupted(r)) return -1;
    Error ignored = {0};
    int rc = runProgress(r, tokens_done, &ignored);
    return rc > 0 ? rc : -1;
}

/* The hidden states that do not fit in memory go to a file in dir, unlinked
 * at once: nothing stays behind whatever happens to the process. */
static int openSpill(const char *dir, int *fd, Error *err)
{
    char path[4096];
    if (!dir || !*dir) dir = ".";
    if (makeDirs(dir, err)) return -1;
    if ((size_t)snprintf(path, sizeof path, "%s/.ffnscope-states-XXXXXX", dir) >= sizeof path)
        return errorSet(err, EXIT_INPUT, "%s: path too long", dir);
    *fd = mkstemp(path);
    if (*fd < 0) return errorSet(err, EXIT_RUNTIME, "%s: cannot create a file for the hidden states: %s", dir,
                                 strerror(errno));
    unlink(path);
    return 0;
}

static int spillIo(int fd, float *x, size_t bytes, off_t off, int write, Error *err)
{
    char *p = (char *)x;
    while (bytes) {
        ssize_t k = write ? pwrite(fd, p, bytes, off) : pread(fd, p, bytes, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return errorSet(err, EXIT_RUNTIME, "hidden states file: %s",
                            k < 0 ? strerror(errno) : "short read");
        p += k;
        off += k;
        bytes -= (size_t)k;
    }
    return 0;
}

int runCheckpoint(ModelRun *r, Error *err)
{
    const Config *cfg = r->cfg;
    const ModelEntry *e = r->entry;
    ModelOptions opt = {.format = e->format, .family = e->family, .tokenizer = e->tokenizer};
    Model *m = NULL;
    int32_t *ids = NULL, *batch = NULL;
    int *widths = NULL;
    CaptureKey *keys = NULL;
    uint8_t *mask = NULL;
    size_t n_ids = 0;
    int rc = -1;

    Plan plan = {0};
    float *states = NULL;   /* hidden states at the group boundary, [n_seq * seq_len, d] */
    int spill_fd = -1;
    double t_load = runNow();

    /* the plan from the header alone: a model that cannot fit is refused unloaded */
    ModelOptions peek = opt;
    peek.info_only = 1;
    peek.header_only = 1;   /* the load below checks the data */
    if (modelOpen(e->path, &peek, &m, err)) return -1;
    PlanEnv env;
    planEnvDefault(cfg, runMemoryLimit(r), runLive(r), &env);
    if (planComputeModel(m, cfg, &env, &plan, err)) goto out;
    runDescribe(r, modelInfo(m)->family, modelInfo(m)->format, modelInfo(m)->ffn_width, modelInfo(m)->n_layers);
    if (!plan.fits) {
        planRefuse(&plan, e->name, err);
        goto out;
    }
    if (plan.passes > 1 && cfg->save_stats) {
        errorSet(err, EXIT_INPUT,
                 "%s: --save-stats needs every accumulator at once, and the memory plan needs %d passes; "
                 "raise --memory-limit or select fewer layers",
                 e->name, plan.passes);
        goto out;
    }
    char line[512];
    planSummary(&plan, modelInfo(m), line, sizeof line);
    runSetPlan(r, plan.peak, plan.passes, line);
    modelFree(m);
    m = NULL;

    opt.stream_weights = plan.stream_weights;
    if (modelOpen(e->path, &opt, &m, err)) goto out;
    const ModelInfo *info = modelInfo(m);
    runDescribe(r, info->family, info->format, info->ffn_width, info->n_layers);
    const Tokenizer *tok = modelTokenizer(m);
    if (!tok) {
        errorSet(err, EXIT_INPUT, "%s: no tokenizer found (add 'tokenizer:' to the model entry)", e->path);
        goto out;
    }
    double t_tokenize = runNow();
    runPhaseAdd(r, PHASE_LOAD, t_tokenize - t_load);
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
        const char *why = tokenizerNoBosReason(tok);
        errorSet(err, EXIT_INPUT, "%s: corpus.add_bos is set but the tokenizer has no BOS token%s%s", e->path,
                 why ? ": " : "", why ? why : "");
        goto out;
    }
    runPhaseAdd(r, PHASE_TOKENIZE, runNow() - t_tokenize);

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

    /* one stream per (layer, site) of a dense FFN, per expert of a routed one */
    int n_layers = info->n_layers, n = 0, per_layer = 1 + info->n_experts + 1;
    size_t cap = (size_t)SITE_COUNT * (size_t)n_layers * (size_t)per_layer + 1;
    mask = calloc((size_t)(n_layers > 0 ? n_layers : 1), 1);
    keys = malloc(sizeof *keys * cap);
    widths = malloc(sizeof *widths * cap);
    batch = malloc(sizeof *batch * (size_t)cfg->corpus.batch * (size_t)seq_len);
    if (!mask || !keys || !widths || !batch) {
        errorNoMem(err, e->path);
        goto out;
    }
    for (int l = 0; l < n_layers; l++) {
        if (!configWantsLayer(cfg, l)) continue;
        LayerFfn ffn;
        modelLayerFfn(m, l, &ffn);
        for (int s = 0; s < SITE_COUNT; s++) {
            if (!(cfg->sites & SITE_BIT(s))) continue;
            mask[l] |= (uint8_t)SITE_BIT(s);
            if (!ffn.n_experts) {
                keys[n] = (CaptureKey){l, (Site)s, CAPTURE_DENSE};
                widths[n++] = ffn.width;
            }
            for (int x = 0; x < ffn.n_experts; x++) {
                keys[n] = (CaptureKey){l, (Site)s, x};
                widths[n++] = ffn.expert_width;
            }
            if (ffn.n_experts && ffn.shared_width) {
                keys[n] = (CaptureKey){l, (Site)s, CAPTURE_SHARED};
                widths[n++] = ffn.shared_width;
            }
        }
    }
    if (!n) {
        errorSet(err, EXIT_INPUT, "%s: the model has %d layers and none matches capture.layers", e->path, n_layers);
        goto out;
    }
    if (plan.passes <= 1) {
        if (runDeclareKeys(r, n, keys, widths, n_seq * seq_len, err) || runOpenGroup(r, 1, 1, 0, INT32_MAX, err))
            goto out;
        Hook hook = {r, 0};
        for (int64_t s0 = 0; s0 < n_seq; s0 += cfg->corpus.batch) {
            int b = (int)(n_seq - s0 < cfg->corpus.batch ? n_seq - s0 : cfg->corpus.batch);
            double t0 = runNow();
            fillBatch(batch, ids, s0, b, seq_len, per_seq, bos);
            int failed = modelForward(m, batch, b, seq_len, mask, captureHook, &hook, err);
            forwardDone(r, &hook, t0);
            if (failed) {
                rc = stopped(r, s0 * seq_len);
                goto out;
            }
            int p = runProgress(r, (s0 + b) * seq_len, err);
            if (p) {
                rc = p;
                goto out;
            }
        }
        rc = 0;
        goto out;
    }

    /* one group of layers at a time */
    if (runDeclareKeys(r, n, keys, widths, n_seq * seq_len, err)) goto out;
    size_t d = (size_t)info->d_model, per_token = d * sizeof(float);
    size_t batch_states = (size_t)cfg->corpus.batch * (size_t)seq_len * d;
    if (plan.residual_on_disk) {
        if (openSpill(runSpillDir(r), &spill_fd, err)) goto out;
        states = malloc(batch_states * sizeof *states);
    } else {
        states = malloc((size_t)(n_seq * seq_len) * per_token);
    }
    if (!states) {
        errorNoMem(err, e->path);
        goto out;
    }
    Hook hook = {r, 0};
    for (int g = 0; g < plan.passes; g++) {
        const PlanGroup *grp = &plan.groups[g];
        int more = g + 1 < plan.passes;
        if (runOpenGroup(r, g + 1, plan.passes, grp->first, grp->last, err)) goto out;
        for (int64_t s0 = 0; s0 < n_seq; s0 += cfg->corpus.batch) {
            int b = (int)(n_seq - s0 < cfg->corpus.batch ? n_seq - s0 : cfg->corpus.batch);
            size_t off = (size_t)s0 * (size_t)seq_len;   /* first token of the batch */
            size_t bytes = (size_t)b * (size_t)seq_len * per_token;
            float *x = spill_fd >= 0 ? states : states + off * d;
            int failed = 0;
            /* the hidden states' trips to and from their file count as the forward pass's */
            double t0 = runNow();
            if (g == 0) {
                fillBatch(batch, ids, s0, b, seq_len, per_seq, bos);
                failed = modelEmbed(m, batch, b, seq_len, x, err);
            } else if (spill_fd >= 0) {
                failed = spillIo(spill_fd, x, bytes, (off_t)(off * per_token), 0, err);
            }
            if (!failed)
                failed = modelForwardLayers(m, x, more ? x : NULL, b, seq_len, grp->first, grp->last, mask,
                                            captureHook, &hook, err);
            if (!failed && more && spill_fd >= 0)
                failed = spillIo(spill_fd, x, bytes, (off_t)(off * per_token), 1, err);
            forwardDone(r, &hook, t0);
            if (failed) {
                rc = stopped(r, s0 * seq_len);
                goto out;
            }
            int p = runProgress(r, (s0 + b) * seq_len, err);
            if (p) {
                rc = p;
                goto out;
            }
        }
        int c = runCloseGroup(r, err);
        if (c) {
            rc = c;
            goto out;
        }
    }
    rc = 0;
out:
    planFree(&plan);
    free(states);
    if (spill_fd >= 0) close(spill_fd);
    free(ids);
    free(batch);
    free(mask);
    free(keys);
    free(widths);
    modelFree(m);
    return rc;
}
