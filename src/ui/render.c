/* Composes the screen: header, sidebar, the current view, status bar and
 * the help box, or the too-small message. */
#include <stdio.h>
#include <string.h>

#include "ui/views.h"

static const ViewClass *const views[VIEW_COUNT] = {&spectrum_view, &heatmap_view, &scaling_view, &table_view};

const ViewClass *viewClass(ViewId v) { return v < VIEW_COUNT ? views[v] : views[0]; }
const char *viewTitle(ViewId v) { return viewClass(v)->title; }
const char *viewName(ViewId v) { return viewClass(v)->name; }

int viewParse(const char *name)
{
    for (int v = 0; v < VIEW_COUNT; v++)
        if (!strcmp(name, views[v]->name)) return v;
    return -1;
}

void tooSmallDraw(Canvas *c, const RenderCtx *ctx)
{
    canvasClear(c, stText(ctx));
    char l1[64], l2[64];
    snprintf(l1, sizeof l1, "Terminal too small: %dx%d", c->w, c->h);
    snprintf(l2, sizeof l2, "ffnscope needs at least %dx%d", LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS);
    const char *lines[3] = {l1, l2, "resize the window, or press q to quit"};
    Style st[3] = {stTitle(ctx), stText(ctx), stDim(ctx)};
    st[0].fg = ctx->theme->role[ROLE_WARNING];
    int top = c->h / 2 - 1;
    if (top < 0) top = 0;
    for (int i = 0; i < 3; i++) {
        int n = textColumns(lines[i]);
        int x = n < c->w ? (c->w - n) / 2 : 0;
        canvasText(c, x, top + i, c->w, lines[i], st[i]);
    }
}

void uiRender(Canvas *c, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    Layout lay;
    layoutCompute(c->w, c->h, &lay);
    canvasUnclip(c);
    if (lay.too_small) {
        tooSmallDraw(c, ctx);
    } else {
        canvasClear(c, stText(ctx));
        headerDraw(c, lay.header, s, st, ctx);
        sidebarDraw(c, lay.sidebar, s, st, ctx);
        canvasClip(c, lay.divider);
        canvasVLine(c, lay.divider.x, lay.divider.y, lay.divider.h, 0x2502, stFg(ctx, ROLE_BORDER));
        canvasUnclip(c);
        viewClass(st->view)->draw(c, lay.main, s, st, ctx);
        statusDraw(c, lay.status, s, st, ctx);
        if (st->help) helpDraw(c, lay.help, st, ctx);
    }
    canvasUnclip(c);
    canvasQuantize(c, ctx->depth);
}
