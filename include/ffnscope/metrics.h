#ifndef FFNSCOPE_METRICS_H
#define FFNSCOPE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Per-layer warnings (README "What it measures"). */
enum {
    WARN_RANK_LIMITED = 1u << 0, /* tokens < 10 * width */
    WARN_NONFINITE = 1u << 1,    /* rows with NaN/Inf were dropped */
    WARN_ZERO_VARIANCE = 1u << 2, /* sum of eigenvalues is 0 */
    WARN_NO_TOKENS = 1u << 3,     /* an expert no token was routed to: no spectrum */
    WARN_TOO_FEW_TOKENS = 1u << 4 /* an expert one token was routed to: no spectrum */
};

/* Everything ffnscope measures on one spectrum. */
typedef struct Metrics {
    int width;               /* D */
    int64_t tokens;          /* rows used (after dropping non-finite ones) */
    int64_t nonfinite_rows;  /* rows dropped */
    double hard_rank, soft_rank;
    double hard_util, soft_util;
    double concentration;    /* C_k */
    int concentration_k;     /* k actually used */
    double eee, sui, alpha;
    unsigned warnings;       /* WARN_* bits */
} Metrics;

/* Computes every metric from eigenvalues sorted descending (negatives are
 * treated as 0). k_param: concentration k, a fraction of D when < 1, a count
 * when >= 1. */
void metricsCompute(const double *eig_desc, int width, int64_t tokens, int64_t nonfinite_rows,
                    double k_param, Metrics *out);

/* The metrics of a stream too short for a covariance (tokens < 2): every
 * measure NaN, the count kept and WARN_NO_TOKENS or WARN_TOO_FEW_TOKENS. */
void metricsEmpty(int width, int64_t tokens, int64_t nonfinite_rows, Metrics *out);

/* Writes the warnings as "rank_limited;nonfinite=12;zero_variance" ("" when
 * none) and returns buf. */
const char *metricsWarnings(const Metrics *m, char *buf, size_t len);

#endif
