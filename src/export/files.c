/* Naming and writing export files: VIEW-YYYYmmdd-HHMMSS.EXT in the export
 * folder, every file through a temp file and a rename. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "util/fileio.h"

static const char *const shot_ext[SHOT_COUNT] = {"txt", "ans", "html", "svg"};
static const char *const table_ext[TABLE_COUNT] = {"csv", "md", "json"};

const char *shotExtension(ShotFormat f) { return f < SHOT_COUNT ? shot_ext[f] : "?"; }
const char *tableExtension(TableFormat f) { return f < TABLE_COUNT ? table_ext[f] : "?"; }

int shotParse(const char *name)
{
    if (!strcmp(name, "ansi")) return SHOT_ANSI;
    for (int f = 0; f < SHOT_COUNT; f++)
        if (!strcmp(name, shot_ext[f])) return f;
    return -1;
}

int exportShot(const Canvas *c, ShotFormat f, ExportColors col, const char *title, FILE *fp)
{
    switch (f) {
    case SHOT_TXT: return exportTxt(c, fp);
    case SHOT_ANSI: return exportAnsi(c, DEPTH_TRUE, fp);
    case SHOT_HTML: return exportHtml(c, col, title, fp);
    case SHOT_SVG: return exportSvg(c, col, title, fp);
    default: return -1;
    }
}

int exportShotFile(const Canvas *c, ShotFormat f, ExportColors col, const char *title, const char *path, Error *err)
{
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    if (exportShot(c, f, col, title, af.fp)) {
        atomicAbort(&af);
        return errorSet(err, EXIT_RUNTIME, "%s: write error", path);
    }
    return atomicCommit(&af, err);
}

/* dir/NAME-STAMP, with -2, -3 ... until no file with any of the extensions exists. */
int exportPickBase(const char *dir, const char *name, time_t when, const char *const *ext, int n_ext, char *base,
                   size_t len, Error *err)
{
    struct tm tm;
    char stamp[32];
    localtime_r(&when, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    for (int k = 1; k < 1000; k++) {
        int w = k == 1 ? snprintf(base, len, "%s/%s-%s", dir, name, stamp)
                       : snprintf(base, len, "%s/%s-%s-%d", dir, name, stamp, k);
        if (w < 0 || (size_t)w + 8 >= len) return errorSet(err, EXIT_RUNTIME, "%s: path too long", dir);
        int taken = 0;
        for (int e = 0; e < n_ext && !taken; e++) {
            char path[PATH_MAX];
            struct stat st;
            snprintf(path, sizeof path, "%s.%s", base, ext[e]);
            taken = stat(path, &st) == 0;
        }
        if (!taken) return 0;
    }
    return errorSet(err, EXIT_RUNTIME, "%s: too many exports named %s-%s", dir, name, stamp);
}

int exportScreenshots(const Canvas *c, ExportColors col, const char *dir, const char *name, time_t when, char *base,
                      size_t base_len, Error *err)
{
    if (makeDirs(dir, err)) return -1;
    if (exportPickBase(dir, name, when, shot_ext, SHOT_COUNT, base, base_len, err)) return -1;
    char title[128];
    snprintf(title, sizeof title, "ffnscope \xc2\xb7 %s", name);
    for (int f = 0; f < SHOT_COUNT; f++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s.%s", base, shot_ext[f]);
        if (exportShotFile(c, (ShotFormat)f, col, title, path, err)) return -1;
    }
    return 0;
}

int exportTables(const Snapshot *s, const UiState *st, const char *dir, time_t when, char *base, size_t base_len,
                 Error *err)
{
    TableRow *rows;
    int n = tableRows(s, st, &rows);
    if (n < 0) return errorNoMem(err, "table rows");
    if (makeDirs(dir, err) || exportPickBase(dir, "table", when, table_ext, TABLE_COUNT, base, base_len, err)) {
        free(rows);
        return -1;
    }
    int rc = 0;
    for (int f = 0; f < TABLE_COUNT && rc == 0; f++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s.%s", base, table_ext[f]);
        AtomicFile af;
        if (atomicOpen(&af, path, err)) {
            rc = -1;
            break;
        }
        int w = f == TABLE_CSV ? exportCsv(s, rows, n, af.fp)
              : f == TABLE_MD  ? exportMarkdown(s, rows, n, af.fp)
                               : exportJson(s, rows, n, af.fp);
        if (w) {
            atomicAbort(&af);
            rc = errorSet(err, EXIT_RUNTIME, "%s: write error", path);
        } else {
            rc = atomicCommit(&af, err);
        }
    }
    free(rows);
    return rc;
}
