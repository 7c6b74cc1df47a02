/* Table exports: the rows of the table view as CSV (the metrics.csv header
 * and full precision), Markdown (as the screen rounds them) and JSON. */
#include <jansson.h>
#include <math.h>

#include "export/export.h"
#include "util/csv.h"

int exportCsv(const Snapshot *s, const TableRow *rows, int n, FILE *fp)
{
    for (int c = 0; c < COL_COUNT; c++) fprintf(fp, "%s%s", c ? "," : "", columnName((Column)c));
    fputc('\n', fp);
    char buf[512];
    for (int i = 0; i < n; i++) {
        const ModelSnapshot *m = &s->models[rows[i].model];
        const LayerSnapshot *r = &m->rows[rows[i].row];
        for (int c = 0; c < COL_COUNT; c++) {
            if (c) fputc(',', fp);
            columnText(m, r, (Column)c, 1, buf, sizeof buf);
            csvField(fp, buf);
        }
        fputc('\n', fp);
    }
    return ferror(fp) ? -1 : 0;
}

static void mdCell(const char *s, FILE *fp)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '\\') fputc('\\', fp);
        fputc(*s == '\n' ? ' ' : *s, fp);
    }
}

int exportMarkdown(const Snapshot *s, const TableRow *rows, int n, FILE *fp)
{
    fputc('|', fp);
    for (int c = 0; c < COL_COUNT; c++) fprintf(fp, " %s |", columnName((Column)c));
    fputs("\n|", fp);
    for (int c = 0; c < COL_COUNT; c++) fputs(columnIsNumeric((Column)c) ? " ---: |" : " --- |", fp);
    fputc('\n', fp);
    char buf[512];
    for (int i = 0; i < n; i++) {
        const ModelSnapshot *m = &s->models[rows[i].model];
        const LayerSnapshot *r = &m->rows[rows[i].row];
        fputc('|', fp);
        for (int c = 0; c < COL_COUNT; c++) {
            columnText(m, r, (Column)c, 0, buf, sizeof buf);
            fputc(' ', fp);
            mdCell(buf, fp);
            fputs(" |", fp);
        }
        fputc('\n', fp);
    }
    return ferror(fp) ? -1 : 0;
}

int exportJson(const Snapshot *s, const TableRow *rows, int n, FILE *fp)
{
    json_t *arr = json_array();
    if (!arr) return -1;
    char buf[512];
    for (int i = 0; i < n; i++) {
        const ModelSnapshot *m = &s->models[rows[i].model];
        const LayerSnapshot *r = &m->rows[rows[i].row];
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return -1;
        }
        for (int c = 0; c < COL_COUNT; c++) {
            Column col = (Column)c;
            json_t *v;
            if (!columnIsNumeric(col)) {
                columnText(m, r, col, 1, buf, sizeof buf);
                v = json_string(buf);
            } else {
                double x = columnValue(m, r, col);
                if (!isfinite(x)) v = json_null();
                else if (col == COL_WIDTH || col == COL_LAYER || col == COL_TOKENS) v = json_integer((json_int_t)x);
                else v = json_real(x);
            }
            if (!v || json_object_set_new(o, columnName(col), v)) {
                json_decref(arr);
                return -1;
            }
        }
    }
    int rc = json_dumpf(arr, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(arr);
    fputc('\n', fp);
    return rc || ferror(fp) ? -1 : 0;
}
