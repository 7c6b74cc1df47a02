#ifndef FFNSCOPE_ENGINE_PLAN_H
#define FFNSCOPE_ENGINE_PLAN_H

/* The memory plan of one checkpoint (README "Memory"): what every part of a
 * capture holds, whether all selected layers' accumulators fit under the
 * limit at once (one pass) or the corpus must go through the model one group
 * of layers at a time, and the expected peak. A pure function of the model's
 * sizes, the config and the environment, computed before any weight is
 * loaded. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/config.h"
#include "ffnscope/error.h"
#include "ffnscope/model.h"

/* What the plan needs besides the model and the config. */
typedef struct PlanEnv {
    uint64_t limit;          /* bytes */
    int threads;             /* forward-pass and solver threads */
    int live;                /* spectra refreshed during the capture (the dashboard) */
    uint64_t corpus_bytes;   /* size of the corpus file (bounds the token ids) */
} PlanEnv;

/* Layers first..last run in one pass; the accumulators of the captured
 * layers among them are held at once. */
typedef struct PlanGroup {
    int first, last;         /* layers run (the first group starts at 0) */
    int n_captured;          /* captured layers in the group */
} PlanGroup;

typedef struct Plan {
    uint64_t limit;
    int n_captured, n_sites; /* captured layers, sites per layer */
    int64_t tokens;          /* at most this many tokens captured */
    int rows;                /* tokens per batch: batch x seq_len */
    uint64_t weights_stored;    /* every weight the forward pass reads, in its storage dtype */
    uint64_t weights_layer;     /* one layer widened to float32 */
    uint64_t weights_resident;  /* weights held during the capture */
    uint64_t accumulator;       /* one (layer, site) accumulator of the model's width: 8 D^2 + 8 D */
    uint64_t accumulators;      /* every captured (layer, site, expert)'s, each of its width */
    int n_accumulators;
    uint64_t acc_scratch;       /* the float64 block the accumulators share */
    uint64_t residual;          /* hidden states at a group boundary, every captured token */
    uint64_t scratch;           /* forward-pass buffers for one batch */
    uint64_t solve;             /* eigensolver: workspace, and the covariance copy of live refreshes */
    uint64_t base;              /* program, libraries, thread buffers, corpus and token ids */
    int passes;
    PlanGroup *groups;          /* [passes] */
    int residual_on_disk;       /* the boundary states go to a temporary file */
    int stream_weights;         /* weights stay stored, widened one layer at a time (weights_resident
                                 * = the stored globals and one stored layer + one float32 layer) */
    uint64_t peak;              /* expected peak resident memory */
    uint64_t need;              /* the least any schedule needs: one layer's accumulators */
    int fits;                   /* need <= limit */
} Plan;

/* Computes the plan. ffn: every layer's FFN (modelLayerFfn), NULL when
 * every layer is dense of info->ffn_width. Fails only when out of memory. A
 * plan that does not fit is still filled (fits = 0, passes = 0). */
int planCompute(const ModelInfo *info, const LayerFfn *ffn, const Config *cfg, const PlanEnv *env, Plan *plan,
                Error *err);
/* planCompute with the layers of an opened (possibly info_only) model. */
int planComputeModel(const Model *m, const Config *cfg, const PlanEnv *env, Plan *plan, Error *err);
void planFree(Plan *plan);

/* Bytes per stored weight of a dtype name (F32 4, F16/BF16 2, Q8_0 34/32,
 * ...); 4 for a name it does not know. */
double planDtypeBytes(const char *dtype);

/* One line: "3 passes (layers 0-7, 8-15, 16-23), peak 310 MiB of 320 MiB; ..." */
void planSummary(const Plan *plan, const ModelInfo *info, char *buf, size_t len);

/* The refusal: "NAME: needs at least X to capture one layer (...); the memory limit is L". */
int planRefuse(const Plan *plan, const char *name, Error *err);

/* The environment for this process: the limit (or the default), the thread
 * count and the corpus size. */
void planEnvDefault(const Config *cfg, uint64_t limit, int live, PlanEnv *env);

#endif
