/* View 2, Heatmap: layers (rows) x models (columns), colour = the chosen
 * metric (a routed layer's cell the median over its experts); `x` turns it into layers x experts of the selected mixture-of-
 * experts model, where the load (tokens routed to each expert) is a metric
 * too. With colours and Unicode each text row holds two layers (upper
 * half block in the foreground colour, lower half in the background); else
 * each layer gets whole rows, shaded with glyphs when there is no colour. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

static int cmpInt(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* The shared expert sorts after the routed ones. */
static int cmpExpert(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    x = x == CAPTURE_SHARED ? INT_MAX : x, y = y == CAPTURE_SHARED ? INT_MAX : y;
    return x < y ? -1 : x > y;
}

static int sortUnique(int *v, int n, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || v[u - 1] != v[i]) v[u++] = v[i];
    return u;
}

/* The selected model when the heatmap shows its experts, else NULL. */
static const ModelSnapshot *expertModel(const Snapshot *s, const UiState *st)
{
    const ModelSnapshot *m = st->heat_experts ? uiSelectedModel(s, st) : NULL;
    return m && modelFirstExpertRow(m, st->sel_site) ? m : NULL;
}

/* Rows: title, model names, widths; then the grid; then legend and detail. */
enum { HEAT_TOP = 3, HEAT_BOTTOM = 2 };

int heatGeometry(Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx, HeatGeom *g)
{
    memset(g, 0, sizeof *g);
    int n_models = s ? s->n_models : 0;
    const ModelSnapshot *em = s ? expertModel(s, st) : NULL;
    int total = 0;
    if (em) total = em->n_rows;
    else
        for (int i = 0; i < n_models; i++) total += s->models[i].n_rows;
    if (total > 0) {
        /* the experts' columns share the layers' allocation */
        g->layers = malloc((size_t)total * (em ? 2 : 1) * sizeof *g->layers);
        if (!g->layers) return -1;
    }
    if (em) {
        g->experts = g->layers + total;
        for (int j = 0; j < em->n_rows; j++) {
            const LayerSnapshot *row = &em->rows[j];
            if (row->site != st->sel_site) continue;
            g->layers[g->n_layers++] = row->layer;
            if (row->routed) g->experts[g->n_models++] = row->expert;
        }
        g->n_models = sortUnique(g->experts, g->n_models, cmpExpert);
        n_models = g->n_models;
    } else {
        for (int i = 0; i < n_models; i++)
            for (int j = 0; j < s->models[i].n_rows; j++)
                if (s->models[i].rows[j].site == st->sel_site) g->layers[g->n_layers++] = s->models[i].rows[j].layer;
    }
    int u = sortUnique(g->layers, g->n_layers, cmpInt);
    g->n_layers = u;

    g->n_models = n_models;
    int max_layer = u ? g->layers[u - 1] : 0;
    char tmp[16];
    g->label_w = snprintf(tmp, sizeof tmp, "L%d", max_layer) + 1;
    int avail_w = r.w - 1 - g->label_w;
    g->cell_w = n_models > 0 ? avail_w / n_models : 0;
    if (g->cell_w > 18) g->cell_w = 18;
    if (g->cell_w < 1) g->cell_w = 1;
    /* More experts than columns (64, 128): one column each, scrolled sideways
     * to keep the selected one in view. */
    g->visible_cols = n_models;
    if (em && n_models > avail_w) g->visible_cols = avail_w > 2 ? avail_w - 1 : 1;   /* a column for ▶ */
    g->first_col = st->heat_col_scroll;
    if (g->first_col > n_models - g->visible_cols) g->first_col = n_models - g->visible_cols;
    if (g->first_col < 0) g->first_col = 0;
    int grid_h = r.h - HEAT_TOP - HEAT_BOTTOM;
    if (grid_h < 1) grid_h = 1;
    g->half_blocks = ctx->depth != DEPTH_NONE && !ctx->ascii;
    int halves = 2 * grid_h;
    if (u > 0) {
        /* Up to eight text rows per layer; below one half-row, scroll. */
        int per = halves / u;
        if (per > 16) per = 16;
        if (!g->half_blocks) per = per < 2 ? 2 : per - per % 2;   /* whole rows only */
        if (per < 1) per = 1;
        g->half_per_layer = per;
        g->visible_layers = halves / per;
        if (g->visible_layers > u) g->visible_layers = u;
    }
    g->first_layer = st->heat_scroll;
    if (g->first_layer > u - g->visible_layers) g->first_layer = u - g->visible_layers;
    if (g->first_layer < 0) g->first_layer = 0;
    int used_rows = (g->visible_layers * g->half_per_layer + 1) / 2;
    g->grid = (Rect){r.x + 1 + g->label_w, r.y + HEAT_TOP, g->cell_w * g->visible_cols, used_rows};
    return 0;
}

int heatHit(const HeatGeom *g, int x, int y, int *model, int *layer_index)
{
    if (!rectContains(g->grid, x, y) || g->half_per_layer <= 0) return 0;
    int m = g->first_col + (x - g->grid.x) / g->cell_w;
    /* A text row holds two half-rows: a click picks the upper one. */
    int li = g->first_layer + (2 * (y - g->grid.y)) / g->half_per_layer;
    if (m < 0 || m >= g->n_models || li < 0 || li >= g->n_layers) return 0;
    *model = m;
    *layer_index = li;
    return 1;
}

/* The value of an expert's cell: the load (the shared expert has none: every token
 * reaches it) or the metric; NAN when there is none. */
static double expertValue(const ModelSnapshot *m, const UiState *st, int layer, int expert)
{
    const LayerSnapshot *r = modelFindRow(m, layer, st->sel_site, expert);
    if (!r) return NAN;
    if (st->heat_load) return expert >= 0 && snapshotRowCounted(r) ? (double)snapshotRowTokens(r) : NAN;
    return r->n_eigen > 0 ? columnValue(m, r, st->heat_metric) : NAN;
}

/* Metric range over what the heatmap shows, for the colour scale. */
static void valueRange(const Snapshot *s, const HeatGeom *g, const UiState *st, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    const ModelSnapshot *em = g->experts ? uiSelectedModel(s, st) : NULL;
    for (int e = 0; em && e < g->n_models; e++)
        for (int li = 0; li < g->n_layers; li++) {
            double v = expertValue(em, st, g->layers[li], g->experts[e]);
            if (!isfinite(v)) continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    for (int m = 0; !em && m < g->n_models; m++)
        for (int li = 0; li < g->n_layers; li++) {
            double v = modelLayerValue(&s->models[m], g->layers[li], st->sel_site, st->heat_metric, NULL);
            if (!isfinite(v)) continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12) {
        double pad = fabs(*hi) > 0 ? fabs(*hi) * 0.05 : 0.5;
        *lo -= pad, *hi += pad;
    }
}

typedef struct HeatCell {
    int have;
    double v, t;    /* value and its position on the colour scale */
} HeatCell;

static HeatCell cellAt(const Snapshot *s, const UiState *st, const HeatGeom *g, int m, int li, double lo, double hi)
{
    HeatCell hc = {0, NAN, 0};
    if (li < 0 || li >= g->n_layers) return hc;
    if (g->experts) {
        hc.v = expertValue(uiSelectedModel(s, st), st, g->layers[li], g->experts[m]);
        if (!isfinite(hc.v)) return hc;
        hc.have = 1;
        hc.t = (hc.v - lo) / (hi - lo);
        return hc;
    }
    /* a routed layer's cell: the median over its experts (README "Dashboard") */
    hc.v = modelLayerValue(&s->models[m], g->layers[li], st->sel_site, st->heat_metric, NULL);
    if (!isfinite(hc.v)) return hc;
    hc.have = 1;
    hc.t = (hc.v - lo) / (hi - lo);
    return hc;
}

/* The middle text row whose both halves belong to a layer spanning
 * half-rows [first, first + per); -1 when there is none. */
static int fullRow(int first, int per)
{
    int ys = (first + 1) / 2, ye = (first + per) / 2 - 1;
    return ys <= ye ? (ys + ye) / 2 : -1;
}

static int labelRow(int first, int per)
{
    int y = fullRow(first, per);
    return y >= 0 ? y : first / 2;
}

static const uint32_t shades[5] = {' ', 0x2591, 0x2592, 0x2593, 0x2588};   /* ░▒▓█ */

static uint32_t shadeFor(double t)
{
    int i = (int)lround(t * 4);
    return shades[i < 0 ? 0 : i > 4 ? 4 : i];
}

/* The metric's name ("sui", "load") and its short title. */
static const char *metricName(const UiState *st) { return st->heat_load ? "load" : columnName(st->heat_metric); }
static const char *metricTitle(const UiState *st) { return st->heat_load ? "load" : columnTitle(st->heat_metric); }

static void fmtValue(const UiState *st, double v, int w, char *buf, size_t n)
{
    Column col = st->heat_metric;
    if (st->heat_load) {
        if (v < 10000 && w >= 4) snprintf(buf, n, "%.0f", v);
        else fmtCount((int64_t)v, buf, n);
    } else if (col == COL_HARD_RANK || col == COL_SOFT_RANK) {
        if (v >= 1000 || w < 5) fmtNum(v, buf, n);
        else snprintf(buf, n, "%.1f", v);
    } else if (col == COL_ALPHA) {
        snprintf(buf, n, "%.2f", v);
    } else {
        if (w >= 5) snprintf(buf, n, "%.3f", v);
        else fmtUnit(v, buf, n);
    }
}

static void drawLegend(Canvas *c, Rect r, int y, double lo, double hi, const UiState *st, const RenderCtx *ctx)
{
    char a[32], b[32];
    fmtValue(st, lo, 6, a, sizeof a);
    fmtValue(st, hi, 6, b, sizeof b);
    int x = r.x + 1;
    x += canvasText(c, x, y, -1, a, stDim(ctx)) + 1;
    int cells = r.w - 4 - textColumns(a) - textColumns(b) - 14;
    if (cells > 40) cells = 40;
    if (cells < 4) cells = 4;
    for (int i = 0; i < cells; i++) {
        double t = cells > 1 ? (double)i / (cells - 1) : 0;
        if (ctx->depth == DEPTH_NONE) canvasPut(c, x + i, y, shadeFor(t), stText(ctx));
        else canvasPut(c, x + i, y, ' ', (Style){COLOR_DEFAULT, themeGradient(ctx->theme, t), 0});
    }
    x += cells + 1;
    x += canvasText(c, x, y, -1, b, stDim(ctx)) + 2;
    canvasText(c, x, y, -1, metricTitle(st), stTitle(ctx));
}

/* The experts' column labels: every one when they fit, else "e0", "e16",
 * ... at a round step (and "sh") so that no two touch; the selected one
 * highlighted when it has a label. */
/* "e3", or "sh" for the shared expert. */
static void expertName(int e, char *buf, size_t len)
{
    if (e == CAPTURE_SHARED) snprintf(buf, len, "sh");
    else snprintf(buf, len, "e%d", e);
}

static void expertLabels(Canvas *c, Rect r, int y, const HeatGeom *g, const UiState *st, const RenderCtx *ctx)
{
    char buf[16];
    int widest = 2;   /* "sh" */
    for (int m = 0; m < g->n_models; m++) {
        int n = g->experts[m] >= 0 ? snprintf(buf, sizeof buf, "e%d", g->experts[m]) : 0;
        if (n > widest) widest = n;
    }
    static const int steps[] = {1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 256, 512};
    int k = 1;
    if (g->cell_w <= widest)
        for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
            if ((k = steps[i]) * g->cell_w > widest) break;
    /* the last label ("sh") may overhang the grid, unless a ▶ marks more columns there */
    int free_x = INT_MIN, end = g->first_col + g->visible_cols < g->n_models ? g->grid.x + g->grid.w : r.x + r.w;
    /* thinned, the selected expert's label still shows, and the others make room for it */
    int sel_x = INT_MAX, sel_end = INT_MAX;
    for (int m = g->first_col; k > 1 && m < g->first_col + g->visible_cols; m++)
        if (g->experts[m] == st->sel_expert) {
            sel_x = g->grid.x + (m - g->first_col) * g->cell_w;
            expertName(g->experts[m], buf, sizeof buf);
            sel_end = sel_x + textColumns(buf);
            if (sel_end > end) sel_x -= sel_end - end, sel_end = end;
            canvasText(c, sel_x, y, sel_end - sel_x, buf, stSelected(ctx));
        }
    for (int m = g->first_col; m < g->first_col + g->visible_cols; m++) {
        int e = g->experts[m], x = g->grid.x + (m - g->first_col) * g->cell_w;
        if (e >= 0 && e % k) continue;
        expertName(e, buf, sizeof buf);
        Style ls = e == st->sel_expert ? stSelected(ctx) : stDim(ctx);
        int len = textColumns(buf);
        if (k == 1) {
            canvasText(c, x, y, g->cell_w > 1 ? g->cell_w - 1 : 1, buf, ls);
        } else if (e != st->sel_expert && x >= free_x && x + len <= end && (x + len < sel_x || x > sel_end)) {
            canvasText(c, x, y, len, buf, ls);
            free_x = x + len + 1;
        }
    }
}

static void heatmapDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    canvasFill(c, r, ' ', stText(ctx));
    int x = r.x + 1 + canvasText(c, r.x + 1, r.y, -1, "Heatmap", stTitle(ctx));
    char buf[256];
    const ModelSnapshot *em = expertModel(s, st);
    if (em)
        snprintf(buf, sizeof buf, "  %s \xc2\xb7 %s \xc2\xb7 layers \xc3\x97 experts of %s", metricName(st),
                 siteName(st->sel_site), em->name);
    else
        snprintf(buf, sizeof buf, "  %s \xc2\xb7 %s \xc2\xb7 layers \xc3\x97 models", columnName(st->heat_metric),
                 siteName(st->sel_site));
    x += canvasText(c, x, r.y, r.w - 20, buf, stText(ctx));
    if (r.w > 70)
        canvasTextRight(c, r.x + r.w - 1, r.y, 24, em ? "m: metric \xc2\xb7 x: models" : "m: metric \xc2\xb7 v: site",
                        stDim(ctx));

    HeatGeom g;
    if (heatGeometry(r, s, st, ctx, &g) != 0 || g.n_layers == 0 || g.n_models == 0) {
        const char *msg = em                ? "no experts at this site"
                          : g.n_models == 0 ? "no models"
                                            : "no layers computed yet at this site";
        canvasText(c, r.x + (r.w - textColumns(msg)) / 2, r.y + r.h / 2, r.w - 2, msg, stDim(ctx));
        free(g.layers);
        canvasUnclip(c);
        return;
    }
    double lo, hi;
    valueRange(s, &g, st, &lo, &hi);
    int sel_li = -1;
    for (int i = 0; i < g.n_layers; i++)
        if (g.layers[i] == st->sel_layer) sel_li = i;

    /* Column headers: each family's name over its first column, then the
     * widths (model names would not fit and the sidebar has them); for
     * experts, the expert width over e0, e1, ..., sh. */
    if (em) {
        const LayerSnapshot *first = modelFirstExpertRow(em, st->sel_site);
        snprintf(buf, sizeof buf, "expert width %d", first->width > 0 ? first->width : em->width);
        canvasText(c, g.grid.x, r.y + 1, g.grid.w, buf, stTitle(ctx));
    }
    if (em) expertLabels(c, r, r.y + 2, &g, st, ctx);
    for (int m = 0; !em && m < g.n_models; m++) {
        int cx = g.grid.x + m * g.cell_w;
        const ModelSnapshot *ms = &s->models[m];
        const char *fam = ms->family && *ms->family ? ms->family : "other";
        const char *prev = m > 0 && s->models[m - 1].family ? s->models[m - 1].family : "";
        if (m == 0 || strcmp(fam, prev)) {
            int span = 0;
            for (int k = m; k < g.n_models && !strcmp(s->models[k].family ? s->models[k].family : "", ms->family ? ms->family : ""); k++)
                span += g.cell_w;
            canvasText(c, cx, r.y + 1, span - 1, fam, stTitle(ctx));
        }
        Style ws = m == st->sel_model ? stSelected(ctx) : stDim(ctx);
        snprintf(buf, sizeof buf, "%d", snapshotModelWidth(ms));
        canvasText(c, cx, r.y + 2, g.cell_w > 1 ? g.cell_w - 1 : 1, buf, ws);
    }

    /* Cells, two half-rows per text row. */
    Color empty = ctx->theme->role[ROLE_GRID];
    for (int y = 0; y < g.grid.h; y++) {
        int top_li = g.first_layer + (2 * y) / g.half_per_layer;
        int bot_li = g.first_layer + (2 * y + 1) / g.half_per_layer;
        if (top_li >= g.first_layer + g.visible_layers) top_li = -1;
        if (bot_li >= g.first_layer + g.visible_layers) bot_li = -1;
        int sy = g.grid.y + y;
        for (int m = g.first_col; m < g.first_col + g.visible_cols; m++) {
            HeatCell tc = cellAt(s, st, &g, m, top_li, lo, hi), bc = cellAt(s, st, &g, m, bot_li, lo, hi);
            Color tcol = tc.have ? themeGradient(ctx->theme, tc.t) : empty;
            Color bcol = bc.have ? themeGradient(ctx->theme, bc.t) : (bot_li < 0 ? bgColor(ctx) : empty);
            /* Wide cells keep a one-column gap so neighbours stay apart. */
            int w = g.cell_w >= 3 ? g.cell_w - 1 : g.cell_w;
            for (int i = 0; i < w; i++) {
                int sx = g.grid.x + (m - g.first_col) * g.cell_w + i;
                if (!g.half_blocks) {
                    if (ctx->depth == DEPTH_NONE)
                        canvasPut(c, sx, sy, tc.have ? shadeFor(tc.t) : (c->ascii ? '.' : 0x00b7), stText(ctx));
                    else canvasPut(c, sx, sy, ' ', (Style){COLOR_DEFAULT, tcol, 0});
                } else if (top_li == bot_li) {
                    canvasPut(c, sx, sy, ' ', (Style){COLOR_DEFAULT, tcol, 0});
                } else {
                    canvasPut(c, sx, sy, 0x2580, (Style){tcol, bcol, 0});   /* ▀ */
                }
            }
        }
    }

    /* Layer labels beside the row that shows the value (or where the layer
     * starts); the upper layer wins a shared row. */
    int last_label_y = -1;
    for (int li = g.first_layer; li < g.first_layer + g.visible_layers; li++) {
        int first_half = (li - g.first_layer) * g.half_per_layer;
        int y = labelRow(first_half, g.half_per_layer);
        if (y == last_label_y) continue;
        last_label_y = y;
        snprintf(buf, sizeof buf, "L%d", g.layers[li]);
        Style ls = li == sel_li ? stSelected(ctx) : stDim(ctx);
        canvasTextRight(c, g.grid.x - 1, g.grid.y + y, g.label_w, buf, ls);
    }

    /* Values (and the cursor) on a text row wholly inside a layer. */
    for (int li = g.first_layer; li < g.first_layer + g.visible_layers; li++) {
        int first_half = (li - g.first_layer) * g.half_per_layer;
        int y_full = fullRow(first_half, g.half_per_layer);
        for (int m = g.first_col; m < g.first_col + g.visible_cols; m++) {
            HeatCell hc = cellAt(s, st, &g, m, li, lo, hi);
            int selected = (em ? g.experts[m] == st->sel_expert : m == st->sel_model) && li == sel_li;
            int w = g.cell_w >= 3 ? g.cell_w - 1 : g.cell_w;
            int cx = g.grid.x + (m - g.first_col) * g.cell_w;
            int row_y = y_full >= 0 ? g.grid.y + y_full : g.grid.y + first_half / 2;
            Color cell_bg = hc.have ? themeGradient(ctx->theme, hc.t) : empty;
            Color ink = colorLuma(cell_bg) > 0.5 ? RGB(0, 0, 0) : RGB(255, 255, 255);
            if (y_full >= 0 && hc.have && w >= 4) {
                fmtValue(st, hc.v, w, buf, sizeof buf);
                int len = textColumns(buf);
                if (len <= w) {
                    Style vs = ctx->depth == DEPTH_NONE ? stText(ctx) : (Style){ink, cell_bg, 0};
                    int vx = cx + (w - len) / 2;
                    if (selected) {
                        vs.attrs |= ATTR_BOLD | (ctx->depth == DEPTH_NONE ? ATTR_REVERSE : 0);
                        /* brackets make the cursor plain even between similar colours */
                        if (len + 2 <= w) {
                            canvasPut(c, vx - 1, row_y, '[', vs);
                            canvasPut(c, vx + len, row_y, ']', vs);
                        } else {
                            vs.attrs |= ATTR_UNDERLINE;
                        }
                    }
                    canvasText(c, vx, row_y, len, buf, vs);
                    continue;
                }
            }
            ModelStatus ms_st = em ? MODEL_DONE : s->models[m].status;
            if (!hc.have && li == g.first_layer && y_full >= 0 &&
                (ms_st == MODEL_FAILED || ms_st == MODEL_QUEUED || ms_st == MODEL_LOADING)) {
                /* A model without spectra says why, once, at the top. */
                const char *why = ms_st == MODEL_FAILED ? "failed" : ms_st == MODEL_QUEUED ? "queued" : "loading";
                int len = textColumns(why);
                Style ws = ctx->depth == DEPTH_NONE ? stDim(ctx) : (Style){statusColor(ctx, ms_st), empty, 0};
                if (len <= w) canvasText(c, cx + (w - len) / 2, row_y, w, why, ws);
            }
            if (selected) {
                /* No room for a value: a diamond marks the cursor. */
                const Cell *cell = canvasAt(c, cx + w / 2, row_y);
                Color under = cell ? (cell->ch == 0x2580 ? cell->fg : cell->bg) : cell_bg;
                Color mk = colorLuma(under) > 0.5 ? RGB(0, 0, 0) : RGB(255, 255, 255);
                Style ms = {mk, under, ATTR_BOLD | (ctx->depth == DEPTH_NONE ? ATTR_REVERSE : 0)};
                canvasPut(c, cx + w / 2, row_y, 0x25c6, ms);
            }
        }
    }
    if (g.first_col > 0) canvasPut(c, g.grid.x - 1, r.y + 2, 0x25c0, stDim(ctx));   /* ◀ */
    if (g.first_col + g.visible_cols < g.n_models) canvasPut(c, g.grid.x + g.grid.w, r.y + 2, 0x25b6, stDim(ctx));
    if (g.first_layer > 0) canvasPut(c, g.grid.x - 1, g.grid.y, 0x25b2, stDim(ctx));
    if (g.first_layer + g.visible_layers < g.n_layers)
        canvasPut(c, g.grid.x - 1, g.grid.y + g.grid.h - 1, 0x25bc, stDim(ctx));

    int ly = r.y + r.h - 2;
    drawLegend(c, r, ly, lo, hi, st, ctx);
    const ModelSnapshot *ms = uiSelectedModel(s, st);
    const LayerSnapshot *row = uiSelectedRow(s, st);
    if (ms && row && !em && row->routed) {
        /* the cell of a routed layer is no one expert's */
        char v[32] = "-";
        int n_med;
        double val = modelLayerValue(ms, row->layer, row->site, st->heat_metric, &n_med);
        if (isfinite(val)) fmtValue(st, val, 6, v, sizeof v);
        snprintf(buf, sizeof buf, "%s \xc2\xb7 L%d %s \xc2\xb7 %s %s, median of %d expert%s \xc2\xb7 x: experts",
                 ms->name, row->layer, siteName(row->site), metricName(st), v, n_med, n_med == 1 ? "" : "s");
        canvasText(c, r.x + 1, ly + 1, r.w - 2, buf, stText(ctx));
    } else if (ms && row) {
        char v[32] = "-", ex[16] = "";
        double val = em ? expertValue(ms, st, row->layer, uiRowExpert(row))
                   : row->n_eigen > 0 ? columnValue(ms, row, st->heat_metric) : NAN;
        if (em ? isfinite(val) : row->n_eigen > 0) fmtValue(st, val, 6, v, sizeof v);
        if (row->routed && row->expert == CAPTURE_SHARED) snprintf(ex, sizeof ex, " shared");
        else if (row->routed) snprintf(ex, sizeof ex, " e%d", row->expert);
        snprintf(buf, sizeof buf, "%s \xc2\xb7 L%d %s%s \xc2\xb7 %s %s", ms->name, row->layer, siteName(row->site), ex,
                 metricName(st), v);
        if (row->n_eigen > 0)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " \xc2\xb7 HR %.1f SR %.1f of %d",
                     row->metrics.hard_rank, row->metrics.soft_rank, row->n_eigen);
        else if (snapshotRowCounted(row))
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " \xc2\xb7 %lld token%s routed",
                     (long long)snapshotRowTokens(row), snapshotRowTokens(row) == 1 ? "" : "s");
        canvasText(c, r.x + 1, ly + 1, r.w - 2, buf, stText(ctx));
    }
    free(g.layers);
    canvasUnclip(c);
}

const ViewClass heatmap_view = {VIEW_HEATMAP, "Heatmap", "heatmap", heatmapDraw};
