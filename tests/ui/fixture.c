#include "fixture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/metrics.h"
#include "ffnscope/model.h"

typedef struct ModelSpec {
    const char *name, *family;
    int width;
    ModelStatus status;
    int computed_layers;     /* layers with a spectrum (of 4) */
    int both_sites;
    double decay;            /* base power-law exponent */
} ModelSpec;

static const ModelSpec specs[] = {
    {"gpt2-w64", "gpt2", 64, MODEL_DONE, 4, 0, 0.80},
    {"gpt2-w128", "gpt2", 128, MODEL_DONE, 4, 0, 0.84},
    {"gpt2-w256", "gpt2", 256, MODEL_DONE, 4, 0, 0.88},
    {"gpt2-w512", "gpt2", 512, MODEL_CAPTURING, 2, 0, 0.92},
    {"llama-w96", "llama", 96, MODEL_DONE, 4, 1, 0.95},
    {"llama-w192", "llama", 192, MODEL_DONE, 4, 0, 1.00},
    {"llama-w384", "llama", 384, MODEL_DONE, 4, 0, 1.05},
    {"ngpt-w128", "ngpt", 128, MODEL_FAILED, 0, 0, 0.9},
    {"ngpt-w256", "ngpt", 256, MODEL_QUEUED, 0, 0, 0.9},
};

static char *dup(const char *s) { return s ? strdup(s) : NULL; }

Snapshot *fixtureSnapshot(void)
{
    Snapshot *s = snapshotNew();
    int n = (int)(sizeof specs / sizeof *specs);
    s->generation = 42;
    s->source = dup("configs/fixture.yaml");
    s->state = WORKER_RUNNING;
    s->elapsed_s = 83.5;
    s->concentration_k = 0.1;
    s->n_models = n;
    s->models = calloc((size_t)n, sizeof *s->models);
    for (int i = 0; i < n; i++) {
        const ModelSpec *sp = &specs[i];
        ModelSnapshot *m = &s->models[i];
        m->name = dup(sp->name);
        m->family = dup(sp->family);
        m->format = dup("hf");
        m->path = dup(sp->name);
        m->width = sp->width;
        m->n_layers = 4;
        m->status = sp->status;
        m->tokens_target = 32 * sp->width;
        m->tokens_done = sp->status == MODEL_DONE ? m->tokens_target
                       : sp->status == MODEL_CAPTURING ? m->tokens_target * 2 / 5 : 0;
        m->tokens_per_s = sp->status == MODEL_CAPTURING ? 12345.0 : sp->status == MODEL_DONE ? 20000.0 : 0;
        m->elapsed_s = 4.0;
        if (sp->status == MODEL_FAILED) {
            m->error = dup("models/ngpt-w128/model.safetensors: tensor 'h.0.mlp.c_fc.weight' runs past the end of the file");
            m->error_code = 2;
        }
        if (sp->status == MODEL_QUEUED || sp->status == MODEL_FAILED) continue;
        int sites = sp->both_sites ? 2 : 1;
        m->n_rows = 4 * sites;
        m->rows = calloc((size_t)m->n_rows, sizeof *m->rows);
        for (int l = 0; l < 4; l++)
            for (int st = 0; st < sites; st++) {
                LayerSnapshot *r = &m->rows[l * sites + st];
                r->layer = l;
                r->site = (Site)st;
                if (l >= sp->computed_layers) continue;
                int D = sp->width;
                r->n_eigen = D;
                r->eigen = malloc((size_t)D * sizeof *r->eigen);
                double a = sp->decay + 0.15 * l + (st == SITE_PRE ? 0.1 : 0.0);
                for (int k = 0; k < D; k++) {
                    double i = k + 1;
                    r->eigen[k] = 4.0 * pow(i, -a) * (1.0 + 0.05 * sin(i));
                }
                /* keep them descending after the wiggle */
                for (int k = 1; k < D; k++)
                    if (r->eigen[k] > r->eigen[k - 1]) r->eigen[k] = r->eigen[k - 1];
                int64_t tokens = m->status == MODEL_DONE ? m->tokens_target : m->tokens_done;
                int64_t dropped = 0;
                if (!strcmp(sp->name, "llama-w384") && l == 3) tokens = 3000, dropped = 12;
                metricsCompute(r->eigen, D, tokens, dropped, s->concentration_k, &r->metrics);
            }
    }
    snapshotComputeFits(s);
    return s;
}

/* Mixture of experts: the spectrum of k equal eigenvalues among D has hard and
 * soft rank k, so SUI = k / D exactly; the load is the token count set here. */
enum { MOE_EXPERTS = 4, MOE_WIDTH = 32 };
static const int moe_rank[2][MOE_EXPERTS + 1] = {{8, 16, 24, 32, 4}, {32, 24, 0, 8, 4}};   /* shared last */
static const int64_t moe_tokens[2][MOE_EXPERTS] = {{400, 100, 300, 200}, {150, 350, 0, 500}};

static void moeRow(LayerSnapshot *r, int layer, int expert, int rank, int64_t tokens, double k_param)
{
    r->layer = layer;
    r->site = SITE_POST;
    r->routed = 1;
    r->expert = expert;
    r->width = MOE_WIDTH;
    r->overlap = NAN;
    if (tokens < 2) {
        metricsEmpty(MOE_WIDTH, tokens, 0, &r->metrics);
        return;
    }
    r->n_eigen = MOE_WIDTH;
    r->eigen = calloc(MOE_WIDTH, sizeof *r->eigen);
    for (int k = 0; k < rank; k++) r->eigen[k] = 1.0;
    metricsCompute(r->eigen, MOE_WIDTH, tokens, 0, k_param, &r->metrics);
}

Snapshot *fixtureMoeSnapshot(void)
{
    Snapshot *s = snapshotNew();
    s->source = dup("configs/moe.yaml");
    s->state = WORKER_DONE;
    s->concentration_k = 0.1;
    s->n_models = 2;
    s->models = calloc(2, sizeof *s->models);
    for (int i = 0; i < 2; i++) {
        ModelSnapshot *m = &s->models[i];
        m->name = dup(i == 0 ? "dense-w64" : "moe-e4");
        m->family = dup(i == 0 ? "gpt2" : "qwen2_moe");
        m->format = dup("stats");
        m->path = dup(m->name);
        m->width = i == 0 ? 64 : MOE_WIDTH;
        m->n_layers = 2;
        m->status = MODEL_DONE;
        m->tokens_target = m->tokens_done = 1000;
        m->n_rows = i == 0 ? 2 : 2 * (MOE_EXPERTS + 1);
        m->rows = calloc((size_t)m->n_rows, sizeof *m->rows);
        for (int l = 0; l < 2; l++) {
            if (i == 0) {
                LayerSnapshot *r = &m->rows[l];
                r->layer = l;
                r->site = SITE_POST;
                r->n_eigen = 64;
                r->eigen = calloc(64, sizeof *r->eigen);
                for (int k = 0; k < 16 * (l + 1); k++) r->eigen[k] = 1.0;
                metricsCompute(r->eigen, 64, 1000, 0, s->concentration_k, &r->metrics);
                continue;
            }
            LayerSnapshot *rows = &m->rows[l * (MOE_EXPERTS + 1)];
            for (int e = 0; e < MOE_EXPERTS; e++)
                moeRow(&rows[e], l, e, moe_rank[l][e], moe_tokens[l][e], s->concentration_k);
            moeRow(&rows[MOE_EXPERTS], l, CAPTURE_SHARED, moe_rank[l][MOE_EXPERTS], 1000, s->concentration_k);
        }
    }
    snapshotComputeFits(s);
    return s;
}
