/* The memory plan (plan.h). Every term is what the code allocates, counted
 * the way it allocates it:
 *   accumulator  covacc.c: the D x D float64 scatter and the D mean;
 *   acc_scratch  covacc.c: one float64 block of covaccBatchRows(D) + 1 rows
 *                shared by a model's accumulators, its mean and delta;
 *   scratch      decoder.c: the named forward buffers for batch x seq_len
 *                rows (x, h, out: d; q, att: heads x head_dim; k, v: kv
 *                heads x head_dim; gate, up: D; scores: seq_len^2 per
 *                thread; the rotary tables);
 *   residual     float32 hidden states of every captured token at a group
 *                boundary (only with more than one pass);
 *   solve        the two-stage eigensolver's workspace per solver thread
 *                and, when spectra refresh during the capture, the copy of
 *                the covariance it solves (worker.c refreshStream);
 *   base         what does not scale with the model: the program and its
 *                libraries, OpenBLAS and thread buffers, snapshots, the
 *                corpus and its token ids (measured on a tiny model).
 * Weights: every reader widens every weight to float32 when it loads, so
 * they are resident as 4 bytes per parameter; weights_stored is what the
 * file holds, for the plan's reader. */
#include "engine/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ffnscope/covacc.h"
#include "ffnscope/site.h"
#include "util/memsize.h"
#include "util/threads.h"

/* Measured: `ffnscope run` on the demo's gpt2-w64 (weights, accumulators and
 * buffers under 7 MiB, the Persuasion corpus) peaks at 15 MiB; the rest is
 * headroom for OpenBLAS's per-thread buffers. */
#define BASE_BYTES ((uint64_t)24 << 20)
/* dsyevd_2stage's values-only workspace is about (2 + 2 kd) D doubles with
 * kd = 64 on this LAPACK; rounded up */
#define SOLVE_WORK_PER_D (160 * 8)

double planDtypeBytes(const char *dtype)
{
    static const struct {
        const char *name;
        double bytes;
    } table[] = {
        {"F32", 4},       {"F16", 2},          {"BF16", 2},         {"Q8_0", 34.0 / 32},
        {"Q4_0", 18.0 / 32}, {"Q4_1", 20.0 / 32}, {"Q5_0", 22.0 / 32}, {"Q5_1", 24.0 / 32},
        {"Q8_1", 36.0 / 32}, {"Q2_K", 84.0 / 256}, {"Q3_K", 110.0 / 256}, {"Q4_K", 144.0 / 256},
        {"Q5_K", 176.0 / 256}, {"Q6_K", 210.0 / 256}, {"Q8_K", 292.0 / 256},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (dtype && !strcasecmp(dtype, table[i].name)) return table[i].bytes;
    return 4;
}

void planFree(Plan *plan)
{
    free(plan->groups);
    plan->groups = NULL;
}

static uint64_t forwardScratch(const ModelInfo *in, int batch, int seq_len, int threads)
{
    uint64_t rows = (uint64_t)batch * (uint64_t)seq_len, d = (uint64_t)in->d_model, D = (uint64_t)in->ffn_width;
    uint64_t qd = (uint64_t)in->n_heads * (uint64_t)in->head_dim, kvd = (uint64_t)in->n_kv_heads * (uint64_t)in->head_dim;
    uint64_t floats = rows * (3 * d + 2 * qd + 2 * kvd + 2 * D) + (uint64_t)threads * seq_len * seq_len +
                      4 * (uint64_t)seq_len * (uint64_t)in->head_dim;
    return floats * 4;
}

/* The passes, groups and peak for weights that hold `weights` bytes during
 * the capture. cap: the captured layers. */
static int schedule(Plan *p, uint64_t weights, const int *cap, Error *err)
{
    free(p->groups);
    p->groups = NULL;
    p->passes = 0;
    p->residual_on_disk = 0;
    p->weights_resident = weights;
    uint64_t layer_accs = (uint64_t)p->n_sites * p->accumulator;
    uint64_t fixed = p->base + p->weights_resident + p->scratch + p->acc_scratch + p->solve;
    p->need = fixed + layer_accs;
    p->fits = p->need <= p->limit && p->n_captured > 0;
    int per_pass = 0;
    if (p->n_captured == 0) {
        p->peak = fixed;
    } else if (fixed + (uint64_t)p->n_captured * layer_accs <= p->limit) {
        per_pass = p->n_captured;
        p->peak = fixed + (uint64_t)p->n_captured * layer_accs;
    } else if (fixed + p->residual + layer_accs <= p->limit) {
        per_pass = (int)((p->limit - fixed - p->residual) / layer_accs);
    } else if (p->fits) {
        /* the boundary states do not fit beside one layer: they go to a file */
        p->residual_on_disk = 1;
        per_pass = (int)((p->limit - fixed) / layer_accs);
    }
    if (per_pass > 0) {
        p->passes = (p->n_captured + per_pass - 1) / per_pass;
        /* spread the layers evenly over the passes the limit forces */
        int each = (p->n_captured + p->passes - 1) / p->passes;
        p->passes = (p->n_captured + each - 1) / each;
        if (!(p->groups = calloc((size_t)p->passes, sizeof *p->groups))) {
            return errorNoMem(err, "memory plan");
        }
        for (int g = 0; g < p->passes; g++) {
            int a = g * each, b = a + each < p->n_captured ? a + each : p->n_captured;
            p->groups[g].first = g ? p->groups[g - 1].last + 1 : 0;
            p->groups[g].last = cap[b - 1];
            p->groups[g].n_captured = b - a;
        }
        if (p->passes > 1)
            p->peak = fixed + (p->residual_on_disk ? 0 : p->residual) + (uint64_t)each * layer_accs;
    }
    return 0;
}

int planCompute(const ModelInfo *in, const Config *cfg, const PlanEnv *env, Plan *p, Error *err)
{
    memset(p, 0, sizeof *p);
    p->limit = env->limit;
    int threads = env->threads > 0 ? env->threads : 1;
    for (int s = 0; s < SITE_COUNT; s++) p->n_sites += (cfg->sites & SITE_BIT(s)) != 0;
    int *cap = malloc(sizeof *cap * (size_t)(in->n_layers > 0 ? in->n_layers : 1));
    if (!cap) return errorNoMem(err, "memory plan");
    for (int l = 0; l < in->n_layers; l++)
        if (configWantsLayer(cfg, l)) cap[p->n_captured++] = l;

    int seq_len = cfg->corpus.seq_len;
    if (in->context > 0 && seq_len > in->context) seq_len = in->context;
    int64_t n_seq = cfg->corpus.tokens / seq_len;
    if (n_seq < 1) n_seq = 1;
    p->tokens = n_seq * seq_len;
    p->rows = cfg->corpus.batch * seq_len;

    uint64_t D = (uint64_t)in->ffn_width, d = (uint64_t)in->d_model;
    int64_t read_params = in->global_params + (int64_t)in->n_layers * in->layer_params;
    p->weights_stored = (uint64_t)((double)read_params * planDtypeBytes(in->dtype) + 0.5);
    p->weights_layer = (uint64_t)in->layer_params * 4;
    p->weights_resident = (uint64_t)read_params * 4;
    p->accumulator = 8 * D * D + 8 * D;
    p->acc_scratch = ((uint64_t)covaccBatchRows((int)D) + 1) * D * 8 + 16 * D + (uint64_t)covaccBatchRows((int)D);
    p->residual = (uint64_t)p->tokens * d * 4;
    p->scratch = forwardScratch(in, cfg->corpus.batch, seq_len, threads);
    p->solve = (uint64_t)threads * (SOLVE_WORK_PER_D * D + 8 * D) + (env->live ? 8 * D * D : 0);
    /* the token ids: at most one per corpus byte */
    p->base = BASE_BYTES + env->corpus_bytes * 5 + (uint64_t)p->n_captured * p->n_sites * D * 8 * 3;

    /* Weights widened once, as float32, unless that forces more passes (or
     * does not fit) where keeping them stored and widening a layer at a time
     * would not (Hugging Face and GGUF files only). */
    int rc = schedule(p, p->weights_resident, cap, err);
    int can_stream = !strcmp(in->format, "hf") || !strcmp(in->format, "gguf");
    uint64_t streamed = p->weights_stored + p->weights_layer;
    if (!rc && can_stream && streamed < p->weights_resident && (!p->fits || p->passes > 1)) {
        Plan resident = *p;
        resident.groups = NULL;
        if (!(rc = schedule(p, streamed, cap, err)) && p->fits && (!resident.fits || p->passes < resident.passes)) {
            p->stream_weights = 1;
        } else if (!rc) {
            rc = schedule(p, resident.weights_resident, cap, err);
        }
    }
    free(cap);
    return rc;
}

void planSummary(const Plan *p, const ModelInfo *in, char *buf, size_t len)
{
    char peak[32], limit[32], w[32], acc[32], res[32];
    memFormatSize(p->peak, peak, sizeof peak);
    memFormatSize(p->limit, limit, sizeof limit);
    memFormatSize(p->weights_resident, w, sizeof w);
    memFormatSize(p->accumulator, acc, sizeof acc);
    memFormatSize(p->residual, res, sizeof res);
    size_t o = 0;
#define PUT(...) o += (o < len ? (size_t)snprintf(buf + o, len - o, __VA_ARGS__) : 0)
    if (p->passes <= 1) {
        PUT("1 pass, %d layer%s", p->n_captured, p->n_captured == 1 ? "" : "s");
    } else {
        PUT("%d passes (layers", p->passes);
        for (int g = 0; g < p->passes; g++) PUT("%s %d-%d", g ? "," : "", p->groups[g].first, p->groups[g].last);
        PUT(")");
    }
    if (p->stream_weights)
        PUT(", peak %s of %s; weights %s (%s as stored, one layer at a time as float32), accumulator %s x %d", peak,
            limit, w, in->dtype, acc, p->n_captured * p->n_sites);
    else
        PUT(", peak %s of %s; weights %s as float32 (%s stored), accumulator %s x %d", peak, limit, w, in->dtype, acc,
            p->n_captured * p->n_sites);
    if (p->passes > 1) PUT(", hidden states %s %s", res, p->residual_on_disk ? "in a temporary file" : "in memory");
#undef PUT
}

int planRefuse(const Plan *p, const char *name, Error *err)
{
    char need[32], limit[32], w[32], acc[32], batch[32];
    memFormatSize(p->need, need, sizeof need);
    memFormatSize(p->limit, limit, sizeof limit);
    memFormatSize(p->weights_resident, w, sizeof w);
    memFormatSize((uint64_t)p->n_sites * p->accumulator, acc, sizeof acc);
    memFormatSize(p->scratch + p->acc_scratch, batch, sizeof batch);
    return errorSet(err, EXIT_INPUT,
                    "%s: needs at least %s to capture one layer (weights %s, accumulators %s, one batch %s); "
                    "the memory limit is %s",
                    name, need, w, acc, batch, limit);
}

void planEnvDefault(const Config *cfg, uint64_t limit, int live, PlanEnv *env)
{
    memset(env, 0, sizeof *env);
    env->limit = limit ? limit : cfg->memory_limit ? cfg->memory_limit : memDefaultLimit();
    env->threads = threadsWanted();
    env->live = live;
    FILE *fp = cfg->has_corpus && cfg->corpus.path ? fopen(cfg->corpus.path, "rb") : NULL;
    if (fp && fseek(fp, 0, SEEK_END) == 0) {
        long n = ftell(fp);
        if (n > 0) env->corpus_bytes = (uint64_t)n;
    }
    if (fp) fclose(fp);
}
