/* ffnscope plot RESULTS_DIR --figure NAME: a publication figure of a saved
 * run as PDF, SVG or PNG (src/plot). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/results_args.h"
#include "ffnscope/results.h"
#include "plot/plot.h"

#define PLOT_USAGE                                                                                          \
    "usage: ffnscope plot RESULTS_DIR --figure scaling|spectrum|heatmap|depth [-o FILE.pdf|.svg|.png]\n"    \
    "                     [--site post|pre] [--metric NAME] [--models REGEX] [--layers all|A-B|A,B,...]\n" \
    "                     [--size WxH (inches)] [--dpi N (PNG)] [--theme paper|dark] [--experts MODEL]\n"    \
    "                     [--expert E|shared] [--help]\n"                                                  \
    "  The file type follows the extension of -o (default FIGURE.pdf in the current folder).\n"            \
    "  --size 3.4x2.6 fits one column of a two-column paper, 7x3 both.\n"                                 \
    "  --experts MODEL: the heatmap as layers x experts of that mixture-of-experts model, where\n"        \
    "  --metric load is the tokens routed to each expert.\n"                                               \
    "  --expert E: the spectrum figure of that expert of each routed layer; without it a routed\n"        \
    "  layer's experts are drawn side by side when --layers names one layer.\n"

#define MAX_LAYER 100000

static int usage(Error *err, const char *what) { return resultsArgsUsage("plot", err, what); }

/* all, 5, 0-3 or 0,2,5-7: a malloc'd list (NULL for all). */
static int parseLayers(const char *spec, int **out, int *n, Error *err)
{
    *out = NULL;
    *n = 0;
    if (!strcmp(spec, "all")) return 0;
    int cap = 16, *l = malloc(sizeof *l * (size_t)cap);
    if (!l) return errorNoMem(err, "plot");
    const char *p = spec;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0) goto bad;
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a) goto bad;
            p = end;
        }
        if (b >= MAX_LAYER) goto bad;
        for (long v = a; v <= b; v++) {
            if (*n == cap) {
                int *g = realloc(l, sizeof *l * (size_t)(cap *= 2));
                if (!g) {
                    free(l);
                    return errorNoMem(err, "plot");
                }
                l = g;
            }
            l[(*n)++] = (int)v;
        }
        if (*p == ',') p++;
        else if (*p) goto bad;
    }
    if (!*n) goto bad;
    *out = l;
    return 0;
bad:
    free(l);
    *n = 0;
    return usage(err, "--layers is all, a layer, a range A-B or a comma list such as 0,2,5-7");
}

int cmdPlot(int argc, char **argv, Error *err)
{
    const char *dir, *out = NULL, *figure = NULL, *site = "post", *metric = NULL, *models = NULL;
    const char *layers = NULL, *size = NULL, *dpi = NULL, *theme = "paper", *experts = NULL, *expert = NULL;
    const ResultsOption opts[] = {
        {"--figure", NULL, &figure, NULL}, {"-o", "--output", &out, NULL}, {"--site", NULL, &site, NULL},
        {"--metric", NULL, &metric, NULL}, {"--models", NULL, &models, NULL}, {"--layers", NULL, &layers, NULL},
        {"--size", NULL, &size, NULL},     {"--dpi", NULL, &dpi, NULL},        {"--theme", NULL, &theme, NULL},
        {"--experts", NULL, &experts, NULL}, {"--expert", NULL, &expert, NULL}, {NULL, NULL, NULL, NULL},
    };
    int rc = resultsArgsParse("plot", argc, argv, opts, PLOT_USAGE, &dir, err);
    if (rc) return rc < 0 ? EXIT_INPUT : EXIT_OK;
    if (!figure) return usage(err, "which --figure? scaling, spectrum, heatmap or depth"), EXIT_INPUT;
    int fig = plotFigureParse(figure);
    if (fig < 0) return usage(err, "--figure is scaling, spectrum, heatmap or depth"), EXIT_INPUT;
    PlotOptions o;
    plotOptionsInit(&o, (PlotFigure)fig);
    if (strcmp(site, "post") && strcmp(site, "pre")) return usage(err, "--site is post or pre"), EXIT_INPUT;
    o.site = !strcmp(site, "pre") ? SITE_PRE : SITE_POST;
    if (experts && fig != FIGURE_HEATMAP) return usage(err, "--experts applies to the heatmap figure"), EXIT_INPUT;
    if (experts && models) return usage(err, "--experts names one model: leave out --models"), EXIT_INPUT;
    o.experts = experts;
    if (expert) {
        char *end;
        long e = strtol(expert, &end, 10);
        if (fig != FIGURE_SPECTRUM) return usage(err, "--expert applies to the spectrum figure"), EXIT_INPUT;
        if (!strcmp(expert, "shared")) e = CAPTURE_SHARED;
        else if (end == expert || *end || e < 0 || e > 1000000)
            return usage(err, "--expert is an expert's index or shared"), EXIT_INPUT;
        o.one_expert = 1;
        o.expert = (int)e;
    }
    if (metric && !strcmp(metric, "load")) {
        if (!experts)
            return usage(err, "--metric load (tokens routed to each expert) needs --experts MODEL and --figure heatmap"),
                   EXIT_INPUT;
        o.load = 1;
    } else if (metric) {
        int m = columnByName(metric);
        if (m < 0 || !plotMetricAllowed((Column)m))
            return usage(err, "--metric is sui, soft_util, hard_util, soft_rank, hard_rank, concentration, eee or alpha"
                              " (load with --experts)"),
                   EXIT_INPUT;
        if (fig != FIGURE_HEATMAP && fig != FIGURE_DEPTH)
            return usage(err, "--metric applies to the heatmap and depth figures"), EXIT_INPUT;
        o.metric = (Column)m;
    }
    if (strcmp(theme, "paper") && strcmp(theme, "dark")) return usage(err, "--theme is paper or dark"), EXIT_INPUT;
    o.dark = !strcmp(theme, "dark");
    if (size) {
        char tail;
        if (sscanf(size, "%lfx%lf%c", &o.width_in, &o.height_in, &tail) != 2 || !(o.width_in >= 1) ||
            !(o.height_in >= 1) || o.width_in > 40 || o.height_in > 40)
            return usage(err, "--size is WxH in inches, each 1 to 40, such as 3.4x2.6"), EXIT_INPUT;
    }
    if (dpi) {
        char *end;
        long d = strtol(dpi, &end, 10);
        if (!*dpi || *end || d < 36 || d > 1200) return usage(err, "--dpi is a whole number from 36 to 1200"), EXIT_INPUT;
        o.dpi = (int)d;
    }
    char def[64];
    if (!out) {
        snprintf(def, sizeof def, "%s.pdf", plotFigureName((PlotFigure)fig));
        out = def;
    }
    int fmt = plotFormatFromPath(out);
    if (fmt < 0) return usage(err, "-o must end in .pdf, .svg or .png"), EXIT_INPUT;
    if (dpi && fmt != PLOT_PNG) return usage(err, "--dpi applies to PNG files only"), EXIT_INPUT;
    double w = o.width_in, h = o.height_in;
    if (!(w > 0)) plotDefaultSize((PlotFigure)fig, &w, &h);
    if (fmt == PLOT_PNG && (double)o.dpi * w * o.dpi * h > 100e6)
        return usage(err, "--size and --dpi give a PNG of more than 100 megapixels"), EXIT_INPUT;
    int *list = NULL;
    if (layers && parseLayers(layers, &list, &o.n_layers, err)) return EXIT_INPUT;
    o.layers = list;
    o.models = models;

    Snapshot *s;
    if (resultsLoad(dir, &s, err)) {
        free(list);
        return err->code ? err->code : EXIT_INPUT;
    }
    int status = EXIT_OK;
    if (plotWriteFile(s, &o, (PlotFormat)fmt, out, err)) status = err->code ? err->code : EXIT_RUNTIME;
    else printf("%s\n", out);
    snapshotRelease(s);
    free(list);
    return status;
}
