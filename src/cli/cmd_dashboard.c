/* ffnscope [CONFIG | RESULTS_DIR | MODEL... [run's options, --memory-limit SIZE]]: the dashboard. With no argument it opens
 * ./ffnscope.yaml, else the bundled configs/demo.yaml. Without a terminal a
 * config runs headless (as `ffnscope run`) and a results directory prints
 * its table as Markdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/implicit.h"
#include "export/export.h"
#include "ffnscope/config.h"
#include "ffnscope/results.h"
#include "ffnscope/worker.h"
#include "ui/app.h"
#include "ui/paths.h"

static int browse(const char *dir, Error *err)
{
    Snapshot *s;
    if (resultsLoad(dir, &s, err)) return err->code ? err->code : EXIT_INPUT;
    int status = EXIT_OK;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        UiState st;
        uiStateInit(&st);
        TableRow *rows;
        int n = tableRows(s, &st, &rows);
        if (n < 0 || exportMarkdown(s, rows, n, stdout)) {
            errorSet(err, EXIT_RUNTIME, "%s: cannot print the table", dir);
            status = EXIT_RUNTIME;
        }
        if (n > 0) free(rows);
        uiStateFree(&st);
    } else {
        AppOptions opt = {.saved = s};
        status = appRun(&opt, err);
    }
    snapshotRelease(s);
    return status;
}

/* argv: what followed `ffnscope` (a config, or models and run's options). */
static int live(int argc, char **argv, Error *err)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        argv[0] = "run";
        return cmdRun(argc, argv, err);
    }
    Config *cfg;
    char *pos[64];
    int n_pos = 0;
    ImplicitArgs ia = {0};
    uint64_t limit = 0;
    for (int i = 1; i < argc; i++) {
        int taken = implicitOption(argc, argv, &i, &ia, err);
        if (taken < 0) return EXIT_INPUT;
        if (taken) continue;
        if (!strcmp(argv[i], "--memory-limit") || !strncmp(argv[i], "--memory-limit=", 15)) {
            const char *v = argv[i][14] == '=' ? argv[i] + 15 : ++i < argc ? argv[i] : NULL;
            if (cliMemoryLimit("ffnscope", v, &limit, err)) return EXIT_INPUT;
            continue;
        }
        if (argv[i][0] == '-' || n_pos == (int)(sizeof pos / sizeof pos[0]))
            return errorSet(err, EXIT_INPUT, "unknown option '%s' (see ffnscope --help)", argv[i]), EXIT_INPUT;
        pos[n_pos++] = argv[i];
    }
    if (runLoadConfig(n_pos, pos, &ia, 0, &cfg, err)) return err->code ? err->code : EXIT_INPUT;
    Worker *w;
    WorkerOptions wopt = {.live = 1, .memory_limit = limit};
    if (workerStartWith(cfg, &wopt, &w, err)) {
        configFree(cfg);
        return err->code ? err->code : EXIT_RUNTIME;
    }
    AppOptions opt = {.worker = w, .cfg = cfg, .results_dir = cfg->output_dir, .theme = cfg->theme,
                      .export_dir = cfg->export_dir};
    int status = appRun(&opt, err);
    workerStop(w);
    workerFree(w);
    configFree(cfg);
    return status;
}

int cmdDashboard(int argc, char **argv, Error *err)
{
    if (argc > 2 || (argc == 2 && implicitIsModelSource(argv[1]))) return live(argc, argv, err);
    char found[4096];
    const char *path = argc == 2 ? argv[1] : NULL;
    struct stat st;
    if (!path) {
        if (stat("ffnscope.yaml", &st) == 0) path = "ffnscope.yaml";
        else if (dataPath("configs/demo.yaml", found, sizeof found) == 0) path = found;
        else
            return errorSet(err, EXIT_INPUT, "no ./ffnscope.yaml and no bundled configs/demo.yaml found; "
                                             "give a config or a results directory"),
                   EXIT_INPUT;
    }
    if (stat(path, &st) != 0) return errorSet(err, EXIT_INPUT, "%s: no such file or directory", path), EXIT_INPUT;
    if (S_ISDIR(st.st_mode)) return browse(path, err);
    char *live_argv[] = {"", (char *)path, NULL};
    return live(2, live_argv, err);
}
