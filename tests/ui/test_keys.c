/* Keys and mouse change only the view state: checked without a terminal. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ui/views.h"

static Snapshot *s;
static Theme theme;
static RenderCtx ctx;
static Layout lay;
static UiState st;

static void setup(void)
{
    s = fixtureSnapshot();
    themeDefault(&theme);
    ctx = (RenderCtx){&theme, DEPTH_TRUE, 0, 0, 1};
    layoutCompute(120, 40, &lay);
    uiStateInit(&st);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
}

static void teardown(void)
{
    uiStateFree(&st);
    snapshotRelease(s);
}

static Effect key(int k)
{
    Effect e = uiKey(&st, s, &lay, &ctx, k);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    return e;
}

static Effect click(MouseEvent ev, int x, int y)
{
    Effect e = uiMouse(&st, s, &lay, &ctx, ev, x, y);
    cr_assert_eq(uiSync(&st, s, &lay, &ctx), 0);
    return e;
}

static int modelIndex(const char *name)
{
    for (int i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name)) return i;
    return -1;
}

TestSuite(keys, .init = setup, .fini = teardown);

Test(keys, starts_on_the_first_model_expanded)
{
    cr_assert_eq(st.view, VIEW_SPECTRUM);
    cr_assert_eq(st.sel_model, 0);
    cr_assert(st.expanded[0]);
    cr_assert_eq(st.sel_layer, 0);
    cr_assert(st.on_model);
}

Test(keys, views_by_number_and_tab)
{
    key('2');
    cr_assert_eq(st.view, VIEW_HEATMAP);
    key('4');
    cr_assert_eq(st.view, VIEW_TABLE);
    key(KEY_UI_TAB);
    cr_assert_eq(st.view, VIEW_SPECTRUM);
    key(KEY_UI_BTAB);
    cr_assert_eq(st.view, VIEW_TABLE);
    key('3');
    cr_assert_eq(st.view, VIEW_SCALING);
}

Test(keys, effects)
{
    cr_assert_eq(key('q'), EFFECT_QUIT);
    cr_assert_eq(key('s'), EFFECT_SCREENSHOT);
    cr_assert_eq(key('e'), EFFECT_EXPORT_TABLE);
    cr_assert_eq(key('f'), EFFECT_FIGURE);
    cr_assert_eq(key('p'), EFFECT_PAUSE);
    cr_assert_eq(key('r'), EFFECT_RESTART);
    cr_assert_eq(key('t'), EFFECT_THEME);
    cr_assert_eq(key('x'), EFFECT_NONE);
}

Test(keys, help_opens_scrolls_and_closes)
{
    key('?');
    cr_assert(st.help);
    key('j');
    key('j');
    cr_assert_eq(st.help_scroll, 2);
    cr_assert_eq(key('2'), EFFECT_NONE);
    cr_assert_eq(st.view, VIEW_SPECTRUM, "view keys do nothing under the help");
    key(KEY_UI_ESC);
    cr_assert(!st.help);
    key('?');
    key('?');
    cr_assert(!st.help);
    key('?');
    cr_assert_eq(key('q'), EFFECT_QUIT, "q quits from the help too");
}

Test(keys, sidebar_moves_through_layers_then_models)
{
    key('j');   /* from the model line onto its first layer */
    cr_assert(!st.on_model);
    cr_assert_eq(st.sel_model, 0);
    cr_assert_eq(st.sel_layer, 0);
    key(KEY_UI_DOWN);
    cr_assert_eq(st.sel_layer, 1);
    key('j');
    key('j');
    cr_assert_eq(st.sel_layer, 3);
    key('j');   /* past the last layer: the next model's line */
    cr_assert_eq(st.sel_model, 1);
    cr_assert(st.on_model);
    key(KEY_UI_ENTER);   /* expand it */
    cr_assert(st.expanded[1]);
    key('j');
    cr_assert(!st.on_model);
    cr_assert_eq(st.sel_model, 1);
    key('k');
    key('k');
    cr_assert_eq(st.sel_model, 0);
    cr_assert_eq(st.sel_layer, 3);
    key(KEY_UI_END);
    cr_assert_eq(st.sel_model, s->n_models - 1);
    key(KEY_UI_HOME);
    cr_assert_eq(st.sel_model, 0);
    cr_assert(st.on_model);
}

Test(keys, l_toggles_log_in_spectrum_and_moves_right_elsewhere)
{
    cr_assert(st.log_scale);
    key('l');
    cr_assert(!st.log_scale);
    cr_assert_eq(st.sel_model, 0);
    key('2');
    key('l');
    cr_assert_eq(st.sel_model, 1);
    cr_assert(!st.log_scale);
    key('h');
    cr_assert_eq(st.sel_model, 0);
}

Test(keys, heatmap_cursor_and_metric)
{
    key('2');
    key('j');
    key('j');
    cr_assert_eq(st.sel_layer, 2);
    key(KEY_UI_RIGHT);
    key(KEY_UI_RIGHT);
    cr_assert_eq(st.sel_model, 2);
    cr_assert_eq(st.sel_layer, 2, "the layer is kept across models");
    cr_assert(st.expanded[2] && !st.on_model, "the sidebar follows the heatmap cursor onto the layer");
    cr_assert_eq(st.heat_metric, COL_SUI);
    key('m');
    cr_assert_eq(st.heat_metric, COL_SOFT_UTIL);
    key('M');
    key('M');
    cr_assert_eq(st.heat_metric, COL_ALPHA);
    key(KEY_UI_ENTER);
    cr_assert_eq(st.view, VIEW_SPECTRUM, "Enter opens the cell in Spectrum");
    cr_assert_eq(st.sel_model, 2);
}

Test(keys, table_sort_and_filter)
{
    key('4');
    cr_assert_eq(st.sort_col, COL_MODEL);
    key('>');
    cr_assert_eq(st.sort_col, COL_FAMILY);
    key('<');
    key('<');
    cr_assert_eq(st.sort_col, COL_WARNINGS);
    key('I');
    int desc = st.sort_desc;
    key('I');
    cr_assert_neq(st.sort_desc, desc);

    key('/');
    cr_assert(st.filter_editing);
    const char *typed = "llamx";
    for (const char *p = typed; *p; p++) key(*p);
    key(KEY_UI_BACKSPACE);
    key('a');
    cr_assert_str_eq(st.filter_edit, "llama");
    cr_assert_eq(key('q'), EFFECT_NONE, "q is text while typing a filter");
    key(KEY_UI_BACKSPACE);
    key(KEY_UI_ENTER);
    cr_assert(!st.filter_editing);
    cr_assert_str_eq(st.filter, "llama");
    TableRow *rows;
    int n = tableRows(s, &st, &rows);
    cr_assert_eq(n, 8 + 4 + 4, "llama-w96 has both sites");
    for (int i = 0; i < n; i++) cr_assert_str_eq(s->models[rows[i].model].family, "llama");
    free(rows);
    key(KEY_UI_ESC);
    cr_assert_str_eq(st.filter, "");
}

Test(keys, table_regex_filter_and_cursor_selects)
{
    key('4');
    snprintf(st.filter, sizeof st.filter, "w(64|96) .* L3 ");
    TableRow *rows;
    int n = tableRows(s, &st, &rows);
    cr_assert_eq(n, 3, "gpt2-w64 L3 post, llama-w96 L3 post and pre");
    free(rows);
    snprintf(st.filter, sizeof st.filter, "[unclosed");   /* not a regex: a plain substring */
    cr_assert_eq(tableRows(s, &st, &rows), 0);
    st.filter[0] = '\0';
    key('j');
    key('j');
    cr_assert_eq(st.table_cursor, 2);
    cr_assert_eq(st.sel_model, 0);
    cr_assert_eq(st.sel_layer, 2, "the cursor row becomes the selection");
    key(KEY_UI_PGDN);
    cr_assert(st.table_cursor > 10);
    key(KEY_UI_ENTER);
    cr_assert_eq(st.view, VIEW_SPECTRUM);
}

Test(keys, sorting_by_sui_descending_puts_uncomputed_rows_last)
{
    st.sort_col = COL_SUI;
    st.sort_desc = 1;
    TableRow *rows;
    int n = tableRows(s, &st, &rows);
    double prev = 2;
    int seen_nan = 0;
    for (int i = 0; i < n; i++) {
        const LayerSnapshot *r = &s->models[rows[i].model].rows[rows[i].row];
        if (r->n_eigen == 0) {
            seen_nan = 1;
            continue;
        }
        cr_assert(!seen_nan, "a computed row after an uncomputed one");
        cr_assert(r->metrics.sui <= prev);
        prev = r->metrics.sui;
    }
    cr_assert(seen_nan);
    free(rows);
}

Test(keys, site_switch)
{
    st.sel_model = modelIndex("llama-w96");
    key('v');
    cr_assert_eq(st.sel_site, SITE_PRE);
    key('v');
    cr_assert_eq(st.sel_site, SITE_POST);
    st.sel_model = 0;
    key('v');
    cr_assert_eq(st.sel_site, SITE_POST, "gpt2-w64 has no pre site");
    cr_assert(strstr(st.message, "no pre site"));
}

Test(keys, mouse_tabs_sidebar_heatmap_table)
{
    int tx[VIEW_COUNT], tw[VIEW_COUNT];
    headerTabs(lay.header, tx, tw);
    click(MOUSE_CLICK, tx[VIEW_TABLE] + 1, 0);
    cr_assert_eq(st.view, VIEW_TABLE);
    click(MOUSE_CLICK, tx[VIEW_SPECTRUM] + 2, 0);
    cr_assert_eq(st.view, VIEW_SPECTRUM);

    /* sidebar: heading gpt2, gpt2-w64 (expanded), its 4 layers, gpt2-w128 ... */
    int top = sidebarListTop(lay.sidebar);
    click(MOUSE_CLICK, 10, top + 3);
    cr_assert_eq(st.sel_model, 0);
    cr_assert_eq(st.sel_layer, 1);
    cr_assert(!st.on_model);
    click(MOUSE_CLICK, 10, top + 6);
    cr_assert_eq(st.sel_model, 1);
    click(MOUSE_CLICK, 10, top + 6);   /* a second click on the selected model folds it open */
    cr_assert(st.expanded[1]);
    click(MOUSE_WHEEL_DOWN, 10, top + 6);
    cr_assert_eq(st.sel_model, 1);
    cr_assert(!st.on_model);

    key('2');
    HeatGeom g;
    cr_assert_eq(heatGeometry(lay.main, s, &st, &ctx, &g), 0);
    int x = g.grid.x + 2 * g.cell_w + 1, y = g.grid.y + (3 * g.half_per_layer + 1) / 2;
    free(g.layers);
    click(MOUSE_CLICK, x, y);
    cr_assert_eq(st.sel_model, 2);
    cr_assert_eq(st.sel_layer, 3);

    key('4');
    TableGeom tg;
    tableGeometry(lay.main, s, &st, &tg);
    int col = -1;
    for (int i = 0; i < tg.n_cols; i++)
        if (tg.col[i] == COL_SOFT_RANK) col = i;
    cr_assert(col >= 0);
    click(MOUSE_CLICK, tg.x[col] + 1, tg.header_y);
    cr_assert_eq(st.sort_col, COL_SOFT_RANK);
    cr_assert(st.sort_desc);
    click(MOUSE_CLICK, tg.x[col] + 1, tg.header_y);
    cr_assert(!st.sort_desc, "a second click reverses");
    click(MOUSE_CLICK, tg.x[0] + 1, tg.first_y + 1);
    cr_assert_eq(st.table_cursor, 1);
}

Test(keys, too_small_only_quits)
{
    Layout small;
    layoutCompute(60, 20, &small);
    cr_assert_eq(uiKey(&st, s, &small, &ctx, '2'), EFFECT_NONE);
    cr_assert_eq(st.view, VIEW_SPECTRUM);
    cr_assert_eq(uiKey(&st, s, &small, &ctx, 'q'), EFFECT_QUIT);
}

Test(keys, help_and_hints_come_from_the_tables)
{
    KeyHelp kh[64];
    int n = uiKeyHelp(kh, 64);
    cr_assert(n >= 20);
    int found_log = 0, found_quit = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(kh[i].what, "log / linear")) found_log = !strcmp(kh[i].keys, "l") && !strcmp(kh[i].views, "Spectrum");
        if (strstr(kh[i].what, "quit")) found_quit = !strcmp(kh[i].keys, "q");
    }
    cr_assert(found_log && found_quit);
    KeyHint h[32];
    int nh = uiKeyHints(VIEW_TABLE, 0, h, 32);
    cr_assert_str_eq(h[0].key, "</>");
    for (int i = 0; i < nh; i++) cr_assert_str_neq(h[i].key, "p", "no pause hint without a worker");
    nh = uiKeyHints(VIEW_SPECTRUM, 1, h, 32);
    int has_p = 0;
    for (int i = 0; i < nh; i++) has_p |= !strcmp(h[i].key, "p");
    cr_assert(has_p);
}
