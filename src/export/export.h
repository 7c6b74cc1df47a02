#ifndef FFNSCOPE_EXPORT_EXPORT_H
#define FFNSCOPE_EXPORT_EXPORT_H

#include <stdio.h>
#include <time.h>

#include "ffnscope/error.h"
#include "ffnscope/snapshot.h"
#include "ui/canvas.h"
#include "ui/ui.h"

/* Exports: screenshots serialise the canvas the screen shows (plain text,
 * ANSI, HTML, SVG); table exports write the table view's rows (CSV with the
 * metrics.csv header, Markdown, JSON). Files are written atomically. */

typedef enum ShotFormat { SHOT_TXT, SHOT_ANSI, SHOT_HTML, SHOT_SVG, SHOT_COUNT } ShotFormat;
typedef enum TableFormat { TABLE_CSV, TABLE_MD, TABLE_JSON, TABLE_COUNT } TableFormat;

/* What COLOR_DEFAULT cells look like where a format needs a real colour
 * (HTML, SVG): the theme's colours when it names them, else light on dark. */
typedef struct ExportColors {
    Color fg, bg;
} ExportColors;
ExportColors exportColors(const Theme *t);

/* A cell's final colours once defaults, reverse and dim are applied. */
typedef struct CellLook {
    Color fg, bg;
    int bold, underline;
} CellLook;
CellLook exportLook(const Cell *cell, ExportColors col);

const char *shotExtension(ShotFormat f);      /* "txt", "ans", "html", "svg" */
int shotParse(const char *name);              /* "txt" "ansi" "ans" "html" "svg" -> format; -1 unknown */
const char *tableExtension(TableFormat f);    /* "csv", "md", "json" */

/* Each returns 0, or -1 when the stream reports an error. */
int exportTxt(const Canvas *c, FILE *fp);
/* depth picks the colour codes: 24-bit, 256, the basic 8, or attributes only. */
int exportAnsi(const Canvas *c, ColorDepth depth, FILE *fp);
int exportHtml(const Canvas *c, ExportColors col, const char *title, FILE *fp);
int exportSvg(const Canvas *c, ExportColors col, const char *title, FILE *fp);
int exportShot(const Canvas *c, ShotFormat f, ExportColors col, const char *title, FILE *fp);

int exportCsv(const Snapshot *s, const TableRow *rows, int n, FILE *fp);
int exportMarkdown(const Snapshot *s, const TableRow *rows, int n, FILE *fp);
int exportJson(const Snapshot *s, const TableRow *rows, int n, FILE *fp);

/* Writes one file atomically through fn. */
int exportShotFile(const Canvas *c, ShotFormat f, ExportColors col, const char *title, const char *path, Error *err);

/* dir/NAME-YYYYmmdd-HHMMSS (with -2, -3 ... while a file of that base with
 * one of the n_ext extensions exists) into base; dir must exist. */
int exportPickBase(const char *dir, const char *name, time_t when, const char *const *ext, int n_ext, char *base,
                   size_t len, Error *err);

/* The `s` key: NAME-YYYYmmdd-HHMMSS.{txt,ans,html,svg} in dir (created when
 * missing; a -2, -3 suffix when that name is taken). base gets the path
 * without extension. */
int exportScreenshots(const Canvas *c, ExportColors col, const char *dir, const char *name, time_t when, char *base,
                      size_t base_len, Error *err);
/* The `e` key: table-YYYYmmdd-HHMMSS.{csv,md,json} of the table view's rows. */
int exportTables(const Snapshot *s, const UiState *st, const char *dir, time_t when, char *base, size_t base_len,
                 Error *err);

#endif
