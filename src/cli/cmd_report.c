/* ffnscope report RESULTS_DIR: one self-contained HTML page of a saved run. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/results_args.h"
#include "ffnscope/results.h"
#include "plot/plot.h"

#define REPORT_USAGE "usage: ffnscope report RESULTS_DIR [-o report.html] [--help]\n"

int cmdReport(int argc, char **argv, Error *err)
{
    const char *dir, *out = "report.html";
    const ResultsOption opts[] = {{"-o", "--output", &out, NULL}, {NULL, NULL, NULL, NULL}};
    int rc = resultsArgsParse("report", argc, argv, opts, REPORT_USAGE, &dir, err);
    if (rc) return rc < 0 ? EXIT_INPUT : EXIT_OK;
    Snapshot *s;
    if (resultsLoad(dir, &s, err)) return err->code ? err->code : EXIT_INPUT;
    int status = EXIT_OK;
    if (plotReport(s, dir, out, err)) status = err->code ? err->code : EXIT_RUNTIME;
    else printf("%s\n", out);
    snapshotRelease(s);
    return status;
}
