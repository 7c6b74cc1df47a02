/* The depth figure: a metric against relative depth (layer / n_layers), one
 * line per model with a marker at each layer (a routed layer's value the
 * median over its experts, as in the heatmap), coloured by FFN width, the
 * line dash and marker by family. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/figure.h"

#define PAD 6.0
#define BAR_W 6.0
#define KEY_ROW 10.0

static double relDepth(const ModelSnapshot *m, const LayerSnapshot *r)
{
    return m->n_layers > 0 ? (double)r->layer / m->n_layers : 0;
}

/* The point of row j's layer, drawn at the layer's first row (rows are
 * sorted by layer, then site): the row's value, or the median over a routed
 * layer's experts. */
static int layerPoint(const PlotOptions *o, const ModelSnapshot *m, int j, double *v)
{
    const LayerSnapshot *r = &m->rows[j];
    if (r->site != o->site || !figLayerChosen(o, r->layer)) return 0;
    if (j > 0 && m->rows[j - 1].layer == r->layer && m->rows[j - 1].site == r->site) return 0;
    *v = modelLayerValue(m, r->layer, o->site, o->metric, NULL);
    return isfinite(*v);
}

int figDepth(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err)
{
    int nm = s->n_models, rc = -1;
    int *sel = calloc((size_t)(nm ? nm : 1), sizeof *sel), *fam = calloc((size_t)(nm ? nm : 1), sizeof *fam);
    const char **fams = calloc((size_t)(nm ? nm : 1), sizeof *fams);
    if (!sel || !fam || !fams) {
        errorNoMem(err, "plot");
        goto out;
    }
    if (figSelectModels(s, o, sel, err) < 0) goto out;
    Frame fr = {0};
    fr.x.lo = 0, fr.x.hi = 1;
    fr.y.lo = INFINITY, fr.y.hi = -INFINITY;
    Axis scale = {.lo = INFINITY, .hi = -INFINITY, .log = 1, .base2 = 1};
    int n_fams = 0, n_lines = 0;
    for (int i = 0; i < nm; i++) {
        const ModelSnapshot *m = &s->models[i];
        int pts = 0;
        for (int j = 0; sel[i] && j < m->n_rows; j++) {
            double v;
            if (!layerPoint(o, m, j, &v)) continue;
            fr.y.lo = fmin(fr.y.lo, v), fr.y.hi = fmax(fr.y.hi, v);
            pts++;
        }
        if (!pts) {
            sel[i] = 0;
            continue;
        }
        n_lines++;
        fam[i] = -1;
        for (int k = 0; k < n_fams && fam[i] < 0; k++)
            if (!strcmp(fams[k], m->family)) fam[i] = k;
        if (fam[i] < 0) fams[fam[i] = n_fams++] = m->family;
        int w = snapshotModelWidth(m);
        if (w > 0) scale.lo = fmin(scale.lo, w), scale.hi = fmax(scale.hi, w);
    }
    if (!n_lines) {
        errorSet(err, EXIT_INPUT, "%s: no value of %s at site %s for the chosen models and layers",
                 s->source ? s->source : "results", columnName(o->metric), siteName(o->site));
        goto out;
    }
    if (!(scale.lo > 0)) scale.lo = 1, scale.hi = 2;
    if (scale.hi == scale.lo) scale.hi = scale.lo * 2;
    axisPad(&fr.x, 0.03);
    axisPad(&fr.y, 0.06);

    /* the families' key above the plot */
    double kx = PAD, x = kx;
    int key_rows = 1;
    for (int k = 0; k < n_fams; k++) {
        double w = 22 + figTextWidth(f, fams[k], FONT_TICK) + 10;
        if (x + w > f->w - PAD && x > kx) key_rows++, x = kx;
        x += w;
    }
    double bar_room = BAR_W + TICK_LEN + 2 + 22 + 4 + FONT_LABEL + 4;
    if (!figPlaceFrame(f, &fr, PAD, PAD + key_rows * KEY_ROW + 4, f->h - PAD - FIG_X_AXIS_ROOM,
                       f->w - PAD - bar_room)) {
        errorSet(err, EXIT_INPUT, "plot: --size is too small for the depth figure");
        goto out;
    }
    figDrawAxes(f, &fr, "relative depth (layer / n_layers)", figMetricLabel(o->metric), 1);

    cairo_t *cr = f->cr;
    Axis unit = scale;
    unit.p0 = 0, unit.p1 = 1;
    for (int i = 0; i < nm; i++) {
        if (!sel[i]) continue;
        const ModelSnapshot *m = &s->models[i];
        int w = snapshotModelWidth(m);
        Color col = figLineColor(&f->style, axisMap(&unit, w > 0 ? w : scale.lo));
        int first = 1;
        for (int j = 0; j < m->n_rows; j++) {
            double v;
            if (!layerPoint(o, m, j, &v)) continue;
            double px = axisMap(&fr.x, relDepth(m, &m->rows[j])), py = axisMap(&fr.y, v);
            if (first) cairo_move_to(cr, px, py);
            else cairo_line_to(cr, px, py);
            first = 0;
        }
        figColor(f, col, 1);
        cairo_set_line_width(cr, 0.9);
        figDash(f, fam[i]);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        for (int j = 0; j < m->n_rows; j++) {
            double v;
            if (!layerPoint(o, m, j, &v)) continue;
            figMarker(f, axisMap(&fr.x, relDepth(m, &m->rows[j])), axisMap(&fr.y, v), fam[i] % 4, 1.6, col, 1);
        }
    }
    x = kx;
    double ky = PAD + KEY_ROW / 2;
    for (int k = 0; k < n_fams; k++) {
        double w = 22 + figTextWidth(f, fams[k], FONT_TICK) + 10;
        if (x + w > f->w - PAD && x > kx) ky += KEY_ROW, x = kx;
        figDashSample(f, x, ky, 18, k);
        figMarker(f, x + 9, ky, k % 4, 1.6, f->style.text, 1);
        figText(f, x + 22, ky, fams[k], FONT_TICK, 0, 0.5, 0, f->style.text);
        x += w;
    }
    figColorBar(f, fr.right + 8, fr.top, BAR_W, fr.bottom, &scale, "FFN width D", 1);
    rc = 0;
out:
    free(sel);
    free(fam);
    free(fams);
    return rc;
}
