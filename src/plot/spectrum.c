/* The spectrum figure: eigenvalue against index on log-log axes, one line
 * per chosen model and layer, coloured by FFN width (several models) or by
 * depth (one model), dashed by family, with open markers where the index
 * equals the hard rank (square) and the soft rank (circle). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/figure.h"

#define PAD 6.0
#define BAR_W 6.0
#define KEY_ROW 10.0

typedef struct Curve {
    const ModelSnapshot *m;
    const LayerSnapshot *r;
    int n;                    /* eigenvalues drawn: the leading ones above 1e-12 of the first */
    int family;               /* index among the families drawn */
} Curve;

/* A curve's FFN width: an expert's own, else its model's. */
static double rowWidth(const Curve *c) { return c->r->width > 0 ? c->r->width : c->m->width; }

/* λ at a fractional index (1-based), interpolated on the log-log line between neighbours. */
static double eigenAt(const LayerSnapshot *r, int n, double idx)
{
    if (idx <= 1) return r->eigen[0];
    if (idx >= n) return r->eigen[n - 1];
    int i = (int)floor(idx);
    double a = r->eigen[i - 1], b = r->eigen[i], t = (log10(idx) - log10(i)) / (log10(i + 1) - log10(i));
    return pow(10, log10(a) + t * (log10(b) - log10(a)));
}

static int drawn(const LayerSnapshot *r)
{
    int n = 0;
    if (r->n_eigen <= 0 || !(r->eigen[0] > 0)) return 0;
    while (n < r->n_eigen && r->eigen[n] > 1e-12 * r->eigen[0]) n++;
    return n;
}

/* Whether a row can be a curve: a dense layer's; a routed layer's chosen
 * expert (--expert); without one, every expert of a routed layer when one
 * layer is chosen (its experts side by side), none otherwise. */
static int rowWanted(const PlotOptions *o, const LayerSnapshot *r)
{
    if (r->site != o->site || drawn(r) <= 0) return 0;
    if (o->one_expert) return r->routed && r->expert == o->expert;
    return !r->routed || (o->layers && o->n_layers == 1);
}

/* The colour value of a curve: by layer (one model), by expert (one layer of
 * one model's experts), else by FFN width. */
static double colourOf(const Curve *c, int one_model, int by_expert, int shared_at)
{
    if (by_expert) return c->r->expert == CAPTURE_SHARED ? shared_at : c->r->expert;
    return one_model ? c->r->layer : rowWidth(c);
}

int figSpectrum(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err)
{
    int nm = s->n_models, rc = -1, nc = 0, cap = 0;
    int *sel = calloc((size_t)(nm ? nm : 1), sizeof *sel);
    Curve *cv = NULL;
    const char **fams = calloc((size_t)(nm ? nm : 1), sizeof *fams);
    if (!sel || !fams) {
        errorNoMem(err, "plot");
        goto out;
    }
    int chosen = figSelectModels(s, o, sel, err);
    if (chosen < 0) goto out;
    int n_fams = 0;
    for (int i = 0; i < nm; i++) {
        if (!sel[i]) continue;
        const ModelSnapshot *m = &s->models[i];
        int fam = -1;
        for (int k = 0; k < n_fams && fam < 0; k++)
            if (!strcmp(fams[k], m->family)) fam = k;
        if (fam < 0) fams[fam = n_fams++] = m->family;
        /* by default: every layer of a single model, else each model's middle layer */
        int at_site = 0, k = 0;
        for (int j = 0; j < m->n_rows; j++) at_site += rowWanted(o, &m->rows[j]);
        for (int j = 0; j < m->n_rows; j++) {
            const LayerSnapshot *r = &m->rows[j];
            if (!rowWanted(o, r)) continue;
            int take = o->layers ? figLayerChosen(o, r->layer) : chosen == 1 || k == at_site / 2;
            k++;
            if (!take) continue;
            if (nc == cap) {
                cap = cap ? 2 * cap : 32;
                Curve *c = realloc(cv, sizeof *c * (size_t)cap);
                if (!c) {
                    errorNoMem(err, "plot");
                    goto out;
                }
                cv = c;
            }
            cv[nc++] = (Curve){m, r, drawn(r), fam};
        }
    }
    if (!nc) {
        errorSet(err, EXIT_INPUT,
                 "%s: no computed spectrum at site %s for the chosen models and layers%s",
                 s->source ? s->source : "results", siteName(o->site),
                 o->one_expert ? " and expert" : " (routed layers: --expert E, or one layer with --layers L)");
        goto out;
    }
    int one_model = 1, by_expert = nc > 1 && cv[0].r->routed, shared_at = 0;
    for (int i = 1; i < nc; i++) one_model &= cv[i].m == cv[0].m;
    for (int i = 0; i < nc; i++) {
        by_expert &= cv[i].r->routed && cv[i].r->layer == cv[0].r->layer && cv[i].m == cv[0].m;
        if (cv[i].r->expert + 1 > shared_at) shared_at = cv[i].r->expert + 1;   /* the shared one after the last */
    }

    Frame fr = {0};
    fr.x.log = fr.y.log = 1;
    fr.x.lo = 1, fr.x.hi = 1;
    fr.y.lo = INFINITY, fr.y.hi = -INFINITY;
    Axis scale = {0};
    scale.lo = INFINITY, scale.hi = -INFINITY;
    for (int i = 0; i < nc; i++) {
        fr.x.hi = fmax(fr.x.hi, cv[i].n);
        fr.y.hi = fmax(fr.y.hi, cv[i].r->eigen[0]);
        fr.y.lo = fmin(fr.y.lo, cv[i].r->eigen[cv[i].n - 1]);
        double v = colourOf(&cv[i], one_model, by_expert, shared_at);
        scale.lo = fmin(scale.lo, v), scale.hi = fmax(scale.hi, v);
    }
    if (fr.x.hi <= 1) fr.x.hi = 2;
    axisPad(&fr.x, 0.02);
    axisPad(&fr.y, 0.04);
    scale.integer = one_model;
    if (!one_model && scale.lo > 0) {
        scale.log = 1;
        scale.base2 = 1;
    }
    if (scale.hi == scale.lo) scale.hi = scale.lo + 1;

    /* the key above the plot: HR and SR markers, then the families' dashes */
    const char *key_hr = "HR", *key_sr = "SR";
    double kx = PAD, ky = PAD + KEY_ROW / 2;
    int key_rows = 1;
    double item_w[2 + 64];
    int n_items = 2 + (n_fams > 1 ? (n_fams < 64 ? n_fams : 64) : 0);
    for (int i = 0; i < n_items; i++) {
        const char *t = i == 0 ? key_hr : i == 1 ? key_sr : fams[i - 2];
        item_w[i] = (i < 2 ? 8 : 16) + 3 + figTextWidth(f, t, FONT_TICK) + 10;
    }
    double x = kx;
    for (int i = 0; i < n_items; i++) {
        if (x + item_w[i] > f->w - PAD && x > kx) key_rows++, x = kx;
        x += item_w[i];
    }
    double bar_room = BAR_W + TICK_LEN + 2 + 22 + 4 + FONT_LABEL + 4;
    if (!figPlaceFrame(f, &fr, PAD, PAD + key_rows * KEY_ROW + 4, f->h - PAD - FIG_X_AXIS_ROOM,
                       f->w - PAD - bar_room)) {
        errorSet(err, EXIT_INPUT, "plot: --size is too small for the spectrum figure");
        goto out;
    }
    figDrawAxes(f, &fr, "eigenvalue index i", "eigenvalue \xce\xbb\xe1\xb5\xa2 (variance)", 0);

    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_rectangle(cr, fr.left, fr.top, fr.right - fr.left, fr.bottom - fr.top);
    cairo_clip(cr);
    Axis sc = scale;
    sc.p0 = 0, sc.p1 = 1;
    for (int i = 0; i < nc; i++) {
        const Curve *c = &cv[i];
        Color col = figLineColor(&f->style, axisMap(&sc, colourOf(c, one_model, by_expert, shared_at)));
        for (int k = 0; k < c->n; k++) {
            double px = axisMap(&fr.x, k + 1), py = axisMap(&fr.y, c->r->eigen[k]);
            if (k == 0) cairo_move_to(cr, px, py);
            else cairo_line_to(cr, px, py);
        }
        figColor(f, col, 1);
        cairo_set_line_width(cr, 0.9);
        figDash(f, n_fams > 1 ? c->family : 0);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    cairo_restore(cr);
    for (int i = 0; i < nc; i++) {
        const Curve *c = &cv[i];
        Color col = figLineColor(&f->style, axisMap(&sc, colourOf(c, one_model, by_expert, shared_at)));
        double hr = c->r->metrics.hard_rank, sr = c->r->metrics.soft_rank;
        if (hr >= 1 && hr <= c->n)
            figMarker(f, axisMap(&fr.x, hr), axisMap(&fr.y, eigenAt(c->r, c->n, hr)), 1, 2.4, col, 0);
        if (sr >= 1 && sr <= c->n)
            figMarker(f, axisMap(&fr.x, sr), axisMap(&fr.y, eigenAt(c->r, c->n, sr)), 0, 2.6, col, 0);
    }

    x = kx;
    for (int i = 0; i < n_items; i++) {
        if (x + item_w[i] > f->w - PAD && x > kx) ky += KEY_ROW, x = kx;
        if (i < 2) {
            figMarker(f, x + 4, ky, i == 0 ? 1 : 0, i == 0 ? 2.4 : 2.6, f->style.text, 0);
            figText(f, x + 11, ky, i == 0 ? key_hr : key_sr, FONT_TICK, 0, 0.5, 0, f->style.text);
        } else {
            figDashSample(f, x, ky, 16, i - 2);
            figText(f, x + 19, ky, fams[i - 2], FONT_TICK, 0, 0.5, 0, f->style.text);
        }
        x += item_w[i];
    }
    figColorBar(f, fr.right + 8, fr.top, BAR_W, fr.bottom, &scale,
                by_expert ? "expert (shared last)" : one_model ? "layer" : "FFN width D", 1);
    rc = 0;
out:
    free(sel);
    free(cv);
    free(fams);
    return rc;
}
