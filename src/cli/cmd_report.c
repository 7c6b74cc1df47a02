/* ffnscope report RESULTS_DIR: one self-contained HTML page of a saved run. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/results.h"
#include "plot/plot.h"

#define REPORT_USAGE "usage: ffnscope report RESULTS_DIR [-o report.html] [--help]\n"

static int usage(Error *err, const char *what)
{
    return errorSet(err, EXIT_INPUT, "report: %s (see ffnscope report --help)", what);
}

int cmdReport(int argc, char **argv, Error *err)
{
    const char *dir = NULL, *out = "report.html";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) return usage(err, "-o needs a value"), EXIT_INPUT;
            out = argv[i];
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(REPORT_USAGE, stdout);
            return EXIT_OK;
        } else if (a[0] == '-') {
            char what[128];
            snprintf(what, sizeof what, "unknown option '%.80s'", a);
            return usage(err, what), EXIT_INPUT;
        } else if (!dir) {
            dir = a;
        } else {
            return usage(err, "one results directory only"), EXIT_INPUT;
        }
    }
    if (!dir) return usage(err, "which results directory?"), EXIT_INPUT;
    Snapshot *s;
    if (resultsLoad(dir, &s, err)) return err->code ? err->code : EXIT_INPUT;
    int status = EXIT_OK;
    if (plotReport(s, dir, out, err)) status = err->code ? err->code : EXIT_RUNTIME;
    else printf("%s\n", out);
    snapshotRelease(s);
    return status;
}
