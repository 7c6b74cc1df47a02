#ifndef FFNSCOPE_WORKER_H
#define FFNSCOPE_WORKER_H

#include <stdint.h>

#include "ffnscope/config.h"
#include "ffnscope/error.h"
#include "ffnscope/site.h"
#include "ffnscope/snapshot.h"

/* The worker thread runs the plan (models x layers x sites): loads each model
 * or activation file, feeds the covariance accumulators, recomputes spectra
 * and publishes snapshots. Other threads talk to it only through these calls,
 * which queue commands; it never touches the screen. */
typedef struct Worker Worker;

/* Starts the thread. cfg must outlive the worker. */
int workerStart(const Config *cfg, Worker **out, Error *err);

/* workerStart with options. live = 0 skips the spectrum refreshes during a
 * capture (only each model's final one runs): for the headless run, where
 * nobody looks at intermediate spectra. workerStart is live. */
typedef struct WorkerOptions {
    int live;
    uint64_t memory_limit;    /* bytes; 0: the config's capture.memory_limit, else 80% of available */
    const char *spill_dir;    /* folder for hidden states that do not fit in memory (the results
                               * folder); NULL: the config's output.dir */
} WorkerOptions;

int workerStartWith(const Config *cfg, const WorkerOptions *opt, Worker **out, Error *err);

/* The latest published snapshot, retained: release it with snapshotRelease. */
Snapshot *workerSnapshot(Worker *w);

/* Blocks until a snapshot newer than `generation` is published or timeout_ms
 * passes (-1: forever). Returns the latest generation. */
uint64_t workerWait(Worker *w, uint64_t generation, int timeout_ms);

/* model_index is a position in the snapshot's models array; the order is
 * fixed when the worker starts, so it means the same model in every
 * snapshot. Restarting the model being captured starts it again from zero;
 * restarting a finished or failed one queues it again. */
void workerPause(Worker *w);
void workerResume(Worker *w);
void workerRestartModel(Worker *w, int model_index);
/* The layer the user looks at: its spectrum is refreshed first. */
void workerFocus(Worker *w, int model_index, int layer, Site site);

/* Asks the worker to quit (mid-capture too) and joins it. */
void workerStop(Worker *w);
void workerFree(Worker *w);   /* stops first when still running */

#endif
