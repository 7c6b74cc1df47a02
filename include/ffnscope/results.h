#ifndef FFNSCOPE_RESULTS_H
#define FFNSCOPE_RESULTS_H

#include "ffnscope/config.h"
#include "ffnscope/error.h"
#include "ffnscope/snapshot.h"

/* The results directory (README "Results"): metrics.csv, metrics.json, fits.csv,
 * spectra.safetensors and run.yaml, each written to a temp file and renamed. */
int resultsWrite(const Snapshot *s, const Config *cfg, const char *dir, Error *err);

/* Loads a saved results directory (metrics.json + spectra.safetensors) into a
 * snapshot with state WORKER_SAVED. */
int resultsLoad(const char *dir, Snapshot **out, Error *err);

#endif
