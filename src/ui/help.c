/* The help box: the keys (generated from the dispatch table) and the
 * definitions of every metric, from the table below, wrapped to the box. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/views.h"

typedef struct MetricHelp {
    const char *name, *formula, *meaning;
} MetricHelp;

static const MetricHelp metric_help[] = {
    {"soft rank", "SR = exp(-\xce\xa3 p_i ln p_i), p_i = \xce\xbb_i / \xce\xa3\xce\xbb",
     "Shannon effective rank: every direction counts by its share of the energy, so low-energy tail "
     "directions raise it. HR <= SR <= D."},
    {"hard rank", "HR = (\xce\xa3\xce\xbb)\xc2\xb2 / \xce\xa3\xce\xbb\xc2\xb2",
     "participation ratio: dominated by the largest eigenvalues; the directions that carry most of the variance."},
    {"utilization", "HR/D, SR/D", "hard and soft rank as a fraction of the FFN width D."},
    {"concentration", "C_k = \xce\xa3_{i<=k} \xce\xbb_i / \xce\xa3\xce\xbb",
     "energy share of the top k directions (k = 10% of D unless the config sets metrics.concentration_k)."},
    {"EEE", "clamp(\xce\xa3_k (c_k - k/D) / (D/2), 0, 1)",
     "eigenvalue early enrichment: how far the cumulative energy curve c_k runs above the diagonal; "
     "1 = all energy in the first direction, 0 = spread evenly."},
    {"SUI", "sqrt(HR \xc2\xb7 SR) / D",
     "spectral utilization index, in (0, 1]: the geometric mean of hard and soft utilization "
     "(ffnscope's definition of the composite)."},
    {"\xce\xb1", "log \xce\xbb_i = c - \xce\xb1 log i",
     "decay exponent of the spectrum, least squares over i = 1 .. r/2 (r: eigenvalues above 1e-12 \xc2\xb7 \xce\xbb_1); "
     "larger decays faster."},
    {"\xce\xb2", "rank = A \xc2\xb7 D^\xce\xb2",
     "scaling exponent per family and site: least squares of log10 rank on log10 D, one point per model (the "
     "median over its layers), with its 95% t-interval and R\xc2\xb2; needs 3 widths."},
    {"\xce\x94\xce\xb2", "\xce\xb2_soft - \xce\xb2_hard",
     "how much faster soft rank grows with width than hard rank: new width buys tail, not strong directions."},
    {"rank_limited", "N < 10 \xc2\xb7 D", "few tokens for the width: the covariance has rank <= N-1, which caps both ranks."},
    {"nonfinite", "rows dropped", "activation rows holding NaN or Inf were left out (their count is shown)."},
    {"zero_variance", "\xce\xa3\xce\xbb = 0", "every eigenvalue is zero; HR, SR and SUI are reported as 0."},
    {"load", "n_e, p_e = n_e / \xce\xa3 n", "mixture of experts: tokens routed to each expert of a layer."},
    {"load entropy", "H = -\xce\xa3 p_e ln p_e, H / ln E",
     "in nats, and over its most (ln E, E routed experts): 1 = every expert gets the same load."},
    {"overlap", "mean ||U_a\xe1\xb5\x80 U_b||_F\xc2\xb2 / k",
     "over pairs of a layer's experts with more than k tokens, U_e the top k eigenvectors (k = 8 unless "
     "metrics.overlap_k): 1 = one shared subspace, about k/D for random ones."},
    {"no_tokens", "n_e < 2", "an expert no token (or too_few_tokens: one) was routed to: its count, no spectrum."},
};

typedef enum LineKind { LINE_BLANK, LINE_HEADING, LINE_PAIR, LINE_TEXT } LineKind;

typedef struct HelpLine {
    LineKind kind;
    char a[64];      /* left column (keys, metric name) */
    char b[256];     /* right column or text */
    int dim;
} HelpLine;

static void copyText(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Splits text into lines of at most w columns at spaces; returns the count. */
static int wrap(const char *text, int w, char out[][256], int max)
{
    int n = 0;
    const char *p = text;
    if (w < 10) w = 10;
    while (*p && n < max) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *q = p, *cut = NULL;
        int cols = 0;
        while (*q && cols < w) {
            uint32_t cp;
            int len = utf8Decode(q, &cp);
            if (cp == ' ') cut = q;
            q += len;
            cols++;
        }
        const char *end = !*q ? q : cut && cut > p ? cut : q;
        size_t bytes = (size_t)(end - p);
        if (bytes > 255) bytes = 255;
        memcpy(out[n], p, bytes);
        out[n][bytes] = '\0';
        n++;
        p = end;
    }
    return n;
}

/* Builds the help text for a box of inner width w. Returns the line count
 * (lines is NULL: only counts). */
static int helpBuild(int w, HelpLine *lines, int max)
{
    int n = 0;
#define ADD(k, A, B, D)                                                                       \
    do {                                                                                      \
        if (lines && n < max) {                                                               \
            lines[n].kind = (k);                                                              \
            copyText(lines[n].a, sizeof lines[n].a, (A));                                     \
            copyText(lines[n].b, sizeof lines[n].b, (B));                                     \
            lines[n].dim = (D);                                                               \
        }                                                                                     \
        n++;                                                                                  \
    } while (0)
    const int key_col = 16;
    ADD(LINE_HEADING, "", "Keys", 0);
    KeyHelp kh[64];
    int nk = uiKeyHelp(kh, 64);
    char parts[8][256];
    for (int i = 0; i < nk; i++) {
        char what[256];
        if (kh[i].views[0]) snprintf(what, sizeof what, "%s  (%s)", kh[i].what, kh[i].views);
        else snprintf(what, sizeof what, "%s", kh[i].what);
        int np = wrap(what, w - key_col - 2, parts, 8);
        for (int k = 0; k < np; k++) ADD(LINE_PAIR, k == 0 ? kh[i].keys : "", parts[k], 0);
    }
    int np = wrap("Mouse: a click selects a model, layer, heatmap cell, tab or table column (sorts); the wheel "
                  "scrolls.", w - 2, parts, 8);
    for (int k = 0; k < np; k++) ADD(LINE_TEXT, "", parts[k], 0);
    ADD(LINE_BLANK, "", "", 0);
    ADD(LINE_HEADING, "", "Metrics", 0);
    np = wrap("Per layer and site, from the eigenvalues \xce\xbb_1 >= ... >= \xce\xbb_D of the activation covariance "
              "(N tokens, FFN width D).", w - 2, parts, 8);
    for (int k = 0; k < np; k++) ADD(LINE_TEXT, "", parts[k], 1);
    for (size_t i = 0; i < sizeof metric_help / sizeof *metric_help; i++) {
        const MetricHelp *m = &metric_help[i];
        ADD(LINE_PAIR, m->name, m->formula, 0);
        np = wrap(m->meaning, w - key_col - 2, parts, 8);
        for (int k = 0; k < np; k++) ADD(LINE_PAIR, "", parts[k], 1);
    }
#undef ADD
    return n;
}

int helpLines(int inner_w) { return helpBuild(inner_w, NULL, 0); }

void helpDraw(Canvas *c, Rect r, const UiState *st, const RenderCtx *ctx)
{
    canvasClip(c, r);
    Style box = stFg(ctx, ROLE_BORDER);
    canvasFill(c, r, ' ', stText(ctx));
    canvasHLine(c, r.x + 1, r.y, r.w - 2, 0x2500, box);
    canvasHLine(c, r.x + 1, r.y + r.h - 1, r.w - 2, 0x2500, box);
    canvasVLine(c, r.x, r.y + 1, r.h - 2, 0x2502, box);
    canvasVLine(c, r.x + r.w - 1, r.y + 1, r.h - 2, 0x2502, box);
    canvasPut(c, r.x, r.y, 0x250c, box);
    canvasPut(c, r.x + r.w - 1, r.y, 0x2510, box);
    canvasPut(c, r.x, r.y + r.h - 1, 0x2514, box);
    canvasPut(c, r.x + r.w - 1, r.y + r.h - 1, 0x2518, box);
    canvasText(c, r.x + 2, r.y, -1, " Help ", stTitle(ctx));

    int inner_w = r.w - 4, inner_h = r.h - 2;
    HelpLine *lines = malloc(200 * sizeof *lines);
    if (!lines) {
        canvasUnclip(c);
        return;
    }
    int n = helpBuild(inner_w, lines, 200);
    if (n > 200) n = 200;
    int scroll = st->help_scroll;
    if (scroll > n - inner_h) scroll = n - inner_h;
    if (scroll < 0) scroll = 0;
    Style key = stFg(ctx, ROLE_ACCENT);
    key.attrs |= ATTR_BOLD;
    for (int i = 0; i < inner_h && scroll + i < n; i++) {
        const HelpLine *l = &lines[scroll + i];
        int y = r.y + 1 + i, x = r.x + 2;
        Style text = l->dim ? stDim(ctx) : stText(ctx);
        switch (l->kind) {
        case LINE_HEADING: canvasText(c, x, y, inner_w, l->b, stTitle(ctx)); break;
        case LINE_PAIR:
            canvasText(c, x, y, 15, l->a, key);
            canvasText(c, x + 16, y, inner_w - 16, l->b, text);
            break;
        case LINE_TEXT: canvasText(c, x, y, inner_w, l->b, text); break;
        case LINE_BLANK: break;
        }
    }
    char foot[96];
    snprintf(foot, sizeof foot, " ? or Esc closes \xc2\xb7 \xe2\x86\x91\xe2\x86\x93 PgUp PgDn scroll \xc2\xb7 %d/%d ",
             scroll + inner_h < n ? scroll + inner_h : n, n);
    canvasTextRight(c, r.x + r.w - 2, r.y + r.h - 1, r.w - 4, foot, stDim(ctx));
    free(lines);
    canvasUnclip(c);
}
