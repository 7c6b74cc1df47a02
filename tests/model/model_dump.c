/* Test helper: runs ffnscope's forward pass over fixed token ids and dumps
 * every captured layer and site, so check_forward.py can compare them with
 * tools/reference.py.
 *
 * usage: model_dump MODEL IDS.json SEQ_LEN BATCH OUTDIR
 * IDS.json is one JSON array of ids, cut into consecutive sequences of SEQ_LEN
 * (a partial tail is dropped) and run BATCH sequences per forward pass.
 * Writes OUTDIR/layer{N}_{post,pre}.npy (float32 [tokens, width]; a routed
 * layer's experts as layer{N}_{site}_expert{E|shared}.npy with the rows routed
 * to each) and OUTDIR/metrics.json: ffnscope's own metrics of those
 * activations (an expert with fewer than 2 rows: its count only). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/covacc.h"
#include "ffnscope/eigen.h"
#include "ffnscope/metrics.h"
#include "ffnscope/model.h"
#include "util/fileio.h"

/* One captured key: its rows so far (grown as batches arrive) and its covariance. */
typedef struct Capture {
    CaptureKey key;
    int width;
    float *acts;
    size_t filled, cap;
    Covacc *acc;
} Capture;

typedef struct Dump {
    Capture *caps;
    int n;
} Dump;

static int onCapture(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err)
{
    Dump *d = ctx;
    Capture *c = NULL;
    for (int i = 0; i < d->n && !c; i++)
        if (d->caps[i].key.layer == key.layer && d->caps[i].key.site == key.site &&
            d->caps[i].key.expert == key.expert)
            c = &d->caps[i];
    if (!c || width != c->width) return errorSet(err, EXIT_RUNTIME, "capture: unexpected key or width");
    if (c->filled + rows > c->cap) {
        size_t cap = (c->filled + rows) * 2;
        float *p = realloc(c->acts, cap * (size_t)width * sizeof(float));
        if (!p) return errorNoMem(err, "dump");
        c->acts = p;
        c->cap = cap;
    }
    memcpy(c->acts + c->filled * width, acts, rows * width * sizeof(float));
    c->filled += rows;
    return covaccAddF32(c->acc, acts, rows, (size_t)width, err);
}

static int addKey(Dump *d, int layer, Site site, int expert, int width, Error *err)
{
    Capture *p = realloc(d->caps, (size_t)(d->n + 1) * sizeof *p);
    if (!p) return errorNoMem(err, "dump");
    d->caps = p;
    Capture *c = &d->caps[d->n++];
    memset(c, 0, sizeof *c);
    c->key = (CaptureKey){layer, site, expert};
    c->width = width;
    if (!(c->acc = covaccNew(width))) return errorNoMem(err, "dump");
    return 0;
}

static int writeNpy(const char *path, const float *x, size_t rows, int width, Error *err)
{
    char head[128];
    int n = snprintf(head, sizeof head, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %d), }",
                     rows, width);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, af.fp);
    fputc(hl & 0xff, af.fp);
    fputc(hl >> 8, af.fp);
    fwrite(head, 1, (size_t)n, af.fp);
    for (int i = 0; i < pad; i++) fputc(' ', af.fp);
    fputc('\n', af.fp);
    fwrite(x, sizeof(float), rows * width, af.fp);
    return atomicCommit(&af, err);
}

static int run(int argc, char **argv, Error *err)
{
    if (argc != 6)
        return errorSet(err, EXIT_INPUT, "usage: model_dump MODEL IDS.json SEQ_LEN BATCH OUTDIR");
    int seq_len = atoi(argv[3]), batch = atoi(argv[4]);
    const char *outdir = argv[5];
    json_error_t je;
    json_t *ids = json_load_file(argv[2], 0, &je);
    if (!json_is_array(ids)) return errorSet(err, EXIT_INPUT, "%s: not a JSON array", argv[2]);
    size_t n_ids = json_array_size(ids);
    int32_t *tok = malloc((n_ids ? n_ids : 1) * sizeof *tok);
    if (!tok) return errorNoMem(err, "ids");
    for (size_t i = 0; i < n_ids; i++) tok[i] = (int32_t)json_integer_value(json_array_get(ids, i));
    json_decref(ids);

    Model *m = NULL;
    Dump *d = calloc(1, sizeof *d);
    json_t *rows_json = json_array();
    double *cov = NULL, *eig = NULL;
    int rc = -1;
    if (!d || !rows_json) {
        errorNoMem(err, "dump");
        goto done;
    }
    if (modelOpen(argv[1], NULL, &m, err)) goto done;
    const ModelInfo *info = modelInfo(m);
    if (info->n_layers > 64) {
        errorSet(err, EXIT_INPUT, "model_dump handles at most 64 layers");
        goto done;
    }
    int n_seq = seq_len > 0 ? (int)(n_ids / (size_t)seq_len) : 0;
    uint8_t capture[64];
    for (int l = 0; l < info->n_layers; l++) {
        capture[l] = SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE);
        LayerFfn ffn;
        modelLayerFfn(m, l, &ffn);
        for (int s = 0; s < SITE_COUNT; s++) {
            if (!ffn.n_experts && addKey(d, l, (Site)s, CAPTURE_DENSE, ffn.width, err)) goto done;
            for (int e = 0; e < ffn.n_experts; e++)
                if (addKey(d, l, (Site)s, e, ffn.expert_width, err)) goto done;
            if (ffn.n_experts && ffn.shared_width && addKey(d, l, (Site)s, CAPTURE_SHARED, ffn.shared_width, err))
                goto done;
        }
    }
    for (int s0 = 0; s0 < n_seq; s0 += batch) {
        int b = n_seq - s0 < batch ? n_seq - s0 : batch;
        if (modelForward(m, tok + (size_t)s0 * seq_len, b, seq_len, capture, onCapture, d, err))
            goto done;
    }
    if (makeDirs(outdir, err)) goto done;
    for (int i = 0; i < d->n; i++) {
        Capture *c = &d->caps[i];
        char path[4096], tag[32] = "";
        if (c->key.expert == CAPTURE_SHARED) snprintf(tag, sizeof tag, "_expertshared");
        else if (c->key.expert >= 0) snprintf(tag, sizeof tag, "_expert%d", c->key.expert);
        snprintf(path, sizeof path, "%s/layer%d_%s%s.npy", outdir, c->key.layer, siteName(c->key.site), tag);
        if (writeNpy(path, c->acts ? c->acts : (float *)"", c->filled, c->width, err)) goto done;
        json_t *expert = c->key.expert == CAPTURE_DENSE    ? json_null()
                         : c->key.expert == CAPTURE_SHARED ? json_string("shared")
                                                           : json_integer(c->key.expert);
        json_t *o = json_pack("{s:i, s:s, s:o, s:I, s:i}", "layer", c->key.layer, "site", siteName(c->key.site),
                              "expert", expert, "tokens", (json_int_t)c->filled, "width", c->width);
        if (!o || json_array_append_new(rows_json, o)) {
            errorNoMem(err, "dump");
            goto done;
        }
        if (c->filled < 2) continue; /* no covariance: reported with its count only */
        Metrics mt;
        free(cov);
        free(eig);
        cov = malloc((size_t)c->width * c->width * sizeof *cov);
        eig = malloc((size_t)c->width * sizeof *eig);
        if (!cov || !eig) {
            errorNoMem(err, "dump");
            goto done;
        }
        if (covaccCovariance(c->acc, cov, err) || eigenSymmetric(cov, c->width, eig, err)) goto done;
        metricsCompute(eig, c->width, c->acc->count, c->acc->nonfinite_rows, 0.1, &mt);
        json_t *mj = json_pack("{s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:f, s:f}", "hard_rank", mt.hard_rank,
                               "soft_rank", mt.soft_rank, "hard_util", mt.hard_util, "soft_util", mt.soft_util,
                               "concentration", mt.concentration, "concentration_k", mt.concentration_k, "eee",
                               mt.eee, "sui", mt.sui, "alpha", mt.alpha);
        if (!mj || json_object_update(o, mj)) {
            json_decref(mj);
            errorNoMem(err, "dump");
            goto done;
        }
        json_decref(mj);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", outdir);
    char *text = json_dumps(rows_json, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    if (!text) {
        errorNoMem(err, "dump");
        goto done;
    }
    rc = fileWriteAtomic(path, text, strlen(text), err);
    free(text);
done:
    for (int i = 0; d && i < d->n; i++) {
        free(d->caps[i].acts);
        covaccFree(d->caps[i].acc);
    }
    if (d) free(d->caps);
    free(d);
    free(cov);
    free(eig);
    free(tok);
    json_decref(rows_json);
    modelFree(m);
    return rc;
}

int main(int argc, char **argv)
{
    Error err = {0};
    if (run(argc, argv, &err)) {
        fprintf(stderr, "model_dump: error: %s\n", err.msg);
        return err.code ? err.code : EXIT_RUNTIME;
    }
    return 0;
}
