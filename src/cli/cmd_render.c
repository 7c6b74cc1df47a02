/* ffnscope render RESULTS_DIR: draws a view of a saved run headlessly, with
 * the same views and exporters as the dashboard's screenshots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/results_args.h"
#include "export/export.h"
#include "ffnscope/results.h"
#include "ui/ui.h"

#define RENDER_USAGE                                                                                   \
    "usage: ffnscope render RESULTS_DIR [--view spectrum|heatmap|scaling|table]\n"                     \
    "                       [--format txt|ansi|html|svg] [--size COLSxROWS] [-o FILE]\n"               \
    "                       [--select MODEL[:LAYER[:SITE[:EXPERT]]]] [--metric NAME] [--experts]\n"  \
    "                       [--sort COLUMN[:asc|desc]] [--filter REGEX] [--linear] [--theme NAME]\n"  \
    "                       [--colors truecolor|256|8|none] [--ascii] [--help]\n"                     \
    "  --experts: the heatmap as layers x experts of the selected model (--metric load: tokens per\n" \
    "  expert); EXPERT (an index or shared) opens the layer's experts in the sidebar.\n"

static int usage(Error *err, const char *what) { return resultsArgsUsage("render", err, what); }

/* MODEL, MODEL:LAYER, MODEL:LAYER:SITE or MODEL:LAYER:SITE:EXPERT. */
static int applySelect(const Snapshot *s, UiState *st, const char *sel, Error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s", sel);
    char *layer = strchr(name, ':'), *site = NULL, *expert = NULL;
    if (layer) {
        *layer++ = '\0';
        site = strchr(layer, ':');
        if (site) *site++ = '\0';
        expert = site ? strchr(site, ':') : NULL;
        if (expert) *expert++ = '\0';
    }
    int m = -1;
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].name && !strcmp(s->models[i].name, name)) m = i;
    if (m < 0) return errorSet(err, EXIT_INPUT, "render: --select: no model named '%s' in the results", name);
    st->sel_model = m;
    /* only the selected model is open in the sidebar */
    memset(st->expanded, 0, (size_t)st->n_expanded);
    st->expanded[m] = 1;
    if (site) {
        if (strcmp(site, "post") && strcmp(site, "pre"))
            return errorSet(err, EXIT_INPUT, "render: --select: site must be post or pre, not '%s'", site);
        st->sel_site = !strcmp(site, "pre") ? SITE_PRE : SITE_POST;
    }
    if (layer) {
        char *end;
        long l = strtol(layer, &end, 10);
        if (!*layer || *end || l < 0) return errorSet(err, EXIT_INPUT, "render: --select: bad layer '%s'", layer);
        st->sel_layer = (int)l;
        const LayerSnapshot *r = modelFindLayer(&s->models[m], st->sel_layer, st->sel_site);
        if (!r)
            return errorSet(err, EXIT_INPUT, "render: --select: %s has no layer %ld at site %s", name, l,
                            siteName(st->sel_site));
        st->on_model = 0;
        /* a routed layer without an expert: its line, collapsed */
        st->on_group = 1;
        st->sel_expert = uiRowExpert(r);
        if (expert) {
            long e = CAPTURE_SHARED;
            if (strcmp(expert, "shared")) {
                e = strtol(expert, &end, 10);
                if (!*expert || *end || e < 0) e = CAPTURE_DENSE;
            }
            if (!r->routed || e == CAPTURE_DENSE || !modelFindRow(&s->models[m], st->sel_layer, st->sel_site, (int)e))
                return errorSet(err, EXIT_INPUT, "render: --select: %s layer %ld %s has no expert '%s'", name, l,
                                siteName(st->sel_site), expert);
            st->sel_expert = (int)e;
            st->on_group = 0;
            if (uiLayerSetOpen(st, m, st->sel_layer, st->sel_site, 1)) return errorNoMem(err, "render");
        }
    } else if (s->models[m].n_rows > 0) {
        st->sel_layer = s->models[m].rows[0].layer;
        st->sel_site = s->models[m].rows[0].site;
        st->sel_expert = uiRowExpert(&s->models[m].rows[0]);
    }
    return 0;
}

int cmdRender(int argc, char **argv, Error *err)
{
    const char *dir, *out = NULL, *view = "spectrum", *format = "txt", *size = "120x40";
    const char *select = NULL, *metric = NULL, *sort = NULL, *filter = NULL, *theme = "default", *colors = "truecolor";
    int linear = 0, ascii = 0, experts = 0;
    const ResultsOption opts[] = {
        {"--view", NULL, &view, NULL},     {"--format", NULL, &format, NULL}, {"--size", NULL, &size, NULL},
        {"-o", "--output", &out, NULL},    {"--select", NULL, &select, NULL}, {"--metric", NULL, &metric, NULL},
        {"--sort", NULL, &sort, NULL},     {"--filter", NULL, &filter, NULL}, {"--theme", NULL, &theme, NULL},
        {"--colors", NULL, &colors, NULL}, {"--linear", NULL, NULL, &linear}, {"--ascii", NULL, NULL, &ascii},
        {"--experts", NULL, NULL, &experts}, {NULL, NULL, NULL, NULL},
    };
    int rc = resultsArgsParse("render", argc, argv, opts, RENDER_USAGE, &dir, err);
    if (rc) return rc < 0 ? EXIT_INPUT : EXIT_OK;
    int v = viewParse(view);
    if (v < 0) return usage(err, "--view is spectrum, heatmap, scaling or table"), EXIT_INPUT;
    int f = shotParse(format);
    if (f < 0) return usage(err, "--format is txt, ansi, html or svg"), EXIT_INPUT;
    int cols, rows;
    char tail;
    if (sscanf(size, "%dx%d%c", &cols, &rows, &tail) != 2 || cols < 1 || rows < 1 || cols > 1000 || rows > 1000)
        return usage(err, "--size is COLSxROWS, such as 120x40"), EXIT_INPUT;
    ColorDepth depth = !strcmp(colors, "truecolor") ? DEPTH_TRUE : !strcmp(colors, "256") ? DEPTH_256
                     : !strcmp(colors, "8") ? DEPTH_8 : !strcmp(colors, "none") ? DEPTH_NONE : (ColorDepth)-1;
    if ((int)depth < 0) return usage(err, "--colors is truecolor, 256, 8 or none"), EXIT_INPUT;

    Theme th;
    if (themeFind(theme, &th, err)) return EXIT_INPUT;
    Snapshot *s;
    if (resultsLoad(dir, &s, err)) return err->code ? err->code : EXIT_INPUT;

    int status = EXIT_OK;
    UiState st;
    uiStateInit(&st);
    st.view = (ViewId)v;
    st.log_scale = !linear;
    RenderCtx ctx = {&th, depth, ascii, 0, 0};
    Layout lay;
    layoutCompute(cols, rows, &lay);
    Canvas *c = canvasNew(cols, rows, ascii);
    if (!c || uiSync(&st, s, &lay, &ctx)) {
        errorNoMem(err, "render");
        status = EXIT_RUNTIME;
        goto done;
    }
    if (select && applySelect(s, &st, select, err)) {
        status = EXIT_INPUT;
        goto done;
    }
    if (experts) {
        const ModelSnapshot *m = uiSelectedModel(s, &st);
        if (st.view != VIEW_HEATMAP) {
            usage(err, "--experts applies to --view heatmap");
            status = EXIT_INPUT;
            goto done;
        }
        if (!m || !modelFirstExpertRow(m, st.sel_site)) {
            errorSet(err, EXIT_INPUT, "render: --experts: %s has no experts at site %s (--select a mixture-of-experts model)",
                     m && m->name ? m->name : "the selected model", siteName(st.sel_site));
            status = EXIT_INPUT;
            goto done;
        }
        st.heat_experts = 1;
        /* as x in the dashboard: from a dense layer, the first expert */
        const LayerSnapshot *cur = uiSelectedRow(s, &st);
        if (!cur || !cur->routed) {
            const LayerSnapshot *first = modelFirstExpertRow(m, st.sel_site);
            st.sel_layer = first->layer;
            st.sel_site = first->site;
            st.sel_expert = uiRowExpert(first);
        }
    }
    if (metric && experts && !strcmp(metric, "load")) {
        st.heat_load = 1;
    } else if (metric) {
        int m = columnByName(metric);
        if (m < 0 || !columnIsNumeric((Column)m) || m == COL_WIDTH || m == COL_LAYER || m == COL_TOKENS) {
            usage(err, !strcmp(metric, "load") ? "--metric load needs --experts"
                       : "--metric is sui, soft_util, hard_util, soft_rank, hard_rank, concentration, eee or alpha"
                         " (load with --experts)");
            status = EXIT_INPUT;
            goto done;
        }
        st.heat_metric = (Column)m;
    }
    if (sort) {
        char name[64];
        snprintf(name, sizeof name, "%s", sort);
        char *dirn = strchr(name, ':');
        if (dirn) *dirn++ = '\0';
        int col = columnByName(name);
        if (col < 0 || (dirn && strcmp(dirn, "asc") && strcmp(dirn, "desc"))) {
            usage(err, "--sort is a metrics.csv column, optionally :asc or :desc");
            status = EXIT_INPUT;
            goto done;
        }
        st.sort_col = (Column)col;
        st.sort_desc = dirn ? !strcmp(dirn, "desc") : columnIsNumeric((Column)col);
    }
    if (filter) snprintf(st.filter, sizeof st.filter, "%s", filter);
    if (uiSync(&st, s, &lay, &ctx)) {
        errorNoMem(err, "render");
        status = EXIT_RUNTIME;
        goto done;
    }
    uiRender(c, s, &st, &ctx);
    char title[128];
    snprintf(title, sizeof title, "ffnscope \xc2\xb7 %s", viewName(st.view));
    if (out) {
        if (exportShotFile(c, (ShotFormat)f, exportColors(&th), title, out, err)) status = EXIT_RUNTIME;
    } else if (f == SHOT_ANSI ? exportAnsi(c, depth, stdout) : exportShot(c, (ShotFormat)f, exportColors(&th), title, stdout)) {
        errorSet(err, EXIT_RUNTIME, "render: cannot write to standard output");
        status = EXIT_RUNTIME;
    }
done:
    canvasFree(c);
    uiStateFree(&st);
    snapshotRelease(s);
    return status;
}
