/* Test helper: runs ffnscope's forward pass over fixed token ids and dumps
 * every captured layer and site, so check_forward.py can compare them with
 * tools/reference.py.
 *
 * usage: model_dump MODEL IDS.json SEQ_LEN BATCH OUTDIR
 * IDS.json is one JSON array of ids, cut into consecutive sequences of SEQ_LEN
 * (a partial tail is dropped) and run BATCH sequences per forward pass.
 * Writes OUTDIR/layer{N}_{post,pre}.npy (float32 [tokens, width]) and
 * OUTDIR/metrics.json: ffnscope's own metrics of those activations. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/covacc.h"
#include "ffnscope/eigen.h"
#include "ffnscope/metrics.h"
#include "ffnscope/model.h"
#include "util/fileio.h"

typedef struct Dump {
    int n_layers, width;
    size_t total_rows;
    float *acts[64][SITE_COUNT];   /* [total_rows, width] */
    size_t filled[64][SITE_COUNT];
    Covacc *acc[64][SITE_COUNT];
} Dump;

static int onCapture(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err)
{
    Dump *d = ctx;
    int layer = key.layer;
    Site site = key.site;
    if (width != d->width || d->filled[layer][site] + rows > d->total_rows)
        return errorSet(err, EXIT_RUNTIME, "capture: unexpected batch shape");
    memcpy(d->acts[layer][site] + d->filled[layer][site] * width, acts, rows * width * sizeof(float));
    d->filled[layer][site] += rows;
    return covaccAddF32(d->acc[layer][site], acts, rows, (size_t)width, err);
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
    d->n_layers = info->n_layers;
    d->width = info->ffn_width;
    d->total_rows = (size_t)n_seq * seq_len;
    uint8_t capture[64];
    for (int l = 0; l < d->n_layers; l++) {
        capture[l] = SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE);
        for (int s = 0; s < SITE_COUNT; s++) {
            d->acts[l][s] = malloc(d->total_rows * d->width * sizeof(float) + 1);
            d->acc[l][s] = covaccNew(d->width);
            if (!d->acts[l][s] || !d->acc[l][s]) {
                errorNoMem(err, "dump");
                goto done;
            }
        }
    }
    for (int s0 = 0; s0 < n_seq; s0 += batch) {
        int b = n_seq - s0 < batch ? n_seq - s0 : batch;
        if (modelForward(m, tok + (size_t)s0 * seq_len, b, seq_len, capture, onCapture, d, err))
            goto done;
    }
    if (makeDirs(outdir, err)) goto done;
    cov = malloc((size_t)d->width * d->width * sizeof *cov);
    eig = malloc((size_t)d->width * sizeof *eig);
    if (!cov || !eig) {
        errorNoMem(err, "dump");
        goto done;
    }
    for (int l = 0; l < d->n_layers; l++)
        for (int s = 0; s < SITE_COUNT; s++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/layer%d_%s.npy", outdir, l, siteName((Site)s));
            if (writeNpy(path, d->acts[l][s], d->filled[l][s], d->width, err)) goto done;
            Metrics mt;
            if (covaccCovariance(d->acc[l][s], cov, err) || eigenSymmetric(cov, d->width, eig, err))
                goto done;
            metricsCompute(eig, d->width, d->acc[l][s]->count, d->acc[l][s]->nonfinite_rows, 0.1, &mt);
            json_t *o = json_pack("{s:i, s:s, s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:f, s:f}",
                                  "layer", l, "site", siteName((Site)s), "tokens",
                                  (json_int_t)mt.tokens, "width", mt.width, "hard_rank", mt.hard_rank,
                                  "soft_rank", mt.soft_rank, "hard_util", mt.hard_util, "soft_util",
                                  mt.soft_util, "concentration", mt.concentration, "concentration_k",
                                  mt.concentration_k, "eee", mt.eee, "sui", mt.sui, "alpha", mt.alpha);
            if (!o || json_array_append_new(rows_json, o)) {
                errorNoMem(err, "dump");
                goto done;
            }
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
    if (d)
        for (int l = 0; l < 64; l++)
            for (int s = 0; s < SITE_COUNT; s++) {
                free(d->acts[l][s]);
                covaccFree(d->acc[l][s]);
            }
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
