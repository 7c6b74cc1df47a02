/* The table's rows: one per model x layer x site, filtered and sorted; the
 * same rows feed the table view and the csv/md/json exports. */
#define _GNU_SOURCE   /* qsort_r, strcasestr */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ffnscope/metrics.h"
#include "ffnscope/model.h"
#include "ui/ui.h"

static const struct {
    const char *name, *title;
    int numeric;
} columns[COL_COUNT] = {
    [COL_MODEL] = {"model", "model", 0},
    [COL_FAMILY] = {"family", "family", 0},
    [COL_WIDTH] = {"width", "D", 1},
    [COL_LAYER] = {"layer", "L", 1},
    [COL_SITE] = {"site", "site", 0},
    [COL_EXPERT] = {"expert", "E", 0},
    [COL_TOKENS] = {"tokens", "N", 1},
    [COL_HARD_RANK] = {"hard_rank", "HR", 1},
    [COL_SOFT_RANK] = {"soft_rank", "SR", 1},
    [COL_HARD_UTIL] = {"hard_util", "HR/D", 1},
    [COL_SOFT_UTIL] = {"soft_util", "SR/D", 1},
    [COL_CONCENTRATION] = {"concentration", "C_k", 1},
    [COL_EEE] = {"eee", "EEE", 1},
    [COL_SUI] = {"sui", "SUI", 1},
    [COL_ALPHA] = {"alpha", "\xce\xb1", 1},   /* α */
    [COL_WARNINGS] = {"warnings", "warnings", 0},
};

const char *columnName(Column c) { return c < COL_COUNT ? columns[c].name : "?"; }
int columnByName(const char *name)
{
    for (int c = 0; c < COL_COUNT; c++)
        if (!strcmp(name, columns[c].name)) return c;
    return -1;
}

const char *columnTitle(Column c) { return c < COL_COUNT ? columns[c].title : "?"; }
int columnIsNumeric(Column c) { return c < COL_COUNT && columns[c].numeric; }

double columnValue(const ModelSnapshot *m, const LayerSnapshot *r, Column c)
{
    const Metrics *mt = &r->metrics;
    int have = r->n_eigen > 0;
    switch (c) {
    case COL_WIDTH: return r->width > 0 ? r->width : m->width > 0 ? m->width : (have ? mt->width : NAN);
    case COL_LAYER: return r->layer;
    case COL_TOKENS: return have || snapshotRowCounted(r) ? (double)mt->tokens : NAN;
    case COL_HARD_RANK: return have ? mt->hard_rank : NAN;
    case COL_SOFT_RANK: return have ? mt->soft_rank : NAN;
    case COL_HARD_UTIL: return have ? mt->hard_util : NAN;
    case COL_SOFT_UTIL: return have ? mt->soft_util : NAN;
    case COL_CONCENTRATION: return have ? mt->concentration : NAN;
    case COL_EEE: return have ? mt->eee : NAN;
    case COL_SUI: return have ? mt->sui : NAN;
    case COL_ALPHA: return have ? mt->alpha : NAN;
    default: return NAN;
    }
}

void columnText(const ModelSnapshot *m, const LayerSnapshot *r, Column c, int precise, char *buf, size_t n)
{
    double v;
    switch (c) {
    case COL_MODEL: snprintf(buf, n, "%s", m->name ? m->name : ""); return;
    case COL_FAMILY: snprintf(buf, n, "%s", m->family ? m->family : ""); return;
    case COL_SITE: snprintf(buf, n, "%s", siteName(r->site)); return;
    case COL_EXPERT:
        if (!r->routed) snprintf(buf, n, "%s", "");
        else if (r->expert == CAPTURE_SHARED) snprintf(buf, n, "%s", "shared");
        else snprintf(buf, n, "%d", r->expert);
        return;
    case COL_WARNINGS:
        if (snapshotRowCounted(r)) metricsWarnings(&r->metrics, buf, n);
        else snprintf(buf, n, "%s", "");
        return;
    case COL_WIDTH:
    case COL_LAYER:
    case COL_TOKENS:
        v = columnValue(m, r, c);
        if (isnan(v)) snprintf(buf, n, "%s", precise ? "" : "-");
        else snprintf(buf, n, "%.0f", v);
        return;
    default:
        v = columnValue(m, r, c);
        if (isnan(v)) snprintf(buf, n, "%s", precise ? "" : "-");
        else if (precise) snprintf(buf, n, "%.17g", v);
        else if (c == COL_HARD_RANK || c == COL_SOFT_RANK) snprintf(buf, n, v >= 1000 ? "%.0f" : "%.1f", v);
        else if (c == COL_ALPHA) snprintf(buf, n, "%.2f", v);
        else snprintf(buf, n, "%.3f", v);
        return;
    }
}

typedef struct SortCtx {
    const Snapshot *s;
    Column col;
    int desc;
} SortCtx;

static int cmpRows(const void *pa, const void *pb, void *arg)
{
    const TableRow *a = pa, *b = pb;
    const SortCtx sort_ctx = *(const SortCtx *)arg;
    const Snapshot *s = sort_ctx.s;
    const ModelSnapshot *ma = &s->models[a->model], *mb = &s->models[b->model];
    const LayerSnapshot *ra = &ma->rows[a->row], *rb = &mb->rows[b->row];
    int c = 0;
    if (columnIsNumeric(sort_ctx.col)) {
        double va = columnValue(ma, ra, sort_ctx.col), vb = columnValue(mb, rb, sort_ctx.col);
        /* Rows not computed yet go last whichever the direction. */
        if (isnan(va) || isnan(vb)) {
            if (isnan(va) != isnan(vb)) return isnan(va) ? 1 : -1;
        } else c = va < vb ? -1 : va > vb;
    } else if (sort_ctx.col == COL_MODEL) {
        /* Models in the snapshot's order: by family, then by width. */
        c = a->model < b->model ? -1 : a->model > b->model;
    } else {
        char ta[256], tb[256];
        columnText(ma, ra, sort_ctx.col, 1, ta, sizeof ta);
        columnText(mb, rb, sort_ctx.col, 1, tb, sizeof tb);
        c = strverscmp(ta, tb);   /* "w64" before "w128" */
    }
    if (sort_ctx.desc) c = -c;
    if (c) return c;
    /* Ties keep the snapshot's order: family, width, layer, site. */
    if (a->model != b->model) return a->model < b->model ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

typedef struct Filter {
    pcre2_code *re;
    pcre2_match_data *md;
    const char *literal;      /* when the filter is not a valid regex */
} Filter;

static int filterOpen(Filter *f, const char *pattern)
{
    memset(f, 0, sizeof *f);
    if (!*pattern) return 0;
    int errcode;
    PCRE2_SIZE erroff;
    f->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS | PCRE2_UTF, &errcode,
                          &erroff, NULL);
    if (!f->re) {
        f->literal = pattern;
        return 0;
    }
    f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
    if (!f->md) {
        pcre2_code_free(f->re);
        return -1;
    }
    return 0;
}

static void filterClose(Filter *f)
{
    pcre2_match_data_free(f->md);
    pcre2_code_free(f->re);
}

static int filterMatch(const Filter *f, const ModelSnapshot *m, const LayerSnapshot *r)
{
    if (!f->re && !f->literal) return 1;
    char warn[128] = "", line[512];
    if (r->n_eigen > 0) metricsWarnings(&r->metrics, warn, sizeof warn);
    /* What a row is called on screen, so "L3 " or "gpt2 .* pre" find it. */
    snprintf(line, sizeof line, "%s %s %d L%d %s %s", m->name ? m->name : "", m->family ? m->family : "",
             m->width, r->layer, siteName(r->site), warn);
    if (f->literal) return strcasestr(line, f->literal) != NULL;
    return pcre2_match(f->re, (PCRE2_SPTR)line, strlen(line), 0, 0, f->md, NULL) >= 0;
}

int tableRows(const Snapshot *s, const UiState *st, TableRow **out)
{
    *out = NULL;
    int total = 0;
    for (int i = 0; i < s->n_models; i++) total += s->models[i].n_rows;
    if (total == 0) return 0;
    TableRow *rows = malloc((size_t)total * sizeof *rows);
    if (!rows) return -1;
    Filter f;
    if (filterOpen(&f, st->filter) != 0) {
        free(rows);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < s->n_models; i++)
        for (int j = 0; j < s->models[i].n_rows; j++)
            if (filterMatch(&f, &s->models[i], &s->models[i].rows[j])) rows[n++] = (TableRow){i, j};
    filterClose(&f);
    SortCtx sc = {s, st->sort_col, st->sort_desc};
    qsort_r(rows, (size_t)n, sizeof *rows, cmpRows, &sc);
    if (n == 0) {
        free(rows);
        rows = NULL;
    }
    *out = rows;
    return n;
}

static int cmpDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v); NAN when n is 0. */
static double median(double *v, int n)
{
    if (n <= 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmpDouble);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double modelMedian(const ModelSnapshot *m, Site site, Column c)
{
    if (m->n_rows <= 0) return NAN;
    double *v = malloc((size_t)m->n_rows * sizeof *v);
    if (!v) return NAN;
    int n = 0, routed = snapshotModelRouted(m);
    for (int i = 0; i < m->n_rows; i++) {
        if (m->rows[i].site != site || m->rows[i].n_eigen <= 0 || !snapshotRowInPoint(&m->rows[i], routed)) continue;
        double x = columnValue(m, &m->rows[i], c);
        if (isfinite(x)) v[n++] = x;
    }
    double med = median(v, n);
    free(v);
    return med;
}

double modelLayerValue(const ModelSnapshot *m, int layer, Site site, Column c, int *n_experts)
{
    if (n_experts) *n_experts = 0;
    int n_routed = 0;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->layer != layer || r->site != site) continue;
        if (!r->routed) return r->n_eigen > 0 ? columnValue(m, r, c) : NAN;
        n_routed += r->expert >= 0;
    }
    if (!n_routed) return NAN;
    double *v = malloc((size_t)n_routed * sizeof *v);
    if (!v) return NAN;
    int n = 0;
    /* the shared expert is left out: a different FFN that every token reaches */
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->layer != layer || r->site != site || !r->routed || r->expert < 0 || r->n_eigen <= 0) continue;
        double x = columnValue(m, r, c);
        if (isfinite(x)) v[n++] = x;
    }
    double med = median(v, n);
    free(v);
    if (n_experts) *n_experts = n;
    return med;
}
