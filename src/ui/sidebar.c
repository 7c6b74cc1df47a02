/* The sidebar: models grouped by family (the snapshot keeps them sorted by
 * width within a family), each with its status, and when expanded its
 * layers with a mini SUI bar. */
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

int sidebarItems(const Snapshot *s, const UiState *st, SideItem **out)
{
    *out = NULL;
    if (!s || s->n_models == 0) return 0;
    int n = 0;
    for (int i = 0; i < s->n_models; i++) {
        n += 1 + (i == 0 || !sameFamily(&s->models[i - 1], &s->models[i]));
        if (i < st->n_expanded && st->expanded[i]) n += s->models[i].n_rows;
    }
    SideItem *items = malloc((size_t)n * sizeof *items);
    if (!items) return -1;
    int k = 0;
    for (int i = 0; i < s->n_models; i++) {
        if (i == 0 || !sameFamily(&s->models[i - 1], &s->models[i])) items[k++] = (SideItem){SIDE_FAMILY, i, -1};
        items[k++] = (SideItem){SIDE_MODEL, i, -1};
        if (i < st->n_expanded && st->expanded[i])
            for (int j = 0; j < s->models[i].n_rows; j++) items[k++] = (SideItem){SIDE_LAYER, i, j};
    }
    *out = items;
    return n;
}

int sidebarCursor(const Snapshot *s, const UiState *st, const SideItem *items, int n)
{
    int model_line = -1;
    for (int i = 0; i < n; i++) {
        if (items[i].model != st->sel_model) continue;
        if (items[i].kind == SIDE_MODEL) {
            model_line = i;
            if (st->on_model) return i;
        } else if (items[i].kind == SIDE_LAYER) {
            const LayerSnapshot *r = &s->models[items[i].model].rows[items[i].row];
            if (r->layer == st->sel_layer && r->site == st->sel_site && uiRowExpert(r) == st->sel_expert) return i;
        }
    }
    return model_line;
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
    if (m->width > 0) snprintf(width, sizeof width, "%d", m->width);
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

static void drawLayer(Canvas *c, Rect r, int y, const ModelSnapshot *m, const LayerSnapshot *row, int selected,
                      const RenderCtx *ctx)
{
    Style base = selected ? stSelected(ctx) : stText(ctx);
    canvasHLine(c, r.x, y, r.w, ' ', base);
    char label[32];
    /* a routed layer lists its experts, each its own line: "L0 post e3", "L0 post sh" (shared) */
    int label_w = row->routed ? 11 : 9;
    if (!row->routed) snprintf(label, sizeof label, "L%d %s", row->layer, siteName(row->site));
    else if (row->expert == CAPTURE_SHARED) snprintf(label, sizeof label, "L%d %s sh", row->layer, siteName(row->site));
    else snprintf(label, sizeof label, "L%d %s e%d", row->layer, siteName(row->site), row->expert);
    canvasText(c, r.x + 4, y, label_w, label, base);
    int bar_x = r.x + 5 + label_w, val_w = 4;
    int bar_w = r.w - (5 + label_w) - val_w - 2;
    if (bar_w < 3) return;
    (void)m;
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
        else drawLayer(c, r, y, m, &m->rows[it->row], i == cur, ctx);
    }
    /* Scroll hints when the list runs past the panel. */
    int list_h = r.y + r.h - top;
    if (st->side_scroll > 0) canvasPut(c, r.x + r.w - 3, r.y, 0x25b2, stDim(ctx));
    if (count - st->side_scroll > list_h) canvasPut(c, r.x + r.w - 2, r.y, 0x25bc, stDim(ctx));
    free(items);
    canvasUnclip(c);
}
