#ifndef FFNSCOPE_ENGINE_RUN_H
#define FFNSCOPE_ENGINE_RUN_H

/* Inside the worker: one model's capture. A source (activation files,
 * checkpoints) declares its streams, feeds them and reports progress after
 * every batch; the worker does the rest (commands, spectrum refreshes,
 * snapshots). Only the worker thread touches a ModelRun. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/config.h"
#include "ffnscope/covacc.h"
#include "ffnscope/error.h"
#include "ffnscope/model.h"
#include "ffnscope/site.h"
#include "ffnscope/snapshot.h"

typedef struct Worker Worker;

/* One accumulator of the running model, per capture key (layer, site,
 * expert). */
typedef struct Stream {
    CaptureKey key;
    int width;                 /* D */
    Covacc *acc;
    int64_t refreshed_count;   /* acc->count at the last spectrum refresh */
    int due;                   /* a refresh was asked for and not yet done */
    double *vecs;              /* a routed expert's top eigenvectors from the final solve, [n_vecs * width] */
    int n_vecs;
} Stream;

typedef struct ModelRun {
    Worker *w;
    const Config *cfg;
    const ModelEntry *entry;
    int index;                 /* in the snapshot */
    int n_streams;
    Stream *streams;           /* sorted by layer, then site */
    int64_t tokens_done, tokens_target;
    int64_t next_refresh_at;   /* tokens */
    int rr;                    /* round-robin position for deferred refreshes */
    double t_start;            /* monotonic seconds, pauses moved forward */
    double t_refresh;          /* seconds spent on budgeted refreshes */
    int64_t tokens_before;     /* tokens run in earlier passes (for tokens/s) */
    double phase_s[PHASE_COUNT]; /* seconds per phase so far (snapshot.h), t_refresh included */
    unsigned phases;           /* PHASE_BIT of the phases timed */
} ModelRun;

/* What a source returns besides 0 (finished) and -1 (failed, err filled). */
enum { RUN_QUIT = 1, RUN_RESTART = 2 };

/* Monotonic seconds, the clock of every time the worker keeps. */
double runNow(void);

/* Charges `seconds` of wall time to phase p of the running model (README
 * "Results"); the next snapshot shows it. */
void runPhaseAdd(ModelRun *r, Phase p, double seconds);

/* Sets the model's description in the snapshot (any argument may be NULL/0
 * to keep what is there). */
void runDescribe(ModelRun *r, const char *family, const char *format, int width, int n_layers);

/* Declares the streams: n entries of (layer, site, width). Publishes. */
int runSetStreams(ModelRun *r, int n, const int *layers, const Site *sites, const int *widths,
                  int64_t tokens_target, Error *err);

/* Declares the streams of any capture keys (experts included), like
 * runDeclareStreams. */
int runDeclareKeys(ModelRun *r, int n, const CaptureKey *keys, const int *widths, int64_t tokens_target, Error *err);

/* Declares the streams like runSetStreams without allocating accumulators:
 * runOpenGroup then allocates those of one group of layers at a time. */
int runDeclareStreams(ModelRun *r, int n, const int *layers, const Site *sites, const int *widths,
                      int64_t tokens_target, Error *err);

/* Pass `pass` (1-based) of `passes` runs layers first..last: allocates the
 * accumulators of the streams among them and starts the pass's progress and
 * refresh schedule. */
int runOpenGroup(ModelRun *r, int pass, int passes, int first, int last, Error *err);

/* Ends a pass: every open stream's final spectrum, then its accumulator is
 * freed. Returns 0, RUN_QUIT / RUN_RESTART, or -1 (err filled). */
int runCloseGroup(ModelRun *r, Error *err);

/* The memory limit of this worker (bytes) and whether spectra refresh live. */
uint64_t runMemoryLimit(const ModelRun *r);
int runLive(const ModelRun *r);
/* Where a pass's hidden states may spill (a folder), or NULL. */
const char *runSpillDir(const ModelRun *r);
/* Records the plan in the snapshot: its peak, passes and one line. */
void runSetPlan(ModelRun *r, uint64_t peak, int passes, const char *line);

/* The stream of key, or NULL when it is not captured (or its pass is not running). */
Stream *runStream(ModelRun *r, CaptureKey key);

/* After each batch or chunk: records progress, handles commands (blocks
 * while paused), refreshes due spectra within the time budget and publishes.
 * Returns 0 to go on, RUN_QUIT or RUN_RESTART to stop this capture, -1 on
 * failure (err filled). */
int runProgress(ModelRun *r, int64_t tokens_done, Error *err);

/* Cheap check from inside a forward pass: 1 when the current capture must
 * stop (quit, or a restart of this very model). */
int runInterrupted(const ModelRun *r);

/* The corpus text, read once per worker. */
int runCorpus(ModelRun *r, const char **text, size_t *len, Error *err);

/* Sources. */
int runActivations(ModelRun *r, Error *err);
int runCheckpoint(ModelRun *r, Error *err);
int runStats(ModelRun *r, Error *err);   /* covariance statistics files (source_stats.c) */

/* Writes the finished streams' accumulators as a covariance statistics file:
 * `save` itself, or save/NAME.stats.safetensors when it is a folder. The
 * file's width is the dense streams' or, when every stream is an expert's,
 * `width`; experts are written with their own width. */
int runSaveStats(ModelRun *r, const char *save, const char *family, int width, int n_layers, Error *err);

#endif
