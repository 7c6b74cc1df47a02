/* Keys and mouse: a const dispatch table maps keys to actions (per view
 * where a key means something else there), the help screen and the status
 * bar hints are generated from the same tables. Everything here changes
 * only the view state; what reaches the worker or the disk is returned as
 * an Effect for app.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

typedef enum Action {
    ACT_NONE,
    ACT_UP, ACT_DOWN, ACT_LEFT, ACT_RIGHT, ACT_PGUP, ACT_PGDN, ACT_HOME, ACT_END,
    ACT_ENTER,
    ACT_VIEW1, ACT_VIEW2, ACT_VIEW3, ACT_VIEW4, ACT_NEXT_VIEW, ACT_PREV_VIEW,
    ACT_LOG, ACT_METRIC, ACT_METRIC_BACK, ACT_EXPERTS, ACT_SITE,
    ACT_SORT_PREV, ACT_SORT_NEXT, ACT_SORT_INVERT, ACT_FILTER,
    ACT_PAUSE, ACT_RESTART, ACT_THEME, ACT_SHOT, ACT_FIGURE, ACT_EXPORT,
    ACT_HELP, ACT_ESC, ACT_QUIT,
} Action;

#define IN(v) (1u << (v))
#define EVERYWHERE 0u

typedef struct Binding {
    int key;
    Action action;
    unsigned views;           /* IN(VIEW_...) bits; EVERYWHERE = 0 */
} Binding;

/* View-specific bindings come first: the first match wins, which is how `l`
 * toggles the spectrum's scale there and moves right everywhere else. */
static const Binding bindings[] = {
    {'l', ACT_LOG, IN(VIEW_SPECTRUM)},
    {'m', ACT_METRIC, IN(VIEW_HEATMAP)},
    {'M', ACT_METRIC_BACK, IN(VIEW_HEATMAP)},
    {'x', ACT_EXPERTS, IN(VIEW_HEATMAP)},
    {'<', ACT_SORT_PREV, IN(VIEW_TABLE)},
    {'>', ACT_SORT_NEXT, IN(VIEW_TABLE)},
    {'I', ACT_SORT_INVERT, IN(VIEW_TABLE)},
    {'/', ACT_FILTER, IN(VIEW_TABLE)},
    {KEY_UI_UP, ACT_UP, EVERYWHERE},
    {'k', ACT_UP, EVERYWHERE},
    {KEY_UI_DOWN, ACT_DOWN, EVERYWHERE},
    {'j', ACT_DOWN, EVERYWHERE},
    {KEY_UI_LEFT, ACT_LEFT, EVERYWHERE},
    {'h', ACT_LEFT, EVERYWHERE},
    {KEY_UI_RIGHT, ACT_RIGHT, EVERYWHERE},
    {'l', ACT_RIGHT, EVERYWHERE},
    {KEY_UI_PGUP, ACT_PGUP, EVERYWHERE},
    {KEY_UI_PGDN, ACT_PGDN, EVERYWHERE},
    {KEY_UI_HOME, ACT_HOME, EVERYWHERE},
    {'g', ACT_HOME, EVERYWHERE},
    {KEY_UI_END, ACT_END, EVERYWHERE},
    {'G', ACT_END, EVERYWHERE},
    {KEY_UI_ENTER, ACT_ENTER, EVERYWHERE},
    {'1', ACT_VIEW1, EVERYWHERE},
    {'2', ACT_VIEW2, EVERYWHERE},
    {'3', ACT_VIEW3, EVERYWHERE},
    {'4', ACT_VIEW4, EVERYWHERE},
    {KEY_UI_TAB, ACT_NEXT_VIEW, EVERYWHERE},
    {KEY_UI_BTAB, ACT_PREV_VIEW, EVERYWHERE},
    {'v', ACT_SITE, EVERYWHERE},
    {'p', ACT_PAUSE, EVERYWHERE},
    {'r', ACT_RESTART, EVERYWHERE},
    {'t', ACT_THEME, EVERYWHERE},
    {'s', ACT_SHOT, EVERYWHERE},
    {'f', ACT_FIGURE, EVERYWHERE},
    {'e', ACT_EXPORT, EVERYWHERE},
    {'?', ACT_HELP, EVERYWHERE},
    {KEY_UI_ESC, ACT_ESC, EVERYWHERE},
    {'q', ACT_QUIT, EVERYWHERE},
};

/* What each action does, for the help screen and the status bar hints. */
typedef struct ActionInfo {
    Action action, last;      /* the help line lists the keys of actions action..last */
    const char *what;
    const char *views;        /* "" everywhere */
    const char *hint_key, *hint;  /* status bar hint, NULL for none */
    unsigned hint_views;      /* where the hint shows (EVERYWHERE = all) */
    int live_only;            /* hint only while a worker runs */
} ActionInfo;

static const ActionInfo actions[] = {
    {ACT_VIEW1, ACT_VIEW4, "views: 1 Spectrum, 2 Heatmap, 3 Scaling, 4 Table", "", "1-4", "views", EVERYWHERE, 0},
    {ACT_NEXT_VIEW, ACT_PREV_VIEW, "next view, previous view", "", "Tab", "next", EVERYWHERE, 0},
    {ACT_UP, ACT_DOWN, "previous / next layer, cell or row", "", "\xe2\x86\x91\xe2\x86\x93", "move", EVERYWHERE, 0},
    {ACT_LEFT, ACT_RIGHT, "previous / next model", "", NULL, NULL, 0, 0},
    {ACT_PGUP, ACT_PGDN, "a page up / down", "", NULL, NULL, 0, 0},
    {ACT_HOME, ACT_END, "first / last", "", NULL, NULL, 0, 0},
    {ACT_ENTER, ACT_ENTER, "expand a model's layers; open a cell or row in Spectrum", "", "\xe2\x8f\x8e", "expand",
     IN(VIEW_SPECTRUM) | IN(VIEW_SCALING), 0},
    {ACT_LOG, ACT_LOG, "log / linear eigenvalue scale", "Spectrum", "l", "log/lin", IN(VIEW_SPECTRUM), 0},
    {ACT_METRIC, ACT_METRIC_BACK, "next / previous metric", "Heatmap", "m", "metric", IN(VIEW_HEATMAP), 0},
    {ACT_EXPERTS, ACT_EXPERTS, "layers \xc3\x97 experts of the selected model / layers \xc3\x97 models", "Heatmap", NULL,
     NULL, 0, 0},
    {ACT_SORT_PREV, ACT_SORT_NEXT, "sort by the column to the left / right", "Table", "</>", "sort", IN(VIEW_TABLE), 0},
    {ACT_SORT_INVERT, ACT_SORT_INVERT, "invert the sort order", "Table", NULL, NULL, 0, 0},
    {ACT_FILTER, ACT_FILTER, "filter rows (a regex; Enter applies, Esc clears)", "Table", "/", "filter", IN(VIEW_TABLE), 0},
    {ACT_SITE, ACT_SITE, "switch site (post / pre)", "", NULL, NULL, 0, 0},
    {ACT_PAUSE, ACT_PAUSE, "pause / resume the capture", "", "p", "pause", EVERYWHERE, 1},
    {ACT_RESTART, ACT_RESTART, "restart the selected model", "", NULL, NULL, 0, 0},
    {ACT_THEME, ACT_THEME, "next theme", "", "t", "theme", EVERYWHERE, 0},
    {ACT_SHOT, ACT_SHOT, "screenshot of the screen (.txt .ans .html .svg)", "", "s", "shot", EVERYWHERE, 0},
    {ACT_FIGURE, ACT_FIGURE, "the view as a figure for a paper (.pdf .svg .png)", "", NULL, NULL, 0, 0},
    {ACT_EXPORT, ACT_EXPORT, "export the table (.csv .md .json)", "", "e", "export", EVERYWHERE, 0},
    {ACT_HELP, ACT_HELP, "this help (? or Esc closes it)", "", "?", "help", EVERYWHERE, 0},
    {ACT_ESC, ACT_ESC, "close the help; clear the filter", "", NULL, NULL, 0, 0},
    {ACT_QUIT, ACT_QUIT, "quit (Ctrl-C too)", "", "q", "quit", EVERYWHERE, 0},
};

static const char *keyName(int key, char *buf)
{
    switch (key) {
    case KEY_UI_UP: return "\xe2\x86\x91";      /* ↑ */
    case KEY_UI_DOWN: return "\xe2\x86\x93";
    case KEY_UI_LEFT: return "\xe2\x86\x90";
    case KEY_UI_RIGHT: return "\xe2\x86\x92";
    case KEY_UI_PGUP: return "PgUp";
    case KEY_UI_PGDN: return "PgDn";
    case KEY_UI_HOME: return "Home";
    case KEY_UI_END: return "End";
    case KEY_UI_ENTER: return "Enter";
    case KEY_UI_ESC: return "Esc";
    case KEY_UI_TAB: return "Tab";
    case KEY_UI_BTAB: return "S-Tab";
    default: buf[0] = (char)key, buf[1] = '\0'; return buf;
    }
}

int uiKeyHelp(KeyHelp *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < sizeof actions / sizeof *actions && n < max; i++) {
        KeyHelp *h = &out[n];
        h->keys[0] = '\0';
        for (size_t b = 0; b < sizeof bindings / sizeof *bindings; b++) {
            if (bindings[b].action < actions[i].action || bindings[b].action > actions[i].last) continue;
            char one[2];
            const char *name = keyName(bindings[b].key, one);
            size_t len = strlen(h->keys);
            snprintf(h->keys + len, sizeof h->keys - len, "%s%s", len ? " " : "", name);
        }
        h->what = actions[i].what;
        h->views = actions[i].views;
        n++;
    }
    return n;
}

/* The view's own hints first, then help and quit (the two a newcomer needs
 * when the line is cut short), then the rest. */
static int hintRank(const ActionInfo *a)
{
    if (a->hint_views != EVERYWHERE) return 0;
    return a->action == ACT_HELP || a->action == ACT_QUIT ? 1 : 2;
}

int uiKeyHints(ViewId v, int live, KeyHint *out, int max)
{
    int n = 0;
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < sizeof actions / sizeof *actions && n < max; i++) {
            const ActionInfo *a = &actions[i];
            if (!a->hint || (a->live_only && !live) || hintRank(a) != pass) continue;
            if (a->hint_views != EVERYWHERE && !(a->hint_views & IN(v))) continue;
            out[n++] = (KeyHint){a->hint_key, a->hint};
        }
    return n;
}

static Action lookup(ViewId v, int key)
{
    for (size_t i = 0; i < sizeof bindings / sizeof *bindings; i++)
        if (bindings[i].key == key && (bindings[i].views == EVERYWHERE || (bindings[i].views & IN(v))))
            return bindings[i].action;
    return ACT_NONE;
}

/* ---- moving the selection ---- */

/* A layer picked in the heatmap or the table: the sidebar opens its model
 * and puts its cursor on that layer; where an expert was picked (the table,
 * layers x experts) it also opens the routed layer and goes to the expert. */
static void sidebarFollows(UiState *st, const Snapshot *s, int expert_level)
{
    if (st->sel_model >= 0 && st->sel_model < st->n_expanded) st->expanded[st->sel_model] = 1;
    st->on_model = 0;
    st->on_group = !expert_level;
    const ModelSnapshot *m = uiSelectedModel(s, st);
    const LayerSnapshot *r = m ? modelFindLayer(m, st->sel_layer, st->sel_site) : NULL;
    /* out of memory: the layer's line stands for its expert */
    if (expert_level && r && r->routed && uiLayerSetOpen(st, st->sel_model, r->layer, r->site, 1)) st->on_group = 1;
}

static void selectItem(UiState *st, const Snapshot *s, const SideItem *it)
{
    if (it->kind == SIDE_LAYER || it->kind == SIDE_EXPERT) {
        const ModelSnapshot *m = &s->models[it->model];
        const LayerSnapshot *r = &m->rows[it->row];
        /* a routed layer's line keeps the expert chosen in it (the spectrum shows that one) */
        int keep = it->kind == SIDE_LAYER && r->routed && st->sel_model == it->model && st->sel_layer == r->layer &&
                   st->sel_site == r->site && st->sel_expert != CAPTURE_DENSE &&
                   modelFindRow(m, r->layer, r->site, st->sel_expert);
        st->sel_model = it->model;
        st->sel_layer = r->layer;
        st->sel_site = r->site;
        if (!keep) st->sel_expert = uiRowExpert(r);
        st->on_model = 0;
        st->on_group = it->kind == SIDE_LAYER;
    } else {
        st->sel_model = it->model;
        st->on_model = 1;
    }
}

/* Enter on a sidebar line: a routed layer's line opens or closes its experts,
 * an expert's line closes its layer; elsewhere the model folds. */
static void sidebarEnter(UiState *st, const Snapshot *s)
{
    SideItem *items;
    int n = sidebarItems(s, st, &items);
    int cur = n > 0 ? sidebarCursor(s, st, items, n) : -1;
    const SideItem *it = cur >= 0 ? &items[cur] : NULL;
    const LayerSnapshot *r = it && (it->kind == SIDE_LAYER || it->kind == SIDE_EXPERT)
                               ? &s->models[it->model].rows[it->row] : NULL;
    if (r && r->routed) {
        int open = it->kind == SIDE_LAYER && !uiLayerOpen(st, it->model, r->layer, r->site);
        if (uiLayerSetOpen(st, it->model, r->layer, r->site, open)) uiMessage(st, 1, "out of memory");
        st->on_group = 1;
    } else if (st->sel_model >= 0 && st->sel_model < st->n_expanded) {
        st->expanded[st->sel_model] = !st->expanded[st->sel_model];
        st->on_model = 1;
    }
    if (n > 0) free(items);
}

/* Moves the sidebar cursor by delta selectable lines. */
static void sidebarMove(UiState *st, const Snapshot *s, int delta)
{
    SideItem *items;
    int n = sidebarItems(s, st, &items);
    if (n <= 0) return;
    int cur = sidebarCursor(s, st, items, n);
    if (cur < 0) cur = 0;
    int step = delta > 0 ? 1 : -1, left = abs(delta), i = cur, last = cur;
    while (left > 0) {
        i += step;
        if (i < 0 || i >= n) break;
        if (items[i].kind == SIDE_FAMILY) continue;
        last = i;
        left--;
    }
    if (last != cur) selectItem(st, s, &items[last]);
    free(items);
}

/* Layers x experts: left and right step through the experts' columns. */
static void expertMove(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int delta)
{
    HeatGeom g;
    if (heatGeometry(lay->main, s, st, ctx, &g) != 0 || g.n_models == 0) {
        free(g.layers);
        return;
    }
    int c = 0;
    for (int i = 0; i < g.n_models; i++)
        if (g.experts[i] == st->sel_expert) c = i;
    c += delta;
    if (c < 0) c = 0;
    if (c >= g.n_models) c = g.n_models - 1;
    st->sel_expert = g.experts[c];
    sidebarFollows(st, s, 1);
    free(g.layers);
}

static void modelMove(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int delta)
{
    if (s->n_models == 0) return;
    if (st->view == VIEW_HEATMAP && st->heat_experts) {
        expertMove(st, s, lay, ctx, delta);
        return;
    }
    int m = st->sel_model + delta;
    if (m < 0) m = 0;
    if (m >= s->n_models) m = s->n_models - 1;
    st->sel_model = m;
    if (st->view == VIEW_HEATMAP || st->view == VIEW_TABLE) sidebarFollows(st, s, st->view == VIEW_TABLE);
    /* Keep the cursor on a layer line only where that line is visible. */
    else if (!st->expanded[m]) st->on_model = 1;
}

static void heatMove(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int delta)
{
    HeatGeom g;
    if (heatGeometry(lay->main, s, st, ctx, &g) != 0 || g.n_layers == 0) {
        free(g.layers);
        return;
    }
    int li = 0;
    for (int i = 0; i < g.n_layers; i++)
        if (g.layers[i] <= st->sel_layer) li = i;
    li += delta;
    if (li < 0) li = 0;
    if (li >= g.n_layers) li = g.n_layers - 1;
    st->sel_layer = g.layers[li];
    sidebarFollows(st, s, g.experts != NULL);
    free(g.layers);
}

static int heatPage(const UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx)
{
    HeatGeom g;
    if (heatGeometry(lay->main, s, st, ctx, &g) != 0) {
        free(g.layers);
        return 1;
    }
    free(g.layers);
    return g.visible_layers > 1 ? g.visible_layers : 1;
}

static void tableMove(UiState *st, const Snapshot *s, int delta, int absolute)
{
    TableRow *rows;
    int n = tableRows(s, st, &rows);
    if (n <= 0) return;
    int c = absolute ? delta : st->table_cursor + delta;
    if (c < 0) c = 0;
    if (c >= n) c = n - 1;
    st->table_cursor = c;
    const ModelSnapshot *m = &s->models[rows[c].model];
    const LayerSnapshot *r = &m->rows[rows[c].row];
    st->sel_model = rows[c].model;
    st->sel_layer = r->layer;
    st->sel_site = r->site;
    st->sel_expert = uiRowExpert(r);
    sidebarFollows(st, s, 1);
    free(rows);
}

static int listPage(const Layout *lay) { return lay->main.h > 6 ? lay->main.h - 4 : 1; }

static void moveBy(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int delta)
{
    switch (st->view) {
    case VIEW_HEATMAP: heatMove(st, s, lay, ctx, delta); break;
    case VIEW_TABLE: tableMove(st, s, delta, 0); break;
    default: sidebarMove(st, s, delta); break;
    }
}

static void setSort(UiState *st, Column c)
{
    if (st->sort_col == c) {
        st->sort_desc = !st->sort_desc;
        return;
    }
    st->sort_col = c;
    /* Numbers read best largest first, names alphabetically. */
    st->sort_desc = columnIsNumeric(c) && c != COL_LAYER && c != COL_WIDTH;
}

static Effect filterKey(UiState *st, int key)
{
    size_t len = strlen(st->filter_edit);
    if (key == KEY_UI_ENTER) {
        snprintf(st->filter, sizeof st->filter, "%s", st->filter_edit);
        st->filter_editing = 0;
        st->table_cursor = 0;
        if (st->filter[0]) uiMessage(st, 0, "filter: %s", st->filter);
    } else if (key == KEY_UI_ESC) {
        st->filter_editing = 0;
        st->filter[0] = '\0';
        uiMessage(st, 0, "filter cleared");
    } else if (key == KEY_UI_BACKSPACE) {
        /* Drop a whole UTF-8 sequence. */
        while (len > 0 && (st->filter_edit[len - 1] & 0xc0) == 0x80) len--;
        if (len > 0) len--;
        st->filter_edit[len] = '\0';
    } else if (key >= 0x20 && key < 0x110000 && key != 0x7f) {
        char enc[4];
        int nb = utf8Encode((uint32_t)key, enc);
        if (len + (size_t)nb < sizeof st->filter_edit) {
            memcpy(st->filter_edit + len, enc, (size_t)nb);
            st->filter_edit[len + (size_t)nb] = '\0';
        }
    }
    return EFFECT_NONE;
}

Effect uiKey(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int key)
{
    if (st->filter_editing) return filterKey(st, key);
    Action a = lookup(st->view, key);
    if (lay->too_small) return a == ACT_QUIT ? EFFECT_QUIT : EFFECT_NONE;
    if (st->help) {
        int page = lay->help.h > 4 ? lay->help.h - 4 : 1;
        switch (a) {
        case ACT_UP: st->help_scroll--; break;
        case ACT_DOWN: st->help_scroll++; break;
        case ACT_PGUP: st->help_scroll -= page; break;
        case ACT_PGDN: st->help_scroll += page; break;
        case ACT_HOME: st->help_scroll = 0; break;
        case ACT_END: st->help_scroll = helpLines(lay->help.w - 4); break;
        case ACT_HELP:
        case ACT_ESC: st->help = 0; break;
        case ACT_QUIT: return EFFECT_QUIT;
        case ACT_SHOT: return EFFECT_SCREENSHOT;
        default: break;
        }
        if (st->help_scroll < 0) st->help_scroll = 0;
        return EFFECT_NONE;
    }
    switch (a) {
    case ACT_UP: moveBy(st, s, lay, ctx, -1); break;
    case ACT_DOWN: moveBy(st, s, lay, ctx, 1); break;
    case ACT_PGUP:
    case ACT_PGDN: {
        int page = st->view == VIEW_HEATMAP ? heatPage(st, s, lay, ctx) : listPage(lay);
        moveBy(st, s, lay, ctx, a == ACT_PGUP ? -page : page);
        break;
    }
    case ACT_HOME: moveBy(st, s, lay, ctx, -1000000); break;
    case ACT_END: moveBy(st, s, lay, ctx, 1000000); break;
    case ACT_LEFT: modelMove(st, s, lay, ctx, -1); break;
    case ACT_RIGHT: modelMove(st, s, lay, ctx, 1); break;
    case ACT_ENTER:
        if (st->view == VIEW_HEATMAP || st->view == VIEW_TABLE) st->view = VIEW_SPECTRUM;
        else sidebarEnter(st, s);
        break;
    case ACT_VIEW1: case ACT_VIEW2: case ACT_VIEW3: case ACT_VIEW4:
        st->view = (ViewId)(a - ACT_VIEW1);
        break;
    case ACT_NEXT_VIEW: st->view = (ViewId)((st->view + 1) % VIEW_COUNT); break;
    case ACT_PREV_VIEW: st->view = (ViewId)((st->view + VIEW_COUNT - 1) % VIEW_COUNT); break;
    case ACT_LOG:
        st->log_scale = !st->log_scale;
        uiMessage(st, 0, "spectrum: %s scale", st->log_scale ? "log" : "linear");
        break;
    case ACT_METRIC:
    case ACT_METRIC_BACK: {
        /* Cycles through the numeric metrics, SUI first; layers x experts
         * adds the load after them (index n_cols). */
        static const Column cycle[] = {COL_SUI, COL_SOFT_UTIL, COL_HARD_UTIL, COL_SOFT_RANK, COL_HARD_RANK,
                                       COL_CONCENTRATION, COL_EEE, COL_ALPHA};
        int n_cols = (int)(sizeof cycle / sizeof *cycle), n = n_cols + (st->heat_experts ? 1 : 0), i = 0;
        for (int k = 0; k < n_cols; k++)
            if (cycle[k] == st->heat_metric) i = k;
        if (st->heat_load) i = n_cols;
        i = (i + (a == ACT_METRIC ? 1 : n - 1)) % n;
        st->heat_load = i == n_cols;
        if (!st->heat_load) st->heat_metric = cycle[i];
        break;
    }
    case ACT_EXPERTS: {
        const ModelSnapshot *m = uiSelectedModel(s, st);
        const LayerSnapshot *first = m ? modelFirstExpertRow(m, st->sel_site) : NULL;
        if (st->heat_experts) {
            st->heat_experts = 0;
            st->heat_load = 0;
            uiMessage(st, 0, "heatmap: layers \xc3\x97 models");
        } else if (!first) {
            uiMessage(st, 0, "%s has no experts", m ? m->name : "no model");
        } else {
            st->heat_experts = 1;
            /* From a dense layer (or the other site), start on the first expert. */
            const LayerSnapshot *cur = uiSelectedRow(s, st);
            if (!cur || !cur->routed) {
                st->sel_layer = first->layer;
                st->sel_site = first->site;
                st->sel_expert = uiRowExpert(first);
            }
            sidebarFollows(st, s, 1);
            uiMessage(st, 0, "heatmap: layers \xc3\x97 experts of %s", m->name);
        }
        break;
    }
    case ACT_SITE: {
        Site next = st->sel_site == SITE_POST ? SITE_PRE : SITE_POST;
        const ModelSnapshot *m = uiSelectedModel(s, st);
        int have = 0;
        for (int i = 0; m && i < m->n_rows; i++) have |= m->rows[i].site == next;
        if (have) st->sel_site = next;
        else uiMessage(st, 0, "no %s site captured for this model", siteName(next));
        break;
    }
    case ACT_SORT_PREV:
    case ACT_SORT_NEXT:
        st->sort_col = (Column)((st->sort_col + (a == ACT_SORT_NEXT ? 1 : COL_COUNT - 1)) % COL_COUNT);
        st->sort_desc = columnIsNumeric(st->sort_col) && st->sort_col != COL_LAYER && st->sort_col != COL_WIDTH;
        break;
    case ACT_SORT_INVERT: st->sort_desc = !st->sort_desc; break;
    case ACT_FILTER:
        st->filter_editing = 1;
        snprintf(st->filter_edit, sizeof st->filter_edit, "%s", st->filter);
        break;
    case ACT_HELP:
        st->help = 1;
        st->help_scroll = 0;
        break;
    case ACT_ESC:
        if (st->filter[0] && st->view == VIEW_TABLE) {
            st->filter[0] = '\0';
            uiMessage(st, 0, "filter cleared");
        }
        break;
    case ACT_PAUSE: return EFFECT_PAUSE;
    case ACT_RESTART: return EFFECT_RESTART;
    case ACT_THEME: return EFFECT_THEME;
    case ACT_SHOT: return EFFECT_SCREENSHOT;
    case ACT_FIGURE: return EFFECT_FIGURE;
    case ACT_EXPORT: return EFFECT_EXPORT_TABLE;
    case ACT_QUIT: return EFFECT_QUIT;
    case ACT_NONE: break;
    }
    return EFFECT_NONE;
}

Effect uiMouse(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, MouseEvent ev, int x,
               int y)
{
    if (lay->too_small || st->filter_editing) return EFFECT_NONE;
    if (st->help) {
        if (ev == MOUSE_WHEEL_UP && st->help_scroll > 0) st->help_scroll -= 3;
        if (ev == MOUSE_WHEEL_DOWN) st->help_scroll += 3;
        if (st->help_scroll < 0) st->help_scroll = 0;
        if (ev == MOUSE_CLICK && !rectContains(lay->help, x, y)) st->help = 0;
        return EFFECT_NONE;
    }
    int wheel = ev == MOUSE_WHEEL_UP ? -1 : ev == MOUSE_WHEEL_DOWN ? 1 : 0;
    if (rectContains(lay->header, x, y) && ev == MOUSE_CLICK) {
        int tx[VIEW_COUNT], tw[VIEW_COUNT];
        headerTabs(lay->header, tx, tw);
        for (int v = 0; v < VIEW_COUNT; v++)
            if (x >= tx[v] && x < tx[v] + tw[v]) st->view = (ViewId)v;
        return EFFECT_NONE;
    }
    if (rectContains(lay->sidebar, x, y)) {
        if (wheel) {
            sidebarMove(st, s, wheel);
            return EFFECT_NONE;
        }
        int idx = st->side_scroll + (y - sidebarListTop(lay->sidebar));
        if (y < sidebarListTop(lay->sidebar)) return EFFECT_NONE;
        SideItem *items;
        int n = sidebarItems(s, st, &items);
        if (n > 0 && idx >= 0 && idx < n && items[idx].kind != SIDE_FAMILY) {
            const SideItem *it = &items[idx];
            int was = it->kind == SIDE_MODEL ? st->sel_model == it->model && st->on_model
                                             : sidebarCursor(s, st, items, n) == idx;
            selectItem(st, s, it);
            /* A click on the selected model or routed layer line (or its arrow) folds it. */
            const LayerSnapshot *r = it->kind == SIDE_LAYER ? &s->models[it->model].rows[it->row] : NULL;
            if (it->kind == SIDE_MODEL && (was || x <= lay->sidebar.x + 2))
                st->expanded[it->model] = !st->expanded[it->model];
            else if (r && r->routed && (was || x <= lay->sidebar.x + 3) &&
                     uiLayerSetOpen(st, it->model, r->layer, r->site, !uiLayerOpen(st, it->model, r->layer, r->site)))
                uiMessage(st, 1, "out of memory");
        }
        if (n > 0) free(items);
        return EFFECT_NONE;
    }
    if (!rectContains(lay->main, x, y)) return EFFECT_NONE;
    if (wheel) {
        moveBy(st, s, lay, ctx, st->view == VIEW_TABLE ? 3 * wheel : wheel);
        return EFFECT_NONE;
    }
    if (st->view == VIEW_HEATMAP) {
        HeatGeom g;
        if (heatGeometry(lay->main, s, st, ctx, &g) == 0) {
            int m, li;
            if (heatHit(&g, x, y, &m, &li)) {
                if (g.experts) st->sel_expert = g.experts[m];
                else st->sel_model = m;
                st->sel_layer = g.layers[li];
                sidebarFollows(st, s, g.experts != NULL);
            }
        }
        free(g.layers);
    } else if (st->view == VIEW_TABLE) {
        TableGeom g;
        tableGeometry(lay->main, s, st, &g);
        if (y == g.header_y) {
            for (int i = 0; i < g.n_cols; i++)
                if (x >= g.x[i] && x < g.x[i] + g.w[i] + 1) setSort(st, g.col[i]);
        } else if (y >= g.first_y && y < g.first_y + g.n_visible) {
            tableMove(st, s, st->table_scroll + (y - g.first_y), 1);
        }
    }
    return EFFECT_NONE;
}
