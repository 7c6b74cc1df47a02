#ifndef FFNSCOPE_UI_APP_H
#define FFNSCOPE_UI_APP_H

#include "ffnscope/config.h"
#include "ffnscope/error.h"
#include "ffnscope/snapshot.h"
#include "ffnscope/worker.h"

/* The interactive dashboard: the only code that talks to the terminal
 * (ncursesw). It runs on the main thread, waits in getch with a timeout,
 * redraws when a key arrives or the worker publishes a newer snapshot, and
 * restores the terminal on every way out (q, Ctrl-C, SIGTERM, errors). */

typedef struct AppOptions {
    Worker *worker;            /* a live run, or NULL */
    Snapshot *saved;           /* a saved run (when worker is NULL), retained by the app */
    const Config *cfg;         /* live runs: results are written to results_dir when done */
    const char *results_dir;
    const char *theme;         /* theme name; NULL: "default" */
    const char *export_dir;    /* NULL: "exports" */
} AppOptions;

/* Returns the exit status: 0 after q, 128+signal after SIGINT/SIGTERM,
 * else an error (err filled) such as no usable terminal. */
int appRun(const AppOptions *opt, Error *err);

#endif
