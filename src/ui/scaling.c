/* View 3, Scaling: FFN width against soft and hard rank (median over each
 * model's layers) on log-log axes, one marker and colour per family, the
 * fitted power laws as lines and a legend with beta, its 95% interval, R^2
 * and delta beta. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

#define MAX_FAMILIES 16

typedef struct Family {
    const char *name;
    int index;                 /* colour and marker */
    const FitSnapshot *fit[2]; /* RANK_SOFT, RANK_HARD */
    int n_points;
} Family;

/* Filled marker for soft rank, hollow for hard rank, one shape per family. */
static const uint32_t markers[][2] = {
    {0x25cf, 0x25cb}, {0x25a0, 0x25a1}, {0x25b2, 0x25b3}, {0x25c6, 0x25c7}, {0x2605, 0x2606},
};
#define N_MARKERS ((int)(sizeof markers / sizeof *markers))

/* Points and lines are grouped as the fits are: by fit group (the family unless a model entry names one). */
static const char *famName(const ModelSnapshot *m)
{
    const char *g = snapshotFitGroup(m);
    return *g ? g : "other";
}

static int collectFamilies(const Snapshot *s, Site site, Family *fam)
{
    int n = 0;
    for (int i = 0; i < s->n_models; i++) {
        const char *name = famName(&s->models[i]);
        int k = 0;
        while (k < n && strcmp(fam[k].name, name)) k++;
        if (k == n) {
            if (n == MAX_FAMILIES) continue;
            fam[n] = (Family){name, n, {NULL, NULL}, 0};
            n++;
        }
        double w, v;
        if (snapshotModelPoint(&s->models[i], site, RANK_SOFT, &w, &v) > 0) fam[k].n_points++;
    }
    for (int f = 0; f < s->n_fits; f++) {
        const FitSnapshot *fs = &s->fits[f];
        if (fs->site != site || !fs->family || (fs->rank != RANK_SOFT && fs->rank != RANK_HARD)) continue;
        for (int k = 0; k < n; k++)
            if (!strcmp(fam[k].name, fs->family)) fam[k].fit[fs->rank] = fs;
    }
    return n;
}

static void fitText(const FitSnapshot *fs, int n_points, char *buf, size_t n)
{
    if (!fs || !fs->fit.valid) {
        snprintf(buf, n, "\xce\xb2 -  (%d width%s; a fit needs 3)", n_points, n_points == 1 ? "" : "s");
        return;
    }
    const Fit *f = &fs->fit;
    snprintf(buf, n, "\xce\xb2 %.2f [%.2f, %.2f] R\xc2\xb2 %.2f", f->beta, f->beta_ci_low, f->beta_ci_high, f->r2);
}

static double deltaBeta(const Family *f)
{
    if (!f->fit[RANK_SOFT] || !f->fit[RANK_HARD] || !f->fit[RANK_SOFT]->fit.valid || !f->fit[RANK_HARD]->fit.valid)
        return NAN;
    return f->fit[RANK_SOFT]->fit.beta - f->fit[RANK_HARD]->fit.beta;
}

static int legendLineCols(const Family *f, int rk)
{
    char buf[160];
    int n = 2 + textColumns(f->name) + 5 + 2;
    fitText(f->fit[rk], f->n_points, buf, sizeof buf);
    return n + textColumns(buf);
}

/* Delta beta goes after the hard-rank line when it fits there, else on a
 * line of its own. */
static int deltaOwnLine(const Family *f, int w)
{
    return isfinite(deltaBeta(f)) && legendLineCols(f, RANK_HARD) + 2 + 9 > w;
}

/* Lines the legend needs at width w. */
static int legendHeight(const Family *fam, int nf, int w)
{
    int n = 0;
    for (int k = 0; k < nf; k++) n += 2 + deltaOwnLine(&fam[k], w);
    return n;
}

static int legendWidth(const Family *fam, int nf)
{
    int w = 0;
    for (int k = 0; k < nf; k++)
        for (int rk = 0; rk < 2; rk++) {
            int n = legendLineCols(&fam[k], rk) + (rk == RANK_HARD && isfinite(deltaBeta(&fam[k])) ? 11 : 0);
            if (n > w) w = n;
        }
    return w;
}

/* One line per family and rank kind, and delta beta. Returns the lines used. */
static int drawLegend(Canvas *c, int x, int y, int w, int max_lines, const Family *fam, int nf, const RenderCtx *ctx)
{
    int line = 0;
    for (int k = 0; k < nf && line < max_lines; k++) {
        Color col = themeFamily(ctx->theme, fam[k].index);
        int own = deltaOwnLine(&fam[k], w);
        for (int rk = 0; rk < 2 && line < max_lines; rk++, line++) {
            int yy = y + line, xx = x;
            Style ms = stFgColor(ctx, col);
            ms.attrs |= ATTR_BOLD;
            canvasPut(c, xx, yy, markers[fam[k].index % N_MARKERS][rk], ms);
            xx += 2;
            char buf[160];
            snprintf(buf, sizeof buf, "%s %s", fam[k].name, rk == RANK_SOFT ? "soft" : "hard");
            xx += canvasText(c, xx, yy, x + w - xx, buf, stText(ctx)) + 2;
            fitText(fam[k].fit[rk], fam[k].n_points, buf, sizeof buf);
            xx += canvasText(c, xx, yy, x + w - xx, buf, stDim(ctx));
            double db = deltaBeta(&fam[k]);
            if (rk == RANK_HARD && isfinite(db)) {
                snprintf(buf, sizeof buf, "\xce\x94\xce\xb2 %.2f", db);
                Style ds = stFgColor(ctx, col);
                ds.attrs |= ATTR_BOLD;
                if (!own) canvasText(c, xx + 2, yy, x + w - xx - 2, buf, ds);
                else if (line + 1 < max_lines) canvasText(c, x + 2, y + ++line, w - 2, buf, ds);
            }
        }
    }
    return line;
}

/* Tick values 1, 2, 5 x 10^k within [lo, hi] (log10 bounds); `step` 1 keeps only 10^k. */
static int ticks125(double lo, double hi, int decades_only, double *out, int max)
{
    int n = 0;
    static const double mult[3] = {1, 2, 5};
    for (int k = (int)floor(lo) - 1; k <= (int)ceil(hi) && n < max; k++)
        for (int j = 0; j < (decades_only ? 1 : 3) && n < max; j++) {
            double v = mult[j] * pow(10, k);
            if (log10(v) >= lo && log10(v) <= hi) out[n++] = v;
        }
    return n;
}

static void fmtTick(double v, char *buf, size_t n)
{
    if (v >= 1e6) snprintf(buf, n, "%gM", v / 1e6);
    else if (v >= 1e4) snprintf(buf, n, "%gk", v / 1e3);
    else snprintf(buf, n, "%g", v);
}

static void scalingDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    canvasFill(c, r, ' ', stText(ctx));
    int x = r.x + 1 + canvasText(c, r.x + 1, r.y, -1, "Scaling", stTitle(ctx));
    char buf[256];
    snprintf(buf, sizeof buf, "  width vs rank \xc2\xb7 %s \xc2\xb7 log-log", siteName(st->sel_site));
    canvasText(c, x, r.y, r.w - (x - r.x) - 1, buf, stText(ctx));

    Family fam[MAX_FAMILIES];
    int nf = s ? collectFamilies(s, st->sel_site, fam) : 0;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int n_points = 0;
    for (int i = 0; s && i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        for (int rk = 0; rk < 2; rk++) {
            double w, v;
            if (snapshotModelPoint(m, st->sel_site, (RankKind)rk, &w, &v) <= 0) continue;
            n_points++;
            xlo = fmin(xlo, log10(w)), xhi = fmax(xhi, log10(w));
            ylo = fmin(ylo, log10(v)), yhi = fmax(yhi, log10(v));
        }
    }
    if (n_points == 0) {
        const char *msg = "no ranks computed yet";
        canvasText(c, r.x + (r.w - textColumns(msg)) / 2, r.y + r.h / 2, r.w - 2, msg, stDim(ctx));
        canvasUnclip(c);
        return;
    }
    double xpad = fmax(0.06 * (xhi - xlo), 0.08), ypad = fmax(0.08 * (yhi - ylo), 0.1);
    xlo -= xpad, xhi += xpad, ylo -= ypad, yhi += ypad;

    /* Legend to the right on wide screens, else below. */
    int legend_w = legendWidth(fam, nf);
    if (legend_w > 60) legend_w = 60;
    int legend_right = r.w >= 110 && r.w - legend_w - 3 >= 60;
    if (!legend_right) legend_w = r.w - 2;
    int legend_lines = legend_right ? 0 : legendHeight(fam, nf, legend_w);
    const int lw = 5;
    int ax = r.x + 1 + lw;                           /* y axis column */
    int px = ax + 1, pw = (legend_right ? r.w - legend_w - 3 : r.w - 2) - lw - 1;
    int py = r.y + 2, ph = r.h - 2 - 2 - legend_lines - (legend_lines ? 1 : 0);
    if (pw < 10 || ph < 4) {
        canvasText(c, r.x + 1, r.y + 2, r.w - 2, "not enough room for the plot", stDim(ctx));
        canvasUnclip(c);
        return;
    }
    int base_y = py + ph;
    canvasText(c, r.x + 1, r.y + 1, -1, "rank (median over layers)", stDim(ctx));

    /* Fitted lines first (braille), then the grid in the cells left empty,
     * then the markers on top. */
    Braille br;
    if (brailleInit(&br, (Rect){px, py, pw, ph}) == 0) {
        for (int k = 0; k < nf; k++) {
            double fx0 = INFINITY, fx1 = -INFINITY;
            for (int i = 0; i < s->n_models; i++)
                if (!strcmp(famName(&s->models[i]), fam[k].name) && s->models[i].width > 0) {
                    fx0 = fmin(fx0, log10(s->models[i].width));
                    fx1 = fmax(fx1, log10(s->models[i].width));
                }
            for (int rk = 0; rk < 2; rk++) {
                const FitSnapshot *fs = fam[k].fit[rk];
                if (!fs || !fs->fit.valid || !isfinite(fx0)) continue;
                int sx0 = (int)lround((fx0 - xlo) / (xhi - xlo) * (2 * pw - 1));
                int sx1 = (int)lround((fx1 - xlo) / (xhi - xlo) * (2 * pw - 1));
                int prev = -1, prev_y = 0;
                for (int sx = sx0; sx <= sx1; sx++) {
                    double lx = xlo + (double)sx / (2 * pw - 1) * (xhi - xlo);
                    double ly = fs->fit.log10_a + fs->fit.beta * lx;
                    int sy = (int)lround((ly - ylo) / (yhi - ylo) * (4 * ph - 1));
                    if (prev >= 0) brailleLine(&br, prev, prev_y, sx, sy, themeFamily(ctx->theme, fam[k].index),
                                               rk == RANK_HARD);
                    prev = sx, prev_y = sy;
                }
            }
        }
        brailleFlush(&br, c, ctx, 0);
        brailleFree(&br);
    }

    Style axis = stFg(ctx, ROLE_AXIS), grid = stFg(ctx, ROLE_GRID);
    double yt[32], xt[32];
    int nyt = ticks125(ylo, yhi, 0, yt, 32);
    if (nyt > ph / 2) nyt = ticks125(ylo, yhi, 1, yt, 32);
    int last_y = -10;
    for (int i = nyt - 1; i >= 0; i--) {
        int y = base_y - 1 - (int)lround((log10(yt[i]) - ylo) / (yhi - ylo) * (ph - 1));
        if (abs(y - last_y) < 2) continue;
        last_y = y;
        fmtTick(yt[i], buf, sizeof buf);
        canvasTextRight(c, ax, y, lw, buf, axis);
        canvasPut(c, ax, y, 0x2524, axis);
        if (ctx->depth != DEPTH_NONE)
            for (int xx = px; xx < px + pw; xx++) {
                const Cell *cell = canvasAt(c, xx, y);
                if (cell && cell->ch == ' ') canvasPut(c, xx, y, 0x2508, grid);   /* ┈ */
            }
    }
    /* x ticks: the models' widths when they fit, else 1-2-5 steps. */
    int nxt = 0;
    for (int i = 0; s && i < s->n_models && nxt < 32; i++) {
        int w = s->models[i].width, dup = 0;
        if (w <= 0) continue;
        for (int k = 0; k < nxt; k++) dup |= xt[k] == w;
        if (!dup) xt[nxt++] = w;
    }
    int widest = 0;
    for (int k = 0; k < nxt; k++) {
        fmtTick(xt[k], buf, sizeof buf);
        widest = (int)strlen(buf) > widest ? (int)strlen(buf) : widest;
    }
    if (nxt == 0 || nxt * (widest + 1) > pw) nxt = ticks125(xlo, xhi, 0, xt, 32);
    canvasVLine(c, ax, py, ph, 0x2502, axis);
    canvasPut(c, ax, base_y, 0x2514, axis);
    canvasHLine(c, px, base_y, pw, 0x2500, axis);
    int last_end = px - 2;
    /* Labels are placed left to right, skipping those that would collide. */
    for (int i = 1; i < nxt; i++)
        for (int j = i; j > 0 && xt[j] < xt[j - 1]; j--) {
            double t = xt[j];
            xt[j] = xt[j - 1], xt[j - 1] = t;
        }
    for (int k = 0; k < nxt; k++) {
        int xx = px + (int)lround((log10(xt[k]) - xlo) / (xhi - xlo) * (pw - 1));
        fmtTick(xt[k], buf, sizeof buf);
        int len = (int)strlen(buf), lx = xx - len / 2;
        if (lx <= last_end + 1 || lx + len > px + pw) continue;
        canvasPut(c, xx, base_y, 0x252c, axis);
        canvasText(c, lx, base_y + 1, len, buf, axis);
        last_end = lx + len - 1;
        if (ctx->depth != DEPTH_NONE)
            for (int y = py; y < base_y; y++) {
                const Cell *cell = canvasAt(c, xx, y);
                if (cell && cell->ch == ' ') canvasPut(c, xx, y, 0x250a, grid);
            }
    }
    if (last_end < px + pw - 9) canvasTextRight(c, px + pw, base_y + 1, 8, "width D", stDim(ctx));

    /* Markers: hard first so a soft marker on the same cell wins. */
    for (int rk = RANK_HARD; rk >= RANK_SOFT; rk--)
        for (int i = 0; i < s->n_models; i++) {
            const ModelSnapshot *m = &s->models[i];
            double w, v;
            if (snapshotModelPoint(m, st->sel_site, (RankKind)rk, &w, &v) <= 0) continue;
            int k = 0;
            while (k < nf && strcmp(fam[k].name, famName(m))) k++;
            if (k == nf) continue;
            int xx = px + (int)lround((log10(w) - xlo) / (xhi - xlo) * (pw - 1));
            int yy = base_y - 1 - (int)lround((log10(v) - ylo) / (yhi - ylo) * (ph - 1));
            Style ms = stFgColor(ctx, themeFamily(ctx->theme, fam[k].index));
            ms.attrs |= ATTR_BOLD;
            if (i == st->sel_model) ms.attrs |= ATTR_UNDERLINE;
            canvasPut(c, xx, yy, markers[fam[k].index % N_MARKERS][rk], ms);
        }

    if (legend_right) drawLegend(c, r.x + r.w - legend_w - 1, py, legend_w, r.h - 3, fam, nf, ctx);
    else drawLegend(c, r.x + 1, base_y + 2, legend_w, legend_lines, fam, nf, ctx);
    canvasUnclip(c);
}

const ViewClass scaling_view = {VIEW_SCALING, "Scaling", "scaling", scalingDraw};
