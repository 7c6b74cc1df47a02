/* Activation files captured elsewhere (.npy, .safetensors) as a model of
 * their own.
 *
 * Which tensors count: a tensor whose name carries a layer (blocks.N,
 * layers.N, h.N) and a site is used when the config selects that layer and
 * site. When no tensor of the file carries a layer (a plain .npy, or names
 * such as "acts"), the tensors are taken as layers 0, 1, 2, ... in file
 * order, site from the name or post. In a file where some names carry a
 * layer, those without one are skipped. Every row of each selected tensor is
 * used (corpus.tokens applies to model sources only). The tensors are read
 * side by side in chunks of rows, so all layers advance together, as in a
 * model capture, and memory stays independent of the number of rows.
 *
 * Phases (README "Results"): opening the file and reading its rows are the
 * load, the accumulator updates the covariance; nothing is tokenized or run. */
#include <stdlib.h>
#include <string.h>

#include "engine/run.h"
#include "ffnscope/acts.h"

#define CHUNK_FLOATS (1 << 20)   /* 4 MB of float32 per read */

int runActivations(ModelRun *r, Error *err)
{
    const char *path = r->entry->path;
    const Config *cfg = r->cfg;
    ActFile *f;
    double t_open = runNow();
    int opened = actFileOpen(path, &f, err);
    runPhaseAdd(r, PHASE_LOAD, runNow() - t_open);
    if (opened) return -1;
    int n = actFileCount(f), rc = -1;
    int *idx = calloc((size_t)(n ? n : 1), sizeof *idx);
    int *layers = calloc((size_t)(n ? n : 1), sizeof *layers);
    int *widths = calloc((size_t)(n ? n : 1), sizeof *widths);
    Site *sites = calloc((size_t)(n ? n : 1), sizeof *sites);
    float *buf = NULL;
    if (!idx || !layers || !widths || !sites) {
        errorNoMem(err, path);
        goto out;
    }
    int named = 0;
    for (int i = 0; i < n; i++) named |= actFileTensor(f, i)->layer >= 0;
    int sel = 0, max_width = 0, max_layer = -1;
    int64_t max_rows = 0;
    for (int i = 0; i < n; i++) {
        const ActTensor *t = actFileTensor(f, i);
        int layer = named ? t->layer : i;
        if (layer < 0 || !configWantsLayer(cfg, layer) || !(cfg->sites & SITE_BIT(t->site))) continue;
        const char *tname = t->name && *t->name ? t->name : "array";
        if (t->rows < 2) {
            errorSet(err, EXIT_INPUT, "%s: %s has %lld row%s; at least 2 are needed", path, tname,
                     (long long)t->rows, t->rows == 1 ? "" : "s");
            goto out;
        }
        for (int j = 0; j < sel; j++)
            if (layers[j] == layer && sites[j] == t->site) {
                errorSet(err, EXIT_INPUT, "%s: tensors %s and %s both hold layer %d %s", path,
                         actFileTensor(f, idx[j])->name, tname, layer, siteName(t->site));
                goto out;
            }
        idx[sel] = i;
        layers[sel] = layer;
        sites[sel] = t->site;
        widths[sel] = t->width;
        sel++;
        if (t->width > max_width) max_width = t->width;
        if (layer > max_layer) max_layer = layer;
        if (t->rows > max_rows) max_rows = t->rows;
    }
    if (!sel) {
        errorSet(err, EXIT_INPUT, "%s: none of its %d tensor%s matches capture.layers and capture.sites", path, n,
                 n == 1 ? "" : "s");
        goto out;
    }
    runDescribe(r, NULL, NULL, max_width, max_layer + 1);
    if (runSetStreams(r, sel, layers, sites, widths, max_rows, err)) goto out;

    /* chunks of whole accumulator blocks, about CHUNK_FLOATS floats */
    int64_t block = covaccBatchRows(max_width);
    int64_t chunk = CHUNK_FLOATS / max_width / block * block;
    if (chunk < block) chunk = block;
    if (!(buf = malloc(sizeof(float) * (size_t)chunk * (size_t)max_width))) {
        errorNoMem(err, path);
        goto out;
    }
    for (int64_t row0 = 0; row0 < max_rows; row0 += chunk) {
        for (int j = 0; j < sel; j++) {
            const ActTensor *t = actFileTensor(f, idx[j]);
            if (row0 >= t->rows) continue;
            int64_t nr = t->rows - row0 < chunk ? t->rows - row0 : chunk;
            Stream *s = runStream(r, (CaptureKey){layers[j], sites[j], CAPTURE_DENSE});
            double t0 = runNow();
            int failed = actFileRead(f, idx[j], row0, nr, buf, err);
            double t1 = runNow();
            failed = failed || covaccAddF32(s->acc, buf, (size_t)nr, (size_t)t->width, err);
            runPhaseAdd(r, PHASE_LOAD, t1 - t0);
            runPhaseAdd(r, PHASE_COVARIANCE, runNow() - t1);
            if (failed) goto out;
            if (runInterrupted(r)) break;
        }
        int64_t done = row0 + chunk < max_rows ? row0 + chunk : max_rows;
        int p = runProgress(r, done, err);
        if (p) {
            rc = p;
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    free(idx);
    free(layers);
    free(widths);
    free(sites);
    actFileClose(f);
    return rc;
}
