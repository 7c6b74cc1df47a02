/* ffnscope merge SHARD... --out FILE: combines covariance statistics shards
 * (captured on different machines, ranks or token ranges) into one file, as
 * if every row had gone through a single accumulator. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/covacc.h"
#include "io/stats.h"

/* Shards must describe the same model and the same (layer, site, expert) list
 * with the same widths. */
static int checkSameModel(const StatsFile *first, const StatsFile *other, Error *err)
{
    const StatsMeta *a = statsMeta(first), *b = statsMeta(other);
    const char *pa = statsPath(first), *pb = statsPath(other);
    if (b->width != a->width)
        return errorSet(err, EXIT_INPUT, "%s: width %d differs from %s (width %d)", pb, b->width, pa, a->width);
    if (strcmp(b->model, a->model))
        return errorSet(err, EXIT_INPUT, "%s: model '%s' differs from %s (model '%s')", pb, b->model, pa, a->model);
    if (strcmp(b->family, a->family))
        return errorSet(err, EXIT_INPUT, "%s: family '%s' differs from %s (family '%s')", pb, b->family, pa,
                        a->family);
    if (b->n_layers != a->n_layers)
        return errorSet(err, EXIT_INPUT, "%s: %d model layers, %s has %d", pb, b->n_layers, pa, a->n_layers);
    /* Both lists are sorted by (layer, site, expert): walk them together. */
    int na = statsCount(first), nb = statsCount(other), i = 0, j = 0;
    while (i < na || j < nb) {
        StatsKey ka = i < na ? statsKey(first, i) : (StatsKey){0};
        StatsKey kb = j < nb ? statsKey(other, j) : (StatsKey){0};
        int c = i >= na ? 1 : j >= nb ? -1 : statsKeyCompare(&ka, &kb);
        char name[80];
        if (c < 0) {
            statsEntryName(ka, name, sizeof name);
            return errorSet(err, EXIT_INPUT, "%s: has no statistics for %s (present in %s)", pb, name, pa);
        }
        if (c > 0) {
            statsEntryName(kb, name, sizeof name);
            return errorSet(err, EXIT_INPUT, "%s: has statistics for %s, %s has none", pb, name, pa);
        }
        if (ka.width != kb.width) {
            statsEntryName(ka, name, sizeof name);
            return errorSet(err, EXIT_INPUT, "%s: %s has width %d, %s has %d", pb, name, kb.width, pa, ka.width);
        }
        i++;
        j++;
    }
    return 0;
}

static int usage(Error *err, const char *why)
{
    return errorSet(err, EXIT_INPUT, "merge: %s (usage: ffnscope merge SHARD... --out FILE)", why), EXIT_INPUT;
}

int cmdMerge(int argc, char **argv, Error *err)
{
    const char *out = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    if (!inputs) return errorNoMem(err, "merge"), EXIT_RUNTIME;
    int n_in = 0, only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || a[0] != '-' || !a[1]) {
            inputs[n_in++] = a;
        } else if (!strcmp(a, "--")) {
            only_files = 1;
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            if (i + 1 >= argc) {
                free(inputs);
                return usage(err, "--out needs a file name");
            }
            out = argv[++i];
        } else if (!strncmp(a, "--out=", 6)) {
            out = a + 6;
        } else {
            free(inputs);
            char why[160];
            snprintf(why, sizeof why, "unknown option '%.100s'", a);
            return usage(err, why);
        }
    }
    if (!out || !*out) {
        free(inputs);
        return usage(err, "--out FILE is required");
    }
    if (n_in == 0) {
        free(inputs);
        return usage(err, "no shards given");
    }

    int rc = EXIT_RUNTIME;
    StatsFile **files = calloc((size_t)n_in, sizeof *files);
    Covacc *acc = NULL, *part = NULL;
    StatsKey *keys = NULL;
    StatsWriter *w = NULL;
    if (!files) {
        errorNoMem(err, "merge");
        goto done;
    }
    for (int i = 0; i < n_in; i++) {
        if (statsOpen(inputs[i], &files[i], err)) {
            rc = err->code;
            goto done;
        }
        if (i > 0 && checkSameModel(files[0], files[i], err)) {
            rc = err->code;
            goto done;
        }
    }
    const StatsMeta *meta = statsMeta(files[0]);
    int n = statsCount(files[0]);
    keys = malloc((size_t)n * sizeof *keys);
    if (!keys) {
        errorNoMem(err, out);
        goto done;
    }
    for (int i = 0; i < n; i++) keys[i] = statsKey(files[0], i);
    char producer[96];
    snprintf(producer, sizeof producer, "ffnscope %s merge of %d shards", FFNSCOPE_VERSION, n_in);
    StatsMeta wmeta = *meta;
    wmeta.producer = producer;
    if (statsWriterOpen(out, &wmeta, keys, n, &w, err)) {
        rc = err->code;
        goto done;
    }
    int64_t rows_min = INT64_MAX, rows_max = 0;
    /* Entry by entry, so memory stays at two accumulators whatever the model size. */
    for (int e = 0; e < n; e++) {
        if (!acc || acc->dim != keys[e].width) { /* experts have their own width */
            covaccFree(acc);
            covaccFree(part);
            acc = covaccNew(keys[e].width);
            part = covaccNew(keys[e].width);
            if (!acc || !part) {
                errorNoMem(err, out);
                goto done;
            }
        }
        covaccReset(acc);
        for (int s = 0; s < n_in; s++) {
            /* Same sorted entry list in every shard (checked above). */
            if (statsLoad(files[s], e, part, err) || covaccMerge(acc, part, err)) {
                rc = err->code ? err->code : EXIT_RUNTIME;
                goto done;
            }
        }
        if (acc->count < rows_min) rows_min = acc->count;
        if (acc->count > rows_max) rows_max = acc->count;
        if (statsWriterPut(w, acc, err)) {
            rc = err->code;
            goto done;
        }
    }
    StatsWriter *committing = w;
    w = NULL;
    if (statsWriterCommit(committing, err)) {
        rc = err->code;
        goto done;
    }
    if (rows_min == rows_max)
        printf("%s: %d shard%s, %d entries, width %d, %lld rows each\n", out, n_in, n_in == 1 ? "" : "s", n,
               meta->width, (long long)rows_min);
    else
        printf("%s: %d shard%s, %d entries, width %d, %lld to %lld rows\n", out, n_in, n_in == 1 ? "" : "s", n,
               meta->width, (long long)rows_min, (long long)rows_max);
    rc = EXIT_OK;
done:
    statsWriterAbort(w);
    covaccFree(acc);
    covaccFree(part);
    free(keys);
    if (files)
        for (int i = 0; i < n_in; i++) statsClose(files[i]);
    free(files);
    free(inputs);
    return rc;
}
