#ifndef FFNSCOPE_PLOT_PLOT_H
#define FFNSCOPE_PLOT_PLOT_H

#include <stddef.h>
#include <time.h>

#include "ffnscope/error.h"
#include "ffnscope/snapshot.h"
#include "ui/ui.h"

/* Publication figures of a run, drawn with cairo: one drawing code for PDF,
 * SVG and PNG. Sizes are in inches (a two-column paper: 3.4 in single,
 * 7 in double column); everything inside is laid out in points. In SVG the
 * text is <text> elements placed with cairo's font metrics, so it stays
 * text (cairo's SVG surface would write glyph outlines). */

typedef enum PlotFigure { FIGURE_SCALING, FIGURE_SPECTRUM, FIGURE_HEATMAP, FIGURE_DEPTH, FIGURE_COUNT } PlotFigure;
typedef enum PlotFormat { PLOT_PDF, PLOT_SVG, PLOT_PNG, PLOT_FORMAT_COUNT } PlotFormat;

typedef struct PlotOptions {
    PlotFigure figure;
    Site site;
    Column metric;            /* heatmap and depth */
    const char *models;       /* a regex over model names (PCRE2, case-insensitive); NULL: all */
    const char *model_name;   /* exactly this model (the dashboard's selection); NULL: any */
    const char *experts;      /* heatmap: layers x experts of this mixture-of-experts model; NULL: layers x models */
    int load;                 /* with experts: the metric is the load (tokens routed to each expert), not metric */
    int one_expert;           /* spectrum: only `expert` of each routed layer (its index or CAPTURE_SHARED);
                               * else dense layers, and every expert of a routed layer when one layer is chosen */
    int expert;
    const int *layers;        /* NULL: the figure's default */
    int n_layers;
    double width_in, height_in;  /* 0: the figure's default */
    int dpi;                  /* PNG */
    int dark;                 /* the dark theme, else paper */
    const char *id_prefix;    /* SVG: prefix of the ids (figures sharing one HTML page); NULL: none */
} PlotOptions;

const char *plotFigureName(PlotFigure f);   /* "scaling", ... */
int plotFigureParse(const char *name);      /* -1 when unknown */
const char *plotFormatExtension(PlotFormat f);
int plotFormatFromPath(const char *path);   /* by the extension; -1 when not .pdf, .svg or .png */
int plotMetricAllowed(Column c);            /* a per-layer number that can be plotted */

void plotOptionsInit(PlotOptions *o, PlotFigure f);
void plotDefaultSize(PlotFigure f, double *width_in, double *height_in);

/* Draws the figure into a malloc'd buffer (*data, *len). Fails with
 * EXIT_INPUT when the selection leaves nothing to draw. */
int plotRender(const Snapshot *s, const PlotOptions *o, PlotFormat fmt, char **data, size_t *len, Error *err);

/* plotRender, then an atomic write to path. */
int plotWriteFile(const Snapshot *s, const PlotOptions *o, PlotFormat fmt, const char *path, Error *err);

/* The dashboard's `f` key: the figure that shows what the view shows (the
 * selected layer's spectrum, the heatmap's metric, the scaling plot, the
 * depth profile of the table's sort column), written as
 * figure-VIEW-YYYYmmdd-HHMMSS.{pdf,svg,png} in dir. base gets the path
 * without extension. */
int plotExportView(const Snapshot *s, const UiState *st, const char *dir, time_t when, char *base, size_t base_len,
                   Error *err);

/* The `report` command's page: one self-contained HTML file. */
int plotReport(const Snapshot *s, const char *results_dir, const char *path, Error *err);

#endif
