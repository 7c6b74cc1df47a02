/* The scaling figure: FFN width against soft and hard rank on log-log axes,
 * one point per model (snapshotModelPoint: the median over its layers, or
 * over its routed experts, as the fits take it),
 * one colour per family, a circle for soft and a square for hard rank, the
 * fitted power laws with their 95% confidence band, and a legend with
 * β [CI], R² and Δβ below the plot. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/fit.h"
#include "plot/figure.h"

#define PAD 6.0
#define LEGEND_ROW 10.0
#define SAMPLE_W 20.0
#define BAND_STEPS 48

typedef struct Series {
    const char *family;
    RankKind rank;
    int n;
    double *x, *y;            /* width, median rank */
    Fit fit;
    double xbar, sxx, s2;     /* log10 width mean, its sum of squares, residual variance: the band */
} Series;

static void bandStats(Series *se)
{
    const Fit *f = &se->fit;
    double sx = 0, sxx = 0, ss = 0;
    for (int i = 0; i < se->n; i++) sx += log10(se->x[i]);
    se->xbar = sx / se->n;
    for (int i = 0; i < se->n; i++) {
        double lx = log10(se->x[i]), r = log10(se->y[i]) - (f->log10_a + f->beta * lx);
        sxx += (lx - se->xbar) * (lx - se->xbar);
        ss += r * r;
    }
    se->sxx = sxx;
    se->s2 = se->n > 2 ? ss / (se->n - 2) : NAN;
}

/* Half-width of the 95% band of the fitted mean at log10 width lx, in log10 rank. */
static double bandHalf(const Series *se, double lx)
{
    double t = fitStudentTQuantile(0.975, se->n - 2);
    return t * sqrt(se->s2 * (1.0 / se->n + (lx - se->xbar) * (lx - se->xbar) / se->sxx));
}

static void legendText(const Series *se, const Series *all, int n_series, char *buf, size_t n)
{
    const char *kind = se->rank == RANK_SOFT ? "soft" : "hard";
    if (!se->fit.valid) {
        snprintf(buf, n, "%s %s: %d model%s, no fit", se->family, kind, se->n, se->n == 1 ? "" : "s");
        return;
    }
    char b[32], lo[32], hi[32], r2[32];
    figNum(se->fit.beta, 2, b, sizeof b);
    figNum(se->fit.beta_ci_low, 2, lo, sizeof lo);
    figNum(se->fit.beta_ci_high, 2, hi, sizeof hi);
    figNum(se->fit.r2, 3, r2, sizeof r2);
    int w = snprintf(buf, n, "%s %s: \xce\xb2 = %s [%s, %s], R\xc2\xb2 = %s", se->family, kind, b, lo, hi, r2);
    if (se->rank != RANK_HARD || w < 0 || (size_t)w >= n) return;
    for (int i = 0; i < n_series; i++)
        if (all[i].rank == RANK_SOFT && !strcmp(all[i].family, se->family) && all[i].fit.valid) {
            char d[32];
            figNum(all[i].fit.beta - se->fit.beta, 2, d, sizeof d);
            snprintf(buf + w, n - (size_t)w, ", \xce\x94\xce\xb2 = %s", d);
        }
}

static void sample(Fig *f, double x, double y, const Series *se, Color c)
{
    cairo_t *cr = f->cr;
    figColor(f, c, 1);
    cairo_set_line_width(cr, 1.0);
    if (se->rank == RANK_HARD) cairo_set_dash(cr, (double[]){3, 2}, 2, 0);
    if (se->fit.valid) {
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + SAMPLE_W, y);
        cairo_stroke(cr);
    }
    cairo_set_dash(cr, NULL, 0, 0);
    figMarker(f, x + SAMPLE_W / 2, y, se->rank == RANK_SOFT ? 0 : 1, 2.2, c, 1);
}

int figScaling(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err)
{
    int nm = s->n_models;
    int *sel = calloc((size_t)(nm ? nm : 1), sizeof *sel);
    Series *se = calloc((size_t)(2 * (nm ? nm : 1)), sizeof *se);
    double *xs = malloc(sizeof(double) * (size_t)(2 * (nm ? nm : 1))), *ys = malloc(sizeof(double) * (size_t)(2 * (nm ? nm : 1)));
    int rc = -1, ns = 0;
    if (!sel || !se || !xs || !ys) {
        errorNoMem(err, "plot");
        goto out;
    }
    int chosen = figSelectModels(s, o, sel, err);
    if (chosen < 0) goto out;

    /* one series per family and rank, in the snapshot's order */
    int used = 0;
    for (int i = 0; i < nm; i++) {
        if (!sel[i]) continue;
        const char *fam = s->models[i].family ? s->models[i].family : "";
        int seen = 0;
        for (int k = 0; k < ns && !seen; k++) seen = !strcmp(se[k].family, fam);
        if (seen) continue;
        for (int rank = RANK_SOFT; rank <= RANK_HARD; rank++) {
            Series *x = &se[ns];
            x->family = fam;
            x->rank = (RankKind)rank;
            x->x = xs + used;
            x->y = ys + used;
            for (int j = i; j < nm; j++) {
                const ModelSnapshot *m = &s->models[j];
                if (!sel[j] || strcmp(fam, m->family ? m->family : "")) continue;
                int got = snapshotModelPoint(m, o->site, (RankKind)rank, &x->x[x->n], &x->y[x->n]);
                if (got < 0) {
                    errorNoMem(err, "plot");
                    goto out;
                }
                x->n += got;
            }
            used += x->n;
            if (!x->n) continue;
            fitPowerLaw(x->x, x->y, x->n, &x->fit);
            if (x->fit.valid) bandStats(x);
            ns++;
        }
    }
    if (!ns) {
        errorSet(err, EXIT_INPUT, "%s: no model with a computed rank at site %s%s", s->source ? s->source : "results",
                 siteName(o->site), o->models ? " matches --models" : "");
        goto out;
    }

    /* legend: as many columns as the width holds */
    char text[256];
    double colw = 0;
    for (int i = 0; i < ns; i++) {
        legendText(&se[i], se, ns, text, sizeof text);
        colw = fmax(colw, SAMPLE_W + 4 + figTextWidth(f, text, FONT_TICK));
    }
    int ncols = (int)((f->w - 2 * PAD + 12) / (colw + 12));
    if (ncols < 1) ncols = 1;
    if (ncols > ns) ncols = ns;
    /* a family's soft and hard entries side by side when two columns fit */
    if (ncols > 2) ncols -= ncols % 2;
    int nrows = (ns + ncols - 1) / ncols;
    double legend_h = nrows * LEGEND_ROW + 4;

    Frame fr = {0};
    fr.x.log = fr.y.log = 1;
    fr.x.base2 = 1;
    fr.x.lo = fr.y.lo = INFINITY;
    fr.x.hi = fr.y.hi = -INFINITY;
    for (int i = 0; i < ns; i++)
        for (int k = 0; k < se[i].n; k++) {
            fr.x.lo = fmin(fr.x.lo, se[i].x[k]), fr.x.hi = fmax(fr.x.hi, se[i].x[k]);
            fr.y.lo = fmin(fr.y.lo, se[i].y[k]), fr.y.hi = fmax(fr.y.hi, se[i].y[k]);
        }
    axisPad(&fr.x, 0.06);
    axisPad(&fr.y, 0.08);
    if (!figPlaceFrame(f, &fr, PAD, PAD + 2, f->h - PAD - legend_h - FIG_X_AXIS_ROOM, f->w - PAD - 2)) {
        errorSet(err, EXIT_INPUT, "plot: --size is too small for the scaling figure and its legend");
        goto out;
    }
    figDrawAxes(f, &fr, "FFN width D (neurons)", "rank (dimensions)", 1);

    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_rectangle(cr, fr.left, fr.top, fr.right - fr.left, fr.bottom - fr.top);
    cairo_clip(cr);
    int fam_index = -1;
    for (int i = 0; i < ns; i++) {
        if (i == 0 || strcmp(se[i].family, se[i - 1].family)) fam_index++;
        if (!se[i].fit.valid) continue;
        Color c = f->style.family[fam_index % f->style.n_family];
        double l0 = INFINITY, l1 = -INFINITY;
        for (int k = 0; k < se[i].n; k++) l0 = fmin(l0, log10(se[i].x[k])), l1 = fmax(l1, log10(se[i].x[k]));
        /* the band: upper edge left to right, lower edge back */
        for (int k = 0; k <= 2 * BAND_STEPS + 1; k++) {
            int up = k <= BAND_STEPS;
            int j = up ? k : 2 * BAND_STEPS + 1 - k;
            double lx = l0 + (l1 - l0) * j / BAND_STEPS;
            double ly = se[i].fit.log10_a + se[i].fit.beta * lx + (up ? 1 : -1) * bandHalf(&se[i], lx);
            double px = axisMap(&fr.x, pow(10, lx)), py = axisMap(&fr.y, pow(10, ly));
            if (k == 0) cairo_move_to(cr, px, py);
            else cairo_line_to(cr, px, py);
        }
        cairo_close_path(cr);
        figColor(f, c, 0.16);
        cairo_fill(cr);
        cairo_move_to(cr, axisMap(&fr.x, pow(10, l0)), axisMap(&fr.y, pow(10, se[i].fit.log10_a + se[i].fit.beta * l0)));
        cairo_line_to(cr, axisMap(&fr.x, pow(10, l1)), axisMap(&fr.y, pow(10, se[i].fit.log10_a + se[i].fit.beta * l1)));
        figColor(f, c, 1);
        cairo_set_line_width(cr, 1.0);
        if (se[i].rank == RANK_HARD) cairo_set_dash(cr, (double[]){3, 2}, 2, 0);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    cairo_restore(cr);
    fam_index = -1;
    for (int i = 0; i < ns; i++) {
        if (i == 0 || strcmp(se[i].family, se[i - 1].family)) fam_index++;
        Color c = f->style.family[fam_index % f->style.n_family];
        for (int k = 0; k < se[i].n; k++)
            figMarker(f, axisMap(&fr.x, se[i].x[k]), axisMap(&fr.y, se[i].y[k]), se[i].rank == RANK_SOFT ? 0 : 1, 2.2, c, 1);
    }

    /* the legend */
    double ly0 = f->h - PAD - legend_h + 4 + LEGEND_ROW / 2, cw = (f->w - 2 * PAD) / ncols;
    fam_index = -1;
    for (int i = 0; i < ns; i++) {
        if (i == 0 || strcmp(se[i].family, se[i - 1].family)) fam_index++;
        Color c = f->style.family[fam_index % f->style.n_family];
        double x = PAD + (i % ncols) * cw, y = ly0 + (i / ncols) * LEGEND_ROW;
        sample(f, x, y, &se[i], c);
        legendText(&se[i], se, ns, text, sizeof text);
        figText(f, x + SAMPLE_W + 4, y, text, FONT_TICK, 0, 0.5, 0, f->style.text);
    }
    rc = 0;
out:
    free(sel);
    free(se);
    free(xs);
    free(ys);
    return rc;
}
