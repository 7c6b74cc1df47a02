/* The results directory (README "Results"). Each file is written to a temp file and
 * renamed; metrics.json goes last, so a folder that resultsLoad accepts is
 * complete. Numbers: metrics.json carries doubles with 17 significant digits
 * (exact round trip), the CSV files 12 (readable, far below the accuracy
 * bar). Values that do not exist (alpha of a tiny spectrum, a fit of fewer
 * than three models) are empty in CSV and null in JSON. */
#include "ffnscope/results.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "ffnscope/model.h"
#include "io/safetensors.h"
#include "util/csv.h"
#include "util/fileio.h"

#define CSV_METRICS_HEADER                                                                                 \
    "model,family,width,layer,site,expert,tokens,hard_rank,soft_rank,hard_util,soft_util,concentration,eee,sui," \
    "alpha,warnings"
#define CSV_FITS_HEADER "family,site,metric,n_models,beta,beta_ci_low,beta_ci_high,log10_a,r2"

static char *pathIn(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static const char *rankMetric(RankKind k) { return k == RANK_SOFT ? "soft_rank" : "hard_rank"; }

/* Rows that are written: computed layers of models that did not fail. */
static int rowWritten(const ModelSnapshot *m, const LayerSnapshot *r)
{
    return m->status != MODEL_FAILED && snapshotRowCounted(r);
}

/* The expert column: "" for a dense FFN, "shared", or the expert's index. */
static int rowExpert(const LayerSnapshot *r) { return r->routed ? r->expert : CAPTURE_DENSE; }

static const char *expertText(const LayerSnapshot *r, char *buf, size_t len)
{
    if (rowExpert(r) == CAPTURE_DENSE) return "";
    if (r->expert == CAPTURE_SHARED) return "shared";
    snprintf(buf, len, "%d", r->expert);
    return buf;
}

/* ---- CSV ---- */

static void csvNum(FILE *fp, double v)
{
    fputc(',', fp);
    if (isfinite(v)) fprintf(fp, "%.12g", v);
}

static int writeMetricsCsv(const Snapshot *s, const char *path, Error *err)
{
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    FILE *fp = af.fp;
    fputs(CSV_METRICS_HEADER "\n", fp);
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        for (int j = 0; j < m->n_rows; j++) {
            const LayerSnapshot *r = &m->rows[j];
            if (!rowWritten(m, r)) continue;
            const Metrics *x = &r->metrics;
            char warn[256];
            csvField(fp, m->name);
            fputc(',', fp);
            csvField(fp, m->family);
            char ex[16];
            fprintf(fp, ",%d,%d,%s,%s,%lld", x->width, r->layer, siteName(r->site), expertText(r, ex, sizeof ex),
                    (long long)x->tokens);
            csvNum(fp, x->hard_rank);
            csvNum(fp, x->soft_rank);
            csvNum(fp, x->hard_util);
            csvNum(fp, x->soft_util);
            csvNum(fp, x->concentration);
            csvNum(fp, x->eee);
            csvNum(fp, x->sui);
            csvNum(fp, x->alpha);
            fputc(',', fp);
            csvField(fp, metricsWarnings(x, warn, sizeof warn));
            fputc('\n', fp);
        }
    }
    return atomicCommit(&af, err);
}

static int writeFitsCsv(const Snapshot *s, const char *path, Error *err)
{
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    FILE *fp = af.fp;
    fputs(CSV_FITS_HEADER "\n", fp);
    for (int i = 0; i < s->n_fits; i++) {
        const FitSnapshot *f = &s->fits[i];
        csvField(fp, f->family);
        fprintf(fp, ",%s,%s,%d", siteName(f->site), rankMetric(f->rank), f->fit.n);
        if (f->fit.valid) {
            csvNum(fp, f->fit.beta);
            csvNum(fp, f->fit.beta_ci_low);
            csvNum(fp, f->fit.beta_ci_high);
            csvNum(fp, f->fit.log10_a);
            csvNum(fp, f->fit.r2);
        } else {
            fputs(",,,,,", fp);
        }
        fputc('\n', fp);
    }
    return atomicCommit(&af, err);
}

/* ---- JSON ---- */

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

/* json_object_set_new that remembers an allocation failure. */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
    if (!v || json_object_set_new(o, key, v)) *bad = 1;
}

static void add(json_t *a, json_t *v, int *bad)
{
    if (!v || json_array_append_new(a, v)) *bad = 1;
}

/* A phase's key in metrics.json and run.yaml: "load_s", ... */
static const char *phaseKey(Phase p)
{
    static const char *const keys[PHASE_COUNT] = {"load_s", "tokenize_s", "forward_s", "covariance_s", "spectra_s"};
    return keys[p];
}

static json_t *modelJson(const ModelSnapshot *m, int *bad)
{
    json_t *o = json_object();
    if (!o) return *bad = 1, NULL;
    put(o, "name", jstr(m->name), bad);
    put(o, "family", jstr(m->family), bad);
    if (m->fit_group) put(o, "fit_group", jstr(m->fit_group), bad);
    put(o, "format", jstr(m->format), bad);
    put(o, "path", jstr(m->path), bad);
    put(o, "width", json_integer(m->width), bad);
    put(o, "n_layers", json_integer(m->n_layers), bad);
    put(o, "status", json_string(modelStatusName(m->status)), bad);
    put(o, "tokens", json_integer(m->tokens_done), bad);
    put(o, "tokens_target", json_integer(m->tokens_target), bad);
    put(o, "tokens_per_s", jnum(m->tokens_per_s), bad);
    put(o, "elapsed_s", jnum(m->elapsed_s), bad);
    if (m->phases) {
        json_t *ph = json_object();
        if (!ph) return *bad = 1, o;
        for (int p = 0; p < PHASE_COUNT; p++)
            if (m->phases & PHASE_BIT(p)) put(ph, phaseKey((Phase)p), jnum(m->phase_s[p]), bad);
        put(ph, "other_s", jnum(snapshotPhaseOther(m)), bad);
        put(o, "phases", ph, bad);
        if (m->phases & PHASE_BIT(PHASE_SPECTRA)) put(o, "refresh_s", jnum(m->refresh_s), bad);
    }
    put(o, "error", jstr(m->error), bad);
    return o;
}

static json_t *rowJson(const ModelSnapshot *m, const LayerSnapshot *r, int *bad)
{
    const Metrics *x = &r->metrics;
    char warn[256];
    json_t *o = json_object();
    if (!o) return *bad = 1, NULL;
    put(o, "model", jstr(m->name), bad);
    put(o, "family", jstr(m->family), bad);
    put(o, "width", json_integer(x->width), bad);
    put(o, "layer", json_integer(r->layer), bad);
    put(o, "site", json_string(siteName(r->site)), bad);
    char ex[16];
    put(o, "expert", rowExpert(r) == CAPTURE_DENSE ? json_null() : json_string(expertText(r, ex, sizeof ex)), bad);
    put(o, "tokens", json_integer(x->tokens), bad);
    put(o, "hard_rank", jnum(x->hard_rank), bad);
    put(o, "soft_rank", jnum(x->soft_rank), bad);
    put(o, "hard_util", jnum(x->hard_util), bad);
    put(o, "soft_util", jnum(x->soft_util), bad);
    put(o, "concentration", jnum(x->concentration), bad);
    put(o, "concentration_k", json_integer(x->concentration_k), bad);
    put(o, "eee", jnum(x->eee), bad);
    put(o, "sui", jnum(x->sui), bad);
    put(o, "alpha", jnum(x->alpha), bad);
    put(o, "warnings", json_string(metricsWarnings(x, warn, sizeof warn)), bad);
    put(o, "nonfinite_rows", json_integer(x->nonfinite_rows), bad);
    return o;
}

static json_t *fitJson(const FitSnapshot *f, int *bad)
{
    json_t *o = json_object();
    if (!o) return *bad = 1, NULL;
    int v = f->fit.valid;
    put(o, "family", jstr(f->family), bad);
    put(o, "site", json_string(siteName(f->site)), bad);
    put(o, "metric", json_string(rankMetric(f->rank)), bad);
    put(o, "n_models", json_integer(f->fit.n), bad);
    put(o, "beta", jnum(v ? f->fit.beta : NAN), bad);
    put(o, "beta_ci_low", jnum(v ? f->fit.beta_ci_low : NAN), bad);
    put(o, "beta_ci_high", jnum(v ? f->fit.beta_ci_high : NAN), bad);
    put(o, "log10_a", jnum(v ? f->fit.log10_a : NAN), bad);
    put(o, "r2", jnum(v ? f->fit.r2 : NAN), bad);
    return o;
}

/* One routed layer: the load per expert (from its first captured site), its entropy and the
 * overlap per site (README "Mixture of experts"). NULL with *bad unset when the layer is not
 * routed or has nothing written. */
static json_t *moeJson(const ModelSnapshot *m, int layer, int *bad)
{
    MoeStats st[SITE_COUNT];
    int have[SITE_COUNT], any = -1;
    for (int si = 0; si < SITE_COUNT; si++) {
        have[si] = snapshotMoeStats(m, layer, (Site)si, &st[si]) > 0;
        if (have[si] && any < 0) any = si;
    }
    if (any < 0) return NULL;
    json_t *o = json_object(), *load = json_array(), *ov = json_object(), *pairs = json_object();
    if (!o || !load || !ov || !pairs) {
        json_decref(o);
        json_decref(load);
        json_decref(ov);
        json_decref(pairs);
        return *bad = 1, NULL;
    }
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->layer == layer && (int)r->site == any && r->routed && r->expert >= 0)
            add(load, json_integer(snapshotRowTokens(r)), bad);
    }
    int k = 0;
    for (int si = 0; si < SITE_COUNT; si++) {
        if (!have[si]) continue;
        put(ov, siteName((Site)si), jnum(st[si].overlap), bad);
        put(pairs, siteName((Site)si), json_integer(st[si].overlap_pairs), bad);
        if (st[si].overlap_k) k = st[si].overlap_k;
    }
    put(o, "model", jstr(m->name), bad);
    put(o, "layer", json_integer(layer), bad);
    put(o, "experts", json_integer(st[any].n_experts), bad);
    put(o, "load", load, bad);
    put(o, "tokens", json_integer(st[any].tokens), bad);
    put(o, "entropy", jnum(st[any].entropy), bad);
    put(o, "entropy_norm", jnum(st[any].entropy_norm), bad);
    put(o, "overlap", ov, bad);
    put(o, "overlap_k", json_integer(k), bad);
    put(o, "overlap_pairs", pairs, bad);
    return o;
}

static int writeMetricsJson(const Snapshot *s, const Config *cfg, const char *path, Error *err)
{
    int bad = 0;
    json_t *root = json_object(), *models = json_array(), *rows = json_array(), *fits = json_array(),
           *dbeta = json_array(), *errors = json_array(), *moe = json_array();
    if (!root || !models || !rows || !fits || !dbeta || !errors || !moe) bad = 1;
    for (int i = 0; !bad && i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        add(models, modelJson(m, &bad), &bad);
        for (int j = 0; j < m->n_rows; j++)
            if (rowWritten(m, &m->rows[j])) add(rows, rowJson(m, &m->rows[j], &bad), &bad);
        for (int j = 0; j < m->n_rows && m->status != MODEL_FAILED; j++) {
            const LayerSnapshot *r = &m->rows[j];
            /* once per routed layer: at its first expert row */
            if (!r->routed || r->expert < 0 || (j > 0 && m->rows[j - 1].routed && m->rows[j - 1].layer == r->layer))
                continue;
            int seen = 0;
            for (int q = 0; q < j; q++) seen |= m->rows[q].layer == r->layer && m->rows[q].routed;
            if (seen) continue;
            json_t *e = moeJson(m, r->layer, &bad);
            if (e) add(moe, e, &bad);
        }
        if (m->status == MODEL_FAILED) {
            json_t *e = json_object();
            if (e) {
                put(e, "model", jstr(m->name), &bad);
                put(e, "path", jstr(m->path), &bad);
                put(e, "error", jstr(m->error ? m->error : "failed"), &bad);
            }
            add(errors, e, &bad);
        }
    }
    for (int i = 0; !bad && i < s->n_fits; i++) {
        const FitSnapshot *f = &s->fits[i];
        add(fits, fitJson(f, &bad), &bad);
        if (f->rank != RANK_SOFT) continue;
        json_t *d = json_object();
        if (d) {
            put(d, "family", jstr(f->family), &bad);
            put(d, "site", json_string(siteName(f->site)), &bad);
            put(d, "delta_beta", jnum(snapshotDeltaBeta(s, f->family, f->site)), &bad);
        }
        add(dbeta, d, &bad);
    }
    if (!bad) {
        put(root, "ffnscope_version", json_string(FFNSCOPE_VERSION), &bad);
        put(root, "source", jstr(cfg ? cfg->path : s->source), &bad);
        put(root, "state", json_string(workerStateName(s->state)), &bad);
        put(root, "elapsed_s", jnum(s->elapsed_s), &bad);
        put(root, "concentration_k", jnum(s->concentration_k), &bad);
        put(root, "models", models, &bad);
        put(root, "rows", rows, &bad);
        put(root, "fits", fits, &bad);
        put(root, "delta_beta", dbeta, &bad);
        put(root, "errors", errors, &bad);
        put(root, "moe", moe, &bad);
        models = rows = fits = dbeta = errors = moe = NULL;
    }
    char *text = bad ? NULL : json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
    json_decref(root);
    json_decref(models);
    json_decref(rows);
    json_decref(fits);
    json_decref(dbeta);
    json_decref(errors);
    json_decref(moe);
    if (!text) return errorNoMem(err, path);
    size_t n = strlen(text);
    text[n] = '\n';   /* json_dumps leaves room: replace the NUL, write n+1 */
    int rc = fileWriteAtomic(path, text, n + 1, err);
    free(text);
    return rc;
}

/* ---- spectra ---- */

static int writeSpectra(const Snapshot *s, const char *path, Error *err)
{
    StWriter *w = stWriterNew();
    if (!w) return errorNoMem(err, path);
    int rc = stWriterMeta(w, "format", "ffnscope spectra: F64 eigenvalues, descending, key MODEL/SITE/layerN", err);
    if (!rc) rc = stWriterMeta(w, "ffnscope_version", FFNSCOPE_VERSION, err);
    for (int i = 0; !rc && i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        for (int j = 0; !rc && j < m->n_rows; j++) {
            const LayerSnapshot *r = &m->rows[j];
            if (!rowWritten(m, r)) continue;
            char key[512], ex[16];
            snprintf(key, sizeof key, "%s/%s/layer%d%s%s", m->name, siteName(r->site), r->layer,
                     rowExpert(r) == CAPTURE_DENSE ? "" : "/expert", expertText(r, ex, sizeof ex));
            int64_t shape[1] = {r->n_eigen};
            rc = stWriterAdd(w, key, ST_F64, 1, shape, r->eigen, err);
        }
    }
    if (!rc) rc = stWriterSave(w, path, err);
    stWriterFree(w);
    return rc;
}

/* ---- run.yaml ---- */

typedef struct Yb {
    yaml_document_t doc;
    int bad;
} Yb;

static int yStr(Yb *y, const char *s)
{
    int id = yaml_document_add_scalar(&y->doc, NULL, (yaml_char_t *)(s ? s : "~"), -1,
                                      s ? YAML_ANY_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE);
    if (!id) y->bad = 1;
    return id;
}

/* A string that must read back as a string (a name like "1e3" or "true"). */
static int yQuoted(Yb *y, const char *s)
{
    if (!s) return yStr(y, NULL);
    int id = yaml_document_add_scalar(&y->doc, NULL, (yaml_char_t *)s, -1, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    if (!id) y->bad = 1;
    return id;
}

static int yNum(Yb *y, const char *fmt, double v)
{
    char buf[64];
    if (!isfinite(v)) return yStr(y, NULL);
    snprintf(buf, sizeof buf, fmt, v);
    return yStr(y, buf);
}

/* The shortest text that reads back as the same double (0.1, not 0.10000000000000001). */
static int yExact(Yb *y, double v)
{
    char buf[64];
    if (!isfinite(v)) return yStr(y, NULL);
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return yStr(y, buf);
}

static int yInt(Yb *y, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return yStr(y, buf);
}

static int yMap(Yb *y)
{
    int id = yaml_document_add_mapping(&y->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    if (!id) y->bad = 1;
    return id;
}

/* A short mapping on one line: {a: 1, b: 2}. */
static int yFlowMap(Yb *y)
{
    int id = yaml_document_add_mapping(&y->doc, NULL, YAML_FLOW_MAPPING_STYLE);
    if (!id) y->bad = 1;
    return id;
}

static int ySeq(Yb *y, int flow)
{
    int id = yaml_document_add_sequence(&y->doc, NULL, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    if (!id) y->bad = 1;
    return id;
}

static void ySet(Yb *y, int map, const char *key, int value)
{
    if (y->bad || !value) return;
    int k = yStr(y, key);
    if (!k || !yaml_document_append_mapping_pair(&y->doc, map, k, value)) y->bad = 1;
}

static void yPush(Yb *y, int seq, int value)
{
    if (y->bad || !value) return;
    if (!yaml_document_append_sequence_item(&y->doc, seq, value)) y->bad = 1;
}

static int resolvedConfig(Yb *y, const Config *cfg, const char *dir)
{
    int root = yMap(y);
    ySet(y, root, "version", yInt(y, cfg->version));
    if (cfg->has_corpus) {
        int c = yMap(y);
        ySet(y, c, "path", yQuoted(y, cfg->corpus.path));
        ySet(y, c, "tokens", yInt(y, cfg->corpus.tokens));
        ySet(y, c, "seq_len", yInt(y, cfg->corpus.seq_len));
        ySet(y, c, "batch", yInt(y, cfg->corpus.batch));
        ySet(y, c, "add_bos", yStr(y, cfg->corpus.add_bos ? "true" : "false"));
        ySet(y, root, "corpus", c);
    }
    int cap = yMap(y), sites = ySeq(y, 1);
    for (int s = 0; s < SITE_COUNT; s++)
        if (cfg->sites & SITE_BIT(s)) yPush(y, sites, yStr(y, siteName((Site)s)));
    ySet(y, cap, "sites", sites);
    if (cfg->all_layers) {
        ySet(y, cap, "layers", yStr(y, "all"));
    } else {
        int l = ySeq(y, 1);
        for (int i = 0; i < cfg->n_layers; i++) yPush(y, l, yInt(y, cfg->layers[i]));
        ySet(y, cap, "layers", l);
    }
    ySet(y, cap, "refresh_tokens", yInt(y, cfg->refresh_tokens));
    ySet(y, root, "capture", cap);
    int met = yMap(y);
    ySet(y, met, "concentration_k", yExact(y, cfg->concentration_k));
    ySet(y, met, "overlap_k", yInt(y, cfg->overlap_k));
    ySet(y, root, "metrics", met);
    int models = ySeq(y, 0);
    for (int i = 0; i < cfg->n_models; i++) {
        const ModelEntry *e = &cfg->models[i];
        int m = yMap(y);
        ySet(y, m, "name", yQuoted(y, e->name));
        ySet(y, m, "path", yQuoted(y, e->path));
        if (e->format) ySet(y, m, "format", yQuoted(y, e->format));
        if (e->family) ySet(y, m, "family", yQuoted(y, e->family));
        if (e->tokenizer) ySet(y, m, "tokenizer", yQuoted(y, e->tokenizer));
        if (e->fit_group) ySet(y, m, "fit_group", yQuoted(y, e->fit_group));
        yPush(y, models, m);
    }
    ySet(y, root, "models", models);
    int ui = yMap(y);
    ySet(y, ui, "theme", yQuoted(y, cfg->theme));
    ySet(y, root, "ui", ui);
    int out = yMap(y);
    ySet(y, out, "dir", yQuoted(y, dir));
    ySet(y, out, "export_dir", yQuoted(y, cfg->export_dir));
    ySet(y, root, "output", out);
    return root;
}

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

static int bufWrite(void *ctx, unsigned char *data, size_t size)
{
    Buf *b = ctx;
    if (b->len + size > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + size;
        char *d = realloc(b->data, cap);
        if (!d) return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, size);
    b->len += size;
    return 1;
}

static int writeRunYaml(const Snapshot *s, const Config *cfg, const char *dir, const char *path, Error *err)
{
    Yb y = {0};
    if (!yaml_document_initialize(&y.doc, NULL, NULL, NULL, 1, 1)) return errorNoMem(err, path);
    int root = yMap(&y);
    int versions = yMap(&y);
    char yv[32];
    snprintf(yv, sizeof yv, "%s", yaml_get_version_string());
    ySet(&y, versions, "ffnscope", yQuoted(&y, FFNSCOPE_VERSION));
    ySet(&y, versions, "libyaml", yQuoted(&y, yv));
    ySet(&y, versions, "jansson", yQuoted(&y, jansson_version_str()));
    ySet(&y, versions, "openblas", yQuoted(&y, openblas_get_config()));
    ySet(&y, root, "versions", versions);
    char when[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ySet(&y, root, "written", yStr(&y, when));
    ySet(&y, root, "config", yQuoted(&y, cfg ? cfg->path : s->source));
    ySet(&y, root, "state", yStr(&y, workerStateName(s->state)));
    ySet(&y, root, "elapsed_s", yNum(&y, "%.3f", s->elapsed_s));
    if (cfg) ySet(&y, root, "resolved", resolvedConfig(&y, cfg, dir));
    int models = ySeq(&y, 0);
    int64_t total = 0;
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        int o = yMap(&y);
        ySet(&y, o, "name", yQuoted(&y, m->name));
        ySet(&y, o, "family", yQuoted(&y, m->family));
        ySet(&y, o, "format", yQuoted(&y, m->format));
        ySet(&y, o, "status", yStr(&y, modelStatusName(m->status)));
        ySet(&y, o, "width", yInt(&y, m->width));
        ySet(&y, o, "n_layers", yInt(&y, m->n_layers));
        ySet(&y, o, "tokens", yInt(&y, m->tokens_done));
        ySet(&y, o, "tokens_target", yInt(&y, m->tokens_target));
        ySet(&y, o, "elapsed_s", yNum(&y, "%.3f", m->elapsed_s));
        ySet(&y, o, "tokens_per_s", yNum(&y, "%.1f", m->tokens_per_s));
        if (m->phases) {
            int ph = yFlowMap(&y);
            for (int p = 0; p < PHASE_COUNT; p++)
                if (m->phases & PHASE_BIT(p)) ySet(&y, ph, phaseKey((Phase)p), yNum(&y, "%.3f", m->phase_s[p]));
            ySet(&y, ph, "other_s", yNum(&y, "%.3f", snapshotPhaseOther(m)));
            ySet(&y, o, "phases", ph);
            if (m->phases & PHASE_BIT(PHASE_SPECTRA)) ySet(&y, o, "refresh_s", yNum(&y, "%.3f", m->refresh_s));
        }
        if (m->error) ySet(&y, o, "error", yQuoted(&y, m->error));
        yPush(&y, models, o);
        total += m->tokens_done;
    }
    ySet(&y, root, "tokens_total", yInt(&y, total));
    ySet(&y, root, "models", models);
    if (y.bad) {
        yaml_document_delete(&y.doc);
        return errorNoMem(err, path);
    }
    yaml_emitter_t em;
    Buf b = {0};
    if (!yaml_emitter_initialize(&em)) {
        yaml_document_delete(&y.doc);
        return errorNoMem(err, path);
    }
    yaml_emitter_set_output(&em, bufWrite, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    /* yaml_emitter_dump takes the document and deletes it */
    int ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &y.doc) && yaml_emitter_close(&em) &&
             yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
    int rc = ok ? fileWriteAtomic(path, b.data, b.len, err) : errorSet(err, EXIT_RUNTIME, "%s: cannot write YAML", path);
    free(b.data);
    return rc;
}

int resultsWrite(const Snapshot *s, const Config *cfg, const char *dir, Error *err)
{
    if (makeDirs(dir, err)) return -1;
    static const char *names[] = {"spectra.safetensors", "metrics.csv", "fits.csv", "run.yaml", "metrics.json"};
    char *paths[5] = {0};
    int rc = 0;
    for (int i = 0; i < 5; i++)
        if (!(paths[i] = pathIn(dir, names[i]))) rc = errorNoMem(err, dir);
    if (!rc) rc = writeSpectra(s, paths[0], err);
    if (!rc) rc = writeMetricsCsv(s, paths[1], err);
    if (!rc) rc = writeFitsCsv(s, paths[2], err);
    if (!rc) rc = writeRunYaml(s, cfg, dir, paths[3], err);
    if (!rc) rc = writeMetricsJson(s, cfg, paths[4], err);
    for (int i = 0; i < 5; i++) free(paths[i]);
    return rc;
}

/* ---- loading ---- */

typedef struct Loader {
    const char *path;   /* metrics.json */
    Error *err;
} Loader;

static int bad(Loader *l, const char *what, int index)
{
    if (index >= 0) return errorSet(l->err, EXIT_INPUT, "%s: %s (entry %d)", l->path, what, index);
    return errorSet(l->err, EXIT_INPUT, "%s: %s", l->path, what);
}

static int getStr(Loader *l, json_t *o, const char *key, int required, char **out, int index)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required) return 0;
        char m[128];
        snprintf(m, sizeof m, "missing \"%s\"", key);
        return bad(l, m, index);
    }
    if (!json_is_string(v)) {
        char m[128];
        snprintf(m, sizeof m, "\"%s\" is not a string", key);
        return bad(l, m, index);
    }
    if (!(*out = strdup(json_string_value(v)))) return errorNoMem(l->err, l->path);
    return 0;
}

static int getNum(Loader *l, json_t *o, const char *key, double *out, int index)
{
    json_t *v = json_object_get(o, key);
    if (json_is_null(v)) return *out = NAN, 0;
    if (!json_is_number(v)) {
        char m[128];
        snprintf(m, sizeof m, "\"%s\" is missing or not a number", key);
        return bad(l, m, index);
    }
    *out = json_number_value(v);
    return 0;
}

static int getI64(Loader *l, json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, int index)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char m[128];
        snprintf(m, sizeof m, "\"%s\" is missing or out of range", key);
        return bad(l, m, index);
    }
    *out = json_integer_value(v);
    return 0;
}

static int statusFromName(const char *s, ModelStatus *out)
{
    for (int st = MODEL_QUEUED; st <= MODEL_FAILED; st++)
        if (!strcmp(s, modelStatusName((ModelStatus)st))) return *out = (ModelStatus)st, 0;
    return -1;
}

static unsigned warningsFromString(const char *s, int64_t *nonfinite)
{
    unsigned bits = 0;
    if (strstr(s, "rank_limited")) bits |= WARN_RANK_LIMITED;
    if (strstr(s, "zero_variance")) bits |= WARN_ZERO_VARIANCE;
    if (strstr(s, "no_tokens")) bits |= WARN_NO_TOKENS;
    if (strstr(s, "too_few_tokens")) bits |= WARN_TOO_FEW_TOKENS;
    const char *nf = strstr(s, "nonfinite");
    if (nf) {
        bits |= WARN_NONFINITE;
        if (nf[9] == '=' && *nonfinite == 0) *nonfinite = strtoll(nf + 10, NULL, 10);
    }
    return bits;
}

/* A model's phases and refresh_s, when the run wrote them (older results have
 * none). other_s is not read: it is what elapsed_s leaves. */
static int loadPhases(Loader *l, json_t *o, ModelSnapshot *m, int index)
{
    json_t *ph = json_object_get(o, "phases");
    if (!ph || json_is_null(ph)) return 0;
    if (!json_is_object(ph)) return bad(l, "\"phases\" is not an object", index);
    for (int p = 0; p < PHASE_COUNT; p++) {
        json_t *v = json_object_get(ph, phaseKey((Phase)p));
        if (!v || json_is_null(v)) continue;
        if (!json_is_number(v) || !(json_number_value(v) >= 0)) {
            char msg[128];
            snprintf(msg, sizeof msg, "\"phases\".\"%s\" is not a number of seconds", phaseKey((Phase)p));
            return bad(l, msg, index);
        }
        m->phase_s[p] = json_number_value(v);
        m->phases |= PHASE_BIT(p);
    }
    json_t *rs = json_object_get(o, "refresh_s");
    if (json_is_number(rs)) m->refresh_s = json_number_value(rs);
    return 0;
}

static int loadModels(Loader *l, json_t *arr, Snapshot *s)
{
    size_t n = json_array_size(arr);
    if (n > 100000) return bad(l, "too many models", -1);
    if (!n) return 0;
    if (!(s->models = calloc(n, sizeof *s->models))) return errorNoMem(l->err, l->path);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        ModelSnapshot *m = &s->models[i];
        s->n_models = (int)i + 1;
        m->config_index = (int)i;
        if (!json_is_object(o)) return bad(l, "a model is not an object", (int)i);
        char *status = NULL;
        int64_t v;
        if (getStr(l, o, "name", 1, &m->name, (int)i) || getStr(l, o, "family", 0, &m->family, (int)i) ||
            getStr(l, o, "format", 0, &m->format, (int)i) || getStr(l, o, "path", 0, &m->path, (int)i) ||
            getStr(l, o, "error", 0, &m->error, (int)i) || getStr(l, o, "status", 1, &status, (int)i) ||
            getStr(l, o, "fit_group", 0, &m->fit_group, (int)i))
            return -1;
        int st = statusFromName(status, &m->status);
        free(status);
        if (st) return bad(l, "unknown model status", (int)i);
        if (!m->family && !(m->family = strdup(""))) return errorNoMem(l->err, l->path);
        if (getI64(l, o, "width", 0, 1 << 24, &v, (int)i)) return -1;
        m->width = (int)v;
        if (getI64(l, o, "n_layers", 0, 1000000, &v, (int)i)) return -1;
        m->n_layers = (int)v;
        if (getI64(l, o, "tokens", 0, INT64_MAX, &m->tokens_done, (int)i) ||
            getI64(l, o, "tokens_target", 0, INT64_MAX, &m->tokens_target, (int)i) ||
            getNum(l, o, "tokens_per_s", &m->tokens_per_s, (int)i) || getNum(l, o, "elapsed_s", &m->elapsed_s, (int)i))
            return -1;
        if (loadPhases(l, o, m, (int)i)) return -1;
        if (m->status == MODEL_FAILED) m->error_code = EXIT_RUNTIME;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->models[j].name, m->name)) return bad(l, "a model name appears twice", (int)i);
    }
    return 0;
}

static int rowCmp(const void *a, const void *b)
{
    const LayerSnapshot *x = a, *y = b;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    if (x->site != y->site) return (int)x->site - (int)y->site;
    int ka = rowExpert(x), kb = rowExpert(y);
    unsigned ea = (unsigned)ka, eb = (unsigned)kb; /* dense first, shared after the indices */
    return ka == kb ? 0 : ka == CAPTURE_DENSE ? -1 : kb == CAPTURE_DENSE ? 1 : ea < eb ? -1 : 1;
}

static int loadRow(Loader *l, json_t *o, int index, Snapshot *s, StFile *st, const char *spectra_path)
{
    if (!json_is_object(o)) return bad(l, "a row is not an object", index);
    char *model = NULL, *site = NULL, *warn = NULL;
    int rc = -1;
    if (getStr(l, o, "model", 1, &model, index) || getStr(l, o, "site", 1, &site, index) ||
        getStr(l, o, "warnings", 0, &warn, index))
        goto out;
    int mi = snapshotFindModel(s, model);
    if (mi < 0) {
        bad(l, "a row names a model that is not listed", index);
        goto out;
    }
    Site si;
    if (!strcmp(site, "post")) si = SITE_POST;
    else if (!strcmp(site, "pre")) si = SITE_PRE;
    else {
        bad(l, "unknown site", index);
        goto out;
    }
    ModelSnapshot *m = &s->models[mi];
    int64_t layer, width, tokens, k, nonfinite = 0;
    if (getI64(l, o, "layer", 0, 1000000, &layer, index) || getI64(l, o, "width", 1, 1 << 24, &width, index) ||
        getI64(l, o, "tokens", 0, INT64_MAX, &tokens, index) ||
        getI64(l, o, "concentration_k", 0, 1 << 24, &k, index))
        goto out;
    json_t *nf = json_object_get(o, "nonfinite_rows");
    if (json_is_integer(nf) && json_integer_value(nf) >= 0) nonfinite = json_integer_value(nf);
    int expert = CAPTURE_DENSE;
    json_t *ej = json_object_get(o, "expert");
    if (json_is_string(ej)) {
        const char *es = json_string_value(ej);
        char *end;
        long v = strtol(es, &end, 10);
        if (!strcmp(es, "shared")) expert = CAPTURE_SHARED;
        else if (*es && !*end && v >= 0 && v < (1 << 24)) expert = (int)v;
        else {
            bad(l, "expert is not an index or 'shared'", index);
            goto out;
        }
    } else if (ej && !json_is_null(ej)) {
        bad(l, "expert is not an index or 'shared'", index);
        goto out;
    }
    for (int i = 0; i < m->n_rows; i++)
        if (m->rows[i].layer == (int)layer && m->rows[i].site == si && rowExpert(&m->rows[i]) == expert) {
            bad(l, "a layer and site appear twice for one model", index);
            goto out;
        }
    LayerSnapshot *rows = realloc(m->rows, sizeof *rows * (size_t)(m->n_rows + 1));
    if (!rows) {
        errorNoMem(l->err, l->path);
        goto out;
    }
    m->rows = rows;
    LayerSnapshot *r = &rows[m->n_rows++];
    memset(r, 0, sizeof *r);
    r->layer = (int)layer;
    r->site = si;
    r->routed = expert != CAPTURE_DENSE;
    r->expert = expert;
    r->width = (int)width;
    Metrics *x = &r->metrics;
    x->width = (int)width;
    x->tokens = tokens;
    x->concentration_k = (int)k;
    if (getNum(l, o, "hard_rank", &x->hard_rank, index) || getNum(l, o, "soft_rank", &x->soft_rank, index) ||
        getNum(l, o, "hard_util", &x->hard_util, index) || getNum(l, o, "soft_util", &x->soft_util, index) ||
        getNum(l, o, "concentration", &x->concentration, index) || getNum(l, o, "eee", &x->eee, index) ||
        getNum(l, o, "sui", &x->sui, index) || getNum(l, o, "alpha", &x->alpha, index))
        goto out;
    x->warnings = warningsFromString(warn ? warn : "", &nonfinite);
    x->nonfinite_rows = nonfinite;
    if (x->warnings & (WARN_NO_TOKENS | WARN_TOO_FEW_TOKENS)) {
        /* an expert with fewer than 2 tokens: a count, no spectrum */
        if (expert < 0 || tokens + nonfinite > 1) {
            bad(l, "no_tokens/too_few_tokens on a row that is not an expert with < 2 tokens", index);
            goto out;
        }
        rc = 0;
        goto out;
    }

    char key[512], ex[16];
    snprintf(key, sizeof key, "%s/%s/layer%d%s%s", m->name, site, r->layer, expert == CAPTURE_DENSE ? "" : "/expert",
             expertText(r, ex, sizeof ex));
    const StTensor *t = stFind(st, key);
    if (!t) {
        errorSet(l->err, EXIT_INPUT, "%s: no tensor '%s'", spectra_path, key);
        goto out;
    }
    if (t->dtype != ST_F64 || t->ndim != 1 || t->shape[0] != width) {
        errorSet(l->err, EXIT_INPUT, "%s: tensor '%s' is not F64 [%lld]", spectra_path, key, (long long)width);
        goto out;
    }
    if (!(r->eigen = malloc(sizeof(double) * (size_t)width))) {
        errorNoMem(l->err, l->path);
        goto out;
    }
    if (stToF64(t, r->eigen, l->err)) goto out;
    r->n_eigen = (int)width;
    rc = 0;
out:
    free(model);
    free(site);
    free(warn);
    return rc;
}

/* The overlap of a routed layer's sites onto its expert rows (the load and entropy come from
 * the rows themselves). */
static int loadMoe(Loader *l, json_t *o, int index, Snapshot *s)
{
    char *model = NULL;
    int64_t layer, k;
    if (!json_is_object(o)) return bad(l, "a moe entry is not an object", index);
    if (getStr(l, o, "model", 1, &model, index)) return -1;
    int mi = snapshotFindModel(s, model);
    free(model);
    if (mi < 0) return bad(l, "a moe entry names a model that is not listed", index);
    if (getI64(l, o, "layer", 0, 1000000, &layer, index) || getI64(l, o, "overlap_k", 0, 1 << 24, &k, index))
        return -1;
    json_t *ov = json_object_get(o, "overlap"), *pairs = json_object_get(o, "overlap_pairs");
    if (!json_is_object(ov) || !json_is_object(pairs)) return bad(l, "moe overlap is not an object by site", index);
    ModelSnapshot *m = &s->models[mi];
    for (int si = 0; si < SITE_COUNT; si++) {
        json_t *v = json_object_get(ov, siteName((Site)si)), *p = json_object_get(pairs, siteName((Site)si));
        if (!v || !p) continue;
        if (!(json_is_number(v) || json_is_null(v)) || !json_is_integer(p) || json_integer_value(p) < 0 ||
            json_integer_value(p) > (1 << 30) || (json_is_null(v) && json_integer_value(p) > 0))
            return bad(l, "moe overlap or overlap_pairs is not a number", index);
        for (int i = 0; i < m->n_rows; i++) {
            LayerSnapshot *r = &m->rows[i];
            if (r->layer != (int)layer || r->site != (Site)si || !r->routed || r->expert < 0) continue;
            r->overlap = json_is_number(v) ? json_number_value(v) : 0;
            r->overlap_k = (int)k;
            r->overlap_pairs = (int)json_integer_value(p);
        }
    }
    return 0;
}

int resultsLoad(const char *dir, Snapshot **out, Error *err)
{
    *out = NULL;
    char *jpath = pathIn(dir, "metrics.json"), *spath = pathIn(dir, "spectra.safetensors");
    Snapshot *s = snapshotNew();
    json_t *root = NULL;
    StFile *st = NULL;
    int rc = -1;
    if (!jpath || !spath || !s) {
        errorNoMem(err, dir);
        goto out;
    }
    Loader l = {jpath, err};
    char *text;
    size_t len;
    if (fileReadAll(jpath, &text, &len, err)) goto out;
    json_error_t je;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!root) {
        errorSet(err, EXIT_INPUT, "%s:%d:%d: %s", jpath, je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        bad(&l, "not a JSON object", -1);
        goto out;
    }
    json_t *models = json_object_get(root, "models"), *rows = json_object_get(root, "rows");
    if (!json_is_array(models) || !json_is_array(rows)) {
        bad(&l, "\"models\" and \"rows\" must be arrays", -1);
        goto out;
    }
    if (!(s->source = strdup(dir))) {
        errorNoMem(err, dir);
        goto out;
    }
    s->state = WORKER_SAVED;
    double k = 0.1, el = 0;
    if (json_is_number(json_object_get(root, "concentration_k")))
        k = json_number_value(json_object_get(root, "concentration_k"));
    if (json_is_number(json_object_get(root, "elapsed_s"))) el = json_number_value(json_object_get(root, "elapsed_s"));
    s->concentration_k = k;
    s->elapsed_s = el;
    if (loadModels(&l, models, s)) goto out;
    if (stOpen(spath, &st, err)) goto out;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (loadRow(&l, json_array_get(rows, i), (int)i, s, st, spath)) goto out;
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].n_rows > 1)
            qsort(s->models[i].rows, (size_t)s->models[i].n_rows, sizeof *s->models[i].rows, rowCmp);
    json_t *moe = json_object_get(root, "moe");
    if (moe && !json_is_array(moe)) {
        bad(&l, "\"moe\" must be an array", -1);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(moe); i++)
        if (loadMoe(&l, json_array_get(moe, i), (int)i, s)) goto out;
    if (snapshotComputeFits(s)) {
        errorNoMem(err, dir);
        goto out;
    }
    s->generation = 1;
    rc = 0;
out:
    json_decref(root);
    stClose(st);
    free(jpath);
    free(spath);
    if (rc) {
        snapshotRelease(s);
        return -1;
    }
    *out = s;
    return 0;
}
