/* Covariance statistics files (io/stats.h) as a model source, and the other
 * direction: a finished capture's accumulators saved as such a file
 * (`ffnscope run --save-stats`).
 *
 * As a source the file is already the end state of a capture: each entry the
 * config selects (capture.layers, capture.sites) is loaded into its stream,
 * one at a time, and the worker's final refresh computes the spectra. Family,
 * width and layer count come from the file's metadata, so statistics captured
 * elsewhere (tools/capture_torch.py) join their family's scaling fit.
 * Opening and loading the statistics is the load phase (README "Results"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/run.h"
#include "io/stats.h"
#include "util/fileio.h"

int runStats(ModelRun *r, Error *err)
{
    const char *path = r->entry->path;
    const Config *cfg = r->cfg;
    StatsFile *f;
    double t_load = runNow();
    if (statsOpen(path, &f, err)) return -1;
    const StatsMeta *meta = statsMeta(f);
    int n = statsCount(f), sel = 0, rc = -1;
    int *idx = calloc((size_t)n, sizeof *idx), *widths = calloc((size_t)n, sizeof *widths);
    CaptureKey *keys = calloc((size_t)n, sizeof *keys);
    if (!idx || !widths || !keys) {
        errorNoMem(err, path);
        goto out;
    }
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        StatsKey k = statsKey(f, i);
        if (!configWantsLayer(cfg, k.layer) || !(cfg->sites & SITE_BIT(k.site))) continue;
        idx[sel] = i;
        keys[sel] = (CaptureKey){k.layer, k.site, k.routed ? k.expert : CAPTURE_DENSE};
        widths[sel] = k.width;
        if (statsRows(f, i) > rows) rows = statsRows(f, i);
        sel++;
    }
    if (!sel) {
        errorSet(err, EXIT_INPUT, "%s: none of its %d statistics entr%s matches capture.layers and capture.sites",
                 path, n, n == 1 ? "y" : "ies");
        goto out;
    }
    int last = keys[sel - 1].layer;
    int n_layers = meta->n_layers > last ? meta->n_layers : last + 1;
    runDescribe(r, meta->family, "stats", meta->width, n_layers);
    if (runDeclareKeys(r, sel, keys, widths, rows, err) || runOpenGroup(r, 1, 1, 0, INT32_MAX, err)) goto out;
    for (int j = 0; j < sel; j++) {
        Stream *s = runStream(r, keys[j]);
        if (statsLoad(f, idx[j], s->acc, err)) goto out;
        if (runInterrupted(r)) break;
    }
    runPhaseAdd(r, PHASE_LOAD, runNow() - t_load);
    int p = runProgress(r, rows, err);
    rc = p ? p : 0;
out:
    free(idx);
    free(widths);
    free(keys);
    statsClose(f);
    return rc;
}

/* Where a model's statistics go: PATH itself, or PATH/NAME.stats.safetensors
 * when PATH is a folder (or ends with '/'). */
static int targetPath(const char *save, const char *name, char *buf, size_t len, Error *err)
{
    struct stat st;
    size_t n = strlen(save);
    int is_dir = (n && save[n - 1] == '/') || (stat(save, &st) == 0 && S_ISDIR(st.st_mode));
    if (!is_dir) {
        if ((size_t)snprintf(buf, len, "%s", save) >= len) return errorSet(err, EXIT_INPUT, "%s: path too long", save);
        return 0;
    }
    if (makeDirs(save, err)) return -1;
    if ((size_t)snprintf(buf, len, "%s%s%s.stats.safetensors", save, save[n - 1] == '/' ? "" : "/", name) >= len)
        return errorSet(err, EXIT_INPUT, "%s: path too long", save);
    return 0;
}

int runSaveStats(ModelRun *r, const char *save, const char *family, int width, int n_layers, Error *err)
{
    if (r->n_streams < 1) return 0;
    char path[4096];
    if (targetPath(save, r->entry->name, path, sizeof path, err)) return -1;
    StatsEntry *e = calloc((size_t)r->n_streams, sizeof *e);
    if (!e) return errorNoMem(err, path);
    /* the file's width is the dense layers' (the model's when every layer is routed); experts carry
     * their own */
    int dense = -1;
    for (int i = 0; i < r->n_streams; i++) {
        const Stream *s = &r->streams[i];
        int routed = s->key.expert != CAPTURE_DENSE;
        if (!routed && dense < 0) dense = s->width;
        if (!routed && s->width != dense) {
            free(e);
            return errorSet(err, EXIT_INPUT, "%s: layers of different widths (%d, %d) cannot share a statistics file",
                            r->entry->path, dense, s->width);
        }
        e[i] = (StatsEntry){s->key.layer, s->key.site, s->acc, routed, s->key.expert};
    }
    if (dense > 0) width = dense;
    char producer[128];
    snprintf(producer, sizeof producer, "ffnscope %s run", FFNSCOPE_VERSION);
    StatsMeta meta = {
        .model = r->entry->name,
        .family = family ? family : "",
        .width = width,
        .n_layers = n_layers,
        .producer = producer,
    };
    int rc = statsWrite(path, &meta, e, r->n_streams, err);
    free(e);
    return rc;
}
