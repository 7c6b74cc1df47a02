/* Layout is a pure function of the terminal size: every panel inside the
 * screen, none overlapping, the screen covered, for every size from 80x24
 * to 300x100; and the views never draw outside their panel. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "fixture.h"
#include "ui/views.h"

static int inside(Rect r, int cols, int rows)
{
    return r.w > 0 && r.h > 0 && r.x >= 0 && r.y >= 0 && r.x + r.w <= cols && r.y + r.h <= rows;
}

Test(layout, every_size_from_80x24_to_300x100)
{
    for (int cols = 80; cols <= 300; cols++)
        for (int rows = 24; rows <= 100; rows++) {
            Layout l;
            layoutCompute(cols, rows, &l);
            cr_assert(!l.too_small, "%dx%d", cols, rows);
            Rect p[5] = {l.header, l.sidebar, l.divider, l.main, l.status};
            long area = 0;
            for (int i = 0; i < 5; i++) {
                cr_assert(inside(p[i], cols, rows), "%dx%d: panel %d outside", cols, rows, i);
                area += (long)p[i].w * p[i].h;
                for (int k = i + 1; k < 5; k++)
                    cr_assert(!rectOverlaps(p[i], p[k]), "%dx%d: panels %d and %d overlap", cols, rows, i, k);
            }
            cr_assert_eq(area, (long)cols * rows, "%dx%d: the panels must cover the screen", cols, rows);
            cr_assert(inside(l.help, cols, rows));
            cr_assert(!rectOverlaps(l.help, l.header) && !rectOverlaps(l.help, l.status), "%dx%d help", cols, rows);
            cr_assert(l.main.w >= 50 && l.main.h >= 21, "%dx%d: main %dx%d", cols, rows, l.main.w, l.main.h);
            cr_assert(l.sidebar.w >= 28, "%dx%d", cols, rows);
        }
}

Test(layout, below_80x24_is_too_small)
{
    int sizes[][2] = {{79, 24}, {80, 23}, {40, 10}, {1, 1}, {0, 0}, {300, 23}, {79, 100}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        Layout l;
        layoutCompute(sizes[i][0], sizes[i][1], &l);
        cr_assert(l.too_small, "%dx%d", sizes[i][0], sizes[i][1]);
    }
}

/* Fills the screen with a sentinel, draws one panel, checks nothing else moved. */
static void checkConfined(Canvas *c, Rect r, const char *what)
{
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            if (rectContains(r, x, y)) continue;
            cr_assert_eq(canvasAt(c, x, y)->ch, 0x2591, "%s drew outside its panel at %d,%d (%dx%d)", what, x, y,
                         c->w, c->h);
        }
}

Test(layout, views_stay_inside_their_panel)
{
    Snapshot *s = fixtureSnapshot();
    Theme t;
    themeDefault(&t);
    for (int cols = 80; cols <= 300; cols += 13)
        for (int rows = 24; rows <= 100; rows += 11) {
            for (int depth = 0; depth < 2; depth++) {
                RenderCtx ctx = {&t, depth ? DEPTH_TRUE : DEPTH_NONE, depth == 0, 123 << 20, 1};
                Layout l;
                layoutCompute(cols, rows, &l);
                UiState st;
                uiStateInit(&st);
                cr_assert_eq(uiSync(&st, s, &l, &ctx), 0);
                Canvas *c = canvasNew(cols, rows, ctx.ascii);
                for (int v = 0; v < VIEW_COUNT; v++) {
                    st.view = (ViewId)v;
                    canvasFill(c, (Rect){0, 0, cols, rows}, 0x2591, (Style){0, 0, 0});
                    if (ctx.ascii) {   /* the sentinel must survive the ASCII mapping */
                        for (int i = 0; i < cols * rows; i++) c->cells[i].ch = 0x2591;
                    }
                    viewClass((ViewId)v)->draw(c, l.main, s, &st, &ctx);
                    checkConfined(c, l.main, viewName((ViewId)v));
                }
                Rect panels[3] = {l.header, l.sidebar, l.status};
                for (int p = 0; p < 3; p++) {
                    for (int i = 0; i < cols * rows; i++) c->cells[i].ch = 0x2591;
                    if (p == 0) headerDraw(c, l.header, s, &st, &ctx);
                    if (p == 1) sidebarDraw(c, l.sidebar, s, &st, &ctx);
                    if (p == 2) statusDraw(c, l.status, s, &st, &ctx);
                    checkConfined(c, panels[p], "panel");
                }
                for (int i = 0; i < cols * rows; i++) c->cells[i].ch = 0x2591;
                helpDraw(c, l.help, &st, &ctx);
                checkConfined(c, l.help, "help");
                canvasFree(c);
                uiStateFree(&st);
            }
        }
    snapshotRelease(s);
}

Test(layout, view_geometry_fits_the_main_panel)
{
    Snapshot *s = fixtureSnapshot();
    Theme t;
    themeDefault(&t);
    RenderCtx ctx = {&t, DEPTH_TRUE, 0, 0, 0};
    for (int cols = 80; cols <= 300; cols += 7)
        for (int rows = 24; rows <= 100; rows += 3) {
            Layout l;
            layoutCompute(cols, rows, &l);
            UiState st;
            uiStateInit(&st);
            uiSync(&st, s, &l, &ctx);
            HeatGeom g;
            cr_assert_eq(heatGeometry(l.main, s, &st, &ctx, &g), 0);
            cr_assert(rectContains(l.main, g.grid.x, g.grid.y), "%dx%d", cols, rows);
            cr_assert(g.grid.x + g.grid.w <= l.main.x + l.main.w && g.grid.y + g.grid.h <= l.main.y + l.main.h,
                      "%dx%d heat grid %d,%d %dx%d", cols, rows, g.grid.x, g.grid.y, g.grid.w, g.grid.h);
            cr_assert_eq(g.n_layers, 4);
            cr_assert_eq(g.visible_layers, 4, "%dx%d: four layers always fit", cols, rows);
            free(g.layers);
            TableGeom tg;
            tableGeometry(l.main, s, &st, &tg);
            cr_assert(tg.n_cols >= 6, "%dx%d: %d columns", cols, rows, tg.n_cols);
            for (int i = 0; i < tg.n_cols; i++) {
                cr_assert(tg.x[i] >= l.main.x && tg.x[i] + tg.w[i] <= l.main.x + l.main.w, "%dx%d col %d", cols, rows, i);
                if (i) cr_assert(tg.x[i] > tg.x[i - 1] + tg.w[i - 1] - 1);
            }
            uiStateFree(&st);
        }
    snapshotRelease(s);
}
