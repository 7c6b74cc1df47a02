#include "ffnscope/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static inline double nonneg(double v) { return v > 0 ? v : 0; }

/* k of C_k: a fraction of D when < 1 (ceil, with a little slack so 0.1*640
 * = 64.000000000000014 still means 64), an absolute count (rounded) when >= 1;
 * always within [1, D]. tools/np_metrics.py uses the same rule. */
static int concentrationK(double k_param, int width)
{
    double k;
    if (!(k_param >= 0)) k = 1;
    else if (k_param < 1) k = ceil(k_param * width - 1e-9);
    else k = floor(k_param + 0.5);
    if (k < 1) k = 1;
    if (k > width) k = width;
    return (int)k;
}

/* Least-squares slope of log(lambda_i) on log(i) over the top half of the
 * numerically non-zero spectrum; alpha is its negative. NaN when fewer than two
 * points remain. */
static double decayExponent(const double *eig, int width)
{
    double l1 = nonneg(eig[0]);
    int r = 0;
    for (int i = 0; i < width; i++)
        if (nonneg(eig[i]) > 1e-12 * l1) r++;
    int m = r / 2;
    if (m < 2) return NAN;
    double sx = 0, sy = 0;
    for (int i = 0; i < m; i++) {
        sx += log((double)(i + 1));
        sy += log(eig[i]);
    }
    double mx = sx / m, my = sy / m, sxy = 0, sxx = 0;
    for (int i = 0; i < m; i++) {
        double dx = log((double)(i + 1)) - mx;
        sxy += dx * (log(eig[i]) - my);
        sxx += dx * dx;
    }
    return -sxy / sxx;
}

void metricsCompute(const double *eig_desc, int width, int64_t tokens, int64_t nonfinite_rows, double k_param,
                    Metrics *out)
{
    memset(out, 0, sizeof *out);
    out->width = width;
    out->tokens = tokens;
    out->nonfinite_rows = nonfinite_rows;
    out->concentration_k = width > 0 ? concentrationK(k_param, width) : 0;
    out->alpha = NAN;
    if (tokens < 10 * (int64_t)width) out->warnings |= WARN_RANK_LIMITED;
    if (nonfinite_rows > 0) out->warnings |= WARN_NONFINITE;
    double total = 0;
    for (int i = 0; i < width; i++) total += nonneg(eig_desc[i]);
    if (!(total > 0)) {
        out->warnings |= WARN_ZERO_VARIANCE;
        return;
    }
    /* Everything from the normalised spectrum p, so huge or tiny eigenvalues
     * cannot overflow the squares. */
    double sum_p2 = 0, entropy = 0, top = 0, cum = 0, eee = 0;
    for (int i = 0; i < width; i++) {
        double p = nonneg(eig_desc[i]) / total;
        sum_p2 += p * p;
        if (p > 0) entropy -= p * log(p);
        if (i < out->concentration_k) top += p;
        cum += p;
        eee += cum - (double)(i + 1) / width;
    }
    out->hard_rank = 1.0 / sum_p2;
    out->soft_rank = exp(entropy);
    out->hard_util = out->hard_rank / width;
    out->soft_util = out->soft_rank / width;
    out->concentration = top;
    eee /= width / 2.0;
    out->eee = eee < 0 ? 0 : eee > 1 ? 1 : eee;
    out->sui = sqrt(out->hard_rank * out->soft_rank) / width;
    out->alpha = decayExponent(eig_desc, width);
}

void metricsEmpty(int width, int64_t tokens, int64_t nonfinite_rows, Metrics *out)
{
    *out = (Metrics){.width = width, .tokens = tokens, .nonfinite_rows = nonfinite_rows};
    out->hard_rank = out->soft_rank = out->hard_util = out->soft_util = NAN;
    out->concentration = out->eee = out->sui = out->alpha = NAN;
    out->warnings = tokens == 0 ? WARN_NO_TOKENS : WARN_TOO_FEW_TOKENS;
    if (nonfinite_rows) out->warnings |= WARN_NONFINITE;
}

static void append(char *buf, size_t len, size_t *at, const char *text)
{
    size_t n = strlen(text);
    if (*at + n >= len) n = *at + 1 < len ? len - 1 - *at : 0;
    memcpy(buf + *at, text, n);
    *at += n;
    buf[*at] = '\0';
}

const char *metricsWarnings(const Metrics *m, char *buf, size_t len)
{
    if (!len) return buf;
    buf[0] = '\0';
    size_t at = 0;
    char part[48];
    if (m->warnings & WARN_RANK_LIMITED) append(buf, len, &at, "rank_limited");
    if (m->warnings & WARN_NONFINITE) {
        snprintf(part, sizeof part, "%snonfinite=%lld", at ? ";" : "", (long long)m->nonfinite_rows);
        append(buf, len, &at, part);
    }
    if (m->warnings & WARN_ZERO_VARIANCE) append(buf, len, &at, at ? ";zero_variance" : "zero_variance");
    if (m->warnings & WARN_NO_TOKENS) append(buf, len, &at, at ? ";no_tokens" : "no_tokens");
    if (m->warnings & WARN_TOO_FEW_TOKENS) append(buf, len, &at, at ? ";too_few_tokens" : "too_few_tokens");
    return buf;
}
