/* The heatmap figure: layers (rows, layer 0 on top) by models (columns, in
 * the snapshot's order: family, then width) of one metric, on the cividis
 * map with a colour bar; a layer a model lacks stays blank, and a routed
 * layer's cell is the median over its routed experts, as in the dashboard.
 * With --experts, layers by the experts of one mixture-of-experts model
 * (e0 ... eN, the shared expert last), where the load is a metric too. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/figure.h"

#define PAD 6.0
#define BAR_W 6.0
#define LABEL_GAP (FONT_TICK * 1.4)   /* centre to centre of two tick labels that do not touch */
#define MIN_CELL 0.5                  /* points: narrower cells vanish in a PNG at 72 dpi */

/* What both heatmaps draw: a grid of values with its labels. */
typedef struct Grid {
    int n_cols, n_rows;
    int *layers;              /* [n_rows] */
    double *v;                /* [n_rows * n_cols], NAN where blank */
    char (*col)[64];          /* [n_cols] column labels */
    int *col_expert;          /* experts: [n_cols] the expert of each column (CAPTURE_SHARED last); NULL: models */
    double lo, hi;
    char xlabel[160];
    const char *bar_label;
    const char *note;         /* a line under the x label, or NULL */
} Grid;

static void gridFree(Grid *g)
{
    free(g->layers);
    free(g->v);
    free(g->col);
    free(g->col_expert);
}

static int gridAlloc(Grid *g, int n_rows, int n_cols, int experts, Error *err)
{
    g->n_rows = n_rows, g->n_cols = n_cols;
    g->layers = malloc(sizeof *g->layers * (size_t)(n_rows ? n_rows : 1));
    size_t cells = (size_t)n_rows * (size_t)n_cols;
    g->v = malloc(sizeof *g->v * (cells ? cells : 1));
    g->col = calloc((size_t)(n_cols ? n_cols : 1), sizeof *g->col);
    if (experts) g->col_expert = malloc(sizeof *g->col_expert * (size_t)(n_cols ? n_cols : 1));
    if (!g->layers || !g->v || !g->col || (experts && !g->col_expert)) return errorNoMem(err, "plot");
    for (int i = 0; i < n_rows * n_cols; i++) g->v[i] = NAN;
    return 0;
}

static void gridRange(Grid *g)
{
    g->lo = INFINITY, g->hi = -INFINITY;
    for (int i = 0; i < g->n_rows * g->n_cols; i++)
        if (isfinite(g->v[i])) g->lo = fmin(g->lo, g->v[i]), g->hi = fmax(g->hi, g->v[i]);
}

/* Layers x models: the models with a value, the layers some of them have. */
static int modelsGrid(const Snapshot *s, const PlotOptions *o, Grid *g, Error *err)
{
    int nm = s->n_models, rc = -1, routed = 0;
    int *sel = calloc((size_t)(nm ? nm : 1), sizeof *sel), *cols = calloc((size_t)(nm ? nm : 1), sizeof *cols);
    if (!sel || !cols) {
        errorNoMem(err, "plot");
        goto out;
    }
    if (figSelectModels(s, o, sel, err) < 0) goto out;
    int nc = 0, max_layer = -1;
    for (int i = 0; i < nm; i++) {
        if (!sel[i]) continue;
        int any = 0;
        for (int j = 0; j < s->models[i].n_rows; j++) {
            const LayerSnapshot *r = &s->models[i].rows[j];
            if (r->site != o->site || r->n_eigen <= 0 || !figLayerChosen(o, r->layer)) continue;
            if (!isfinite(modelLayerValue(&s->models[i], r->layer, o->site, o->metric, NULL))) continue;
            any = 1;
            routed |= r->routed;
            if (r->layer > max_layer) max_layer = r->layer;
        }
        if (any) cols[nc++] = i;
    }
    if (!nc) {
        errorSet(err, EXIT_INPUT, "%s: no value of %s at site %s for the chosen models and layers",
                 s->source ? s->source : "results", columnName(o->metric), siteName(o->site));
        goto out;
    }
    if (gridAlloc(g, max_layer + 1, nc, 0, err)) goto out;
    /* the rows: every layer that some chosen model has */
    int n_rows = 0;
    for (int l = 0; l <= max_layer; l++) {
        if (!figLayerChosen(o, l)) continue;
        int have = 0;
        for (int c = 0; c < nc; c++) {
            double v = modelLayerValue(&s->models[cols[c]], l, o->site, o->metric, NULL);
            g->v[n_rows * nc + c] = v;
            have |= isfinite(v);
        }
        if (have) g->layers[n_rows++] = l;
    }
    g->n_rows = n_rows;
    for (int c = 0; c < nc; c++) snprintf(g->col[c], sizeof g->col[c], "%s", s->models[cols[c]].name);
    snprintf(g->xlabel, sizeof g->xlabel, "model (site %s)", siteName(o->site));
    g->bar_label = figMetricLabel(o->metric);
    if (routed) g->note = "MoE layers: median over the routed experts";
    rc = 0;
out:
    free(sel);
    free(cols);
    return rc;
}

/* The shared expert sorts after the routed ones. */
static int cmpExpert(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    x = x == CAPTURE_SHARED ? INT_MAX : x, y = y == CAPTURE_SHARED ? INT_MAX : y;
    return x < y ? -1 : x > y;
}

/* Layers x experts of o->experts: every layer the model has at the site (a
 * dense one stays blank), one column per expert. */
static int expertsGrid(const Snapshot *s, const PlotOptions *o, Grid *g, Error *err)
{
    const char *src = s->source ? s->source : "results";
    int mi = snapshotFindModel(s, o->experts);
    if (mi < 0) return errorSet(err, EXIT_INPUT, "%s: --experts: no model named '%s'", src, o->experts);
    const ModelSnapshot *m = &s->models[mi];
    if (!modelFirstExpertRow(m, o->site))
        return errorSet(err, EXIT_INPUT, "%s: --experts: %s has no experts (a dense model)", src, m->name);
    int *layers = malloc(sizeof *layers * (size_t)m->n_rows), *experts = malloc(sizeof *experts * (size_t)m->n_rows);
    if (!layers || !experts) {
        free(layers);
        free(experts);
        return errorNoMem(err, "plot");
    }
    int nl = 0, ne = 0;
    for (int j = 0; j < m->n_rows; j++) {
        const LayerSnapshot *r = &m->rows[j];
        if (r->site != o->site || !figLayerChosen(o, r->layer)) continue;
        if (!nl || layers[nl - 1] != r->layer) layers[nl++] = r->layer;   /* rows are sorted by layer */
        /* every token reaches the shared expert: it has no load */
        if (r->routed && !(o->load && r->expert == CAPTURE_SHARED)) experts[ne++] = r->expert;
    }
    if (ne > 1) qsort(experts, (size_t)ne, sizeof *experts, cmpExpert);
    int u = 0;
    for (int i = 0; i < ne; i++)
        if (!u || experts[u - 1] != experts[i]) experts[u++] = experts[i];
    ne = u;
    int rc = -1;
    if (!ne) {
        errorSet(err, EXIT_INPUT, "%s: --experts: %s has no experts in the chosen layers at site %s", src, m->name,
                 siteName(o->site));
        goto out;
    }
    if (gridAlloc(g, nl, ne, 1, err)) goto out;
    memcpy(g->layers, layers, sizeof *layers * (size_t)nl);
    memcpy(g->col_expert, experts, sizeof *experts * (size_t)ne);
    int any = 0, dense = 0, blank = 0;
    for (int i = 0; i < nl; i++) {
        dense |= !modelFindLayer(m, layers[i], o->site)->routed;
        for (int c = 0; c < ne; c++) {
            const LayerSnapshot *r = modelFindRow(m, layers[i], o->site, experts[c]);
            double v = NAN;
            if (r && o->load) v = snapshotRowCounted(r) ? (double)snapshotRowTokens(r) : NAN;
            else if (r && r->n_eigen > 0) v = columnValue(m, r, o->metric);
            g->v[i * ne + c] = v;
            any |= isfinite(v);
            blank |= r && !isfinite(v);
        }
    }
    /* a blank cell says why */
    g->note = dense && blank ? "blank: dense layers, experts with < 2 tokens"
            : dense          ? "blank: dense layers (no experts)"
            : blank          ? "blank: experts with < 2 tokens"
                             : NULL;
    if (!any) {
        errorSet(err, EXIT_INPUT, "%s: --experts: no value of %s for %s at site %s", src,
                 o->load ? "load" : columnName(o->metric), m->name, siteName(o->site));
        goto out;
    }
    for (int c = 0; c < ne; c++) {
        if (experts[c] == CAPTURE_SHARED) snprintf(g->col[c], sizeof g->col[c], "shared");
        else snprintf(g->col[c], sizeof g->col[c], "e%d", experts[c]);
    }
    snprintf(g->xlabel, sizeof g->xlabel, "expert of %s (site %s)", m->name, siteName(o->site));
    g->bar_label = o->load ? "load (tokens routed to the expert)" : figMetricLabel(o->metric);
    rc = 0;
out:
    free(layers);
    free(experts);
    return rc;
}

/* Which columns get a label: every model; of many experts every k-th (k a
 * round number) and the shared one, so that no two labels touch. */
static void labelledColumns(const Grid *g, double col_w, unsigned char *show)
{
    if (!g->col_expert) {
        memset(show, 1, (size_t)g->n_cols);
        return;
    }
    static const int steps[] = {1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 1000};
    int k = steps[sizeof steps / sizeof *steps - 1];
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (steps[i] * col_w >= LABEL_GAP) {
            k = steps[i];
            break;
        }
    int shared = g->col_expert[g->n_cols - 1] == CAPTURE_SHARED ? g->n_cols - 1 : -1;
    for (int c = 0; c < g->n_cols; c++) {
        int e = g->col_expert[c];
        show[c] = c == shared || (e >= 0 && e % k == 0 && (shared < 0 || (shared - c) * col_w >= LABEL_GAP));
    }
}

static int drawGrid(Fig *f, const Grid *g, Error *err)
{
    int n_layers = g->n_rows, nc = g->n_cols;
    double name_w = 0, layer_w = 0;
    for (int c = 0; c < nc; c++) name_w = fmax(name_w, figTextWidth(f, g->col[c], FONT_TICK));
    Frame fr = {0};
    Axis scale = {.lo = g->lo, .hi = g->hi > g->lo ? g->hi : g->lo + (g->lo ? fabs(g->lo) * 0.01 : 0.01)};
    double bar_room = BAR_W + TICK_LEN + 2 + 24 + 4 + FONT_LABEL + 4;
    fr.top = PAD + 2;
    fr.bottom = f->h - PAD - (TICK_LEN + 2 + name_w + 4 + FONT_LABEL + 2) - (g->note ? FONT_TICK + 3 : 0);
    fr.right = f->w - PAD - bar_room;
    /* layer labels: every k-th, so that they never touch */
    double row_h = (fr.bottom - fr.top) / n_layers;
    int every = 1;
    while (every * row_h < FONT_TICK * 1.4 && every < n_layers) every++;
    char l[32];
    for (int i = 0; i < n_layers; i += every) {
        snprintf(l, sizeof l, "%d", g->layers[i]);
        layer_w = fmax(layer_w, figTextWidth(f, l, FONT_TICK));
    }
    fr.left = PAD + FONT_LABEL + 3.5 + layer_w + 2 + TICK_LEN;
    double col_w = (fr.right - fr.left) / nc;
    if (fr.bottom - fr.top < 20 || col_w < (g->col_expert ? MIN_CELL : FONT_TICK * 1.2))
        return errorSet(err, EXIT_INPUT, "plot: --size is too small for a heatmap of %d %s (try a wider --size%s)", nc,
                        g->col_expert ? "experts" : "models", g->col_expert ? "" : " or --models");
    unsigned char *show = malloc((size_t)nc);
    if (!show) return errorNoMem(err, "plot");
    labelledColumns(g, col_w, show);
    cairo_t *cr = f->cr;
    Axis unit = scale;
    unit.p0 = 0, unit.p1 = 1;
    /* no seams between cells in PNG (vector formats ignore this) */
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    for (int c = 0; c < nc; c++)
        for (int i = 0; i < n_layers; i++) {
            double v = g->v[i * nc + c];
            if (!isfinite(v)) continue;
            cairo_rectangle(cr, fr.left + c * col_w, fr.top + i * row_h, col_w, row_h);
            figColor(f, figGradient(&f->style, axisMap(&unit, v)), 1);
            cairo_fill(cr);
        }
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    figColor(f, f->style.axis, 1);
    cairo_set_line_width(cr, 0.6);
    cairo_rectangle(cr, fr.left, fr.top, fr.right - fr.left, fr.bottom - fr.top);
    cairo_stroke(cr);
    for (int c = 0; c < nc; c++) {
        if (!show[c]) continue;
        double x = fr.left + (c + 0.5) * col_w;
        figColor(f, f->style.axis, 1);
        cairo_move_to(cr, x, fr.bottom);
        cairo_line_to(cr, x, fr.bottom + TICK_LEN);
        cairo_stroke(cr);
        figText(f, x, fr.bottom + TICK_LEN + 2, g->col[c], FONT_TICK, 1, 0.5, 90, f->style.text);
    }
    free(show);
    for (int i = 0; i < n_layers; i += every) {
        double y = fr.top + (i + 0.5) * row_h;
        figColor(f, f->style.axis, 1);
        cairo_move_to(cr, fr.left, y);
        cairo_line_to(cr, fr.left - TICK_LEN, y);
        cairo_stroke(cr);
        snprintf(l, sizeof l, "%d", g->layers[i]);
        figText(f, fr.left - TICK_LEN - 2, y, l, FONT_TICK, 1, 0.5, 0, f->style.text);
    }
    figText(f, fr.left - TICK_LEN - 2 - layer_w - 3.5, 0.5 * (fr.top + fr.bottom), "layer", FONT_LABEL, 0.5, 1, 90,
            f->style.text);
    double xl_y = fr.bottom + TICK_LEN + 2 + name_w + 4;
    figText(f, 0.5 * (fr.left + fr.right), xl_y, g->xlabel, FONT_LABEL, 0.5, 0, 0, f->style.text);
    if (g->note)
        figText(f, 0.5 * (fr.left + fr.right), xl_y + FONT_LABEL + 3, g->note, FONT_TICK, 0.5, 0, 0, f->style.text);
    figColorBar(f, fr.right + 8, fr.top, BAR_W, fr.bottom, &scale, g->bar_label, 0);
    return 0;
}

int figHeatmap(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err)
{
    Grid g = {0};
    int rc = o->experts ? expertsGrid(s, o, &g, err) : modelsGrid(s, o, &g, err);
    if (!rc) {
        gridRange(&g);
        rc = drawGrid(f, &g, err);
    }
    gridFree(&g);
    return rc;
}
