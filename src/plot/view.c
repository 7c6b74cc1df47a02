/* The dashboard's `f` key: the current view as a figure, in the three
 * formats, next to the screenshots. */
#include <limits.h>
#include <stdio.h>

#include "export/export.h"
#include "plot/plot.h"
#include "util/fileio.h"

int plotExportView(const Snapshot *s, const UiState *st, const char *dir, time_t when, char *base, size_t base_len,
                   Error *err)
{
    static const PlotFigure for_view[VIEW_COUNT] = {FIGURE_SPECTRUM, FIGURE_HEATMAP, FIGURE_SCALING, FIGURE_DEPTH};
    static const char *const ext[PLOT_FORMAT_COUNT] = {"pdf", "svg", "png"};
    PlotOptions o;
    plotOptionsInit(&o, for_view[st->view < VIEW_COUNT ? st->view : VIEW_SCALING]);
    o.site = st->sel_site;
    int layer = st->sel_layer;
    const ModelSnapshot *m = uiSelectedModel(s, st);
    if (o.figure == FIGURE_SPECTRUM) {
        /* the layer the view shows */
        if (!m) return errorSet(err, EXIT_INPUT, "no model selected");
        o.model_name = m->name;
        if (!st->on_model) o.layers = &layer, o.n_layers = 1;
        /* the expert the view shows */
        if (!st->on_model && st->sel_expert != CAPTURE_DENSE) o.one_expert = 1, o.expert = st->sel_expert;
    } else if (o.figure == FIGURE_HEATMAP) {
        o.metric = st->heat_metric;
        /* layers x experts as the view shows it */
        if (st->heat_experts && m) o.experts = m->name, o.load = st->heat_load;
    } else if (o.figure == FIGURE_DEPTH && plotMetricAllowed(st->sort_col)) {
        o.metric = st->sort_col;
    }
    char name[64];
    snprintf(name, sizeof name, "figure-%s", plotFigureName(o.figure));
    if (makeDirs(dir, err) || exportPickBase(dir, name, when, ext, PLOT_FORMAT_COUNT, base, base_len, err)) return -1;
    for (int f = 0; f < PLOT_FORMAT_COUNT; f++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s.%s", base, ext[f]);
        if (plotWriteFile(s, &o, (PlotFormat)f, path, err)) return -1;
    }
    return 0;
}
