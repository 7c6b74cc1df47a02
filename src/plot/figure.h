#ifndef FFNSCOPE_PLOT_FIGURE_H
#define FFNSCOPE_PLOT_FIGURE_H

/* What the figure files share: the drawing context, text, axes, colours
 * and the model selection. Coordinates are points from the top left. */
#include <cairo.h>

#include "plot/plot.h"
#include "ui/canvas.h"

#define FONT_FAMILY "DejaVu Sans"
#define FONT_TICK 7.0     /* tick labels, legends */
#define FONT_LABEL 8.0    /* axis labels */
#define TICK_LEN 3.5      /* major ticks point outwards */
#define TICK_MINOR 2.0

typedef struct FigText {
    char *text;
    double x, y, angle;   /* the baseline origin after the rotation (degrees) */
    double size;
    Color color;
} FigText;

typedef struct FigStyle {
    Color background, text, axis, grid, frame_bg;
    const Color *family;  /* line and marker colours, colour-blind safe */
    int n_family;
    const Color *gradient;  /* perceptually uniform colour map, low to high */
    int n_gradient;
    double line_lo, line_hi;  /* the part of the map lines use: the end that vanishes on the background left out */
} FigStyle;

typedef struct Fig {
    cairo_t *cr;
    PlotFormat format;
    double w, h;              /* points */
    FigStyle style;
    FigText *texts;           /* SVG: the text, written as <text> elements */
    int n_texts, cap_texts;
    int bad;                  /* out of memory while drawing */
} Fig;

typedef struct Axis {
    double lo, hi;            /* data range */
    int log;                  /* log scale (lo > 0) */
    int base2;                /* log ticks at powers of two */
    int integer;              /* linear ticks at whole numbers only (layers) */
    double p0, p1;            /* where lo and hi land, in points */
} Axis;

typedef struct Frame {
    double left, top, right, bottom;  /* the plot area */
    Axis x, y;
} Frame;

double axisMap(const Axis *a, double v);
/* Grows lo..hi to leave a margin of frac of the span on either side (in the axis' scale). */
void axisPad(Axis *a, double frac);

void figColor(Fig *f, Color c, double alpha);
/* Text at (x, y) anchored by ax (0 left, 0.5 centre, 1 right) and ay (0 top,
 * 0.5 middle, 1 baseline), rotated by angle degrees (counter-clockwise). */
void figText(Fig *f, double x, double y, const char *s, double size, double ax, double ay, double angle, Color c);
double figTextWidth(Fig *f, const char *s, double size);

/* Room under a plot area for the x ticks, their labels and the axis label. */
#define FIG_X_AXIS_ROOM (TICK_LEN + 2.5 + FONT_TICK + 4 + FONT_LABEL + 2)
/* Places the plot area of fr (its axes' ranges set): top, bottom and right
 * as given, left after the y axis label and tick labels, pad from the
 * figure's edge. 0 when it is too small to draw in (under 40 x 30 points). */
int figPlaceFrame(Fig *f, Frame *fr, double pad, double top, double bottom, double right);
/* The frame, ticks, tick labels and axis labels. The frame's plot area must
 * already leave room for them (figPlaceFrame). */
void figDrawAxes(Fig *f, const Frame *fr, const char *xlabel, const char *ylabel, int grid);
/* Margins (points) needed around a plot area for the y tick labels of an axis. */
double figYLabelWidth(Fig *f, const Axis *y);

/* Markers: 0 circle, 1 square, 2 triangle, 3 diamond; filled or open. */
void figMarker(Fig *f, double x, double y, int shape, double r, Color c, int filled);
/* Line dash of the i-th family: solid, dashed, dotted, long dashes. */
void figDash(Fig *f, int family);
/* A key's sample of family's dash: a text-coloured line from (x, y), len long. */
void figDashSample(Fig *f, double x, double y, double len, int family);
Color figGradient(const FigStyle *st, double t);
/* The colour of a line at t in [0, 1]: the map between line_lo and line_hi. */
Color figLineColor(const FigStyle *st, double t);
/* A vertical colour bar with its ticks and label, at x..x+w, top..bottom:
 * the whole map, or the lines' part of it. */
void figColorBar(Fig *f, double x, double top, double w, double bottom, const Axis *scale, const char *label,
                 int lines);

/* "64", "0.25", "10⁻³": the shortest readable tick label. */
void figTickLabel(double v, int log, char *buf, size_t n);
/* Number formatting for legends: %.*g trimmed. */
void figNum(double v, int digits, char *buf, size_t n);

/* Models selected by o->models (regex) with at least one computed row at
 * o->site: sel[i] = 1. Returns the count, or -1 with err filled. */
int figSelectModels(const Snapshot *s, const PlotOptions *o, int *sel, Error *err);
/* Is layer in o->layers (or no list given)? */
int figLayerChosen(const PlotOptions *o, int layer);
const char *figMetricLabel(Column c);

int figScaling(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err);
int figSpectrum(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err);
int figHeatmap(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err);
int figDepth(Fig *f, const Snapshot *s, const PlotOptions *o, Error *err);

#endif
