/* The sidebar: models grouped by family (the snapshot keeps them sorted by
 * width within a family), each with its status, and when expanded its
 * layers with a mini SUI bar. A routed layer is one line that Enter opens
 * into its experts, so a model of 64 experts per layer stays a short list. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

static int sameFamily(const ModelSnapshot *a, const ModelSnapshot *b)
{
    const char *x = a->family ? a->family : "", *y = b->family ? b->family : "";
    return !strcmp(x, y);
}

/* Rows from j on that belong to the same routed layer (the snapshot keeps a
 * layer's experts together, sorted by expert); 1 for a dense row. */
static int groupRows(const ModelSnapshot *m, int j)
{
    const LayerSnapshot *a = &m->rows[j];
    int k = j + 1;
    if (a->routed)
        while (k < m->n_rows && m->rows[k].routed && m->rows[k].layer == a->layer && m->rows[k].site == a->site) k++;
    return k - j;
}

/* Fills items (when not NULL) and returns the count. */
static int listItems(const Snapshot *s, const UiState *st, SideItem *items)
{
    int k = 0;
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        if (i == 0 || !sameFamily(&s->models[i - 1], m)) {
            if (items) items[k] = (SideItem){SIDE_FAMILY, i, -1, 0};
            k++;
        }
        if (items) items[k] = (SideItem){SIDE_MODEL, i, -1, 0};
        k++;
        if (i >= st->n_expanded || !st->expanded[i]) continue;
        for (int j = 0; j < m->n_rows;) {
            int n = groupRows(m, j);
            if (items) items[k] = (SideItem){SIDE_LAYER, i, j, n};
            k++;
            if (m->rows[j].routed && uiLayerOpen(st, i, m->rows[j].layer, m->rows[j].site))
                for (int e = j; e < j + n; e++, k++)
                    if (items) items[k] = (SideItem){SIDE_EXPERT, i, e, 1};
            j += n;
        }
    }
    return k;
}

int sidebarItems(const Snapshot *s, const UiState *st, SideItem **out)
{
    *out = NULL;
    if (!s || s->n_models == 0) return 0;
    int n = listItems(s, st, NULL);
    SideItem *items = malloc((size_t)n * sizeof *items);
    if (!items) return -1;
    listItems(s, st, items);
    *out = items;
    return n;
}

/* The model line, else a routed layer's line when the cursor is on it or its
 * experts are not listed, else the selected layer's or expert's line. */
int sidebarCursor(const Snapshot *s, const UiState *st, const SideItem *items, int n)
{
    int model_line = -1, layer_line = -1;
    for (int i = 0; i < n; i++) {
        if (items[i].model != st->sel_model) continue;
        if (items[i].kind == SIDE_MODEL) {
            model_line = i;
            if (st->on_model) return i;
            continue;
        }
        if (items[i].kind == SIDE_FAMILY) continue;
        const LayerSnapshot *r = &s->models[items[i].model].rows[items[i].row];
        if (r->layer != st->sel_layer || r->site != st->sel_site) continue;
        if (items[i].kind == SIDE_EXPERT) {
            if (uiRowExpert(r) == st->sel_expert) return i;
        } else if (!r->routed) {
            if (st->sel_expert == CAPTURE_DENSE) return i;
        } else if (st->sel_expert != CAPTURE_DENSE) {
            layer_line = i;
            if (st->on_group || !uiLayerOpen(st, items[i].model, r->layer, r->site)) return i;
        }
    }
    return layer_line >= 0 ? layer_line : model_line;
}

int sidebarListTop(Rect r) { return r.y + 1; }

static void drawFamily(Canvas *c, Rect r, int y, const Snapshot *s, int model, const RenderCtx *ctx)
{
    int count = 0;
    for (int i = model; i < s->n_models && sameFamily(&s->models[model], &s->models[i]); i++) count++;
    const char *fam = s->models[model].family && *s->models[model].family ? s->models[model].family : "other";
    char buf[96];
    snprintf(buf, sizeof buf, "%s", fam);
    int x = r.x + 1;
    x += canvasText(c, x, y, r.w - 8, buf, stTitle(ctx));
    snprintf(buf, sizeof buf, " %d", count);
    canvasText(c, x, y, -1, buf, stDim(ctx));
}

static void drawModel(Canvas *c, Rect r, int y, const ModelSnapshot *m, int expanded, int selected,
                      const RenderCtx *ctx)
{
    Style base = selected ? stSelected(ctx) : stText(ctx);
    canvasHLine(c, r.x, y, r.w, ' ', base);
    uint32_t arrow = m->n_rows == 0 ? ' ' : expanded ? 0x25be : 0x25b8;   /* ▾ ▸ */
    Style dim = base;
    if (!selected) dim = stDim(ctx);
    canvasPut(c, r.x + 1, y, arrow, dim);

    char status[16], width[16];
    const char *st_txt = modelStatusText(m, status, sizeof status);
    Style st_style = base;
    if (!selected || ctx->depth != DEPTH_NONE) st_style.fg = statusColor(ctx, m->status);
    int right = r.x + r.w - 1;
    canvasTextRight(c, right, y, 7, st_txt, st_style);
    int w = snapshotModelWidth(m);
    if (w > 0) snprintf(width, sizeof width, "%d", w);
    else snprintf(width, sizeof width, "-");
    canvasTextRight(c, right - 8, y, 5, width, selected ? base : stDim(ctx));
    canvasText(c, r.x + 3, y, r.w - 3 - 14, m->name ? m->name : "?", base);

    /* A capturing model's line doubles as its progress bar. */
    if (m->status == MODEL_CAPTURING && m->tokens_target > 0 && !selected && ctx->depth != DEPTH_NONE) {
        double f = (double)m->tokens_done / (double)m->tokens_target;
        int cells = (int)lround(f * (r.w - 1));
        Color tint = colorLerp(bgColor(ctx), ctx->theme->role[ROLE_BAR], 0.28);
        for (int i = 0; i < cells && i < r.w - 1; i++) {
            const Cell *cell = canvasAt(c, r.x + i, y);
            if (cell) canvasRestyle(c, r.x + i, y, (Style){cell->fg, tint, cell->attrs});
        }
    }
}

static void drawLayer(Canvas *c, Rect r, int y, const LayerSnapshot *row, int selected, const RenderCtx *ctx)
{
    Style base = selected ? stSelected(ctx) : stText(ctx);
    canvasHLine(c, r.x, y, r.w, ' ', base);
    char label[32];
    int label_w = 9;
    snprintf(label, sizeof label, "L%d %s", row->layer, siteName(row->site));
    canvasText(c, r.x + 4, y, label_w, label, base);
    int bar_x = r.x + 5 + label_w, val_w = 4;
    int bar_w = r.w - (5 + label_w) - val_w - 2;
    if (bar_w < 3) return;
    if (row->n_eigen > 0) {
        Style on = {ctx->theme->role[ROLE_BAR], base.bg, 0};
        Style off = {ctx->theme->role[ROLE_GRID], base.bg, 0};
        if (selected && ctx->depth == DEPTH_NONE) on = off = base;
        drawHBar(c, bar_x, y, bar_w, row->metrics.sui, on, off);
        char v[16];
        fmtUnit(row->metrics.sui, v, sizeof v);
        canvasTextRight(c, r.x + r.w - 1, y, val_w, v, base);
    } else {
        canvasText(c, bar_x, y, bar_w, "waiting", selected ? base : stDim(ctx));
    }
}

/* Whether a model's rows are final: what has no spectrum then never gets one. */
static int captureOver(const ModelSnapshot *m) { return m->status == MODEL_DONE || m->status == MODEL_FAILED; }

/* The mini SUI bar and its value from bar_x to the right edge; without a value,
 * why: "waiting" while the capture runs, else the tokens an expert got ("0 tok")
 * or "-". */
static void drawSui(Canvas *c, Rect r, int y, int bar_x, double sui, const ModelSnapshot *m, const LayerSnapshot *row,
                    int selected, Style base, const RenderCtx *ctx)
{
    int val_w = 4, bar_w = r.x + r.w - val_w - 2 - bar_x;
    if (isfinite(sui)) {
        if (bar_w >= 3) {
            Style on = {ctx->theme->role[ROLE_BAR], base.bg, 0};
            Style off = {ctx->theme->role[ROLE_GRID], base.bg, 0};
            if (selected && ctx->depth == DEPTH_NONE) on = off = base;
            drawHBar(c, bar_x, y, bar_w, sui, on, off);
        }
        char v[16];
        fmtUnit(sui, v, sizeof v);
        canvasTextRight(c, r.x + r.w - 1, y, val_w, v, base);
        return;
    }
    char why[32] = "waiting";
    Style ws = selected ? base : stDim(ctx);
    if (captureOver(m) && row && snapshotRowCounted(row)) {
        char n[16];
        fmtCount(snapshotRowTokens(row), n, sizeof n);
        snprintf(why, sizeof why, "%s tok", n);
        if (!selected) ws = stFg(ctx, ROLE_WARNING);
    } else if (captureOver(m)) {
        snprintf(why, sizeof why, "-");
    }
    canvasText(c, bar_x, y, r.x + r.w - 1 - bar_x, why, ws);
}

/* A routed layer: its arrow, name, how many experts it opens into and the
 * median SUI over its routed experts (the heatmap's cell for it). */
static void drawGroup(Canvas *c, Rect r, int y, const ModelSnapshot *m, const SideItem *it, int open, int selected,
                      const RenderCtx *ctx)
{
    const LayerSnapshot *row = &m->rows[it->row];
    Style base = selected ? stSelected(ctx) : stText(ctx);
    canvasHLine(c, r.x, y, r.w, ' ', base);
    canvasPut(c, r.x + 2, y, open ? 0x25be : 0x25b8, selected ? base : stDim(ctx));   /* ▾ ▸ */
    char label[32];
    snprintf(label, sizeof label, "L%d %s", row->layer, siteName(row->site));
    canvasText(c, r.x + 4, y, 9, label, base);
    int routed = 0, shared = 0;
    for (int e = it->row; e < it->row + it->n_rows; e++) {
        if (m->rows[e].expert == CAPTURE_SHARED) shared = 1;
        else routed++;
    }
    /* the longest that fits left of the value (a column closer than the bars:
     * "8 experts" fits the narrowest sidebar) */
    int val_w = 4, avail = r.w - 13 - val_w - 2;
    static const char *const with_shared[] = {"%d + shared", "%d+shared", "%d+sh"};
    static const char *const without[] = {"%d experts", "%d exp", "%de"};
    char count[32] = "";
    for (int f = 0; f < 3; f++) {
        snprintf(count, sizeof count, shared ? with_shared[f] : without[f], routed);
        if (textColumns(count) <= avail) break;
    }
    canvasText(c, r.x + 13, y, avail, count, selected ? base : stDim(ctx));
    double sui = modelLayerValue(m, row->layer, row->site, COL_SUI, NULL);
    char v[16] = "";
    if (isfinite(sui)) fmtUnit(sui, v, sizeof v);
    else if (captureOver(m)) snprintf(v, sizeof v, "-");
    canvasTextRight(c, r.x + r.w - 1, y, val_w, v, base);
}

/* One expert of an open routed layer, indented under it. */
static void drawExpert(Canvas *c, Rect r, int y, const ModelSnapshot *m, const LayerSnapshot *row, int selected,
                       const RenderCtx *ctx)
{
    Style base = selected ? stSelected(ctx) : stText(ctx);
    canvasHLine(c, r.x, y, r.w, ' ', base);
    char label[16];
    if (row->expert == CAPTURE_SHARED) snprintf(label, sizeof label, "shared");
    else snprintf(label, sizeof label, "e%d", row->expert);
    canvasText(c, r.x + 6, y, 7, label, base);
    drawSui(c, r, y, r.x + 14, row->n_eigen > 0 ? row->metrics.sui : NAN, m, row, selected, base, ctx);
}

void sidebarDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    canvasFill(c, r, ' ', stText(ctx));
    int done = 0, n = s ? s->n_models : 0;
    for (int i = 0; i < n; i++) done += s->models[i].status == MODEL_DONE;
    char title[64];
    snprintf(title, sizeof title, "Models");
    int x = r.x + 1 + canvasText(c, r.x + 1, r.y, -1, title, stTitle(ctx));
    snprintf(title, sizeof title, "  %d/%d done", done, n);
    canvasText(c, x, r.y, -1, title, stDim(ctx));

    SideItem *items;
    int count = sidebarItems(s, st, &items);
    if (count <= 0) {
        canvasText(c, r.x + 1, r.y + 2, r.w - 2, count < 0 ? "out of memory" : "no models", stDim(ctx));
        canvasUnclip(c);
        return;
    }
    int cur = sidebarCursor(s, st, items, count);
    int top = sidebarListTop(r);
    for (int i = st->side_scroll; i < count && top + (i - st->side_scroll) < r.y + r.h; i++) {
        int y = top + (i - st->side_scroll);
        const SideItem *it = &items[i];
        const ModelSnapshot *m = &s->models[it->model];
        int exp = it->model < st->n_expanded && st->expanded[it->model];
        if (it->kind == SIDE_FAMILY) drawFamily(c, r, y, s, it->model, ctx);
        else if (it->kind == SIDE_MODEL) drawModel(c, r, y, m, exp, i == cur, ctx);
        else if (it->kind == SIDE_EXPERT) drawExpert(c, r, y, m, &m->rows[it->row], i == cur, ctx);
        else if (m->rows[it->row].routed)
            drawGroup(c, r, y, m, it, uiLayerOpen(st, it->model, m->rows[it->row].layer, m->rows[it->row].site),
                      i == cur, ctx);
        else drawLayer(c, r, y, &m->rows[it->row], i == cur, ctx);
    }
    /* Scroll hints when the list runs past the panel. */
    int list_h = r.y + r.h - top;
    if (st->side_scroll > 0) canvasPut(c, r.x + r.w - 3, r.y, 0x25b2, stDim(ctx));
    if (count - st->side_scroll > list_h) canvasPut(c, r.x + r.w - 2, r.y, 0x25bc, stDim(ctx));
    free(items);
    canvasUnclip(c);
}
