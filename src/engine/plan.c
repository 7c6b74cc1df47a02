/* The memory plan (plan.h). Every term is what the code allocates, counted
 * the way it allocates it:
 *   accumulator  covacc.c: the D x D float64 scatter and the D mean, one
 *                per (layer, site, expert) with the expert's width for a
 *                routed layer (and its shared expert's), plus k eigenvectors
 *                per routed expert for the overlap (worker.c);
 *   acc_scratch  covacc.c: one float64 block of covaccBatchRows(D) + 1 rows
 *                shared by a model's accumulators of width D, its mean and
 *                delta: one per distinct width;
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
 * Weights: widened to float32 at load (4 bytes per parameter), or, for a
 * checkpoint stored narrower than float32, left in the mapped file and
 * widened one layer at a time (see the schedule's comment below);
 * weights_stored is what the file holds. */
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

/* How many groups the captured layers cap[0..n) make when each group's accumulators
 * (cost[i] for cap[i]) stay under `room`, filled greedily in order; 0 when one layer alone
 * is over it. */
static int groupsUnder(const uint64_t *cost, int n, uint64_t room)
{
    int groups = 0;
    uint64_t used = 0;
    for (int i = 0; i < n; i++) {
        if (cost[i] > room) return 0;
        if (!groups || used + cost[i] > room) {
            groups++;
            used = 0;
        }
        used += cost[i];
    }
    return groups;
}

/* The passes, groups and peak for weights that hold `weights` bytes during
 * the capture. cap: the captured layers, cost: their accumulators (every
 * site, every expert). */
static int schedule(Plan *p, uint64_t weights, const int *cap, const uint64_t *cost, Error *err)
{
    free(p->groups);
    p->groups = NULL;
    p->passes = 0;
    p->residual_on_disk = 0;
    p->weights_resident = weights;
    uint64_t all = 0, most = 0;
    for (int i = 0; i < p->n_captured; i++) {
        all += cost[i];
        if (cost[i] > most) most = cost[i];
    }
    uint64_t fixed = p->base + p->weights_resident + p->scratch + p->acc_scratch + p->solve;
    p->need = fixed + most;
    p->fits = p->need <= p->limit && p->n_captured > 0;
    uint64_t room = 0;
    if (p->n_captured == 0) {
        p->peak = fixed;
    } else if (fixed + all <= p->limit) {
        room = all;
    } else if (fixed + p->residual + most <= p->limit) {
        room = p->limit - fixed - p->residual;
    } else if (p->fits) {
        /* the boundary states do not fit beside one layer: they go to a file */
        p->residual_on_disk = 1;
        room = p->limit - fixed;
    }
    if (room > 0) {
        p->passes = groupsUnder(cost, p->n_captured, room);
        /* spread the layers evenly over the passes the limit forces: the least room per group
         * that still needs no more passes */
        uint64_t lo = most, hi = room;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (groupsUnder(cost, p->n_captured, mid) <= p->passes) hi = mid;
            else lo = mid + 1;
        }
        p->passes = groupsUnder(cost, p->n_captured, lo);
        if (!(p->groups = calloc((size_t)p->passes, sizeof *p->groups))) return errorNoMem(err, "memory plan");
        uint64_t used = 0, largest = 0;
        int g = -1;
        for (int i = 0; i < p->n_captured; i++) {
            if (g < 0 || used + cost[i] > lo) {
                g++;
                p->groups[g].first = g ? p->groups[g - 1].last + 1 : 0;
                used = 0;
            }
            used += cost[i];
            if (used > largest) largest = used;
            p->groups[g].last = cap[i];
            p->groups[g].n_captured++;
        }
        p->peak = fixed + (p->passes > 1 && !p->residual_on_disk ? p->residual : 0) + largest;
    }
    return 0;
}

static uint64_t accBytes(uint64_t w) { return 8 * w * w + 8 * w; }

static uint64_t accScratchBytes(uint64_t w)
{
    return ((uint64_t)covaccBatchRows((int)w) + 1) * w * 8 + 16 * w + (uint64_t)covaccBatchRows((int)w);
}

int planCompute(const ModelInfo *in, const LayerFfn *ffn, const Config *cfg, const PlanEnv *env, Plan *p,
                Error *err)
{
    memset(p, 0, sizeof *p);
    p->limit = env->limit;
    int threads = env->threads > 0 ? env->threads : 1;
    for (int s = 0; s < SITE_COUNT; s++) p->n_sites += (cfg->sites & SITE_BIT(s)) != 0;
    int n = in->n_layers > 0 ? in->n_layers : 1;
    int *cap = malloc(sizeof *cap * (size_t)n);
    uint64_t *cost = malloc(sizeof *cost * (size_t)n);
    /* the distinct accumulator widths: each has its own shared batch block (worker.c runOpenGroup) */
    int *widths = malloc(sizeof *widths * (size_t)(3 * n + 1)), n_widths = 0;
    if (!cap || !cost || !widths) {
        free(cap);
        free(cost);
        free(widths);
        return errorNoMem(err, "memory plan");
    }
    uint64_t D = (uint64_t)in->ffn_width, d = (uint64_t)in->d_model, row_widths = 0, widest = 0;
    int k = cfg->overlap_k > 0 ? cfg->overlap_k : 8;
    for (int l = 0; l < in->n_layers; l++) {
        if (!configWantsLayer(cfg, l)) continue;
        LayerFfn f = ffn ? ffn[l] : (LayerFfn){.width = in->ffn_width};
        /* a layer's streams: (width, count) of its dense FFN, or its experts and shared expert */
        int w[3] = {f.n_experts > 0 ? f.expert_width : (f.width > 0 ? f.width : in->ffn_width),
                    f.n_experts > 0 ? f.shared_width : 0, 0};
        int count[2] = {f.n_experts > 0 ? f.n_experts : 1, w[1] > 0};
        uint64_t bytes = 0;
        for (int j = 0; j < 2; j++) {
            if (!count[j]) continue;
            uint64_t wj = (uint64_t)w[j];
            bytes += (uint64_t)count[j] * accBytes(wj);
            /* a routed expert's top eigenvectors, kept from its final solve to the overlap */
            if (j == 0 && f.n_experts > 0) bytes += (uint64_t)count[j] * (uint64_t)(k < w[j] ? k : w[j]) * wj * 8;
            row_widths += (uint64_t)count[j] * wj;
            p->n_accumulators += count[j] * p->n_sites;
            if (wj > widest) widest = wj;
            int seen = 0;
            for (int q = 0; q < n_widths; q++) seen |= widths[q] == w[j];
            if (!seen) widths[n_widths++] = w[j];
        }
        cap[p->n_captured] = l;
        cost[p->n_captured++] = (uint64_t)p->n_sites * bytes;
    }
    if (!widest) widest = D;

    int seq_len = cfg->corpus.seq_len;
    if (in->context > 0 && seq_len > in->context) seq_len = in->context;
    int64_t n_seq = cfg->corpus.tokens / seq_len;
    if (n_seq < 1) n_seq = 1;
    p->tokens = n_seq * seq_len;
    p->rows = cfg->corpus.batch * seq_len;

    int64_t read_params = in->global_params + (int64_t)in->n_layers * in->layer_params;
    p->weights_stored = (uint64_t)((double)read_params * planDtypeBytes(in->dtype) + 0.5);
    p->weights_layer = (uint64_t)in->layer_params * 4;
    p->weights_resident = (uint64_t)read_params * 4;
    p->accumulator = accBytes(D);
    for (int i = 0; i < p->n_captured; i++) p->accumulators += cost[i];
    for (int q = 0; q < n_widths; q++) p->acc_scratch += accScratchBytes((uint64_t)widths[q]);
    if (!n_widths) p->acc_scratch = accScratchBytes(D);
    p->residual = (uint64_t)p->tokens * d * 4;
    p->scratch = forwardScratch(in, cfg->corpus.batch, seq_len, threads);
    p->solve = (uint64_t)threads * (SOLVE_WORK_PER_D * widest + 8 * widest) + (env->live ? 8 * widest * widest : 0);
    /* the token ids: at most one per corpus byte; every row's spectrum in the draft and two snapshots */
    p->base = BASE_BYTES + env->corpus_bytes * 5 + (uint64_t)p->n_sites * row_widths * 8 * 3;

    /* Weights stay in their storage dtype and are widened one layer at a time
     * when that layer runs, wherever that holds less than widening them all
     * (a BF16, F16 or quantized Hugging Face or GGUF checkpoint): widening a
     * layer costs under 1% of the sgemms it feeds at ffnscope's batch sizes
     * (BENCHMARKS.md), its float32 copy all of the weights' memory again. */
    int stream = (!strcmp(in->format, "hf") || !strcmp(in->format, "gguf")) &&
                 p->weights_stored + p->weights_layer < p->weights_resident;
    /* Streamed, the mapped file keeps resident the tensors outside the
     * layers (the embedding's rows are gathered from it) and, while a layer
     * is widened, that layer's stored bytes, which the readers drop once
     * widened; every other layer's pages stay on disk or in the page cache. */
    uint64_t streamed =
        (uint64_t)((double)(in->global_params + in->layer_params) * planDtypeBytes(in->dtype) + 0.5) + p->weights_layer;
    int rc = schedule(p, stream ? streamed : p->weights_resident, cap, cost, err);
    p->stream_weights = stream;
    free(cap);
    free(cost);
    free(widths);
    return rc;
}

int planComputeModel(const Model *m, const Config *cfg, const PlanEnv *env, Plan *plan, Error *err)
{
    const ModelInfo *in = modelInfo(m);
    LayerFfn *ffn = calloc((size_t)(in->n_layers > 0 ? in->n_layers : 1), sizeof *ffn);
    if (!ffn) return errorNoMem(err, "memory plan");
    for (int l = 0; l < in->n_layers; l++) modelLayerFfn(m, l, &ffn[l]);
    int rc = planCompute(in, ffn, cfg, env, plan, err);
    free(ffn);
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
        PUT(", peak %s of %s; weights %s (%s as stored, one layer at a time as float32)", peak, limit, w, in->dtype);
    else
        PUT(", peak %s of %s; weights %s as float32 (%s stored)", peak, limit, w, in->dtype);
    if (p->n_accumulators == p->n_captured * p->n_sites) {
        PUT(", accumulator %s x %d", acc, p->n_accumulators);
    } else {
        /* experts: accumulators of several widths */
        memFormatSize(p->accumulators, acc, sizeof acc);
        PUT(", accumulators %s in %d (experts)", acc, p->n_accumulators);
    }
    if (p->passes > 1) PUT(", hidden states %s %s", res, p->residual_on_disk ? "in a temporary file" : "in memory");
#undef PUT
}

int planRefuse(const Plan *p, const char *name, Error *err)
{
    char need[32], limit[32], w[32], acc[32], batch[32];
    memFormatSize(p->need, need, sizeof need);
    memFormatSize(p->limit, limit, sizeof limit);
    memFormatSize(p->weights_resident, w, sizeof w);
    memFormatSize(p->need - (p->base + p->weights_resident + p->scratch + p->acc_scratch + p->solve), acc, sizeof acc);
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
