#ifndef FFNSCOPE_SNAPSHOT_H
#define FFNSCOPE_SNAPSHOT_H

#include <stdint.h>

#include "ffnscope/fit.h"
#include "ffnscope/metrics.h"
#include "ffnscope/site.h"

/* A snapshot is what the worker publishes: an immutable picture of the whole
 * run (every model, layer and site, their spectra, metrics and the fits),
 * shared by reference count between the worker, the UI and the results
 * writer. The UI never sees the worker's mutable state, only snapshots. A
 * saved results directory loads into the same structure (results.h). */

typedef enum ModelStatus {
    MODEL_QUEUED,
    MODEL_LOADING,
    MODEL_CAPTURING,
    MODEL_DONE,
    MODEL_FAILED,
} ModelStatus;

typedef enum WorkerState {
    WORKER_IDLE,      /* nothing started yet */
    WORKER_RUNNING,
    WORKER_PAUSED,
    WORKER_DONE,      /* every model done or failed */
    WORKER_STOPPED,   /* quit before the end */
    WORKER_SAVED,     /* a saved results directory: nothing runs */
} WorkerState;

typedef struct LayerSnapshot {
    int layer;
    Site site;
    int routed;          /* 0: a dense FFN (expert ignored); 1: one expert of a routed FFN */
    int expert;          /* when routed: the expert's index or CAPTURE_SHARED (ffnscope/model.h) */
    int width;           /* this row's FFN width (an expert's intermediate size); 0: the model's */
    Metrics metrics;     /* meaningful when n_eigen > 0, or (an expert with < 2 tokens) when its warnings
                            hold WARN_NO_TOKENS or WARN_TOO_FEW_TOKENS: its count, the rest NaN */
    int n_eigen;         /* width once computed, 0 before the first refresh */
    double *eigen;       /* [n_eigen], descending */
    /* routed experts (expert >= 0): the subspace overlap of this row's (layer, site) over
     * overlap_pairs pairs of experts with overlap_k eigenvectors each (README "Mixture of
     * experts"); overlap_pairs 0: not computed */
    double overlap;
    int overlap_k, overlap_pairs;
} LayerSnapshot;

/* A routed layer-site at a glance: the load (tokens routed to each expert are the rows'
 * metrics.tokens + nonfinite_rows), its entropy in nats and over ln E, and the overlap. */
typedef struct MoeStats {
    int n_experts;             /* routed experts (the shared one not counted) */
    int64_t tokens;            /* routed token slots: tokens x experts per token */
    double entropy;            /* -sum p_e ln p_e, p_e = tokens_e / tokens; NaN without tokens */
    double entropy_norm;       /* entropy / ln n_experts */
    double overlap;            /* NaN when fewer than two experts have eigenvectors */
    int overlap_k, overlap_pairs;
} MoeStats;

/* Where a model's elapsed_s went, in wall seconds (README "Results" says what each counts). A
 * source has only some phases (activation files are not tokenized); what is left of elapsed_s
 * (snapshots, progress, freeing the model, --save-stats) is "other", snapshotPhaseOther. */
typedef enum Phase {
    PHASE_LOAD,        /* opening the checkpoint or file, weights widened at load, tokenizer */
    PHASE_TOKENIZE,    /* the corpus read and turned into ids */
    PHASE_FORWARD,     /* the forward passes, the capture hook's time taken out */
    PHASE_COVARIANCE,  /* the accumulator updates */
    PHASE_SPECTRA,     /* eigensolves and metrics: refreshes during the capture and the final solves */
    PHASE_COUNT,
} Phase;

#define PHASE_BIT(p) (1u << (p))

typedef struct ModelSnapshot {
    char *name, *family, *format, *path;
    char *fit_group;           /* the scaling fit this model joins; NULL: its family's */
    int width;                 /* FFN width D (0 until known) */
    int n_layers;              /* layers in the model */
    ModelStatus status;
    int64_t tokens_done, tokens_target;
    double tokens_per_s;
    double elapsed_s;
    char *error;               /* when MODEL_FAILED */
    int n_rows;
    LayerSnapshot *rows;       /* sorted by layer, then site */
    int config_index;          /* position of the entry in the config (after glob expansion) */
    int error_code;            /* EXIT_INPUT or EXIT_RUNTIME when MODEL_FAILED */
    double refresh_s;          /* of elapsed_s, seconds spent on spectrum refreshes during the
                                  capture (the final refresh not counted); kept under a fifth */
    int pass, passes;          /* the memory plan's pass being run (1-based) of passes; 0 before */
    int group_first, group_last; /* layers of the running pass */
    uint64_t plan_peak;        /* the plan's expected peak resident bytes (0: no plan) */
    char *plan;                /* the plan in one line (NULL: none) */
    double phase_s[PHASE_COUNT]; /* seconds per phase, those in `phases` only */
    unsigned phases;           /* PHASE_BIT(p): phase p applies to the source and was timed */
} ModelSnapshot;

typedef enum RankKind { RANK_SOFT = 0, RANK_HARD = 1 } RankKind;

typedef struct FitSnapshot {
    char *family;
    Site site;
    RankKind rank;
    Fit fit;
} FitSnapshot;

typedef struct Snapshot {
    int refcount;              /* atomic; use snapshotRetain/Release */
    uint64_t generation;       /* increases with every publish */
    char *source;              /* config path or results directory */
    WorkerState state;
    double elapsed_s;
    double concentration_k;    /* the config's parameter */
    int n_models;
    ModelSnapshot *models;     /* grouped by family, then sorted by width */
    int n_fits;
    FitSnapshot *fits;         /* per family, site and rank kind */
    uint64_t memory_limit;     /* the run's memory limit in bytes (0: none known) */
} Snapshot;

Snapshot *snapshotNew(void);                 /* refcount 1, everything empty */
Snapshot *snapshotRetain(Snapshot *s);
void snapshotRelease(Snapshot *s);          /* frees on the last release */

/* Recomputes s->fits from the models' layer metrics (median over layers of
 * each model, per family, site and rank kind). */
int snapshotComputeFits(Snapshot *s);

/* Whether a model has routed experts. Its point in the fits and its
 * per-model medians then count only the routed experts' rows
 * (snapshotRowInPoint), since the shared expert and the dense layers have
 * other widths; a dense model counts every row. */
int snapshotModelRouted(const ModelSnapshot *m);
/* The width a model is shown and placed at: its routed experts' for a
 * mixture-of-experts model (as in its scaling point), else its FFN width
 * (0 when not known yet). */
int snapshotModelWidth(const ModelSnapshot *m);
int snapshotRowInPoint(const LayerSnapshot *r, int model_routed);
/* A model's point for (site, rank) (README "What it measures"): its FFN
 * width, or a mixture-of-experts model's expert width, and the median rank
 * over the rows snapshotRowInPoint counts. 1 with *width and *value set, 0
 * when the model has no positive rank there (or failed), -1 out of memory. */
int snapshotModelPoint(const ModelSnapshot *m, Site site, RankKind rank, double *width, double *value);

/* Delta beta (soft - hard) for a family and site; NAN when either fit is invalid. */
double snapshotDeltaBeta(const Snapshot *s, const char *family, Site site);

/* A deep copy with refcount 1 (NULL when out of memory). */
Snapshot *snapshotCopy(const Snapshot *s);

/* Frees what a ModelSnapshot owns (not the struct itself) and zeroes it. */
void snapshotModelClear(ModelSnapshot *m);

/* Index of the model named `name`, or -1. */
int snapshotFindModel(const Snapshot *s, const char *name);
/* The row for (layer, site) of a model, or NULL. */
const LayerSnapshot *snapshotFindRow(const ModelSnapshot *m, int layer, Site site);

/* Whether a row has anything to show or write: a spectrum, or an expert's count of < 2 tokens. */
int snapshotRowCounted(const LayerSnapshot *r);
/* Tokens routed to a row's expert. */
int64_t snapshotRowTokens(const LayerSnapshot *r);
/* The routed-layer statistics of (layer, site); returns n_experts, 0 when the layer is not
 * routed there (out then unset). */
int snapshotMoeStats(const ModelSnapshot *m, int layer, Site site, MoeStats *out);

/* The fit group of a model: its fit_group, else its family (never NULL). */
const char *snapshotFitGroup(const ModelSnapshot *m);

/* The fit for (family, site, rank), or NULL when there is none. */
const FitSnapshot *snapshotFindFit(const Snapshot *s, const char *family, Site site, RankKind rank);

/* What is left of m->elapsed_s besides its phases (at least 0); NAN when it has no phases. */
double snapshotPhaseOther(const ModelSnapshot *m);

/* "load", "tokenize", "forward", "covariance", "spectra". */
const char *phaseName(Phase p);

const char *modelStatusName(ModelStatus st);
const char *workerStateName(WorkerState st);

#endif
