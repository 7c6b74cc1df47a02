/* The view state: selection, scrolling, sort and filter, kept consistent
 * with whatever snapshot arrives (models gain rows while they capture). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

void uiStateInit(UiState *st)
{
    memset(st, 0, sizeof *st);
    st->view = VIEW_SPECTRUM;
    st->sel_model = -1;
    st->sel_site = SITE_POST;
    st->sel_expert = CAPTURE_DENSE;
    st->on_model = 1;
    st->log_scale = 1;
    st->heat_metric = COL_SUI;
    st->sort_col = COL_MODEL;
}

void uiStateFree(UiState *st)
{
    free(st->expanded);
    st->expanded = NULL;
    st->n_expanded = 0;
    free(st->open_layers);
    st->open_layers = NULL;
    st->n_open_layers = st->cap_open_layers = 0;
}

/* A routed layer's experts are open per (model, layer, site): a layer keeps
 * its state while the other site or another model is looked at. */
struct UiOpenLayer {
    int model, layer;
    Site site;
};

static int openIndex(const UiState *st, int model, int layer, Site site)
{
    for (int i = 0; i < st->n_open_layers; i++)
        if (st->open_layers[i].model == model && st->open_layers[i].layer == layer &&
            st->open_layers[i].site == site)
            return i;
    return -1;
}

int uiLayerOpen(const UiState *st, int model, int layer, Site site) { return openIndex(st, model, layer, site) >= 0; }

int uiLayerSetOpen(UiState *st, int model, int layer, Site site, int open)
{
    int i = openIndex(st, model, layer, site);
    if (!open) {
        if (i >= 0) st->open_layers[i] = st->open_layers[--st->n_open_layers];
        return 0;
    }
    if (i >= 0) return 0;
    if (st->n_open_layers == st->cap_open_layers) {
        int cap = st->cap_open_layers ? 2 * st->cap_open_layers : 16;
        struct UiOpenLayer *o = realloc(st->open_layers, (size_t)cap * sizeof *o);
        if (!o) return -1;
        st->open_layers = o;
        st->cap_open_layers = cap;
    }
    st->open_layers[st->n_open_layers++] = (struct UiOpenLayer){model, layer, site};
    return 0;
}

void uiMessage(UiState *st, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
    st->message_error = is_error;
}

const ModelSnapshot *uiSelectedModel(const Snapshot *s, const UiState *st)
{
    if (!s || st->sel_model < 0 || st->sel_model >= s->n_models) return NULL;
    return &s->models[st->sel_model];
}

int uiRowExpert(const LayerSnapshot *r) { return r->routed ? r->expert : CAPTURE_DENSE; }

const LayerSnapshot *modelFindRow(const ModelSnapshot *m, int layer, Site site, int expert)
{
    for (int i = 0; i < m->n_rows; i++)
        if (m->rows[i].layer == layer && m->rows[i].site == site && uiRowExpert(&m->rows[i]) == expert)
            return &m->rows[i];
    return NULL;
}

const LayerSnapshot *modelFindLayer(const ModelSnapshot *m, int layer, Site site)
{
    for (int i = 0; i < m->n_rows; i++)
        if (m->rows[i].layer == layer && m->rows[i].site == site) return &m->rows[i];
    return NULL;
}

const LayerSnapshot *modelFirstExpertRow(const ModelSnapshot *m, Site site)
{
    const LayerSnapshot *any = NULL;
    for (int i = 0; m && i < m->n_rows; i++) {
        if (!m->rows[i].routed) continue;
        if (m->rows[i].site == site) return &m->rows[i];
        if (!any) any = &m->rows[i];
    }
    return any;
}

const LayerSnapshot *uiSelectedRow(const Snapshot *s, const UiState *st)
{
    const ModelSnapshot *m = uiSelectedModel(s, st);
    return m ? modelFindRow(m, st->sel_layer, st->sel_site, st->sel_expert) : NULL;
}

/* When the selected (layer, site, expert) does not exist in the model: the
 * first row of that layer and site (a routed layer's first expert), else the
 * nearest layer at the same site, else the first row. */
static void snapToRow(const ModelSnapshot *m, UiState *st)
{
    if (m->n_rows == 0 || modelFindRow(m, st->sel_layer, st->sel_site, st->sel_expert)) return;
    const LayerSnapshot *same = modelFindLayer(m, st->sel_layer, st->sel_site);
    if (same) {
        st->sel_expert = uiRowExpert(same);
        return;
    }
    const LayerSnapshot *best = NULL;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->site != st->sel_site) continue;
        if (!best || abs(r->layer - st->sel_layer) < abs(best->layer - st->sel_layer)) best = r;
    }
    if (!best) best = &m->rows[0];
    st->sel_layer = best->layer;
    st->sel_site = best->site;
    st->sel_expert = uiRowExpert(best);
}

static int clampInt(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The first of `visible` shown out of count, moved the least so that index
 * (-1: none) is among them. */
static int scrollToShow(int scroll, int index, int visible, int count)
{
    if (visible < 1) visible = 1;
    if (index >= 0) {
        if (index < scroll) scroll = index;
        if (index >= scroll + visible) scroll = index - visible + 1;
    }
    return clampInt(scroll, 0, count > visible ? count - visible : 0);
}

int uiSync(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx)
{
    int n_models = s ? s->n_models : 0;
    if (n_models > st->n_expanded) {
        unsigned char *e = realloc(st->expanded, (size_t)n_models);
        if (!e) return -1;
        memset(e + st->n_expanded, 0, (size_t)(n_models - st->n_expanded));
        st->expanded = e;
        st->n_expanded = n_models;
    }
    if (n_models == 0) {
        st->sel_model = -1;
        return 0;
    }
    if (st->sel_model < 0) {
        /* Start on the first model that has rows, expanded, on its first layer. */
        st->sel_model = 0;
        for (int i = 0; i < n_models; i++)
            if (s->models[i].n_rows > 0) {
                st->sel_model = i;
                break;
            }
        const ModelSnapshot *m = &s->models[st->sel_model];
        if (m->n_rows > 0) {
            st->sel_layer = m->rows[0].layer;
            st->sel_site = m->rows[0].site;
            st->sel_expert = uiRowExpert(&m->rows[0]);
        }
        st->expanded[st->sel_model] = 1;
    }
    st->sel_model = clampInt(st->sel_model, 0, n_models - 1);
    const ModelSnapshot *m = &s->models[st->sel_model];
    snapToRow(m, st);
    if (!st->expanded[st->sel_model] || m->n_rows == 0) st->on_model = 1;
    /* Layers x experts needs experts: another model selected (sidebar, table) may have none. */
    if (st->heat_experts && !modelFirstExpertRow(m, st->sel_site)) st->heat_experts = 0;
    if (!st->heat_experts) st->heat_load = 0;

    if (!lay || lay->too_small) return 0;
    if (st->help) {
        int over = helpLines(lay->help.w - 4) - (lay->help.h - 2);
        st->help_scroll = clampInt(st->help_scroll, 0, over > 0 ? over : 0);
    }

    /* Sidebar: keep the cursor line in the list area. */
    SideItem *items;
    int n = sidebarItems(s, st, &items);
    if (n < 0) return -1;
    int cur = sidebarCursor(s, st, items, n);
    int list_h = lay->sidebar.h - (sidebarListTop(lay->sidebar) - lay->sidebar.y);
    if (list_h < 1) list_h = 1;
    if (cur >= 0) {
        /* Show the family heading above the first model too. */
        int want_top = cur > 0 && items[cur - 1].kind == SIDE_FAMILY ? cur - 1 : cur;
        if (want_top < st->side_scroll) st->side_scroll = want_top;
        if (cur >= st->side_scroll + list_h) st->side_scroll = cur - list_h + 1;
    }
    st->side_scroll = clampInt(st->side_scroll, 0, n > list_h ? n - list_h : 0);
    free(items);

    /* Table: the cursor follows the selected layer when it is in the rows. */
    TableRow *rows;
    int nr = tableRows(s, st, &rows);
    if (nr < 0) return -1;
    int found = -1;
    for (int i = 0; i < nr; i++) {
        const LayerSnapshot *r = &s->models[rows[i].model].rows[rows[i].row];
        if (rows[i].model == st->sel_model && r->layer == st->sel_layer && r->site == st->sel_site &&
            uiRowExpert(r) == st->sel_expert)
            found = i;
    }
    if (found >= 0) st->table_cursor = found;
    st->table_cursor = clampInt(st->table_cursor, 0, nr > 0 ? nr - 1 : 0);
    TableGeom tg;
    tableGeometry(lay->main, s, st, &tg);
    int vis = tg.n_visible > 0 ? tg.n_visible : 1;
    /* A step past an edge scrolls by a line; a jump (a click elsewhere, a
     * selection made in another view) puts the cursor in the middle. */
    if (st->table_cursor == st->table_scroll - 1) st->table_scroll = st->table_cursor;
    else if (st->table_cursor == st->table_scroll + vis) st->table_scroll = st->table_cursor - vis + 1;
    else if (st->table_cursor < st->table_scroll || st->table_cursor >= st->table_scroll + vis)
        st->table_scroll = st->table_cursor - vis / 2;
    st->table_scroll = clampInt(st->table_scroll, 0, nr > vis ? nr - vis : 0);
    free(rows);

    /* Heatmap: keep the selected layer in view. */
    HeatGeom hg;
    if (heatGeometry(lay->main, s, st, ctx, &hg) != 0) return -1;
    int li = -1;
    for (int i = 0; i < hg.n_layers; i++)
        if (hg.layers[i] == st->sel_layer) li = i;
    st->heat_scroll = scrollToShow(st->heat_scroll, li, hg.visible_layers, hg.n_layers);
    /* and the selected expert's column */
    int col = -1;
    for (int i = 0; hg.experts && i < hg.n_models; i++)
        if (hg.experts[i] == st->sel_expert) col = i;
    st->heat_col_scroll = scrollToShow(st->heat_col_scroll, col, hg.visible_cols, hg.n_models);
    free(hg.layers);
    return 0;
}

