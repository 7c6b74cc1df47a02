/* Exports: the table rows as CSV/Markdown/JSON against the snapshot's own
 * numbers, the screenshot formats' escaping and structure, file naming. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "fixture.h"
#include "util/fileio.h"

static char *capture(int (*fn)(const Snapshot *, const TableRow *, int, FILE *), const Snapshot *s,
                     const TableRow *rows, int n)
{
    char *buf = NULL;
    size_t len;
    FILE *fp = open_memstream(&buf, &len);
    cr_assert_eq(fn(s, rows, n, fp), 0);
    fclose(fp);
    return buf;
}

static int allRows(const Snapshot *s, TableRow **rows)
{
    UiState st;
    uiStateInit(&st);
    int n = tableRows(s, &st, rows);
    uiStateFree(&st);
    return n;
}

Test(export, csv_has_the_metrics_header_and_exact_values)
{
    Snapshot *s = fixtureSnapshot();
    TableRow *rows;
    int n = allRows(s, &rows);
    cr_assert_eq(n, 4 + 4 + 4 + 4 + 8 + 4 + 4);
    char *csv = capture(exportCsv, s, rows, n);
    char *save, *line = strtok_r(csv, "\n", &save);
    cr_assert_str_eq(line, "model,family,width,layer,site,expert,tokens,hard_rank,soft_rank,hard_util,soft_util,"
                           "concentration,eee,sui,alpha,warnings");
    int count = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        const ModelSnapshot *m = &s->models[rows[count].model];
        const LayerSnapshot *r = &m->rows[rows[count].row];
        char *fields[16], *fs, *p = line;
        int nf = 0;
        /* no field of the fixture needs quoting; empty fields are kept */
        while (nf < 16) {
            fields[nf++] = p;
            fs = strchr(p, ',');
            if (!fs) break;
            *fs = '\0';
            p = fs + 1;
        }
        cr_assert_eq(nf, 16, "line %d", count + 2);
        cr_assert_str_eq(fields[0], m->name);
        cr_assert_eq(atoi(fields[3]), r->layer);
        cr_assert_str_eq(fields[4], siteName(r->site));
        cr_assert_str_eq(fields[5], "", "a dense FFN: no expert");
        if (r->n_eigen > 0) {
            cr_assert_eq(strtod(fields[7], NULL), r->metrics.hard_rank, "full precision");
            cr_assert_eq(strtod(fields[13], NULL), r->metrics.sui);
            cr_assert_eq(strtod(fields[14], NULL), r->metrics.alpha);
        } else {
            cr_assert_str_eq(fields[7], "", "not computed yet: empty");
        }
        if (!strcmp(m->name, "llama-w384") && r->layer == 3) cr_assert_str_eq(fields[15], "rank_limited;nonfinite=12");
        count++;
    }
    cr_assert_eq(count, n);
    free(csv);
    free(rows);
    snapshotRelease(s);
}

Test(export, json_rows_round_trip)
{
    Snapshot *s = fixtureSnapshot();
    TableRow *rows;
    int n = allRows(s, &rows);
    char *text = capture(exportJson, s, rows, n);
    json_error_t je;
    json_t *arr = json_loads(text, 0, &je);
    cr_assert_not_null(arr, "%s", je.text);
    cr_assert_eq((int)json_array_size(arr), n);
    for (int i = 0; i < n; i++) {
        const ModelSnapshot *m = &s->models[rows[i].model];
        const LayerSnapshot *r = &m->rows[rows[i].row];
        json_t *o = json_array_get(arr, (size_t)i);
        cr_assert_str_eq(json_string_value(json_object_get(o, "model")), m->name);
        cr_assert_eq(json_integer_value(json_object_get(o, "width")), m->width);
        cr_assert_eq(json_integer_value(json_object_get(o, "layer")), r->layer);
        if (r->n_eigen > 0) {
            cr_assert_eq(json_real_value(json_object_get(o, "soft_rank")), r->metrics.soft_rank);
            cr_assert_eq(json_real_value(json_object_get(o, "eee")), r->metrics.eee);
        } else {
            cr_assert(json_is_null(json_object_get(o, "soft_rank")));
        }
        cr_assert_eq(json_object_size(o), COL_COUNT);
    }
    json_decref(arr);
    free(text);
    free(rows);
    snapshotRelease(s);
}

Test(export, markdown_table_shape_and_escaping)
{
    Snapshot *s = fixtureSnapshot();
    free(s->models[0].name);
    s->models[0].name = strdup("a|b");
    TableRow *rows;
    int n = allRows(s, &rows);
    char *md = capture(exportMarkdown, s, rows, n);
    int lines = 0;
    for (char *p = md; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, n + 2);
    cr_assert(!strncmp(md, "| model | family | width |", 25));
    cr_assert(strstr(md, "| --- | --- | ---: |"));
    cr_assert(strstr(md, "| a\\|b | gpt2 | 64 | 0 | post |"), "pipes in cells are escaped");
    free(md);
    free(rows);
    snapshotRelease(s);
}

static Canvas *sampleCanvas(void)
{
    Canvas *c = canvasNew(12, 2, 0);
    canvasText(c, 0, 0, -1, "a<b&c>\"d", (Style){0xff0000, COLOR_DEFAULT, ATTR_BOLD});
    canvasPut(c, 0, 1, 0x2588, (Style){0x00ff00, 0x000080, 0});
    canvasPut(c, 1, 1, 0x2584, (Style){0x00ff00, 0x000080, 0});
    canvasPut(c, 2, 1, 0x28ff, (Style){0xffffff, COLOR_DEFAULT, 0});
    canvasPut(c, 3, 1, 0x2502, (Style){0xffffff, COLOR_DEFAULT, 0});
    canvasText(c, 4, 1, -1, "x", (Style){COLOR_DEFAULT, COLOR_DEFAULT, ATTR_REVERSE});
    return c;
}

static char *shot(const Canvas *c, ShotFormat f)
{
    char *buf = NULL;
    size_t len;
    FILE *fp = open_memstream(&buf, &len);
    ExportColors col = {0xcccccc, 0x111111};
    cr_assert_eq(exportShot(c, f, col, "t<1>", fp), 0);
    fclose(fp);
    return buf;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

Test(export, screenshot_formats)
{
    Canvas *c = sampleCanvas();
    char *txt = shot(c, SHOT_TXT);
    cr_assert_str_eq(txt, "a<b&c>\"d\n\xe2\x96\x88\xe2\x96\x84\xe2\xa3\xbf\xe2\x94\x82x\n");
    char *html = shot(c, SHOT_HTML);
    cr_assert(strstr(html, "<title>t&lt;1&gt;</title>"));
    cr_assert(strstr(html, "<span class=\"b\" style=\"color:#ff0000\">a&lt;b&amp;c&gt;\"d</span>"), "%s", html);
    cr_assert(strstr(html, "style=\"color:#111111;background:#cccccc\">x</span>"), "reverse swaps the defaults");
    char *svg = shot(c, SHOT_SVG);
    cr_assert(!strncmp(svg, "<?xml", 5));
    cr_assert(strstr(svg, ">a&lt;b&amp;c&gt;&quot;d</text>"));
    cr_assert_eq(count(svg, "<circle"), 8, "a full braille cell is eight dots");
    cr_assert(strstr(svg, "fill=\"#000080\""), "cell background");
    cr_assert_eq(count(svg, "<text"), 2);
    cr_assert(strstr(svg, "</svg>\n"));
    char *ansi = shot(c, SHOT_ANSI);
    cr_assert(strstr(ansi, "\x1b[0;1;38;2;255;0;0ma<b&c>\"d"));
    cr_assert(strstr(ansi, "\x1b[0;38;2;0;255;0;48;2;0;0;128m"));
    cr_assert(strstr(ansi, "\x1b[0;7mx"));
    free(ansi);
    char *buf = NULL;
    size_t len;
    FILE *fp = open_memstream(&buf, &len);
    exportAnsi(c, DEPTH_256, fp);
    fclose(fp);
    cr_assert(strstr(buf, "\x1b[0;1;38;5;196m"));
    free(buf);
    fp = open_memstream(&buf, &len);
    exportAnsi(c, DEPTH_NONE, fp);
    fclose(fp);
    cr_assert(!strstr(buf, "38;"), "no colour codes without colours");
    cr_assert(strstr(buf, "\x1b[0;1ma<b"));
    free(buf);
    free(txt);
    free(html);
    free(svg);
    canvasFree(c);
}

Test(export, files_are_named_by_view_and_time_and_never_overwritten)
{
    char dir[] = "/tmp/ffnscope-ui-export-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sub[300], base[4096], base2[4096];
    snprintf(sub, sizeof sub, "%s/nested/exports", dir);
    Canvas *c = sampleCanvas();
    Error err = {0};
    time_t when = 1700000000;
    struct tm tm;
    char stamp[32];
    localtime_r(&when, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    cr_assert_eq(exportScreenshots(c, (ExportColors){0xffffff, 0}, sub, "heatmap", when, base, sizeof base, &err), 0,
                 "%s", err.msg);
    char want[4200];
    snprintf(want, sizeof want, "%s/heatmap-%s", sub, stamp);
    cr_assert_str_eq(base, want);
    cr_assert_eq(exportScreenshots(c, (ExportColors){0xffffff, 0}, sub, "heatmap", when, base2, sizeof base2, &err), 0);
    snprintf(want, sizeof want, "%s/heatmap-%s-2", sub, stamp);
    cr_assert_str_eq(base2, want);
    const char *ext[] = {"txt", "ans", "html", "svg"};
    for (int i = 0; i < 4; i++) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s.%s", base, ext[i]);
        cr_assert_eq(stat(path, &st), 0, "%s", path);
        cr_assert(st.st_size > 0);
    }
    Snapshot *s = fixtureSnapshot();
    UiState ui;
    uiStateInit(&ui);
    cr_assert_eq(exportTables(s, &ui, sub, when, base, sizeof base, &err), 0, "%s", err.msg);
    const char *text[] = {"csv", "md", "json"};
    for (int i = 0; i < 3; i++) {
        char path[4200];
        struct stat st;
        snprintf(path, sizeof path, "%s.%s", base, text[i]);
        cr_assert_eq(stat(path, &st), 0, "%s", path);
        cr_assert(st.st_size > 100);
    }
    /* no temp file left behind */
    DIR *d = opendir(sub);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        cr_assert_null(strstr(e->d_name, ".tmp."), "%s", e->d_name);
        files++;
    }
    closedir(d);
    cr_assert_eq(files, 4 + 4 + 3);
    uiStateFree(&ui);
    snapshotRelease(s);
    canvasFree(c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(export, unwritable_folder_is_an_error)
{
    Canvas *c = sampleCanvas();
    Error err = {0};
    char base[4096];
    cr_assert_eq(exportScreenshots(c, (ExportColors){0, 0}, "/proc/ffnscope-no", "table", 0, base, sizeof base, &err), -1);
    cr_assert(err.msg[0]);
    canvasFree(c);
}
