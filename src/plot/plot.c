/* Figures to files: cairo surfaces for PDF, SVG and PNG, the two themes,
 * and the SVG's text layer. */
#include "plot/plot.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plot/figure.h"
#include "util/fileio.h"

static const char *const figure_names[FIGURE_COUNT] = {"scaling", "spectrum", "heatmap", "depth"};
static const char *const format_ext[PLOT_FORMAT_COUNT] = {"pdf", "svg", "png"};

/* Okabe & Ito's colour-blind-safe palette; the paper theme starts with the
 * colours that read best on white, the dark theme follows themes/colorblind.yaml. */
static const Color paper_family[] = {0x0072b2, 0xd55e00, 0x009e73, 0xcc79a7, 0xe69f00, 0x56b4e9, 0x000000};
static const Color dark_family[] = {0x56b4e9, 0xe69f00, 0x009e73, 0xcc79a7, 0xf0e442, 0xd55e00};
/* cividis (Nuñez et al. 2018), the stops of themes/colorblind.yaml: perceptually
 * uniform and readable with colour-vision deficiencies */
static const Color cividis[] = {0x00204d, 0x414d6b, 0x7c7b78, 0xbcaf6f, 0xffea46};

const char *plotFigureName(PlotFigure f) { return f < FIGURE_COUNT ? figure_names[f] : "?"; }
const char *plotFormatExtension(PlotFormat f) { return f < PLOT_FORMAT_COUNT ? format_ext[f] : "?"; }

int plotFigureParse(const char *name)
{
    for (int f = 0; f < FIGURE_COUNT; f++)
        if (!strcmp(name, figure_names[f])) return f;
    return -1;
}

int plotFormatFromPath(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return -1;
    for (int f = 0; f < PLOT_FORMAT_COUNT; f++)
        if (!strcasecmp(dot + 1, format_ext[f])) return f;
    return -1;
}

int plotMetricAllowed(Column c)
{
    return columnIsNumeric(c) && c != COL_WIDTH && c != COL_LAYER && c != COL_TOKENS;
}

void plotDefaultSize(PlotFigure f, double *w, double *h)
{
    /* single column; the scaling legend needs the extra height */
    *w = 3.4;
    *h = f == FIGURE_SCALING ? 3.3 : f == FIGURE_HEATMAP ? 2.8 : 2.6;
}

void plotOptionsInit(PlotOptions *o, PlotFigure f)
{
    memset(o, 0, sizeof *o);
    o->figure = f;
    o->site = SITE_POST;
    o->metric = COL_SUI;
    o->dpi = 300;
}

static void styleFor(FigStyle *st, int dark)
{
    if (dark) {
        *st = (FigStyle){0x16191f, 0xe6e6e6, 0x8c8c8c, 0x30343c, 0x1e222a, dark_family,
                      (int)(sizeof dark_family / sizeof *dark_family), cividis, 5, 0.2, 1};
    } else {
        *st = (FigStyle){0xffffff, 0x1a1a1a, 0x333333, 0xe6e6e6, 0xffffff, paper_family,
                      (int)(sizeof paper_family / sizeof *paper_family), cividis, 5, 0, 0.8};
    }
}

/* ---- output ---- */

typedef struct Buf {
    char *data;
    size_t len, cap;
    int bad;
} Buf;

static void bufAdd(Buf *b, const void *p, size_t n)
{
    if (b->bad) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? 2 * b->cap : 65536) + n;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->bad = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void bufPrintf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bufPrintf(Buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        bufAdd(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->bad = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bufAdd(b, big, (size_t)n);
    free(big);
}

static cairo_status_t bufWrite(void *closure, const unsigned char *data, unsigned int length)
{
    Buf *b = closure;
    bufAdd(b, data, length);
    return b->bad ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static void xmlEscape(Buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': bufAdd(b, "&amp;", 5); break;
        case '<': bufAdd(b, "&lt;", 4); break;
        case '>': bufAdd(b, "&gt;", 4); break;
        case '"': bufAdd(b, "&quot;", 6); break;
        default: bufAdd(b, s, 1); break;
        }
    }
}

/* cairo's SVG with the ids prefixed (several figures on one page must not
 * share "clip1") and the text layer added last, on top as drawn. */
static void svgAssemble(const Fig *f, const Buf *in, const char *prefix, Buf *out)
{
    const char *end = NULL;
    for (const char *p = strstr(in->data, "</svg>"); p; p = strstr(p + 1, "</svg>")) end = p;
    if (!end) end = in->data + in->len;
    static const char *const refs[] = {"id=\"", "url(#", "xlink:href=\"#"};
    const char *p = in->data;
    while (p < end) {
        const char *next = NULL;
        size_t which = 0;
        if (prefix && *prefix)
            for (size_t r = 0; r < 3; r++) {
                const char *q = strstr(p, refs[r]);
                if (q && q < end && (!next || q < next)) next = q, which = r;
            }
        if (!next) {
            bufAdd(out, p, (size_t)(end - p));
            break;
        }
        size_t n = (size_t)(next - p) + strlen(refs[which]);
        bufAdd(out, p, n);
        bufAdd(out, prefix, strlen(prefix));
        p += n;
    }
    bufPrintf(out, "<g font-family=\"%s, 'Bitstream Vera Sans', sans-serif\">\n", FONT_FAMILY);
    for (int i = 0; i < f->n_texts; i++) {
        const FigText *t = &f->texts[i];
        bufPrintf(out, "<text font-size=\"%g\" fill=\"#%06x\" ", t->size, (unsigned)t->color);
        if (t->angle != 0)
            bufPrintf(out, "transform=\"translate(%.3f %.3f) rotate(%g)\">", t->x, t->y, -t->angle);
        else
            bufPrintf(out, "x=\"%.3f\" y=\"%.3f\">", t->x, t->y);
        xmlEscape(out, t->text);
        bufAdd(out, "</text>\n", 8);
    }
    bufAdd(out, "</g>\n</svg>\n", 12);
}

int plotRender(const Snapshot *s, const PlotOptions *o, PlotFormat fmt, char **data, size_t *len, Error *err)
{
    *data = NULL;
    *len = 0;
    double win = o->width_in, hin = o->height_in, dw, dh;
    plotDefaultSize(o->figure, &dw, &dh);
    if (!(win > 0)) win = dw;
    if (!(hin > 0)) hin = dh;
    Fig f = {0};
    f.format = fmt;
    f.w = win * 72;
    f.h = hin * 72;
    styleFor(&f.style, o->dark);
    Buf raw = {0};
    cairo_surface_t *surf;
    switch (fmt) {
    case PLOT_PDF: surf = cairo_pdf_surface_create_for_stream(bufWrite, &raw, f.w, f.h); break;
    case PLOT_SVG:
        surf = cairo_svg_surface_create_for_stream(bufWrite, &raw, f.w, f.h);
        cairo_svg_surface_restrict_to_version(surf, CAIRO_SVG_VERSION_1_1);
        break;
    default:
        surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)lround(win * o->dpi), (int)lround(hin * o->dpi));
        break;
    }
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return errorSet(err, EXIT_RUNTIME, "plot: cannot create the %s surface", format_ext[fmt]);
    }
    if (fmt == PLOT_PDF) {
        char title[64];
        snprintf(title, sizeof title, "ffnscope %s", figure_names[o->figure]);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, title);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "ffnscope " FFNSCOPE_VERSION);
    }
    f.cr = cairo_create(surf);
    if (fmt == PLOT_PNG) cairo_scale(f.cr, o->dpi / 72.0, o->dpi / 72.0);
    figColor(&f, f.style.background, 1);
    cairo_paint(f.cr);
    cairo_set_line_join(f.cr, CAIRO_LINE_JOIN_ROUND);
    int rc;
    switch (o->figure) {
    case FIGURE_SCALING: rc = figScaling(&f, s, o, err); break;
    case FIGURE_SPECTRUM: rc = figSpectrum(&f, s, o, err); break;
    case FIGURE_HEATMAP: rc = figHeatmap(&f, s, o, err); break;
    default: rc = figDepth(&f, s, o, err); break;
    }
    if (!rc && f.bad) rc = errorNoMem(err, "plot");
    if (!rc && cairo_status(f.cr) != CAIRO_STATUS_SUCCESS)
        rc = errorSet(err, EXIT_RUNTIME, "plot: cairo: %s", cairo_status_to_string(cairo_status(f.cr)));
    cairo_destroy(f.cr);
    if (fmt == PLOT_PNG && !rc) cairo_surface_write_to_png_stream(surf, bufWrite, &raw);
    cairo_surface_finish(surf);
    if (!rc && cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
        rc = errorSet(err, EXIT_RUNTIME, "plot: cairo: %s", cairo_status_to_string(cairo_surface_status(surf)));
    cairo_surface_destroy(surf);
    if (!rc && (raw.bad || !raw.data)) rc = errorNoMem(err, "plot");
    if (!rc && fmt == PLOT_SVG) {
        Buf svg = {0};
        svgAssemble(&f, &raw, o->id_prefix, &svg);
        free(raw.data);
        raw = svg;
        if (raw.bad) rc = errorNoMem(err, "plot");
    }
    for (int i = 0; i < f.n_texts; i++) free(f.texts[i].text);
    free(f.texts);
    if (rc) {
        free(raw.data);
        return -1;
    }
    *data = raw.data;
    *len = raw.len;
    return 0;
}

int plotWriteFile(const Snapshot *s, const PlotOptions *o, PlotFormat fmt, const char *path, Error *err)
{
    char *data;
    size_t len;
    if (plotRender(s, o, fmt, &data, &len, err)) return -1;
    int rc = fileWriteAtomic(path, data, len, err);
    free(data);
    return rc;
}
