/* The heatmap figure: layers (rows, layer 0 on top) by models (columns, in
 * the snapshot's order: family, then width) of one metric, on the cividis
 * map with a colour bar; a layer a model lacks stays blank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/figure.h"

#define PAD 6.0
#define BAR_W 6.0

int figHeatmap(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err)
{
    int nm = s->n_models, rc = -1;
    int *sel = calloc((size_t)(nm ? nm : 1), sizeof *sel), *cols = calloc((size_t)(nm ? nm : 1), sizeof *cols);
    int *layers = NULL, n_layers = 0;
    if (!sel || !cols) {
        errorNoMem(err, "plot");
        goto out;
    }
    if (figSelectModels(s, o, sel, err) < 0) goto out;
    int nc = 0, max_layer = -1;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < nm; i++) {
        if (!sel[i]) continue;
        int any = 0;
        for (int j = 0; j < s->models[i].n_rows; j++) {
            const LayerSnapshot *r = &s->models[i].rows[j];
            if (r->site != o->site || r->n_eigen <= 0 || !figLayerChosen(o, r->layer)) continue;
            double v = columnValue(&s->models[i], r, o->metric);
            if (!isfinite(v)) continue;
            any = 1;
            lo = fmin(lo, v), hi = fmax(hi, v);
            if (r->layer > max_layer) max_layer = r->layer;
        }
        if (any) cols[nc++] = i;
    }
    if (!nc) {
        errorSet(err, EXIT_INPUT, "%s: no value of %s at site %s for the chosen models and layers",
                 s->source ? s->source : "results", columnName(o->metric), siteName(o->site));
        goto out;
    }
    /* the rows: every layer that some chosen model has */
    if (!(layers = malloc(sizeof *layers * (size_t)(max_layer + 1)))) {
        errorNoMem(err, "plot");
        goto out;
    }
    for (int l = 0; l <= max_layer; l++) {
        int have = 0;
        for (int c = 0; c < nc && !have; c++) {
            const LayerSnapshot *r = snapshotFindRow(&s->models[cols[c]], l, o->site);
            have = r && r->n_eigen > 0 && figLayerChosen(o, l) && isfinite(columnValue(&s->models[cols[c]], r, o->metric));
        }
        if (have) layers[n_layers++] = l;
    }

    double name_w = 0, layer_w = 0;
    for (int c = 0; c < nc; c++) name_w = fmax(name_w, figTextWidth(f, s->models[cols[c]].name, FONT_TICK));
    Frame fr = {0};
    Axis scale = {.lo = lo, .hi = hi > lo ? hi : lo + (lo ? fabs(lo) * 0.01 : 0.01)};
    double bar_room = BAR_W + TICK_LEN + 2 + 24 + 4 + FONT_LABEL + 4;
    fr.top = PAD + 2;
    fr.bottom = f->h - PAD - (TICK_LEN + 2 + name_w + 4 + FONT_LABEL + 2);
    fr.right = f->w - PAD - bar_room;
    /* layer labels: every k-th, so that they never touch */
    double row_h = (fr.bottom - fr.top) / n_layers;
    int every = 1;
    while (every * row_h < FONT_TICK * 1.4 && every < n_layers) every++;
    char l[32];
    for (int i = 0; i < n_layers; i += every) {
        snprintf(l, sizeof l, "%d", layers[i]);
        layer_w = fmax(layer_w, figTextWidth(f, l, FONT_TICK));
    }
    fr.left = PAD + FONT_LABEL + 3.5 + layer_w + 2 + TICK_LEN;
    double col_w = (fr.right - fr.left) / nc;
    if (fr.bottom - fr.top < 20 || col_w < FONT_TICK * 1.2) {
        errorSet(err, EXIT_INPUT, "plot: --size is too small for a heatmap of %d models (try a wider --size or --models)", nc);
        goto out;
    }
    cairo_t *cr = f->cr;
    Axis unit = scale;
    unit.p0 = 0, unit.p1 = 1;
    /* no seams between cells in PNG (vector formats ignore this) */
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    for (int c = 0; c < nc; c++) {
        const ModelSnapshot *m = &s->models[cols[c]];
        for (int i = 0; i < n_layers; i++) {
            const LayerSnapshot *r = snapshotFindRow(m, layers[i], o->site);
            if (!r || r->n_eigen <= 0) continue;
            double v = columnValue(m, r, o->metric);
            if (!isfinite(v)) continue;
            cairo_rectangle(cr, fr.left + c * col_w, fr.top + i * row_h, col_w, row_h);
            figColor(f, figGradient(&f->style, axisMap(&unit, v)), 1);
            cairo_fill(cr);
        }
    }
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    figColor(f, f->style.axis, 1);
    cairo_set_line_width(cr, 0.6);
    cairo_rectangle(cr, fr.left, fr.top, fr.right - fr.left, fr.bottom - fr.top);
    cairo_stroke(cr);
    for (int c = 0; c < nc; c++) {
        double x = fr.left + (c + 0.5) * col_w;
        figColor(f, f->style.axis, 1);
        cairo_move_to(cr, x, fr.bottom);
        cairo_line_to(cr, x, fr.bottom + TICK_LEN);
        cairo_stroke(cr);
        figText(f, x, fr.bottom + TICK_LEN + 2, s->models[cols[c]].name, FONT_TICK, 1, 0.5, 90, f->style.text);
    }
    for (int i = 0; i < n_layers; i += every) {
        double y = fr.top + (i + 0.5) * row_h;
        figColor(f, f->style.axis, 1);
        cairo_move_to(cr, fr.left, y);
        cairo_line_to(cr, fr.left - TICK_LEN, y);
        cairo_stroke(cr);
        snprintf(l, sizeof l, "%d", layers[i]);
        figText(f, fr.left - TICK_LEN - 2, y, l, FONT_TICK, 1, 0.5, 0, f->style.text);
    }
    figText(f, fr.left - TICK_LEN - 2 - layer_w - 3.5, 0.5 * (fr.top + fr.bottom), "layer", FONT_LABEL, 0.5, 1, 90,
            f->style.text);
    char xl[96];
    snprintf(xl, sizeof xl, "model (site %s)", siteName(o->site));
    figText(f, 0.5 * (fr.left + fr.right), fr.bottom + TICK_LEN + 2 + name_w + 4, xl, FONT_LABEL, 0.5, 0, 0,
            f->style.text);
    figColorBar(f, fr.right + 8, fr.top, BAR_W, fr.bottom, &scale, figMetricLabel(o->metric), 0);
    rc = 0;
out:
    free(sel);
    free(cols);
    free(layers);
    return rc;
}
