/* View 4, Table: every model x layer x site row with its metrics, sorted by
 * any column and filtered by a regex. Columns that do not fit are left out,
 * least useful first; the sort column always stays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

static const Column priority[COL_COUNT] = {
    COL_MODEL, COL_LAYER, COL_SITE, COL_EXPERT, COL_SUI, COL_SOFT_RANK, COL_HARD_RANK, COL_WIDTH, COL_ALPHA,
    COL_SOFT_UTIL, COL_HARD_UTIL, COL_CONCENTRATION, COL_EEE, COL_FAMILY, COL_TOKENS, COL_WARNINGS,
};

static int columnWidth(Column c, const Snapshot *s)
{
    int w = 0;
    switch (c) {
    case COL_MODEL:
    case COL_FAMILY:
        w = 6;
        for (int i = 0; s && i < s->n_models; i++) {
            const char *t = c == COL_MODEL ? s->models[i].name : s->models[i].family;
            int n = t ? textColumns(t) : 0;
            if (n > w) w = n;
        }
        return w > (c == COL_MODEL ? 24 : 10) ? (c == COL_MODEL ? 24 : 10) : w;
    case COL_WIDTH: return 5;
    case COL_LAYER: return 3;
    case COL_SITE: return 4;
    case COL_EXPERT:
        /* only for a model with experts */
        for (int i = 0; s && i < s->n_models; i++)
            for (int j = 0; j < s->models[i].n_rows; j++)
                if (s->models[i].rows[j].routed) return 6;
        return 0;
    case COL_TOKENS: return 7;
    case COL_HARD_RANK:
    case COL_SOFT_RANK: return 7;
    case COL_WARNINGS: return 18;
    default: return 6;
    }
}

void tableGeometry(Rect r, const Snapshot *s, const UiState *st, TableGeom *g)
{
    memset(g, 0, sizeof *g);
    g->header_y = r.y + 1;
    g->first_y = r.y + 2;
    g->n_visible = r.h - 2 > 0 ? r.h - 2 : 0;
    int want[COL_COUNT] = {0}, width[COL_COUNT];
    int used = 0, avail = r.w - 2;
    for (int i = 0; i < COL_COUNT; i++) width[i] = columnWidth((Column)i, s);
    /* The sort column right after the model name, then by priority. */
    Column order[COL_COUNT + 1];
    int no = 0;
    order[no++] = COL_MODEL;
    if (st->sort_col != COL_MODEL) order[no++] = st->sort_col;
    for (int i = 0; i < COL_COUNT; i++)
        if (priority[i] != COL_MODEL && priority[i] != st->sort_col) order[no++] = priority[i];
    for (int i = 0; i < no; i++) {
        if (!width[order[i]]) continue;
        int need = width[order[i]] + (used ? 1 : 0);
        if (used + need > avail) continue;
        want[order[i]] = 1;
        used += need;
    }
    int x = r.x + 1;
    for (int i = 0; i < COL_COUNT; i++) {
        if (!want[i]) continue;
        g->col[g->n_cols] = (Column)i;
        g->x[g->n_cols] = x;
        g->w[g->n_cols] = width[i];
        g->n_cols++;
        x += width[i] + 1;
    }
}

static void tableDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    canvasFill(c, r, ' ', stText(ctx));
    TableRow *rows = NULL;
    int n = s ? tableRows(s, st, &rows) : 0;
    int x = r.x + 1 + canvasText(c, r.x + 1, r.y, -1, "Table", stTitle(ctx));
    char buf[512];
    int len = snprintf(buf, sizeof buf, "  %d row%s \xc2\xb7 sort %s %s", n < 0 ? 0 : n, n == 1 ? "" : "s",
                       columnName(st->sort_col), st->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2");
    if (st->filter[0] && len > 0 && (size_t)len < sizeof buf)
        snprintf(buf + len, sizeof buf - (size_t)len, " \xc2\xb7 filter /%s/", st->filter);
    x += canvasText(c, x, r.y, r.w - (x - r.x) - 1, buf, stText(ctx));
    if (r.w - (x - r.x) > 30) canvasTextRight(c, r.x + r.w - 1, r.y, 28, "< > sort \xc2\xb7 / filter", stDim(ctx));

    TableGeom g;
    tableGeometry(r, s, st, &g);
    for (int i = 0; i < g.n_cols; i++) {
        Column col = g.col[i];
        Style hs = stDim(ctx);
        hs.attrs |= ATTR_UNDERLINE;
        if (col == st->sort_col) {
            hs = stFg(ctx, ROLE_ACCENT);
            hs.attrs |= ATTR_BOLD | ATTR_UNDERLINE;
            snprintf(buf, sizeof buf, "%s%s", columnTitle(col), st->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2");
        } else {
            snprintf(buf, sizeof buf, "%s", columnTitle(col));
        }
        if (columnIsNumeric(col)) canvasTextRight(c, g.x[i] + g.w[i], g.header_y, g.w[i], buf, hs);
        else canvasText(c, g.x[i], g.header_y, g.w[i], buf, hs);
    }
    if (n <= 0) {
        const char *msg = n < 0 ? "out of memory" : st->filter[0] ? "no rows match the filter" : "no rows yet";
        canvasText(c, r.x + 2, g.first_y + 1, r.w - 4, msg, stDim(ctx));
        canvasUnclip(c);
        return;
    }
    for (int k = 0; k < g.n_visible && st->table_scroll + k < n; k++) {
        int i = st->table_scroll + k, y = g.first_y + k;
        const ModelSnapshot *m = &s->models[rows[i].model];
        const LayerSnapshot *row = &m->rows[rows[i].row];
        int cursor = i == st->table_cursor;
        Style base = cursor ? stSelected(ctx) : stText(ctx);
        if (cursor) canvasHLine(c, r.x, y, r.w, ' ', base);
        for (int j = 0; j < g.n_cols; j++) {
            Column col = g.col[j];
            columnText(m, row, col, 0, buf, sizeof buf);
            Style cs = base;
            if (!cursor) {
                if (col == COL_WARNINGS && buf[0]) cs = stFg(ctx, ROLE_WARNING);
                else if (!strcmp(buf, "-") || col == COL_FAMILY || col == COL_SITE) cs = stDim(ctx);
                else if (col == COL_MODEL) cs.fg = ctx->theme->role[ROLE_TEXT];
            }
            if (columnIsNumeric(col)) canvasTextRight(c, g.x[j] + g.w[j], y, g.w[j], buf, cs);
            else canvasText(c, g.x[j], y, g.w[j], buf, cs);
        }
    }
    if (st->table_scroll > 0) canvasPut(c, r.x + r.w - 1, g.first_y, 0x25b2, stDim(ctx));
    if (n - st->table_scroll > g.n_visible) canvasPut(c, r.x + r.w - 1, g.first_y + g.n_visible - 1, 0x25bc, stDim(ctx));
    free(rows);
    canvasUnclip(c);
}

const ViewClass table_view = {VIEW_TABLE, "Table", "table", tableDraw};
