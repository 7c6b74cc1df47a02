/* The header (program, source, worker state, view tabs) and the status bar
 * (progress, tokens/s, memory, last message, key hints). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ui/views.h"

void headerTabs(Rect r, int x[VIEW_COUNT], int w[VIEW_COUNT])
{
    int total = 0;
    for (int v = 0; v < VIEW_COUNT; v++) {
        w[v] = (int)strlen(viewTitle((ViewId)v)) + 4;   /* " 1 Title " */
        total += w[v];
    }
    int pos = r.x + r.w - 1 - total;
    for (int v = 0; v < VIEW_COUNT; v++) {
        x[v] = pos;
        pos += w[v];
    }
}

static void fmtDuration(double s, char *buf, size_t n)
{
    if (!(s >= 0)) s = 0;
    long t = (long)s;
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static const char *stateLabel(WorkerState w)
{
    switch (w) {
    case WORKER_IDLE: return "starting";
    case WORKER_RUNNING: return "running";
    case WORKER_PAUSED: return "paused";
    case WORKER_DONE: return "finished";
    case WORKER_STOPPED: return "stopped";
    case WORKER_SAVED: return "saved run";
    }
    return "?";
}

static Color stateColor(const RenderCtx *ctx, WorkerState w)
{
    const Color *r = ctx->theme->role;
    switch (w) {
    case WORKER_RUNNING: return r[ROLE_OK];
    case WORKER_PAUSED: return r[ROLE_WARNING];
    case WORKER_DONE: return r[ROLE_ACCENT];
    case WORKER_STOPPED: return r[ROLE_ERROR];
    default: return r[ROLE_HEADER_FG];
    }
}

/* Draws text that keeps its end when it has to be shortened (paths). */
static int textKeepEnd(Canvas *c, int x, int y, int maxw, const char *s, Style st)
{
    int cols = textColumns(s);
    if (maxw <= 0) return 0;
    if (cols <= maxw) return canvasText(c, x, y, maxw, s, st);
    int skip = cols - (maxw - 1);
    const char *p = s;
    while (*p && skip > 0) {
        uint32_t cp;
        p += utf8Decode(p, &cp);
        skip--;
    }
    canvasPut(c, x, y, 0x2026, st);
    return 1 + canvasText(c, x + 1, y, maxw - 1, p, st);
}

void headerDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    Style h = stHeader(ctx);
    canvasFill(c, r, ' ', h);
    Style bold = h;
    bold.attrs |= ATTR_BOLD;
    int tx[VIEW_COUNT], tw[VIEW_COUNT];
    headerTabs(r, tx, tw);

    int x = r.x + 1;
    x += canvasText(c, x, r.y, -1, "ffnscope", bold);
    x += canvasText(c, x, r.y, -1, " \xe2\x94\x82 ", h);   /* │ */
    if (s) {
        Style sc = h;
        sc.fg = stateColor(ctx, s->state);
        canvasPut(c, x++, r.y, 0x25cf, sc);   /* ● */
        x++;
        x += canvasText(c, x, r.y, -1, stateLabel(s->state), h);
        if (s->state != WORKER_SAVED) {
            char t[32];
            fmtDuration(s->elapsed_s, t, sizeof t);
            x += canvasText(c, x, r.y, -1, " ", h);
            x += canvasText(c, x, r.y, -1, t, h);
        }
        x += canvasText(c, x, r.y, -1, " \xe2\x94\x82 ", h);
        if (s->source) textKeepEnd(c, x, r.y, tx[0] - 1 - x, s->source, h);
    }
    for (int v = 0; v < VIEW_COUNT; v++) {
        char label[32];
        snprintf(label, sizeof label, " %d %s ", v + 1, viewTitle((ViewId)v));
        Style ts = (int)st->view == v ? stTab(ctx) : h;
        canvasText(c, tx[v], r.y, tw[v], label, ts);
    }
    canvasUnclip(c);
}

/* ---- status bar ---- */

static const ModelSnapshot *currentModel(const Snapshot *s)
{
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].status == MODEL_CAPTURING || s->models[i].status == MODEL_LOADING) return &s->models[i];
    return NULL;
}

static int progressLine(Canvas *c, int x, int y, int maxw, const Snapshot *s, const RenderCtx *ctx)
{
    Style st = stStatus(ctx);
    if (!s) return canvasText(c, x, y, maxw, "no snapshot yet", st);
    int n_done = 0, n_failed = 0, n_layers = 0;
    int64_t done = 0, target = 0;
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        n_done += m->status == MODEL_DONE;
        n_failed += m->status == MODEL_FAILED;
        n_layers += m->n_rows;
        if (m->tokens_target > 0) {
            target += m->tokens_target;
            done += m->status == MODEL_DONE || m->tokens_done > m->tokens_target ? m->tokens_target : m->tokens_done;
        }
    }
    char buf[256];
    int used = 0;
    if (s->state == WORKER_SAVED) {
        snprintf(buf, sizeof buf, "saved run \xc2\xb7 %d models \xc2\xb7 %d layer rows%s", s->n_models, n_layers,
                 n_failed ? " \xc2\xb7 some failed" : "");
        return canvasText(c, x, y, maxw, buf, st);
    }
    if (s->state == WORKER_DONE || s->state == WORKER_STOPPED) {
        char t[32];
        fmtDuration(s->elapsed_s, t, sizeof t);
        snprintf(buf, sizeof buf, "%s \xc2\xb7 %d/%d models done%s \xc2\xb7 %s", stateLabel(s->state), n_done,
                 s->n_models, n_failed ? " \xc2\xb7 failures: see sidebar" : "", t);
        return canvasText(c, x, y, maxw, buf, st);
    }
    /* Running or paused: an overall bar, then the model being captured. */
    int bar_w = maxw >= 60 ? 16 : 8;
    double f = target > 0 ? (double)done / (double)target : 0;
    Style on = {ctx->theme->role[ROLE_BAR], st.bg, 0}, off = {ctx->theme->role[ROLE_DIM], st.bg, 0};
    drawHBar(c, x, y, bar_w, f, on, off);
    used = bar_w + 1;
    snprintf(buf, sizeof buf, "%3d%%", (int)floor(100 * f));
    used += canvasText(c, x + used, y, maxw - used, buf, st);
    if (s->state == WORKER_PAUSED) {
        Style w = st;
        w.fg = ctx->theme->role[ROLE_WARNING];
        w.attrs |= ATTR_BOLD;
        used += canvasText(c, x + used, y, maxw - used, "  paused", w);
    }
    const ModelSnapshot *m = currentModel(s);
    if (m) {
        char rate[48] = "", eta[48] = "";
        if (m->tokens_per_s > 0) {
            char num[24];
            fmtNum(m->tokens_per_s, num, sizeof num);
            snprintf(rate, sizeof rate, " \xc2\xb7 %s tok/s", num);
            if (m->tokens_target > m->tokens_done) {
                char t[32];
                fmtDuration((double)(m->tokens_target - m->tokens_done) / m->tokens_per_s, t, sizeof t);
                snprintf(eta, sizeof eta, " \xc2\xb7 ETA %s", t);
            }
        }
        char pass[64] = "";
        /* the memory plan's passes: which one runs, over which layers */
        if (m->passes > 1 && m->pass > 0)
            snprintf(pass, sizeof pass, " pass %d/%d (layers %d-%d)", m->pass, m->passes, m->group_first,
                     m->group_last);
        snprintf(buf, sizeof buf, "  %s %s%s%s%s", m->name ? m->name : "?",
                 m->status == MODEL_LOADING ? "loading" : "capturing", pass, rate, eta);
        used += canvasText(c, x + used, y, maxw - used, buf, st);
    }
    return used;
}

/* 320 MiB, 1.5 GiB */
static void fmtBytes(uint64_t b, char *buf, size_t len)
{
    double mb = (double)b / (1024.0 * 1024.0);
    if (mb >= 1024) snprintf(buf, len, "%.1f GiB", mb / 1024.0);
    else snprintf(buf, len, "%.0f MiB", mb);
}

void statusDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    Style base = stStatus(ctx);
    canvasFill(c, r, ' ', base);
    int y1 = r.y, y2 = r.y + 1;

    /* Memory at the right end of the first line. */
    int right = r.x + r.w - 1;
    if (ctx->rss_bytes > 0) {
        char mem[64], used[24], limit[24];
        fmtBytes(ctx->rss_bytes, used, sizeof used);
        if (s->memory_limit > 0) {
            fmtBytes(s->memory_limit, limit, sizeof limit);
            snprintf(mem, sizeof mem, "RSS %s / %s", used, limit);
        } else {
            snprintf(mem, sizeof mem, "RSS %s", used);
        }
        right -= canvasTextRight(c, right, y1, 28, mem, base) + 2;
    }
    int used = progressLine(c, r.x + 1, y1, right - r.x - 1, s, ctx);
    if (st->message[0]) {
        int x = r.x + 1 + used;
        Style sep = base;
        sep.fg = ctx->theme->role[ROLE_DIM];
        x += canvasText(c, x, y1, right - x, "  \xe2\x94\x82 ", sep);
        Style ms = base;
        if (st->message_error) ms.fg = ctx->theme->role[ROLE_ERROR], ms.attrs |= ATTR_BOLD;
        canvasText(c, x, y1, right - x, st->message, ms);
    }

    int x = r.x + 1;
    if (st->filter_editing) {
        Style k = base;
        k.fg = ctx->theme->role[ROLE_ACCENT];
        k.attrs |= ATTR_BOLD;
        x += canvasText(c, x, y2, -1, "filter /", k);
        x += canvasText(c, x, y2, r.w - 40, st->filter_edit, base);
        canvasPut(c, x++, y2, 0x2588, base);   /* the input cursor */
        canvasText(c, x + 2, y2, -1, "Enter apply \xc2\xb7 Esc clear", base);
        canvasUnclip(c);
        return;
    }
    KeyHint hints[24];
    int n = uiKeyHints(st->view, ctx->live, hints, 24);
    for (int i = 0; i < n; i++) {
        int need = textColumns(hints[i].key) + 1 + textColumns(hints[i].what) + 2;
        if (x + need > r.x + r.w) break;
        Style k = base;
        k.fg = ctx->theme->role[ROLE_ACCENT];
        k.attrs |= ATTR_BOLD;
        x += canvasText(c, x, y2, -1, hints[i].key, k);
        x++;
        x += canvasText(c, x, y2, -1, hints[i].what, base);
        x += 2;
    }
    canvasUnclip(c);
}
