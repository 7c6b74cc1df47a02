/* View 1, Spectrum: the selected layer's eigenvalues as bars (descending,
 * log scale by default), bucketed to the width with 1/8-cell blocks, with
 * markers at the hard and soft rank and the cumulative energy curve. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/metrics.h"
#include "ui/views.h"

/* One metric for the header line: a dim label and a value. */
typedef struct Token {
    char label[24], value[32];
} Token;

static void addToken(Token *t, int *n, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void addToken(Token *t, int *n, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    snprintf(t[*n].label, sizeof t[*n].label, "%s", label);
    vsnprintf(t[*n].value, sizeof t[*n].value, fmt, ap);
    va_end(ap);
    (*n)++;
}

static int flowTokens(Canvas *c, int x0, int y, int w, int max_lines, const Token *t, int n, const RenderCtx *ctx)
{
    int x = x0, line = 0;
    Style val = stText(ctx);
    val.attrs |= ATTR_BOLD;
    for (int i = 0; i < n; i++) {
        int need = textColumns(t[i].label) + 1 + textColumns(t[i].value);
        if (x > x0 && x + need > x0 + w) {
            if (++line >= max_lines) break;
            x = x0;
            y++;
        }
        x += canvasText(c, x, y, -1, t[i].label, stDim(ctx));
        x++;
        x += canvasText(c, x, y, -1, t[i].value, val);
        x += 2;
    }
    return line + 1;
}

static void centerText(Canvas *c, Rect r, int y, const char *text, Style st)
{
    int n = textColumns(text);
    if (n > r.w - 2) n = r.w - 2;
    canvasText(c, r.x + (r.w - n) / 2, y, n, text, st);
}

/* Decade labels that fit in six columns: 0.01 .. 1000, else 1e-5. */
static void fmtDecade(int k, char *buf, size_t n)
{
    if (k >= -2 && k <= 3) {
        double v = pow(10, k);
        if (k < 0) snprintf(buf, n, "%.*f", -k, v);
        else snprintf(buf, n, "%.0f", v);
    } else {
        snprintf(buf, n, "1e%d", k);
    }
}

/* A round tick near v (1, 2, 2.5 or 5 times a power of ten). */
static int niceTick(double v)
{
    if (v < 1) return 1;
    double p = pow(10, floor(log10(v)));
    double m = v / p;
    double nice = m < 1.5 ? 1 : m < 2.25 ? 2 : m < 3.5 ? 2.5 : m < 7.5 ? 5 : 10;
    return (int)(nice * p);
}

static void drawWarnings(Canvas *c, int x, int y, int w, const LayerSnapshot *row, const RenderCtx *ctx)
{
    const Metrics *m = &row->metrics;
    char buf[256] = "";
    size_t len = 0;
    if (m->warnings & WARN_ZERO_VARIANCE)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "zero variance: every eigenvalue is 0");
    if (m->warnings & WARN_RANK_LIMITED)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%srank limited: N < 10\xc2\xb7" "D caps both ranks",
                                len ? "; " : "");
    if ((m->warnings & WARN_NONFINITE) && len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld non-finite rows dropped", len ? "; " : "",
                                (long long)m->nonfinite_rows);
    Style ws = stFg(ctx, ROLE_WARNING);
    ws.attrs |= ATTR_BOLD;
    canvasPut(c, x, y, 0x26a0, ws);   /* ⚠ */
    canvasText(c, x + 2, y, w - 2, buf, ws);
}

static void drawLegend(Canvas *c, int x, int y, int w, const RenderCtx *ctx)
{
    int end = x + w, wide = w >= 66;
    x += canvasText(c, x, y, end - x, "\xe2\x96\x88", stFg(ctx, ROLE_BAR));
    x += canvasText(c, x, y, end - x, wide ? " eigenvalue  " : " \xce\xbb  ", stDim(ctx));
    x += canvasText(c, x, y, end - x, "H", stFg(ctx, ROLE_HARD_RANK));
    x += canvasText(c, x, y, end - x, wide ? " hard rank  " : " hard  ", stDim(ctx));
    x += canvasText(c, x, y, end - x, "S", stFg(ctx, ROLE_SOFT_RANK));
    x += canvasText(c, x, y, end - x, wide ? " soft rank  " : " soft  ", stDim(ctx));
    x += canvasText(c, x, y, end - x, "\xe2\xa0\x94", stFg(ctx, ROLE_CURVE));   /* ⠔ */
    canvasText(c, x, y, end - x, " cumulative energy", stDim(ctx));
}

static void drawChart(Canvas *c, Rect area, const LayerSnapshot *row, int log_scale, const RenderCtx *ctx)
{
    const int D = row->n_eigen;
    const double *lam = row->eigen;
    const int lw = 6, rw = 5;
    int x_axis = area.x + lw;                 /* the y axis line */
    int px = x_axis + 1, pw = area.w - lw - 1 - rw;
    int label_y = area.y;                     /* H / S labels */
    int py = area.y + 1, ph = area.h - 3;     /* bars */
    int base_y = py + ph;                     /* x axis line, then its labels */
    if (pw < 8 || ph < 3) return;

    double hi = lam[0] > 0 ? lam[0] : 0, total = 0, lo_pos = INFINITY;
    for (int i = 0; i < D; i++) {
        double v = lam[i] > 0 ? lam[i] : 0;
        total += v;
        if (v > hi * 1e-12 && v < lo_pos) lo_pos = v;
    }
    Style axis = stFg(ctx, ROLE_AXIS);
    if (!(hi > 0)) {
        centerText(c, area, area.y + area.h / 2, "all eigenvalues are zero", stDim(ctx));
        return;
    }
    /* Whole decades on a log axis read best. */
    int k_hi = (int)ceil(log10(hi) - 1e-9), k_lo = (int)floor(log10(lo_pos) + 1e-9);
    if (k_lo >= k_hi) k_lo = k_hi - 1;
    double l_hi = k_hi, l_lo = k_lo;

    /* Bucketing: each eigenvalue gets bw columns when they fit, else each
     * column averages its bucket (energy per index, so bars stay honest). */
    int bw = D <= pw ? pw / D : 0;
    int uw = bw ? bw * D : pw;
    pw = uw;   /* the axis ends with the last bar */
    int units = ph * 8;
    Color bar = ctx->theme->role[ROLE_BAR], bg = bgColor(ctx);
    double hr = row->metrics.hard_rank, sr = row->metrics.soft_rank;
    for (int x = 0; x < uw; x++) {
        int i0, i1;
        if (bw) i0 = x / bw, i1 = i0 + 1;
        else {
            i0 = (int)((long long)x * D / uw);
            i1 = (int)((long long)(x + 1) * D / uw);
            if (i1 <= i0) i1 = i0 + 1;
        }
        double sum = 0;
        for (int i = i0; i < i1; i++) sum += lam[i] > 0 ? lam[i] : 0;
        double v = sum / (i1 - i0);
        double h;
        if (log_scale) h = v > 0 ? (log10(v) - l_lo) / (l_hi - l_lo) : 0;
        else h = v / hi;
        if (h < 0) h = 0;
        if (h > 1) h = 1;
        int u = (int)lround(h * units);
        if (u == 0 && v > 0) u = 1;   /* a positive eigenvalue always shows */
        /* Directions beyond the hard rank, then beyond the soft rank, fade:
         * the bars themselves show how much of the width carries energy. */
        Color col = bar;
        if (i0 + 1 > sr) col = colorLerp(bar, bg, 0.62);
        else if (i0 + 1 > hr) col = colorLerp(bar, bg, 0.35);
        for (int k = 0; k < ph && u > 0; k++, u -= 8) {
            int y = base_y - 1 - k;
            if (u >= 8) canvasPut(c, px + x, y, 0x2588, (Style){col, bg, 0});
            else canvasPut(c, px + x, y, blockLower(u), (Style){col, bg, 0});
        }
    }

    /* Cumulative energy, on the same columns, 0..100% bottom to top. */
    double *cum = malloc((size_t)D * sizeof *cum);
    Braille br;
    if (cum && total > 0 && brailleInit(&br, (Rect){px, py, uw, ph}) == 0) {
        double acc = 0;
        for (int i = 0; i < D; i++) acc += lam[i] > 0 ? lam[i] : 0, cum[i] = acc / total;
        int subs = 2 * uw, rows = 4 * ph, prev_x = -1, prev_y = 0;
        for (int sx = 0; sx < subs; sx++) {
            int k = (int)ceil((sx + 1) * (double)D / subs);
            if (k < 1) k = 1;
            if (k > D) k = D;
            int sy = (int)lround(cum[k - 1] * (rows - 1));
            if (prev_x >= 0) brailleLine(&br, prev_x, prev_y, sx, sy, ctx->theme->role[ROLE_CURVE], 0);
            else brailleDot(&br, sx, sy, ctx->theme->role[ROLE_CURVE]);
            prev_x = sx, prev_y = sy;
        }
        brailleFlush(&br, c, ctx, 1);
        brailleFree(&br);
    }
    free(cum);

    /* Rank markers: a dotted line down to the bars and a letter on top. */
    struct {
        double rank;
        const char *label;
        ThemeRole role;
    } marks[2] = {{hr, "H", ROLE_HARD_RANK}, {sr, "S", ROLE_SOFT_RANK}};
    int mark_x[2];
    for (int m = 0; m < 2; m++) {
        double t = (marks[m].rank - 0.5) / D;
        int x = (int)floor(t * uw);
        if (x < 0) x = 0;
        if (x >= uw) x = uw - 1;
        mark_x[m] = x;
        Style ms = stFg(ctx, marks[m].role);
        for (int y = py; y < base_y; y++) {
            const Cell *cell = canvasAt(c, px + x, y);
            if (cell && cell->ch == ' ') canvasPut(c, px + x, y, 0x250a, ms);   /* ┊ */
        }
    }
    /* H sits left of S (HR <= SR): when the labels would collide, H ends
     * at its line and S starts at its own, pushed right if still needed. */
    char text[2][48];
    int len[2], lx[2];
    for (int m = 0; m < 2; m++) {
        snprintf(text[m], sizeof text[m], "%s %.1f", marks[m].label, marks[m].rank);
        len[m] = textColumns(text[m]);
        lx[m] = px + mark_x[m];
    }
    if (lx[0] + len[0] >= lx[1]) {
        lx[0] = px + mark_x[0] - len[0] + 1;
        if (lx[0] < px) lx[0] = px;
        if (lx[1] < lx[0] + len[0] + 1) lx[1] = lx[0] + len[0] + 1;
    }
    for (int m = 0; m < 2; m++) {
        if (lx[m] + len[m] > px + pw) lx[m] = px + pw - len[m];
        Style ms = stFg(ctx, marks[m].role);
        ms.attrs |= ATTR_BOLD;
        canvasText(c, lx[m], label_y, len[m], text[m], ms);
    }

    /* Axes. */
    canvasVLine(c, x_axis, py, ph, 0x2502, axis);
    canvasPut(c, x_axis, base_y, 0x2514, axis);
    canvasHLine(c, px, base_y, pw, 0x2500, axis);
    char lab[32];
    int last_y = -10;
    if (log_scale) {
        for (int k = k_hi; k >= k_lo; k--) {
            int y = base_y - 1 - (int)lround((k - l_lo) / (l_hi - l_lo) * (ph - 1));
            if (y - last_y < 2) continue;
            fmtDecade(k, lab, sizeof lab);
            canvasTextRight(c, x_axis, y, lw, lab, axis);
            canvasPut(c, x_axis, y, 0x2524, axis);
            last_y = y;
        }
    } else {
        double ticks[3] = {hi, hi / 2, 0};
        for (int i = 0; i < 3; i++) {
            int y = base_y - 1 - (int)lround(ticks[i] / hi * (ph - 1));
            fmtNum(ticks[i], lab, sizeof lab);
            canvasTextRight(c, x_axis, y, lw, lab, axis);
            canvasPut(c, x_axis, y, 0x2524, axis);
        }
    }
    Style cs = stFg(ctx, ROLE_CURVE);
    canvasText(c, px + pw + 1, py, rw - 1, "100%", cs);
    canvasText(c, px + pw + 1, py + (ph - 1) / 2, rw - 1, " 50%", cs);
    canvasText(c, px + pw + 1, base_y - 1, rw - 1, "  0%", cs);

    /* Index ticks: 1, round quarters, D. */
    int lab_y = base_y + 1, last_end = px - 1;
    int tick_idx[5] = {1, 0, 0, 0, D};
    for (int q = 1; q <= 3; q++) tick_idx[q] = D % 4 == 0 ? D / 4 * q : niceTick(D * q / 4.0);
    for (int q = 0; q < 5; q++) {
        int idx = tick_idx[q];
        if (idx < 1 || idx > D || (q > 0 && idx <= tick_idx[q - 1])) continue;
        int x = (int)floor((idx - 0.5) / D * uw);
        snprintf(lab, sizeof lab, "%d", idx);
        int len = (int)strlen(lab);
        int lx = q == 0 ? px + x : q == 4 ? px + x - len + 1 : px + x - len / 2;
        if (lx <= last_end + 1 || lx + len > px + pw) continue;
        canvasPut(c, px + x, base_y, 0x252c, axis);
        canvasText(c, lx, lab_y, len, lab, axis);
        last_end = lx + len - 1;
    }
    canvasText(c, px + pw + 1, lab_y, rw - 1, "i", stDim(ctx));
}

static void spectrumDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    canvasFill(c, r, ' ', stText(ctx));
    int x = r.x + 1 + canvasText(c, r.x + 1, r.y, -1, "Spectrum", stTitle(ctx));
    const ModelSnapshot *m = uiSelectedModel(s, st);
    const LayerSnapshot *row = uiSelectedRow(s, st);
    char buf[256];
    const char *scale = st->log_scale ? "log scale \xc2\xb7 l: linear" : "linear scale \xc2\xb7 l: log";
    int right_w = textColumns(scale);
    if (r.w > 60) canvasTextRight(c, r.x + r.w - 1, r.y, right_w, scale, stDim(ctx));
    else right_w = -2;
    if (m) {
        if (row && row->routed && row->expert == CAPTURE_SHARED)
            snprintf(buf, sizeof buf, "  %s \xc2\xb7 layer %d \xc2\xb7 %s \xc2\xb7 shared expert", m->name, row->layer,
                     siteName(row->site));
        else if (row && row->routed)
            snprintf(buf, sizeof buf, "  %s \xc2\xb7 layer %d \xc2\xb7 %s \xc2\xb7 expert %d", m->name, row->layer,
                     siteName(row->site), row->expert);
        else if (row) snprintf(buf, sizeof buf, "  %s \xc2\xb7 layer %d \xc2\xb7 %s", m->name, row->layer, siteName(row->site));
        else snprintf(buf, sizeof buf, "  %s", m->name);
        canvasText(c, x, r.y, r.x + r.w - 3 - right_w - x, buf, stText(ctx));
    }
    Rect body = {r.x, r.y + 1, r.w, r.h - 1};
    if (!m) {
        centerText(c, body, body.y + body.h / 2, "no models", stDim(ctx));
        canvasUnclip(c);
        return;
    }
    if (!row || row->n_eigen <= 0 || !row->eigen) {
        char status[16];
        if (m->status == MODEL_FAILED)
            snprintf(buf, sizeof buf, "%s failed: %s", m->name, m->error ? m->error : "unknown error");
        else if (m->status == MODEL_QUEUED) snprintf(buf, sizeof buf, "%s is queued", m->name);
        else if (m->status == MODEL_LOADING) snprintf(buf, sizeof buf, "%s is loading", m->name);
        else if (m->status == MODEL_DONE && row && snapshotRowCounted(row))
            /* an expert the router (nearly) never chose: no covariance to show, ever */
            snprintf(buf, sizeof buf, "%lld token%s routed to this expert: no spectrum (%s)",
                     (long long)snapshotRowTokens(row), snapshotRowTokens(row) == 1 ? "" : "s",
                     snapshotRowTokens(row) == 0 ? "no_tokens" : "too_few_tokens");
        else
            snprintf(buf, sizeof buf, "waiting for the first spectrum of %s (%s)", m->name,
                     modelStatusText(m, status, sizeof status));
        Style ms = m->status == MODEL_FAILED ? stFg(ctx, ROLE_ERROR) : stDim(ctx);
        centerText(c, body, body.y + body.h / 2, buf, ms);
        canvasUnclip(c);
        return;
    }
    const Metrics *mt = &row->metrics;
    Token t[8];
    int n = 0;
    addToken(t, &n, "D", "%d", row->n_eigen);
    addToken(t, &n, "N", "%s", "");
    fmtCount(mt->tokens, t[n - 1].value, sizeof t[n - 1].value);
    addToken(t, &n, "HR", "%.1f", mt->hard_rank);
    addToken(t, &n, "SR", "%.1f", mt->soft_rank);
    char ck[24];
    snprintf(ck, sizeof ck, "C_%d", mt->concentration_k);
    addToken(t, &n, ck, "%.3f", mt->concentration);
    addToken(t, &n, "EEE", "%.3f", mt->eee);
    addToken(t, &n, "SUI", "%.3f", mt->sui);
    addToken(t, &n, "\xce\xb1", "%.2f", mt->alpha);
    int lines = flowTokens(c, r.x + 1, r.y + 1, r.w - 2, 2, t, n, ctx);
    int y = r.y + 1 + lines;
    if (mt->warnings) drawWarnings(c, r.x + 1, y, r.w - 2, row, ctx);
    else drawLegend(c, r.x + 1, y, r.w - 2, ctx);
    Rect area = {r.x, y + 1, r.w, r.y + r.h - (y + 1)};
    drawChart(c, area, row, st->log_scale, ctx);
    canvasUnclip(c);
}

const ViewClass spectrum_view = {VIEW_SPECTRUM, "Spectrum", "spectrum", spectrumDraw};
