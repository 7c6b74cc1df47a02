/* Styles, braille overlays, bars and number formats shared by the views. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

Color bgColor(const RenderCtx *ctx) { return ctx->theme->role[ROLE_BACKGROUND]; }

Style stFg(const RenderCtx *ctx, ThemeRole fg) { return (Style){ctx->theme->role[fg], bgColor(ctx), 0}; }
Style stFgColor(const RenderCtx *ctx, Color fg) { return (Style){fg, bgColor(ctx), 0}; }
Style stText(const RenderCtx *ctx) { return stFg(ctx, ROLE_TEXT); }
Style stDim(const RenderCtx *ctx)
{
    Style s = stFg(ctx, ROLE_DIM);
    /* Without colours, dim is the only way to push text back. */
    if (ctx->depth == DEPTH_NONE) s.attrs |= ATTR_DIM;
    return s;
}

Style stTitle(const RenderCtx *ctx)
{
    Style s = stFg(ctx, ROLE_TITLE);
    s.attrs |= ATTR_BOLD;
    return s;
}

/* Without colours the filled elements (selection, active tab) fall back to
 * reverse video, as terminals have always shown a cursor bar. */
Style stSelected(const RenderCtx *ctx)
{
    Style s = {ctx->theme->role[ROLE_SELECTION_FG], ctx->theme->role[ROLE_SELECTION_BG], 0};
    if (ctx->depth == DEPTH_NONE || s.bg == COLOR_DEFAULT) s.attrs |= ATTR_REVERSE;
    return s;
}

Style stHeader(const RenderCtx *ctx)
{
    return (Style){ctx->theme->role[ROLE_HEADER_FG], ctx->theme->role[ROLE_HEADER_BG], 0};
}

Style stTab(const RenderCtx *ctx)
{
    Style s = {ctx->theme->role[ROLE_TAB_FG], ctx->theme->role[ROLE_TAB_BG], ATTR_BOLD};
    if (ctx->depth == DEPTH_NONE || s.bg == COLOR_DEFAULT) s.attrs |= ATTR_REVERSE;
    return s;
}

Style stStatus(const RenderCtx *ctx)
{
    return (Style){ctx->theme->role[ROLE_STATUS_FG], ctx->theme->role[ROLE_STATUS_BG], 0};
}

int brailleInit(Braille *b, Rect r)
{
    memset(b, 0, sizeof *b);
    b->r = r;
    if (r.w <= 0 || r.h <= 0) return 0;
    size_t n = (size_t)r.w * (size_t)r.h;
    b->bits = calloc(n, 1);
    b->fg = calloc(n, sizeof *b->fg);
    if (!b->bits || !b->fg) {
        brailleFree(b);
        return -1;
    }
    return 0;
}

void brailleFree(Braille *b)
{
    free(b->bits);
    free(b->fg);
    b->bits = NULL;
    b->fg = NULL;
}

void brailleDot(Braille *b, int sx, int sy, Color fg)
{
    if (!b->bits || sx < 0 || sy < 0 || sx >= 2 * b->r.w || sy >= 4 * b->r.h) return;
    int cx = sx / 2, row_from_top = (4 * b->r.h - 1 - sy);
    int cy = row_from_top / 4, dy = row_from_top % 4, dx = sx % 2;
    /* Braille dot numbering: column 0 is dots 1,2,3,7; column 1 is 4,5,6,8. */
    static const uint8_t bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    size_t i = (size_t)cy * b->r.w + cx;
    b->bits[i] |= bit[dy][dx];
    b->fg[i] = fg;
}

void brailleLine(Braille *b, int sx0, int sy0, int sx1, int sy1, Color fg, int dashed)
{
    int dx = abs(sx1 - sx0), dy = -abs(sy1 - sy0);
    int stx = sx0 < sx1 ? 1 : -1, sty = sy0 < sy1 ? 1 : -1;
    int e = dx + dy, step = 0;
    for (;;) {
        if (!dashed || (step / 3) % 2 == 0) brailleDot(b, sx0, sy0, fg);
        step++;
        if (sx0 == sx1 && sy0 == sy1) break;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, sx0 += stx;
        if (e2 <= dx) e += dx, sy0 += sty;
    }
}

void brailleFlush(const Braille *b, Canvas *c, const RenderCtx *ctx, int over_full)
{
    if (!b->bits) return;
    for (int y = 0; y < b->r.h; y++)
        for (int x = 0; x < b->r.w; x++) {
            size_t i = (size_t)y * b->r.w + x;
            if (!b->bits[i]) continue;
            int cx = b->r.x + x, cy = b->r.y + y;
            const Cell *cell = canvasAt(c, cx, cy);
            if (!cell) continue;
            uint32_t glyph = 0x2800 + b->bits[i];
            if (cell->ch == ' ' || (cell->ch >= 0x2800 && cell->ch <= 0x28ff)) {
                uint32_t merged = cell->ch == ' ' ? glyph : (cell->ch | b->bits[i]);
                canvasPut(c, cx, cy, merged, (Style){b->fg[i], cell->bg, 0});
            } else if (over_full && cell->ch == 0x2588 && ctx->depth != DEPTH_NONE && !ctx->ascii) {
                canvasPut(c, cx, cy, glyph, (Style){b->fg[i], cell->fg, 0});
            }
        }
}

uint32_t blockLower(int k) { return k <= 0 ? ' ' : k >= 8 ? 0x2588 : 0x2580 + (uint32_t)k; }
uint32_t blockLeft(int k) { return k <= 0 ? ' ' : k >= 8 ? 0x2588 : 0x2590 - (uint32_t)k; }

void drawHBar(Canvas *c, int x, int y, int cells, double v, Style on, Style off)
{
    if (!(v >= 0)) v = 0;
    if (v > 1) v = 1;
    int eighths = (int)lround(v * cells * 8);
    for (int i = 0; i < cells; i++) {
        int k = eighths - i * 8;
        if (k >= 8) canvasPut(c, x + i, y, 0x2588, on);
        else if (k > 0) canvasPut(c, x + i, y, blockLeft(k), (Style){on.fg, off.bg, on.attrs});
        else canvasPut(c, x + i, y, c->ascii ? '.' : 0x00b7, off);
    }
}

void fmtNum(double v, char *buf, size_t n)
{
    double a = fabs(v);
    if (!isfinite(v)) snprintf(buf, n, "-");
    else if (a >= 1e6) snprintf(buf, n, "%.3gM", v / 1e6);
    else if (a >= 1e4) snprintf(buf, n, "%.3gk", v / 1e3);
    else if (a >= 100) snprintf(buf, n, "%.0f", v);
    else if (a >= 10) snprintf(buf, n, "%.1f", v);
    else snprintf(buf, n, "%.2f", v);
}

void fmtCount(int64_t v, char *buf, size_t n)
{
    if (v >= 10000000) snprintf(buf, n, "%.1fM", v / 1e6);
    else if (v >= 1000000) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (v >= 10000) snprintf(buf, n, "%.1fk", v / 1e3);
    else snprintf(buf, n, "%" PRId64, v);
}

void fmtUnit(double v, char *buf, size_t n)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else if (v >= 0.9995 || v < 0) snprintf(buf, n, "%.2f", v);
    else {
        char tmp[16];
        snprintf(tmp, sizeof tmp, "%.3f", v);
        snprintf(buf, n, "%s", tmp + 1);   /* ".073": the leading zero costs a column */
    }
}

const char *modelStatusText(const ModelSnapshot *m, char *buf, size_t n)
{
    switch (m->status) {
    case MODEL_QUEUED: return "queued";
    case MODEL_LOADING: return "loading";
    case MODEL_CAPTURING:
        if (m->tokens_target > 0) {
            int pct = (int)(100.0 * (double)m->tokens_done / (double)m->tokens_target);
            snprintf(buf, n, "%d%%", pct > 99 ? 99 : pct < 0 ? 0 : pct);
            return buf;
        }
        return "run";
    case MODEL_DONE: return "done";
    case MODEL_FAILED: return "failed";
    }
    return "?";
}

Color statusColor(const RenderCtx *ctx, ModelStatus st)
{
    const Color *r = ctx->theme->role;
    switch (st) {
    case MODEL_QUEUED: return r[ROLE_DIM];
    case MODEL_LOADING: return r[ROLE_ACCENT];
    case MODEL_CAPTURING: return r[ROLE_WARNING];
    case MODEL_DONE: return r[ROLE_OK];
    case MODEL_FAILED: return r[ROLE_ERROR];
    }
    return r[ROLE_TEXT];
}
