/* Golden screens: every view rendered from the fixture snapshot, as plain
 * text and ANSI, compared byte for byte with tests/ui/golden/. After an
 * intended change, regenerate them with tests/ui/regen_goldens.sh BUILD_DIR
 * and review the diff. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "fixture.h"
#include "ui/views.h"
#include "util/fileio.h"

typedef struct Golden {
    const char *name;
    int cols, rows;
    ViewId view;
    ColorDepth depth;
    int ascii, help;
    const char *select_model;   /* NULL: the default selection */
    int layer;
    Site site;
    void (*tweak)(UiState *st);
    int moe;                    /* the mixture-of-experts fixture */
} Golden;

static void sortBySuiFilterLlama(UiState *st)
{
    st->sort_col = COL_SUI;
    st->sort_desc = 1;
    snprintf(st->filter, sizeof st->filter, "llama");
}

static void linearScale(UiState *st) { st->log_scale = 0; }
static void softRankMetric(UiState *st) { st->heat_metric = COL_SOFT_RANK; }

/* The MoE fixture's model 1 (moe-e4): its layer 0 selected as a whole; its layer 1 open with
 * the cursor on expert 2, which got no token. */
static void moeLayerLine(UiState *st)
{
    st->on_group = 1;
    st->sel_expert = 0;
}
static void moeOpenExpert(UiState *st)
{
    uiLayerSetOpen(st, 1, 1, SITE_POST, 1);
    st->on_group = 0;
    st->sel_expert = 2;
}

static const Golden goldens[] = {
    {"spectrum-120x40", 120, 40, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"spectrum-80x24", 80, 24, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"spectrum-warnings-120x40", 120, 40, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, "llama-w384", 3, SITE_POST, NULL, 0},
    {"spectrum-linear-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, "gpt2-w256", 1, SITE_POST, linearScale, 0},
    {"spectrum-failed-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, "ngpt-w128", 0, SITE_POST, NULL, 0},
    {"heatmap-120x40", 120, 40, VIEW_HEATMAP, DEPTH_TRUE, 0, 0, "llama-w192", 2, SITE_POST, NULL, 0},
    {"heatmap-80x24", 80, 24, VIEW_HEATMAP, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, softRankMetric, 0},
    {"heatmap-mono-100x30", 100, 30, VIEW_HEATMAP, DEPTH_NONE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"scaling-120x40", 120, 40, VIEW_SCALING, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"scaling-80x24", 80, 24, VIEW_SCALING, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"scaling-160x50", 160, 50, VIEW_SCALING, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"table-120x40", 120, 40, VIEW_TABLE, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"table-80x24", 80, 24, VIEW_TABLE, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"table-sorted-filtered-120x40", 120, 40, VIEW_TABLE, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, sortBySuiFilterLlama, 0},
    {"help-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 0, 1, NULL, 0, SITE_POST, NULL, 0},
    {"ascii-spectrum-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 1, 0, NULL, 0, SITE_POST, NULL, 0},
    {"ascii-heatmap-100x30", 100, 30, VIEW_HEATMAP, DEPTH_256, 1, 0, NULL, 0, SITE_POST, NULL, 0},
    {"too-small-70x20", 70, 20, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, NULL, 0, SITE_POST, NULL, 0},
    {"moe-sidebar-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, "moe-e4", 0, SITE_POST, moeLayerLine, 1},
    {"moe-sidebar-open-100x30", 100, 30, VIEW_SPECTRUM, DEPTH_TRUE, 0, 0, "moe-e4", 1, SITE_POST, moeOpenExpert, 1},
};

static char *renderGolden(const Golden *g, int ansi, size_t *len)
{
    Snapshot *s = g->moe ? fixtureMoeSnapshot() : fixtureSnapshot();
    Theme t;
    themeDefault(&t);
    RenderCtx ctx = {&t, g->depth, g->ascii, 256u << 20, 1};
    Layout lay;
    layoutCompute(g->cols, g->rows, &lay);
    UiState st;
    uiStateInit(&st);
    st.view = g->view;
    st.help = g->help;
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    if (g->select_model) {
        for (int i = 0; i < s->n_models; i++)
            if (!strcmp(s->models[i].name, g->select_model)) st.sel_model = i;
        st.sel_layer = g->layer;
        st.sel_site = g->site;
        st.on_model = 0;
        st.expanded[st.sel_model] = 1;
    }
    if (g->tweak) g->tweak(&st);
    uiMessage(&st, 0, "saved exports/spectrum-20250101-120000.{txt,ans,html,svg}");
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    Canvas *c = canvasNew(g->cols, g->rows, g->ascii);
    uiRender(c, s, &st, &ctx);
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    if (ansi) exportAnsi(c, DEPTH_TRUE, fp);
    else exportTxt(c, fp);
    fclose(fp);
    canvasFree(c);
    uiStateFree(&st);
    snapshotRelease(s);
    return buf;
}

static void checkGolden(const Golden *g, int ansi)
{
    char path[512];
    snprintf(path, sizeof path, "tests/ui/golden/%s.%s", g->name, ansi ? "ans" : "txt");
    size_t len;
    char *got = renderGolden(g, ansi, &len);
    const char *regen = getenv("FFNSCOPE_REGEN_GOLDEN");
    if (regen && *regen) {
        Error err = {0};
        cr_assert_eq(fileWriteAtomic(path, got, len, &err), 0, "%s", err.msg);
        free(got);
        return;
    }
    char *want;
    size_t want_len;
    Error err = {0};
    cr_assert_eq(fileReadAll(path, &want, &want_len, &err), 0,
                 "%s (regenerate with tests/ui/regen_goldens.sh BUILD_DIR)", err.msg);
    if (want_len != len || memcmp(want, got, len)) {
        /* Point at the first differing line to make a failure readable. */
        int line = 1;
        size_t i = 0;
        while (i < len && i < want_len && got[i] == want[i]) line += got[i++] == '\n';
        char got_path[600];
        snprintf(got_path, sizeof got_path, "%s.got", path);
        fileWriteAtomic(got_path, got, len, &err);
        cr_assert_fail("%s differs from the golden at line %d (rendered copy in %s)", path, line, got_path);
    }
    free(want);
    free(got);
}

Test(golden, screens)
{
    for (size_t i = 0; i < sizeof goldens / sizeof *goldens; i++) {
        checkGolden(&goldens[i], 0);
        checkGolden(&goldens[i], 1);
    }
}

Test(golden, render_is_deterministic)
{
    size_t a_len, b_len;
    char *a = renderGolden(&goldens[0], 1, &a_len), *b = renderGolden(&goldens[0], 1, &b_len);
    cr_assert_eq(a_len, b_len);
    cr_assert_eq(memcmp(a, b, a_len), 0);
    free(a);
    free(b);
}

/* The words of text row y of the main area (non-ASCII cells and the cursor's
 * brackets split words). */
static int rowWords(const Canvas *c, Rect r, int y, char words[][16], int max)
{
    int n = 0, len = 0;
    for (int x = r.x; x <= r.x + r.w; x++) {
        const Cell *cell = x < r.x + r.w ? canvasAt(c, x, y) : NULL;
        int ch = cell && cell->ch > ' ' && cell->ch < 0x7f && cell->ch != '[' && cell->ch != ']' ? (int)cell->ch : 0;
        if (ch && len < 15) {
            if (n < max) words[n][len] = (char)ch;
            len++;
        } else if (!ch && len) {
            if (n < max) words[n][len] = '\0';
            n++, len = 0;
        }
    }
    return n;
}

static void checkRow(const Canvas *c, Rect r, int y, const char *const *want, int n_want)
{
    char words[32][16];
    int n = rowWords(c, r, y, words, 32);
    cr_assert_eq(n, n_want, "row %d: %d words, expected %d (%s ...)", y, n, n_want, n ? words[0] : "");
    for (int i = 0; i < n_want; i++) cr_assert_str_eq(words[i], want[i], "row %d word %d", y, i);
}

/* Layers x experts of the MoE fixture: SUI = k / D of its k-equal-eigenvalue spectra, then
 * the load is each expert's token count; the shared expert has no load; x on the dense
 * model changes nothing. */
Test(golden, expert_heatmap)
{
    Snapshot *s = fixtureMoeSnapshot();
    Theme t;
    themeDefault(&t);
    RenderCtx ctx = {&t, DEPTH_TRUE, 0, 0, 0};
    Layout lay;
    layoutCompute(120, 40, &lay);
    UiState st;
    uiStateInit(&st);
    st.view = VIEW_HEATMAP;
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert_eq(st.sel_model, 0);
    uiKey(&st, s, &lay, &ctx, 'x');
    cr_assert_eq(st.heat_experts, 0);
    cr_assert_str_eq(st.message, "dense-w64 has no experts");

    uiKey(&st, s, &lay, &ctx, KEY_UI_RIGHT);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert_eq(st.sel_model, 1);
    uiKey(&st, s, &lay, &ctx, 'x');
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert_eq(st.heat_experts, 1);
    cr_assert_eq(st.sel_expert, 0);

    HeatGeom g;
    cr_assert_eq(heatGeometry(lay.main, s, &st, &ctx, &g), 0);
    cr_assert_eq(g.n_models, 5);
    cr_assert_eq(g.n_layers, 2);
    cr_assert_eq(g.half_per_layer % 4, 0, "each layer has a text row of its own for its values");
    int y0 = g.grid.y + (g.half_per_layer / 2 - 1) / 2, y1 = y0 + g.half_per_layer / 2;
    free(g.layers);

    Canvas *c = canvasNew(120, 40, 0);
    uiRender(c, s, &st, &ctx);
    static const char *const head[] = {"e0", "e1", "e2", "e3", "sh"};
    checkRow(c, lay.main, lay.main.y + 2, head, 5);
    static const char *const sui0[] = {"L0", "0.250", "0.500", "0.750", "1.000", "0.125"};
    static const char *const sui1[] = {"L1", "1.000", "0.750", "0.250", "0.125"};
    checkRow(c, lay.main, y0, sui0, 6);
    checkRow(c, lay.main, y1, sui1, 5);

    /* M from SUI goes back to the last metric of the cycle: the load. */
    uiKey(&st, s, &lay, &ctx, 'M');
    cr_assert_eq(st.heat_load, 1);
    uiKey(&st, s, &lay, &ctx, KEY_UI_RIGHT);   /* e1 */
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert_eq(st.sel_expert, 1);
    uiRender(c, s, &st, &ctx);
    static const char *const load0[] = {"L0", "400", "100", "300", "200"};
    static const char *const load1[] = {"L1", "150", "350", "0", "500"};
    checkRow(c, lay.main, y0, load0, 5);
    checkRow(c, lay.main, y1, load1, 5);

    /* Back to layers x models: the load is no metric there. */
    uiKey(&st, s, &lay, &ctx, 'x');
    cr_assert_eq(st.heat_experts, 0);
    cr_assert_eq(st.heat_load, 0);
    cr_assert_eq(st.heat_metric, COL_SUI);
    canvasFree(c);
    uiStateFree(&st);
    snapshotRelease(s);
}

static void press(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int key)
{
    uiKey(st, s, lay, ctx, key);
    cr_assert_eq(uiSync(st, s, lay, ctx), 0);
}

/* The row of the sidebar line under its cursor. */
static int cursorLine(const Snapshot *s, const UiState *st, const Layout *lay)
{
    SideItem *items;
    int n = sidebarItems(s, st, &items);
    cr_assert_gt(n, 0);
    int cur = sidebarCursor(s, st, items, n);
    free(items);
    return sidebarListTop(lay->sidebar) + cur - st->side_scroll;
}

/* The MoE fixture in the sidebar: a routed layer is one line (experts counted, the median SUI
 * over its routed experts: ranks 8,16,24,32 of 32 -> .625; 32,24,-,8 -> .750) that Enter opens
 * into its experts (SUI = k/D each) and closes; expert 2 of layer 1 got no token: "0 tok" once
 * the model is done, "waiting" while it captures. The heatmap and the table move the sidebar
 * onto the expert they select; a click on a routed layer's arrow folds it. */
Test(golden, moe_sidebar)
{
    Snapshot *s = fixtureMoeSnapshot();
    Theme t;
    themeDefault(&t);
    RenderCtx ctx = {&t, DEPTH_TRUE, 0, 0, 0};
    Layout lay;
    layoutCompute(120, 40, &lay);
    UiState st;
    uiStateInit(&st);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    Canvas *c = canvasNew(120, 40, 0);
#define KEY(k) press(&st, s, &lay, &ctx, (k))
#define LINE(...)                                                                                  \
    do {                                                                                           \
        static const char *const want[] = {__VA_ARGS__};                                           \
        uiRender(c, s, &st, &ctx);                                                                 \
        checkRow(c, lay.sidebar, cursorLine(s, &st, &lay), want, (int)(sizeof want / sizeof *want)); \
    } while (0)

    /* dense-w64, its L0, L1, then moe-e4 (folded): Enter opens it */
    KEY(KEY_UI_DOWN); KEY(KEY_UI_DOWN); KEY(KEY_UI_DOWN);
    cr_assert_eq(st.sel_model, 1);
    cr_assert(st.on_model);
    KEY(KEY_UI_ENTER);
    cr_assert(st.expanded[1]);
    KEY(KEY_UI_DOWN);
    cr_assert(!st.on_model && st.on_group);
    cr_assert_eq(st.sel_layer, 0);
    cr_assert_eq(st.sel_expert, 0, "a routed layer's line shows its first expert's spectrum");
    LINE("L0", "post", "4+shared", ".625");
    KEY(KEY_UI_DOWN);
    LINE("L1", "post", "4+shared", ".750");
    cr_assert(!uiLayerOpen(&st, 1, 1, SITE_POST));
    KEY(KEY_UI_ENTER);
    cr_assert(uiLayerOpen(&st, 1, 1, SITE_POST) && st.on_group);
    static const char *const e0[] = {"e0", "1.00"}, *const e1[] = {"e1", ".750"}, *const e2[] = {"e2", "0", "tok"};
    static const char *const e3[] = {"e3", ".250"}, *const sh[] = {"shared", ".125"};
    const char *const *lines[] = {e0, e1, e2, e3, sh};
    static const int n_words[] = {2, 2, 3, 2, 2}, experts[] = {0, 1, 2, 3, CAPTURE_SHARED};
    for (int i = 0; i < 5; i++) {
        KEY(KEY_UI_DOWN);
        cr_assert(!st.on_group);
        cr_assert_eq(st.sel_expert, experts[i]);
        uiRender(c, s, &st, &ctx);
        checkRow(c, lay.sidebar, cursorLine(s, &st, &lay), lines[i], n_words[i]);
    }
    /* the end of the list: the cursor stays on the shared expert */
    KEY(KEY_UI_DOWN);
    cr_assert_eq(st.sel_expert, CAPTURE_SHARED);
    /* while the model captures, a 0-token expert is still waiting */
    KEY(KEY_UI_UP); KEY(KEY_UI_UP);
    cr_assert_eq(st.sel_expert, 2);
    s->models[1].status = MODEL_CAPTURING;
    LINE("e2", "waiting");
    s->models[1].status = MODEL_DONE;
    LINE("e2", "0", "tok");
    /* Enter on an expert closes its layer, the cursor on the layer's line */
    KEY(KEY_UI_ENTER);
    cr_assert(!uiLayerOpen(&st, 1, 1, SITE_POST) && st.on_group);
    LINE("L1", "post", "4+shared", ".750");
    /* Enter again opens it; Up from e0 goes back to the layer's line, keeping e0 */
    KEY(KEY_UI_ENTER); KEY(KEY_UI_DOWN); KEY(KEY_UI_UP);
    cr_assert(st.on_group && st.sel_expert == 0);

    /* a click on the arrow of L0 opens it; on the selected line again folds it */
    int y0 = cursorLine(s, &st, &lay) - 1;
    uiMouse(&st, s, &lay, &ctx, MOUSE_CLICK, lay.sidebar.x + 2, y0);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert(uiLayerOpen(&st, 1, 0, SITE_POST) && st.sel_layer == 0 && st.on_group);
    uiMouse(&st, s, &lay, &ctx, MOUSE_CLICK, lay.sidebar.x + 10, y0);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert(!uiLayerOpen(&st, 1, 0, SITE_POST));
    /* a click on an expert line selects the expert */
    uiMouse(&st, s, &lay, &ctx, MOUSE_CLICK, lay.sidebar.x + 10, y0 + 2);   /* L1 open: e0 under it */
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    cr_assert(st.sel_layer == 1 && st.sel_expert == 0 && !st.on_group);

    /* layers x experts: the cursor on e3 of layer 0 opens L0 in the sidebar, on e3 */
    st.view = VIEW_HEATMAP;
    KEY('x');
    KEY(KEY_UI_UP);
    for (int i = 0; i < 3; i++) KEY(KEY_UI_RIGHT);
    cr_assert(st.sel_layer == 0 && st.sel_expert == 3);
    cr_assert(uiLayerOpen(&st, 1, 0, SITE_POST) && !st.on_group);
    LINE("e3", "1.00");
    /* layers x models: a routed layer's cell is the median; the sidebar goes to the layer's line */
    KEY('x');
    KEY(KEY_UI_DOWN);
    cr_assert(st.sel_layer == 1 && st.on_group);
    LINE("L1", "post", "4+shared", ".750");
    HeatGeom g;
    cr_assert_eq(heatGeometry(lay.main, s, &st, &ctx, &g), 0);
    int yl0 = g.grid.y + (g.half_per_layer / 2 - 1) / 2, yl1 = yl0 + g.half_per_layer / 2;
    free(g.layers);
    uiRender(c, s, &st, &ctx);
    static const char *const cells0[] = {"L0", "0.250", "0.625"}, *const cells1[] = {"L1", "0.500", "0.750"};
    checkRow(c, lay.main, yl0, cells0, 3);
    checkRow(c, lay.main, yl1, cells1, 3);
    /* the table: a row of expert 1 of layer 0 */
    st.view = VIEW_TABLE;
    TableRow *rows;
    int nr = tableRows(s, &st, &rows), want = -1;
    for (int i = 0; i < nr; i++) {
        const LayerSnapshot *r = &s->models[rows[i].model].rows[rows[i].row];
        if (rows[i].model == 1 && r->layer == 0 && r->routed && r->expert == 1) want = i;
    }
    free(rows);
    cr_assert_geq(want, 0);
    KEY(KEY_UI_HOME);
    for (int i = 0; i < want; i++) KEY(KEY_UI_DOWN);
    cr_assert(st.sel_layer == 0 && st.sel_expert == 1 && !st.on_group);
    LINE("e1", ".500");
#undef KEY
#undef LINE
    canvasFree(c);
    uiStateFree(&st);
    snapshotRelease(s);
}
