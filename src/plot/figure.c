/* The drawing context the four figures share: text (drawn by cairo, or kept
 * for the SVG's <text> elements), axes with ticks whose labels never
 * overlap, markers, the colour map and its bar, and the model selection. */
#include "plot/figure.h"

#include <math.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DejaVu Sans: the cap height is 0.73 em; anchoring on it centres digits. */
#define CAP_HEIGHT 0.73

double axisMap(const Axis *a, double v)
{
    double s0 = a->log ? log10(a->lo) : a->lo, s1 = a->log ? log10(a->hi) : a->hi;
    double sv = a->log ? log10(v) : v;
    if (s1 == s0) return 0.5 * (a->p0 + a->p1);
    return a->p0 + (a->p1 - a->p0) * (sv - s0) / (s1 - s0);
}

void axisPad(Axis *a, double frac)
{
    if (a->log) {
        double l0 = log10(a->lo), l1 = log10(a->hi), d = (l1 - l0) * frac;
        if (d == 0) d = 0.1;
        a->lo = pow(10, l0 - d);
        a->hi = pow(10, l1 + d);
    } else {
        double d = (a->hi - a->lo) * frac;
        if (d == 0) d = a->lo ? fabs(a->lo) * 0.1 : 0.1;
        a->lo -= d;
        a->hi += d;
    }
}

void figColor(Fig *f, Color c, double alpha)
{
    cairo_set_source_rgba(f->cr, ((c >> 16) & 0xff) / 255.0, ((c >> 8) & 0xff) / 255.0, (c & 0xff) / 255.0, alpha);
}

static void fontSet(Fig *f, double size)
{
    cairo_select_font_face(f->cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(f->cr, size);
}

double figTextWidth(Fig *f, const char *s, double size)
{
    cairo_text_extents_t e;
    fontSet(f, size);
    cairo_text_extents(f->cr, s, &e);
    return e.x_advance;
}

static void keepText(Fig *f, const char *s, double x, double y, double angle, double size, Color c)
{
    if (f->n_texts == f->cap_texts) {
        int cap = f->cap_texts ? 2 * f->cap_texts : 64;
        FigText *t = realloc(f->texts, sizeof *t * (size_t)cap);
        if (!t) {
            f->bad = 1;
            return;
        }
        f->texts = t;
        f->cap_texts = cap;
    }
    FigText *t = &f->texts[f->n_texts];
    if (!(t->text = strdup(s))) {
        f->bad = 1;
        return;
    }
    t->x = x, t->y = y, t->angle = angle, t->size = size, t->color = c;
    f->n_texts++;
}

void figText(Fig *f, double x, double y, const char *s, double size, double ax, double ay, double angle, Color c)
{
    double w = figTextWidth(f, s, size);
    double dx = -ax * w, dy = CAP_HEIGHT * size * (1 - ay);
    if (f->format == PLOT_SVG) {
        /* the baseline origin in page coordinates */
        double a = -angle * M_PI / 180;
        double bx = x + dx * cos(a) - dy * sin(a), by = y + dx * sin(a) + dy * cos(a);
        keepText(f, s, bx, by, angle, size, c);
        return;
    }
    cairo_save(f->cr);
    cairo_translate(f->cr, x, y);
    cairo_rotate(f->cr, -angle * M_PI / 180);
    cairo_move_to(f->cr, dx, dy);
    figColor(f, c, 1);
    cairo_show_text(f->cr, s);
    cairo_new_path(f->cr);
    cairo_restore(f->cr);
}

/* ---- numbers ---- */

static const char *const superscript[10] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3", "\xe2\x81\xb4",
                                            "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7", "\xe2\x81\xb8",
                                            "\xe2\x81\xb9"};

void figNum(double v, int digits, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return;
    }
    snprintf(buf, n, "%.*f", digits, v);
    /* no "-0.00" */
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)) memmove(buf, buf + 1, strlen(buf));
}

void figTickLabel(double v, int log, char *buf, size_t n)
{
    if (fabs(v) < 1e-12) v = 0;
    double e = v > 0 ? log10(v) : 0;
    if (log && v > 0 && fabs(e - round(e)) < 1e-9 && (e < -2.5 || e > 4.5)) {
        int k = (int)lround(e);
        size_t w = (size_t)snprintf(buf, n, "10");
        if (k < 0 && w < n) w += (size_t)snprintf(buf + w, n - w, "\xe2\x81\xbb");
        char digits[16];
        snprintf(digits, sizeof digits, "%d", abs(k));
        for (char *d = digits; *d && w < n; d++) w += (size_t)snprintf(buf + w, n - w, "%s", superscript[*d - '0']);
        return;
    }
    snprintf(buf, n, "%.6g", v);
}

/* ---- ticks ---- */

#define MAX_TICKS 64

static int inRange(const Axis *a, double v)
{
    double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi), eps = (hi - lo) * 1e-9;
    return v >= lo - eps && v <= hi + eps;
}

/* Whether the labels of ticks t[0..n) fit along the axis without touching. */
static int labelsFit(Fig *f, const Axis *a, const double *t, int n, int horizontal)
{
    for (int i = 1; i < n; i++) {
        double gap = fabs(axisMap(a, t[i]) - axisMap(a, t[i - 1]));
        if (horizontal) {
            char l0[32], l1[32];
            figTickLabel(t[i - 1], a->log, l0, sizeof l0);
            figTickLabel(t[i], a->log, l1, sizeof l1);
            if (gap < 0.5 * (figTextWidth(f, l0, FONT_TICK) + figTextWidth(f, l1, FONT_TICK)) + 4) return 0;
        } else if (gap < FONT_TICK * 1.4) {
            return 0;
        }
    }
    return 1;
}

/* The labelled ticks: the most that fit, at most 9. */
static int majorTicks(Fig *f, const Axis *a, int horizontal, double *t)
{
    int n = 0;
    if (a->log) {
        double base = a->base2 ? 2 : 10, lb = log(base);
        int k0 = (int)ceil(log(fmin(a->lo, a->hi)) / lb - 1e-9), k1 = (int)floor(log(fmax(a->lo, a->hi)) / lb + 1e-9);
        for (int step = 1; step <= 64; step++) {
            n = 0;
            /* steps of whole exponents that keep the powers of ten (or two) round */
            int first = (int)(ceil((double)k0 / step) * step);
            for (int k = first; k <= k1 && n < MAX_TICKS; k += step) t[n++] = pow(base, k);
            if (n <= 9 && labelsFit(f, a, t, n, horizontal)) break;
        }
        if (n < 3 && !a->base2) {
            /* less than three decades: 1, 2, 5 times powers of ten */
            static const double mant[] = {1, 2, 5};
            n = 0;
            for (int k = k0 - 1; k <= k1 && n < MAX_TICKS - 3; k++)
                for (int m = 0; m < 3; m++) {
                    double v = mant[m] * pow(10, k);
                    if (inRange(a, v)) t[n++] = v;
                }
            if (!labelsFit(f, a, t, n, horizontal) && n > 1) {
                int j = 0;
                for (int i = 0; i < n; i++)
                    if (fabs(log10(t[i]) - round(log10(t[i]))) < 1e-9) t[j++] = t[i];
                n = j;
            }
        }
        if (n < 2 && a->base2) {
            /* a narrow range of widths: label the ends */
            t[0] = fmin(a->lo, a->hi) * 1.0000001, t[1] = fmax(a->lo, a->hi) * 0.9999999;
            n = 2;
        }
        return n;
    }
    double span = fabs(a->hi - a->lo);
    if (span == 0) span = 1;
    static const double nice[] = {1, 2, 2.5, 5};
    double best = 0;
    /* the smallest round step whose labels fit */
    for (int e = (int)floor(log10(span)) - 3; e <= (int)floor(log10(span)) + 1; e++) {
        for (int m = 0; m < 4; m++) {
            double step = nice[m] * pow(10, e);
            if (span / step > 7 || (a->integer && step < 1)) continue;
            n = 0;
            double lo = fmin(a->lo, a->hi), hi = fmax(a->lo, a->hi);
            for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < MAX_TICKS; v += step)
                t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
            if (labelsFit(f, a, t, n, horizontal)) {
                best = step;
                break;
            }
        }
        if (best) break;
    }
    return n;
}

static int minorTicks(const Axis *a, double *t)
{
    if (!a->log || a->base2) return 0;
    int n = 0;
    int k0 = (int)floor(log10(fmin(a->lo, a->hi))), k1 = (int)ceil(log10(fmax(a->lo, a->hi)));
    if (k1 - k0 > 6) return 0;   /* dense minor ticks over many decades are noise */
    for (int k = k0; k <= k1; k++)
        for (int m = 2; m <= 9 && n < MAX_TICKS; m++)
            if (inRange(a, m * pow(10, k))) t[n++] = m * pow(10, k);
    return n;
}

double figYLabelWidth(Fig *f, const Axis *y)
{
    double t[MAX_TICKS], w = 0;
    int n = majorTicks(f, y, 0, t);
    for (int i = 0; i < n; i++) {
        char l[32];
        figTickLabel(t[i], y->log, l, sizeof l);
        w = fmax(w, figTextWidth(f, l, FONT_TICK));
    }
    return w;
}

int figPlaceFrame(Fig *f, Frame *fr, double pad, double top, double bottom, double right)
{
    fr->top = top;
    fr->bottom = bottom;
    fr->right = right;
    fr->y.p0 = fr->bottom, fr->y.p1 = fr->top;
    fr->left = pad + FONT_LABEL + 3.5 + figYLabelWidth(f, &fr->y) + 2 + TICK_LEN;
    fr->x.p0 = fr->left, fr->x.p1 = fr->right;
    return fr->bottom - fr->top >= 30 && fr->right - fr->left >= 40;
}

static const double dashes[][2] = {{0, 0}, {3.5, 1.8}, {1, 1.5}, {5, 1.5}};
#define N_DASH 4

void figDash(Fig *f, int family)
{
    int d = family % N_DASH;
    if (d == 0) cairo_set_dash(f->cr, NULL, 0, 0);
    else cairo_set_dash(f->cr, dashes[d], 2, 0);
}

void figDashSample(Fig *f, double x, double y, double len, int family)
{
    figColor(f, f->style.text, 1);
    cairo_set_line_width(f->cr, 0.9);
    figDash(f, family);
    cairo_move_to(f->cr, x, y);
    cairo_line_to(f->cr, x + len, y);
    cairo_stroke(f->cr);
    cairo_set_dash(f->cr, NULL, 0, 0);
}

static void line(Fig *f, double x0, double y0, double x1, double y1)
{
    cairo_move_to(f->cr, x0, y0);
    cairo_line_to(f->cr, x1, y1);
    cairo_stroke(f->cr);
}

void figDrawAxes(Fig *f, const Frame *fr, const char *xlabel, const char *ylabel, int grid)
{
    cairo_t *cr = f->cr;
    double tx[MAX_TICKS], ty[MAX_TICKS], mx[MAX_TICKS], my[MAX_TICKS];
    int nx = majorTicks(f, &fr->x, 1, tx), ny = majorTicks(f, &fr->y, 0, ty);
    int nmx = minorTicks(&fr->x, mx), nmy = minorTicks(&fr->y, my);
    if (grid) {
        figColor(f, f->style.grid, 1);
        cairo_set_line_width(cr, 0.4);
        for (int i = 0; i < nx; i++) line(f, axisMap(&fr->x, tx[i]), fr->top, axisMap(&fr->x, tx[i]), fr->bottom);
        for (int i = 0; i < ny; i++) line(f, fr->left, axisMap(&fr->y, ty[i]), fr->right, axisMap(&fr->y, ty[i]));
    }
    figColor(f, f->style.axis, 1);
    cairo_set_line_width(cr, 0.6);
    cairo_rectangle(cr, fr->left, fr->top, fr->right - fr->left, fr->bottom - fr->top);
    cairo_stroke(cr);
    for (int i = 0; i < nmx; i++) line(f, axisMap(&fr->x, mx[i]), fr->bottom, axisMap(&fr->x, mx[i]), fr->bottom + TICK_MINOR);
    for (int i = 0; i < nmy; i++) line(f, fr->left, axisMap(&fr->y, my[i]), fr->left - TICK_MINOR, axisMap(&fr->y, my[i]));
    double yw = 0;
    for (int i = 0; i < nx; i++) {
        double x = axisMap(&fr->x, tx[i]);
        char l[32];
        figColor(f, f->style.axis, 1);
        line(f, x, fr->bottom, x, fr->bottom + TICK_LEN);
        figTickLabel(tx[i], fr->x.log, l, sizeof l);
        figText(f, x, fr->bottom + TICK_LEN + 2.5, l, FONT_TICK, 0.5, 0, 0, f->style.text);
    }
    for (int i = 0; i < ny; i++) {
        double y = axisMap(&fr->y, ty[i]);
        char l[32];
        figColor(f, f->style.axis, 1);
        line(f, fr->left, y, fr->left - TICK_LEN, y);
        figTickLabel(ty[i], fr->y.log, l, sizeof l);
        yw = fmax(yw, figTextWidth(f, l, FONT_TICK));
        figText(f, fr->left - TICK_LEN - 2, y, l, FONT_TICK, 1, 0.5, 0, f->style.text);
    }
    if (xlabel)
        figText(f, 0.5 * (fr->left + fr->right), fr->bottom + TICK_LEN + 2.5 + FONT_TICK + 4, xlabel, FONT_LABEL, 0.5, 0,
                0, f->style.text);
    if (ylabel)
        figText(f, fr->left - TICK_LEN - 2 - yw - 3.5, 0.5 * (fr->top + fr->bottom), ylabel, FONT_LABEL, 0.5, 1, 90,
                f->style.text);
}

void figMarker(Fig *f, double x, double y, int shape, double r, Color c, int filled)
{
    cairo_t *cr = f->cr;
    cairo_new_path(cr);
    switch (shape) {
    case 1: cairo_rectangle(cr, x - 0.85 * r, y - 0.85 * r, 1.7 * r, 1.7 * r); break;
    case 2:
        /* centred on its bounding box, as the other shapes */
        cairo_move_to(cr, x, y - 1.1 * r);
        cairo_line_to(cr, x + 1.15 * r, y + 1.1 * r);
        cairo_line_to(cr, x - 1.15 * r, y + 1.1 * r);
        cairo_close_path(cr);
        break;
    case 3:
        cairo_move_to(cr, x, y - 1.2 * r);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + 1.2 * r);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    default: cairo_arc(cr, x, y, r, 0, 2 * M_PI); cairo_close_path(cr); break;
    }
    figColor(f, c, 1);
    if (filled) {
        cairo_fill(cr);
    } else {
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
    }
}

Color figGradient(const FigStyle *st, double t)
{
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    double pos = t * (st->n_gradient - 1);
    int i = (int)pos;
    if (i >= st->n_gradient - 1) return st->gradient[st->n_gradient - 1];
    return colorLerp(st->gradient[i], st->gradient[i + 1], pos - i);
}

Color figLineColor(const FigStyle *st, double t)
{
    return figGradient(st, st->line_lo + (st->line_hi - st->line_lo) * t);
}

void figColorBar(Fig *f, double x, double top, double w, double bottom, const Axis *scale, const char *label,
                 int lines)
{
    cairo_t *cr = f->cr;
    /* cairo interpolates between stops in sRGB as figGradient does; the
     * lines' part of the map is sampled finely enough to look the same */
    cairo_pattern_t *p = cairo_pattern_create_linear(0, bottom, 0, top);
    int stops = lines ? 33 : f->style.n_gradient;
    for (int i = 0; i < stops; i++) {
        double t = (double)i / (stops - 1);
        Color c = lines ? figLineColor(&f->style, t) : f->style.gradient[i];
        cairo_pattern_add_color_stop_rgb(p, t, ((c >> 16) & 0xff) / 255.0, ((c >> 8) & 0xff) / 255.0,
                                         (c & 0xff) / 255.0);
    }
    cairo_rectangle(cr, x, top, w, bottom - top);
    cairo_set_source(cr, p);
    cairo_fill(cr);
    cairo_pattern_destroy(p);
    figColor(f, f->style.axis, 1);
    cairo_set_line_width(cr, 0.6);
    cairo_rectangle(cr, x, top, w, bottom - top);
    cairo_stroke(cr);
    Axis a = *scale;
    a.p0 = bottom, a.p1 = top;
    double t[MAX_TICKS], lw = 0;
    int n = majorTicks(f, &a, 0, t);
    for (int i = 0; i < n; i++) {
        double y = axisMap(&a, t[i]);
        char l[32];
        figColor(f, f->style.axis, 1);
        line(f, x + w, y, x + w + TICK_LEN, y);
        figTickLabel(t[i], a.log, l, sizeof l);
        lw = fmax(lw, figTextWidth(f, l, FONT_TICK));
        figText(f, x + w + TICK_LEN + 2, y, l, FONT_TICK, 0, 0.5, 0, f->style.text);
    }
    if (label)
        figText(f, x + w + TICK_LEN + 2 + lw + 3.5, 0.5 * (top + bottom), label, FONT_LABEL, 0.5, 0, 90, f->style.text);
}

/* ---- selection ---- */

int figSelectModels(const Snapshot *s, const PlotOptions *o, int *sel, Error *err)
{
    pcre2_code *re = NULL;
    pcre2_match_data *md = NULL;
    if (o->models) {
        int code;
        PCRE2_SIZE at;
        re = pcre2_compile((PCRE2_SPTR)o->models, PCRE2_ZERO_TERMINATED, PCRE2_CASELESS | PCRE2_UTF, &code, &at, NULL);
        if (!re) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(code, msg, sizeof msg);
            return errorSet(err, EXIT_INPUT, "--models '%.100s': %s at offset %zu", o->models, (const char *)msg,
                            (size_t)at);
        }
        if (!(md = pcre2_match_data_create_from_pattern(re, NULL))) {
            pcre2_code_free(re);
            return errorNoMem(err, "plot");
        }
    }
    int n = 0;
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        sel[i] = 0;
        if (m->status == MODEL_FAILED || !m->name || (o->model_name && strcmp(o->model_name, m->name))) continue;
        if (re && pcre2_match(re, (PCRE2_SPTR)m->name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) < 0) continue;
        int any = 0;
        for (int j = 0; j < m->n_rows && !any; j++)
            any = m->rows[j].site == o->site && m->rows[j].n_eigen > 0 && figLayerChosen(o, m->rows[j].layer);
        sel[i] = any;
        n += any;
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return n;
}

int figLayerChosen(const PlotOptions *o, int layer)
{
    if (!o->layers) return 1;
    for (int i = 0; i < o->n_layers; i++)
        if (o->layers[i] == layer) return 1;
    return 0;
}

const char *figMetricLabel(Column c)
{
    switch (c) {
    case COL_HARD_RANK: return "hard rank HR (dimensions)";
    case COL_SOFT_RANK: return "soft rank SR (dimensions)";
    case COL_HARD_UTIL: return "hard utilization HR/D";
    case COL_SOFT_UTIL: return "soft utilization SR/D";
    case COL_CONCENTRATION: return "concentration C\xe2\x82\x96 (energy share)";
    case COL_EEE: return "early enrichment EEE";
    case COL_SUI: return "SUI = \xe2\x88\x9a(HR\xc2\xb7SR)/D";
    case COL_ALPHA: return "decay exponent \xce\xb1";
    default: return columnName(c);
    }
}
