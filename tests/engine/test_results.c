/* Results directory: exact CSV headers, atomic writes (no temp file left),
 * and a write-then-load round trip that gives back every number bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ffnscope/metrics.h"
#include "ffnscope/model.h"
#include "ffnscope/results.h"
#include "ffnscope/snapshot.h"
#include "testutil.h"
#include "util/fileio.h"

static char dir[256];

static void setup(void) { cr_assert(testTempDir(dir, sizeof dir) == 0); }
static void teardown(void) { testRemoveTree(dir); }

TestSuite(results, .init = setup, .fini = teardown);

/* A power-law spectrum lambda_i = i^-decay, D values. */
static double *spectrum(int d, double decay)
{
    double *e = malloc(sizeof(double) * (size_t)d);
    cr_assert(e);
    for (int i = 0; i < d; i++) e[i] = pow(i + 1, -decay);
    return e;
}

static void addModel(Snapshot *s, const char *name, const char *family, int width, int layers, ModelStatus st)
{
    s->models = realloc(s->models, sizeof *s->models * (size_t)(s->n_models + 1));
    cr_assert(s->models);
    ModelSnapshot *m = &s->models[s->n_models++];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    m->family = strdup(family);
    m->format = strdup("hf");
    m->path = strdup("models/x");
    m->width = width;
    m->n_layers = layers;
    m->status = st;
    m->tokens_done = m->tokens_target = 8192;
    m->tokens_per_s = 1234.5;
    m->elapsed_s = 6.625;
    if (st == MODEL_FAILED) {
        m->error = strdup("models/x/model.safetensors: tensor 'h.0.mlp.c_fc.weight' has shape [3], expected [64,256]");
        return;
    }
    m->n_rows = layers * 2;
    m->rows = calloc((size_t)m->n_rows, sizeof *m->rows);
    cr_assert(m->rows);
    for (int l = 0; l < layers; l++)
        for (int site = 0; site < 2; site++) {
            LayerSnapshot *r = &m->rows[l * 2 + site];
            r->layer = l;
            r->site = (Site)site;
            r->n_eigen = width;
            r->eigen = spectrum(width, 0.6 + 0.1 * l + 0.05 * site + 64.0 / width);
            metricsCompute(r->eigen, width, 8192 - l, l, 0.1, &r->metrics);
        }
}

static Snapshot *fixture(void)
{
    Snapshot *s = snapshotNew();
    s->source = strdup("configs/x.yaml");
    s->state = WORKER_DONE;
    s->elapsed_s = 12.5;
    s->concentration_k = 0.1;
    addModel(s, "gpt2-w64", "gpt2", 64, 2, MODEL_DONE);
    addModel(s, "gpt2-w128", "gpt2", 128, 2, MODEL_DONE);
    addModel(s, "gpt2-w256", "gpt2", 256, 2, MODEL_DONE);
    addModel(s, "odd,name \"q\"", "gpt2", 512, 1, MODEL_DONE);
    addModel(s, "llama-w96", "llama", 96, 3, MODEL_DONE);
    addModel(s, "broken", "llama", 0, 0, MODEL_FAILED);
    /* a checkpoint's phases, an activation file's (no tokenizing, no forward pass), and none */
    ModelSnapshot *ck = &s->models[0], *acts = &s->models[4];
    const double split[PHASE_COUNT] = {0.125, 0.0625, 3.1, 1.0 / 3, 2.5e-4};
    for (int p = 0; p < PHASE_COUNT; p++) ck->phase_s[p] = split[p];
    ck->phases = PHASE_BIT(PHASE_COUNT) - 1;
    ck->refresh_s = 1e-4;
    acts->phase_s[PHASE_LOAD] = 0.5;
    acts->phase_s[PHASE_COVARIANCE] = 2.75;
    acts->phase_s[PHASE_SPECTRA] = 0.25;
    acts->phases = PHASE_BIT(PHASE_LOAD) | PHASE_BIT(PHASE_COVARIANCE) | PHASE_BIT(PHASE_SPECTRA);
    cr_assert(snapshotComputeFits(s) == 0);
    return s;
}

static char *firstLine(const char *name)
{
    static char line[1024];
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "r");
    cr_assert(fp, "no %s", p);
    cr_assert(fgets(line, sizeof line, fp));
    fclose(fp);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void sameMetrics(const Metrics *a, const Metrics *b)
{
    cr_assert_eq(a->width, b->width);
    cr_assert_eq(a->tokens, b->tokens);
    cr_assert_eq(a->nonfinite_rows, b->nonfinite_rows);
    cr_assert_eq(a->concentration_k, b->concentration_k);
    cr_assert_eq(a->warnings, b->warnings);
    /* bit for bit through 17 significant digits */
    cr_assert(a->hard_rank == b->hard_rank && a->soft_rank == b->soft_rank);
    cr_assert(a->hard_util == b->hard_util && a->soft_util == b->soft_util);
    cr_assert(a->concentration == b->concentration && a->eee == b->eee && a->sui == b->sui);
    cr_assert(a->alpha == b->alpha || (isnan(a->alpha) && isnan(b->alpha)));
}

Test(results, write_then_load_round_trip)
{
    Snapshot *s = fixture();
    char out[512];
    snprintf(out, sizeof out, "%s/deep/er/run", dir);
    Error err = {0};
    cr_assert(resultsWrite(s, NULL, out, &err) == 0, "%s", err.msg);
    cr_assert_eq(testCountEntries(out), 5, "exactly the five files, no temp file left");

    Snapshot *t;
    cr_assert(resultsLoad(out, &t, &err) == 0, "%s", err.msg);
    cr_assert_eq(t->state, WORKER_SAVED);
    cr_assert_str_eq(t->source, out);
    cr_assert_eq(t->refcount, 1);
    cr_assert(t->concentration_k == 0.1 && t->elapsed_s == 12.5);
    cr_assert_eq(t->n_models, s->n_models);
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *a = &s->models[i], *b = &t->models[i];
        cr_assert_str_eq(a->name, b->name);
        cr_assert_str_eq(a->family, b->family);
        cr_assert_str_eq(a->format, b->format);
        cr_assert_str_eq(a->path, b->path);
        cr_assert_eq(a->status, b->status);
        cr_assert_eq(a->width, b->width);
        cr_assert_eq(a->n_layers, b->n_layers);
        cr_assert_eq(a->tokens_done, b->tokens_done);
        cr_assert(a->tokens_per_s == b->tokens_per_s && a->elapsed_s == b->elapsed_s);
        cr_assert_eq(a->phases, b->phases, "%s: phases %#x, read back %#x", a->name, a->phases, b->phases);
        for (int p = 0; p < PHASE_COUNT; p++)
            if (a->phases & PHASE_BIT(p)) cr_assert(a->phase_s[p] == b->phase_s[p], "%s %s", a->name, phaseName(p));
        cr_assert(a->refresh_s == b->refresh_s);
        if (a->status == MODEL_FAILED) {
            cr_assert_str_eq(a->error, b->error);
            cr_assert_eq(b->n_rows, 0);
            continue;
        }
        cr_assert_null(b->error);
        cr_assert_eq(a->n_rows, b->n_rows);
        for (int j = 0; j < a->n_rows; j++) {
            const LayerSnapshot *x = &a->rows[j], *y = &b->rows[j];
            cr_assert_eq(x->layer, y->layer);
            cr_assert_eq(x->site, y->site);
            cr_assert_eq(x->n_eigen, y->n_eigen);
            cr_assert(memcmp(x->eigen, y->eigen, sizeof(double) * (size_t)x->n_eigen) == 0);
            sameMetrics(&x->metrics, &y->metrics);
        }
    }
    cr_assert_eq(t->n_fits, s->n_fits);
    for (int i = 0; i < s->n_fits; i++) {
        cr_assert_str_eq(t->fits[i].family, s->fits[i].family);
        cr_assert_eq(t->fits[i].site, s->fits[i].site);
        cr_assert_eq(t->fits[i].rank, s->fits[i].rank);
        cr_assert_eq(t->fits[i].fit.n, s->fits[i].fit.n);
        cr_assert_eq(t->fits[i].fit.valid, s->fits[i].fit.valid);
        if (s->fits[i].fit.valid) cr_assert(t->fits[i].fit.beta == s->fits[i].fit.beta);
    }
    /* gpt2 has four models, llama one working (the failed one adds no point) */
    const FitSnapshot *g = snapshotFindFit(t, "gpt2", SITE_POST, RANK_SOFT);
    cr_assert(g && g->fit.valid && g->fit.n == 4);
    const FitSnapshot *l = snapshotFindFit(t, "llama", SITE_PRE, RANK_HARD);
    cr_assert(l && !l->fit.valid && l->fit.n == 1);
    cr_assert(isnan(snapshotDeltaBeta(t, "llama", SITE_POST)));
    cr_assert_float_eq(snapshotDeltaBeta(t, "gpt2", SITE_POST),
                       g->fit.beta - snapshotFindFit(t, "gpt2", SITE_POST, RANK_HARD)->fit.beta, 1e-15);
    snapshotRelease(t);
    snapshotRelease(s);
}

Test(results, exact_headers_and_quoting)
{
    Snapshot *s = fixture();
    Error err = {0};
    cr_assert(resultsWrite(s, NULL, dir, &err) == 0, "%s", err.msg);
    cr_assert_str_eq(firstLine("metrics.csv"), "model,family,width,layer,site,expert,tokens,hard_rank,soft_rank,hard_util,"
                                               "soft_util,concentration,eee,sui,alpha,warnings");
    cr_assert_str_eq(firstLine("fits.csv"), "family,site,metric,n_models,beta,beta_ci_low,beta_ci_high,log10_a,r2");

    char p[512], buf[1 << 16];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    FILE *fp = fopen(p, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* 4 gpt2 models (2+2+2+1 layers) and llama (3 layers), two sites each; the failed model has none */
    int lines = 0;
    for (char *c = buf; *c; c++) lines += *c == '\n';
    cr_assert_eq(lines, 1 + 2 * (2 + 2 + 2 + 1 + 3));
    cr_assert(strstr(buf, "\n\"odd,name \"\"q\"\"\",gpt2,512,0,post,,8192,"), "RFC 4180 quoting");
    cr_assert(strstr(buf, "\ngpt2-w64,gpt2,64,1,pre,,8191,"));
    cr_assert_null(strstr(buf, "broken"));
    /* a layer with dropped rows carries the warning */
    cr_assert(strstr(buf, ",nonfinite=1\n") || strstr(buf, ";nonfinite=1\n"));

    snprintf(p, sizeof p, "%s/fits.csv", dir);
    fp = fopen(p, "r");
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    cr_assert(strstr(buf, "\ngpt2,post,soft_rank,4,"));
    cr_assert(strstr(buf, "\ngpt2,pre,hard_rank,4,"));
    cr_assert(strstr(buf, "\nllama,post,soft_rank,1,,,,,\n"), "an invalid fit has empty values:\n%s", buf);
    snapshotRelease(s);
}

static char *readText(const char *path)
{
    char *data;
    size_t len;
    Error err = {0};
    return fileReadAll(path, &data, &len, &err) ? NULL : data;
}

/* Replaces the first `from` of a results file with `to`. */
static void editFile(const char *name, const char *from, const char *to)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    char *text = readText(p);
    cr_assert(text, "no %s", p);
    char *at = strstr(text, from);
    cr_assert(at, "%s has no %s", p, from);
    FILE *fp = fopen(p, "w");
    cr_assert(fp);
    fprintf(fp, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(fp);
    free(text);
}

Test(results, phases_written_and_optional)
{
    Snapshot *s = fixture();
    Error err = {0};
    cr_assert(resultsWrite(s, NULL, dir, &err) == 0, "%s", err.msg);
    snapshotRelease(s);
    char p[512];
    snprintf(p, sizeof p, "%s/run.yaml", dir);
    char *yaml = readText(p);
    cr_assert(yaml);
    /* other_s: elapsed 6.625 less the phases */
    cr_assert(strstr(yaml, "phases: {load_s: 0.125, tokenize_s: 0.062, forward_s: 3.100, covariance_s: 0.333, "
                           "spectra_s: 0.000, other_s: 3.004}"), "%s", yaml);
    cr_assert(strstr(yaml, "phases: {load_s: 0.500, covariance_s: 2.750, spectra_s: 0.250, other_s: 3.125}"), "%s",
              yaml);
    free(yaml);

    /* results from before phases, or with keys this version does not know, still load */
    editFile("metrics.json", "\"phases\"", "\"phases_of_another_version\"");
    editFile("metrics.json", "\"load_s\"", "\"warmup_s\": 1, \"load_s\"");
    Snapshot *t;
    cr_assert(resultsLoad(dir, &t, &err) == 0, "%s", err.msg);
    const ModelSnapshot *ck = &t->models[snapshotFindModel(t, "gpt2-w64")];
    const ModelSnapshot *acts = &t->models[snapshotFindModel(t, "llama-w96")];
    cr_assert_eq(ck->phases, 0);
    cr_assert(isnan(snapshotPhaseOther(ck)));
    cr_assert_eq(acts->phases, PHASE_BIT(PHASE_LOAD) | PHASE_BIT(PHASE_COVARIANCE) | PHASE_BIT(PHASE_SPECTRA));
    cr_assert(acts->phase_s[PHASE_COVARIANCE] == 2.75 && snapshotPhaseOther(acts) == 3.125);
    snapshotRelease(t);

    /* phases of the wrong type are an input error naming the file */
    editFile("metrics.json", "\"covariance_s\": 2.75", "\"covariance_s\": \"slow\"");
    t = NULL;
    cr_assert(resultsLoad(dir, &t, &err) == -1);
    cr_assert_null(t);
    cr_assert_eq(err.code, EXIT_INPUT);
    cr_assert(strstr(err.msg, "metrics.json: \"phases\".\"covariance_s\" is not a number of seconds"), "%s", err.msg);
}

Test(results, load_errors_name_the_file)
{
    Snapshot *t = NULL;
    Error err = {0};
    char p[512], want[600];
    cr_assert(resultsLoad(dir, &t, &err) == -1);
    snprintf(want, sizeof want, "%s/metrics.json: No such file or directory", dir);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(err.code, EXIT_INPUT);

    snprintf(p, sizeof p, "%s/metrics.json", dir);
    FILE *fp = fopen(p, "w");
    fputs("{\"models\": [], \"rows\": 3}", fp);
    fclose(fp);
    cr_assert(resultsLoad(dir, &t, &err) == -1);
    snprintf(want, sizeof want, "%s/metrics.json: \"models\" and \"rows\" must be arrays", dir);
    cr_assert_str_eq(err.msg, want);

    /* a complete folder whose spectra lack a row's tensor */
    Snapshot *s = fixture();
    cr_assert(resultsWrite(s, NULL, dir, &err) == 0, "%s", err.msg);
    snapshotRelease(s);
    s = snapshotNew();
    s->state = WORKER_DONE;
    char sub[512];
    snprintf(sub, sizeof sub, "%s/empty", dir);
    cr_assert(resultsWrite(s, NULL, sub, &err) == 0, "%s", err.msg);
    snapshotRelease(s);
    char from[600], to[600];
    snprintf(from, sizeof from, "%s/spectra.safetensors", sub);
    snprintf(to, sizeof to, "%s/spectra.safetensors", dir);
    cr_assert(rename(from, to) == 0);
    cr_assert(resultsLoad(dir, &t, &err) == -1);
    snprintf(want, sizeof want, "%s/spectra.safetensors: no tensor 'gpt2-w64/post/layer0'", dir);
    cr_assert_str_eq(err.msg, want);
    cr_assert_null(t);
}

Test(results, snapshot_refcount_and_copy)
{
    Snapshot *s = fixture();
    cr_assert_eq(snapshotRetain(s), s);
    cr_assert_eq(s->refcount, 2);
    snapshotRelease(s);
    Snapshot *c = snapshotCopy(s);
    cr_assert(c && c != s && c->refcount == 1);
    cr_assert_eq(c->n_models, s->n_models);
    cr_assert(c->models[0].rows[0].eigen != s->models[0].rows[0].eigen);
    cr_assert(memcmp(c->models[0].rows[0].eigen, s->models[0].rows[0].eigen, 64 * sizeof(double)) == 0);
    snapshotRelease(s);   /* the copy lives on alone */
    cr_assert_str_eq(c->models[5].error,
                     "models/x/model.safetensors: tensor 'h.0.mlp.c_fc.weight' has shape [3], expected [64,256]");
    cr_assert_str_eq(modelStatusName(MODEL_CAPTURING), "capturing");
    cr_assert_str_eq(workerStateName(WORKER_SAVED), "saved");
    snapshotRelease(c);
}

/* A mixture-of-experts model's point in the fits: its routed experts alone
 * (width 32, median soft rank over every routed expert of every routed
 * layer), never its dense layer (width 256) or its shared expert (width 96);
 * a dense model's point is its width and the median over its layers. */
Test(results, moe_model_point_is_its_routed_experts)
{
    Snapshot *s = snapshotNew();
    addModel(s, "dense", "olmoe", 256, 3, MODEL_DONE);
    ModelSnapshot *m = &s->models[0];
    /* rows: layer 0 dense (post, pre), then layers 1-2 routed: experts 0-2 and shared at post */
    const double soft[] = {1000, 1000, 4, 9, 6, 500, 5, 2, 8, 500};
    const int expert[] = {0, 0, 0, 1, 2, CAPTURE_SHARED, 0, 1, 2, CAPTURE_SHARED};
    for (int i = 2; i < m->n_rows; i++) free(m->rows[i].eigen);
    m->rows = realloc(m->rows, sizeof *m->rows * 10);
    cr_assert(m->rows);
    for (int i = 2; i < 10; i++) {
        LayerSnapshot *r = &m->rows[i];
        memset(r, 0, sizeof *r);
        r->layer = i < 6 ? 1 : 2;
        r->site = SITE_POST;
        r->routed = 1;
        r->expert = expert[i];
        r->width = r->expert == CAPTURE_SHARED ? 96 : 32;
        r->n_eigen = 1;
    }
    m->n_rows = 10;
    for (int i = 0; i < 10; i++) {
        m->rows[i].metrics.soft_rank = soft[i];
        m->rows[i].metrics.hard_rank = soft[i] / 2;
    }
    double w = 0, v = 0;
    cr_assert_eq(snapshotModelPoint(m, SITE_POST, RANK_SOFT, &w, &v), 1);
    /* routed soft ranks 4 9 6 5 2 8: median (5 + 6) / 2 */
    cr_assert_float_eq(w, 32.0, 0);
    cr_assert_float_eq(v, 5.5, 0);
    cr_assert_eq(snapshotModelPoint(m, SITE_POST, RANK_HARD, &w, &v), 1);
    cr_assert_float_eq(v, 2.75, 0);
    /* the pre site has only the dense layer's row, which a routed model leaves out */
    cr_assert_eq(snapshotModelPoint(m, SITE_PRE, RANK_SOFT, &w, &v), 0);

    addModel(s, "gpt2-w64", "gpt2", 64, 3, MODEL_DONE);
    const ModelSnapshot *d = &s->models[1];
    cr_assert_eq(snapshotModelPoint(d, SITE_POST, RANK_SOFT, &w, &v), 1);
    double r[3] = {d->rows[0].metrics.soft_rank, d->rows[2].metrics.soft_rank, d->rows[4].metrics.soft_rank};
    double mid = r[0] > r[1] ? (r[1] > r[2] ? r[1] : fmin(r[0], r[2])) : (r[0] > r[2] ? r[0] : fmin(r[1], r[2]));
    cr_assert_float_eq(w, 64.0, 0);
    cr_assert_float_eq(v, mid, 0);
    snapshotRelease(s);
}
