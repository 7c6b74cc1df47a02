/* The report: one self-contained HTML page of a run (metadata, the four
 * figures as inline SVG, the fits and a per-model table that sorts on a
 * click), with no external resources, so it opens offline anywhere. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plot/plot.h"
#include "util/fileio.h"

static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp); break;
        }
    }
}

/* A numeric cell: the value to sort by and the text shown. */
static void num(FILE *fp, double v, const char *fmt)
{
    if (!isfinite(v)) {
        fputs("<td data-v=\"\">\xe2\x80\x93</td>", fp);
        return;
    }
    fprintf(fp, "<td data-v=\"%.17g\">", v);
    fprintf(fp, fmt, v);
    fputs("</td>", fp);
}

static const char style_css[] =
    "body{font-family:'DejaVu Sans',sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#1a1a1a}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}"
    "figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444}"
    "table{border-collapse:collapse;font-size:.85em}td,th{padding:.2em .6em;white-space:nowrap;border-bottom:1px solid #e0e0e0;"
    "text-align:right}td:first-child,th:first-child,td.t{text-align:left}"
    "th.sort{cursor:pointer;user-select:none}th.sort:after{content:' \\2195';color:#999}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{color:#555}dd{margin:0}"
    "pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.8em}";

/* Sorting: a click on a header sorts by that column, again reverses. */
static const char sort_js[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){\n"
    "  t.querySelectorAll('th').forEach(function(th,col){\n"
    "    th.classList.add('sort');\n"
    "    th.addEventListener('click',function(){\n"
    "      var body=t.tBodies[0],rows=Array.from(body.rows),asc=th.dataset.dir!=='asc';\n"
    "      t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir;});\n"
    "      th.dataset.dir=asc?'asc':'desc';\n"
    "      rows.sort(function(a,b){\n"
    "        var x=a.cells[col],y=b.cells[col],u=x.dataset.v,v=y.dataset.v,r;\n"
    "        if(u!==undefined&&v!==undefined){r=(u===''?Infinity:+u)-(v===''?Infinity:+v);}\n"
    "        else{r=x.textContent.localeCompare(y.textContent);}\n"
    "        return asc?r:-r;});\n"
    "      rows.forEach(function(r){body.appendChild(r);});\n"
    "    });\n"
    "  });\n"
    "});\n";

static const struct {
    PlotFigure fig;
    double h;
    const char *caption;
} figures[] = {
    {FIGURE_SCALING, 4.0, "FFN width against soft (circles) and hard rank (squares), the median over each model's "
                          "layers (a mixture-of-experts model: its expert width, the median over its routed experts); "
                          "the fitted power laws with their 95% confidence bands."},
    {FIGURE_SPECTRUM, 3.4, "Eigenvalue spectra of each model's middle layer (every layer when the run has one model); "
                           "open markers at the hard (square) and soft rank (circle)."},
    {FIGURE_HEATMAP, 3.4, "SUI of every layer and model."},
    {FIGURE_DEPTH, 3.2, "SUI against relative depth, one line per model."},
};

static int writeFigure(FILE *fp, const Snapshot *s, Site site, int i, Error *err)
{
    PlotOptions o;
    plotOptionsInit(&o, figures[i].fig);
    o.site = site;
    o.width_in = 7;
    o.height_in = figures[i].h;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "f%d-", i + 1);
    o.id_prefix = prefix;
    char *svg;
    size_t len;
    Error ferr = {0};
    fprintf(fp, "<figure id=\"%s\">\n", plotFigureName(figures[i].fig));
    if (plotRender(s, &o, PLOT_SVG, &svg, &len, &ferr)) {
        if (ferr.code != EXIT_INPUT) {
            *err = ferr;
            return -1;
        }
        /* nothing to draw (a run without that site, say): say so in its place */
        fputs("<p>", fp);
        esc(fp, ferr.msg);
        fputs("</p>\n</figure>\n", fp);
        return 0;
    }
    const char *start = strstr(svg, "<svg");
    fwrite(start ? start : svg, 1, len - (size_t)((start ? start : svg) - svg), fp);
    fprintf(fp, "<figcaption>Figure %d. ", i + 1);
    esc(fp, figures[i].caption);
    fprintf(fp, " Site %s. <code>ffnscope plot RESULTS_DIR --figure %s</code></figcaption>\n</figure>\n", siteName(site),
            plotFigureName(figures[i].fig));
    free(svg);
    return 0;
}

static void fitsTable(FILE *fp, const Snapshot *s)
{
    fputs("<table class=\"sortable\" id=\"fits\"><thead><tr><th>family</th><th>site</th><th>rank</th><th>models</th>"
          "<th>\xce\xb2</th><th>95% CI</th><th>log\xe2\x82\x81\xe2\x82\x80 A</th><th>R\xc2\xb2</th>"
          "<th>\xce\x94\xce\xb2</th></tr></thead><tbody>\n",
          fp);
    for (int i = 0; i < s->n_fits; i++) {
        const FitSnapshot *f = &s->fits[i];
        int v = f->fit.valid;
        fputs("<tr><td>", fp);
        esc(fp, f->family);
        fprintf(fp, "</td><td class=\"t\">%s</td><td class=\"t\">%s</td>", siteName(f->site),
                f->rank == RANK_SOFT ? "soft" : "hard");
        num(fp, f->fit.n, "%.0f");
        num(fp, v ? f->fit.beta : NAN, "%.3f");
        if (v) fprintf(fp, "<td data-v=\"%.17g\">[%.3f, %.3f]</td>", f->fit.beta_ci_low, f->fit.beta_ci_low, f->fit.beta_ci_high);
        else fputs("<td data-v=\"\">\xe2\x80\x93</td>", fp);
        num(fp, v ? f->fit.log10_a : NAN, "%.3f");
        num(fp, v ? f->fit.r2 : NAN, "%.4f");
        num(fp, f->rank == RANK_HARD ? snapshotDeltaBeta(s, f->family, f->site) : NAN, "%.3f");
        fputs("</tr>\n", fp);
    }
    fputs("</tbody></table>\n", fp);
}

static void modelTable(FILE *fp, const Snapshot *s)
{
    fputs("<table class=\"sortable\" id=\"models\"><thead><tr><th>model</th><th>family</th><th>site</th><th>width D</th>"
          "<th>layers</th><th>tokens</th><th>HR</th><th>SR</th><th>HR/D</th><th>SR/D</th><th>SUI</th>"
          "<th>C\xe2\x82\x96</th><th>\xce\xb1</th><th>status</th></tr></thead><tbody>\n",
          fp);
    static const Column cols[] = {COL_HARD_RANK, COL_SOFT_RANK, COL_HARD_UTIL, COL_SOFT_UTIL, COL_SUI,
                                  COL_CONCENTRATION, COL_ALPHA};
    static const char *const fmt[] = {"%.2f", "%.2f", "%.4f", "%.4f", "%.4f", "%.4f", "%.3f"};
    for (int i = 0; i < s->n_models; i++) {
        const ModelSnapshot *m = &s->models[i];
        for (int site = 0; site < SITE_COUNT; site++) {
            /* layers with a spectrum at the site (a routed layer's experts count once; rows
             * come sorted by layer) */
            int layers = 0, last = -1;
            for (int j = 0; j < m->n_rows; j++) {
                const LayerSnapshot *r = &m->rows[j];
                if (r->site != (Site)site || r->n_eigen <= 0 || r->layer == last) continue;
                layers++;
                last = r->layer;
            }
            if (!layers && (site != SITE_POST || m->status != MODEL_FAILED)) continue;
            fputs("<tr><td>", fp);
            esc(fp, m->name);
            fputs("</td><td class=\"t\">", fp);
            esc(fp, m->family);
            fprintf(fp, "</td><td class=\"t\">%s</td>", siteName((Site)site));
            num(fp, snapshotModelWidth(m), "%.0f");
            num(fp, layers, "%.0f");
            num(fp, (double)m->tokens_done, "%.0f");
            for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) num(fp, modelMedian(m, (Site)site, cols[c]), fmt[c]);
            fputs("<td class=\"t\">", fp);
            esc(fp, modelStatusName(m->status));
            if (m->error) fputs(": ", fp), esc(fp, m->error);
            fputs("</td></tr>\n", fp);
        }
    }
    fputs("</tbody></table>\n<p>Per-model values are medians over the model's layers (a mixture-of-experts model: over "
          "its routed experts, at their width). Click a column to sort.</p>\n",
          fp);
}

int plotReport(const Snapshot *s, const char *results_dir, const char *path, Error *err)
{
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    FILE *fp = af.fp;
    int64_t tokens = 0;
    int done = 0, failed = 0, have_pre = 0, have_post = 0;
    for (int i = 0; i < s->n_models; i++) {
        tokens += s->models[i].tokens_done;
        done += s->models[i].status == MODEL_DONE;
        failed += s->models[i].status == MODEL_FAILED;
        for (int j = 0; j < s->models[i].n_rows; j++) {
            have_pre |= s->models[i].rows[j].site == SITE_PRE && s->models[i].rows[j].n_eigen > 0;
            have_post |= s->models[i].rows[j].site == SITE_POST && s->models[i].rows[j].n_eigen > 0;
        }
    }
    Site site = have_post || !have_pre ? SITE_POST : SITE_PRE;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>ffnscope report: ",
          fp);
    esc(fp, results_dir);
    fprintf(fp, "</title>\n<style>%s</style>\n</head><body>\n<h1>ffnscope report</h1>\n<dl>\n", style_css);
    fputs("<dt>results</dt><dd>", fp);
    esc(fp, results_dir);
    fprintf(fp, "</dd>\n<dt>state</dt><dd>%s</dd>\n", workerStateName(s->state));
    fprintf(fp, "<dt>models</dt><dd>%d (%d done, %d failed)</dd>\n", s->n_models, done, failed);
    fprintf(fp, "<dt>tokens</dt><dd>%lld</dd>\n<dt>elapsed</dt><dd>%.1f s</dd>\n", (long long)tokens, s->elapsed_s);
    fprintf(fp, "<dt>concentration k</dt><dd>%g</dd>\n<dt>figures at site</dt><dd>%s</dd>\n", s->concentration_k,
            siteName(site));
    char when[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    fprintf(fp, "<dt>report written</dt><dd>%s by ffnscope %s</dd>\n</dl>\n", when, FFNSCOPE_VERSION);
    size_t n = strlen(results_dir) + 16;
    char *yaml_path = malloc(n);
    if (!yaml_path) {
        atomicAbort(&af);
        return errorNoMem(err, path);
    }
    snprintf(yaml_path, n, "%s/run.yaml", results_dir);
    char *yaml;
    size_t ylen;
    Error yerr = {0};
    if (!fileReadAll(yaml_path, &yaml, &ylen, &yerr)) {
        fputs("<details><summary>run.yaml</summary><pre>", fp);
        esc(fp, yaml);
        fputs("</pre></details>\n", fp);
        free(yaml);
    }
    free(yaml_path);

    fputs("<h2>Figures</h2>\n", fp);
    for (int i = 0; i < (int)(sizeof figures / sizeof *figures); i++)
        if (writeFigure(fp, s, site, i, err)) {
            atomicAbort(&af);
            return -1;
        }
    fputs("<h2>Scaling fits</h2>\n<p>Per family, site and rank: ordinary least squares of log\xe2\x82\x81\xe2\x82\x80 rank "
          "on log\xe2\x82\x81\xe2\x82\x80 width, one point per model; \xce\x94\xce\xb2 = \xce\xb2 soft \xe2\x88\x92 "
          "\xce\xb2 hard.</p>\n",
          fp);
    fitsTable(fp, s);
    fputs("<h2>Models</h2>\n", fp);
    modelTable(fp, s);
    fprintf(fp, "<script>\n%s</script>\n</body></html>\n", sort_js);
    if (ferror(fp)) {
        atomicAbort(&af);
        return errorSet(err, EXIT_RUNTIME, "%s: write error", path);
    }
    return atomicCommit(&af, err);
}
