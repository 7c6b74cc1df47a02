#ifndef FFNSCOPE_IO_STATS_H
#define FFNSCOPE_IO_STATS_H

/* Covariance statistics files: the sufficient statistics of each layer's
 * activation covariance (count, mean, centred scatter), so that capture can
 * run elsewhere (PyTorch on many GPUs, tools/capture_torch.py) or in pieces,
 * and the pieces combine exactly (Chan's pairwise update, covaccMerge).
 *
 * Format version 1: a safetensors file. Per captured layer N and site S
 * (S = post | pre; names follow README "Config" so they carry layer and site):
 *
 *   layers.N.S.count      I64 [1]     finite rows accumulated (>= 0)
 *   layers.N.S.nonfinite  I64 [1]     rows dropped for NaN/Inf (optional, default 0)
 *   layers.N.S.mean       F64 [D]     mean of the accumulated rows
 *   layers.N.S.scatter    F64 [D, D]  sum over rows of (x - mean)(x - mean)^T, full and symmetric
 *
 * A routed (mixture-of-experts) layer has one entry per expert instead,
 * layers.N.S.expertE.F (E its index, no leading zeros) and
 * layers.N.S.expertshared.F for a shared expert, with the same four fields;
 * an expert's D is its own width (the shapes give it), a dense entry's D is
 * `width`.
 * count and nonfinite may also be F64 holding a whole number, and scalar
 * (shape []) instead of [1]. N is written without leading zeros. No other
 * tensors are allowed. __metadata__ (all values are strings):
 *
 *   ffnscope_stats  "1"           marks the file and gives the format version (required)
 *   width           "D"           FFN width of every dense entry (required)
 *   model           name          (optional, "" when unknown)
 *   family          gpt2 | llama | ngpt | ""   (optional)
 *   n_layers        layers in the model (optional, 0 when unknown)
 *   producer        who wrote it ("ffnscope 0.1.0 run", "capture_torch.py ...")
 *
 * Other metadata keys (corpus, tokens, seq_len, ...) are informational and
 * ignored by the reader. Readers check everything before trusting it: the
 * marker and version, width, names, dtypes and shapes, complete entries,
 * counts >= 0, finite values, zero statistics when count is 0, a scatter
 * that is symmetric with a non-negative diagonal and |s_ij| <= sqrt(s_ii s_jj)
 * (to round-off). Memory: 8*D^2 bytes per entry (D = 11008: 0.97 GB), so the
 * reader and writer stream one entry at a time. */

#include <stdint.h>

#include "ffnscope/covacc.h"
#include "ffnscope/error.h"
#include "ffnscope/metrics.h"
#include "ffnscope/model.h"
#include "ffnscope/site.h"

#define STATS_FORMAT_VERSION 1
#define STATS_MAX_WIDTH (1 << 20)
#define STATS_MAX_LAYER 99999
#define STATS_MAX_EXPERT 65535

/* Which model the statistics describe. On read the strings are owned by the
 * StatsFile (never NULL). */
typedef struct StatsMeta {
    const char *model;     /* name, "" when unknown */
    const char *family;    /* gpt2, llama, ngpt or "" */
    int width;             /* D */
    int n_layers;          /* layers in the model, 0 when unknown */
    const char *producer;  /* NULL when writing: "ffnscope VERSION" */
} StatsMeta;

/* routed 0: a dense FFN's entry; routed 1: expert is the index or
 * CAPTURE_SHARED (ffnscope/model.h), as in snapshot rows. */
typedef struct StatsKey {
    int layer;
    Site site;
    int routed, expert;
    int width;             /* the entry's D; 0 when writing: the file's width */
} StatsKey;

typedef struct StatsEntry {
    int layer;
    Site site;
    Covacc *acc;           /* owned by whoever holds the entry array; its dim is the width */
    int routed, expert;
} StatsEntry;

/* The entry order: layer, site, then a dense entry before experts, experts
 * by index, the shared expert last (<0, 0, >0; width ignored). */
int statsKeyCompare(const StatsKey *a, const StatsKey *b);

/* --- reading, one entry at a time ------------------------------------- */

typedef struct StatsFile StatsFile;

/* Maps PATH and checks its structure: marker, version, width, names, dtypes,
 * shapes, complete entries and counts. Entries come sorted by layer, then
 * site, then expert (by index, the shared expert last). Errors: EXIT_INPUT "PATH: ..." naming the tensor or key. */
int statsOpen(const char *path, StatsFile **out, Error *err);
const StatsMeta *statsMeta(const StatsFile *f);
const char *statsPath(const StatsFile *f);
int statsCount(const StatsFile *f);
/* Layer, site, expert and width of entry i, and its row counts (no data read). */
StatsKey statsKey(const StatsFile *f, int i);
int64_t statsRows(const StatsFile *f, int i);
/* Index of the dense entry (layer, site) or -1. */
int statsFind(const StatsFile *f, int layer, Site site);
/* Loads entry i into acc (acc->dim must be the entry's width) and validates the
 * values: finite, zero when count is 0, scatter symmetric with a
 * non-negative diagonal and bounded off-diagonal. */
int statsLoad(StatsFile *f, int i, Covacc *acc, Error *err);
void statsClose(StatsFile *f);

/* 1 when PATH is a safetensors file marked as covariance statistics (its
 * header parses and __metadata__ has ffnscope_stats), else 0. Never fails
 * loudly: statsOpen gives the reason. */
int statsDetect(const char *path);

/* --- writing, streamed ------------------------------------------------ */

typedef struct StatsWriter StatsWriter;

/* Writes the header for the listed entries (in that order, no duplicates)
 * to a temp file next to PATH; statsWriterPut must then be called once per
 * key, in order, and statsWriterCommit renames the file into place. */
int statsWriterOpen(const char *path, const StatsMeta *meta, const StatsKey *keys, int n,
                    StatsWriter **out, Error *err);
/* Appends the next entry's statistics (acc->dim == its key's width). The scatter
 * is written full, mirrored from the accumulator's upper triangle. */
int statsWriterPut(StatsWriter *w, const Covacc *acc, Error *err);
/* Flushes, fsyncs, renames and frees; on failure nothing is left behind. */
int statsWriterCommit(StatsWriter *w, Error *err);
/* Removes the temp file and frees (NULL is fine). */
void statsWriterAbort(StatsWriter *w);

/* --- whole files ------------------------------------------------------ */

/* Writes every entry (sorted by layer, site, expert) atomically. */
int statsWrite(const char *path, const StatsMeta *meta, const StatsEntry *entries, int n,
               Error *err);

/* Reads and validates every entry. *entries is malloc'd, one Covacc each;
 * free with statsEntriesFree. meta strings, when meta is not NULL, are
 * malloc'd copies: free with statsMetaFree. */
int statsRead(const char *path, StatsMeta *meta, StatsEntry **entries, int *n, Error *err);
void statsEntriesFree(StatsEntry *entries, int n);
void statsMetaFree(StatsMeta *meta);

/* --- from statistics to the spectrum ---------------------------------- */

/* Eigenvalues (descending, D of them) of the unbiased covariance of acc.
 * Needs count >= 2: EXIT_INPUT "WHAT: ..." otherwise, WHAT naming the entry. */
int statsSpectrum(const Covacc *acc, const char *what, double *eig, Error *err);

/* Spectrum and every metric (README "What it measures") of acc; eig (may be NULL) receives the
 * D eigenvalues. */
int statsMetrics(const Covacc *acc, const char *what, double k_param, Metrics *m, double *eig,
                 Error *err);

/* "layers.N.S" (or "layers.N.S.expertE", "layers.N.S.expertshared"), the
 * name analyze prints for an entry. */
void statsEntryName(StatsKey key, char *buf, int len);

#endif
