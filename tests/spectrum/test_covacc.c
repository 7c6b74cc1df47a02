/* The accumulator against a two-pass long double reference, exact merges of
 * 2..8 shards, NaN/Inf rows, strided and f64 input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/covacc.h"

/* Deterministic data independent of libc's rand: splitmix64 -> Box-Muller. */
static uint64_t rngNext(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double gauss(uint64_t *s)
{
    double u = ((rngNext(s) >> 11) + 0.5) * 0x1p-53, v = ((rngNext(s) >> 11) + 0.5) * 0x1p-53;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Correlated rows: x = offset + z A, with per-column scales so the
 * covariance is far from diagonal and from uniform. */
static float *makeRows(int n, int d, double offset, uint64_t seed)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    double *mix = malloc((size_t)d * d * sizeof *mix);
    uint64_t s = seed;
    for (int i = 0; i < d * d; i++) mix[i] = gauss(&s) / sqrt(d);
    double *z = malloc((size_t)d * sizeof *z);
    for (int r = 0; r < n; r++) {
        for (int j = 0; j < d; j++) z[j] = gauss(&s) / (1 + j);
        for (int j = 0; j < d; j++) {
            double v = offset + 0.1 * j;
            for (int k = 0; k < d; k++) v += z[k] * mix[k * d + j];
            x[(size_t)r * d + j] = (float)v;
        }
    }
    free(z);
    free(mix);
    return x;
}

/* Two-pass reference in long double over the rows flagged finite. */
static void reference(const float *x, int n, int d, long double *mean, long double *cov, int64_t *used)
{
    int64_t m = 0;
    for (int j = 0; j < d; j++) mean[j] = 0;
    for (int r = 0; r < n; r++) {
        int ok = 1;
        for (int j = 0; j < d; j++) ok &= isfinite(x[(size_t)r * d + j]);
        if (!ok) continue;
        m++;
        for (int j = 0; j < d; j++) mean[j] += x[(size_t)r * d + j];
    }
    for (int j = 0; j < d; j++) mean[j] /= m;
    memset(cov, 0, (size_t)d * d * sizeof *cov);
    for (int r = 0; r < n; r++) {
        int ok = 1;
        for (int j = 0; j < d; j++) ok &= isfinite(x[(size_t)r * d + j]);
        if (!ok) continue;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                cov[i * d + j] += ((long double)x[(size_t)r * d + i] - mean[i]) * ((long double)x[(size_t)r * d + j] - mean[j]);
    }
    for (int i = 0; i < d * d; i++) cov[i] /= (m - 1);
    *used = m;
}

/* Max |a - b| over entries relative to the largest diagonal entry. */
static double covError(const double *got, const long double *want, int d)
{
    long double scale = 0, worst = 0;
    for (int i = 0; i < d; i++) scale = fmaxl(scale, fabsl(want[i * d + i]));
    for (int i = 0; i < d * d; i++) worst = fmaxl(worst, fabsl(got[i] - want[i]));
    return (double)(worst / scale);
}

static void checkAgainstReference(const Covacc *acc, const float *x, int n, int d, double tol)
{
    long double *mean = malloc(d * sizeof *mean), *ref = malloc((size_t)d * d * sizeof *ref);
    double *cov = malloc((size_t)d * d * sizeof *cov);
    int64_t used;
    reference(x, n, d, mean, ref, &used);
    Error err = {0};
    cr_assert_eq(covaccCovariance(acc, cov, &err), 0, "%s", err.msg);
    cr_expect_eq(acc->count, used);
    double e = covError(cov, ref, d);
    cr_expect(e < tol, "covariance error %.3g above %.3g", e, tol);
    for (int j = 0; j < d; j++)
        cr_expect(fabsl(acc->mean[j] - mean[j]) <= tol * (1 + fabsl(mean[j])), "mean[%d] %.17g vs %.17Lg", j,
                  acc->mean[j], mean[j]);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) cr_expect_eq(cov[i * d + j], cov[j * d + i], "not symmetric at %d,%d", i, j);
    free(mean);
    free(ref);
    free(cov);
}

Test(covacc, matches_two_pass_reference_across_blocks)
{
    /* 5000 rows in one call cross the 2048-row block boundary twice. */
    int n = 5000, d = 23;
    float *x = makeRows(n, d, 0.5, 1);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF32(acc, x, n, d, &err), 0);
    checkAgainstReference(acc, x, n, d, 1e-13);
    covaccFree(acc);
    free(x);
}

Test(covacc, column_strips_match_the_reference)
{
    /* From D = 256 the update is split into one column strip per thread:
     * three here whatever the cores (each Criterion test is its own process). */
    setenv("OPENBLAS_NUM_THREADS", "3", 1);
    int n = 700, d = 300;
    float *x = makeRows(n, d, 2.0, 9);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    /* two adds: the second carries Chan's correction row through every strip */
    cr_assert_eq(covaccAddF32(acc, x, 300, d, &err), 0);
    cr_assert_eq(covaccAddF32(acc, x + (size_t)300 * d, n - 300, d, &err), 0);
    checkAgainstReference(acc, x, n, d, 1e-13);
    covaccFree(acc);
    free(x);
}

Test(covacc, batch_sizes_do_not_matter)
{
    int n = 777, d = 9;
    float *x = makeRows(n, d, -3, 2);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    int at = 0, step = 1;
    while (at < n) { /* batches of 1, 2, 3, ... rows */
        int m = step < n - at ? step : n - at;
        cr_assert_eq(covaccAddF32(acc, x + (size_t)at * d, m, d, &err), 0);
        at += m;
        step++;
    }
    checkAgainstReference(acc, x, n, d, 1e-13);
    covaccFree(acc);
    free(x);
}

Test(covacc, large_offset_keeps_precision)
{
    /* Mean 1e4 against unit-ish variance: the naive sum-of-squares formula
     * loses ~8 digits here; centring per block and Chan's update must not. */
    int n = 3000, d = 16;
    float *x = makeRows(n, d, 1e4, 3);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    for (int r = 0; r < n; r += 500) cr_assert_eq(covaccAddF32(acc, x + (size_t)r * d, 500, d, &err), 0);
    checkAgainstReference(acc, x, n, d, 1e-11);
    covaccFree(acc);
    free(x);
}

Test(covacc, merge_of_shards_equals_one_pass)
{
    int n = 3000, d = 31;
    float *x = makeRows(n, d, 2, 4);
    Covacc *whole = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF32(whole, x, n, d, &err), 0);
    uint64_t s = 99;
    for (int shards = 2; shards <= 8; shards++) {
        int cut[9];
        cut[0] = 0;
        cut[shards] = n;
        for (int i = 1; i < shards; i++) cut[i] = (int)(rngNext(&s) % (uint64_t)n);
        for (int i = 1; i < shards; i++) /* sort the cut points */
            for (int j = i; j > 1 && cut[j - 1] > cut[j]; j--) {
                int t = cut[j];
                cut[j] = cut[j - 1];
                cut[j - 1] = t;
            }
        if (shards == 3) cut[1] = cut[2]; /* an empty shard merges as a no-op */
        Covacc *total = covaccNew(d);
        for (int i = 0; i < shards; i++) {
            Covacc *part = covaccNew(d);
            cr_assert_eq(covaccAddF32(part, x + (size_t)cut[i] * d, cut[i + 1] - cut[i], d, &err), 0);
            cr_assert_eq(covaccMerge(total, part, &err), 0);
            covaccFree(part);
        }
        cr_expect_eq(total->count, whole->count);
        double worst = 0, scale = 0;
        for (int i = 0; i < d; i++) scale = fmax(scale, fabs(whole->scatter[i * d + i]));
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++)
                worst = fmax(worst, fabs(total->scatter[i * d + j] - whole->scatter[i * d + j]));
        cr_expect(worst / scale < 1e-13, "%d shards: scatter differs by %.3g", shards, worst / scale);
        for (int j = 0; j < d; j++)
            cr_expect(fabs(total->mean[j] - whole->mean[j]) < 1e-13 * (1 + fabs(whole->mean[j])), "%d shards mean", shards);
        covaccFree(total);
    }
    covaccFree(whole);
    free(x);
}

Test(covacc, nonfinite_rows_dropped_and_counted)
{
    int n = 400, d = 12;
    float *x = makeRows(n, d, 1, 5);
    x[3 * d + 0] = NAN;
    x[50 * d + 11] = INFINITY;
    x[51 * d + 4] = -INFINITY;
    for (int j = 0; j < d; j++) x[399 * d + j] = NAN;
    Covacc *acc = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF32(acc, x, 200, d, &err), 0);
    cr_assert_eq(covaccAddF32(acc, x + 200 * d, 200, d, &err), 0);
    cr_expect_eq(acc->nonfinite_rows, 4);
    cr_expect_eq(acc->count, n - 4);
    checkAgainstReference(acc, x, n, d, 1e-13);
    /* A batch of nothing but bad rows changes nothing but the count. */
    double before = acc->scatter[0];
    cr_assert_eq(covaccAddF32(acc, x + 399 * d, 1, d, &err), 0);
    cr_expect_eq(acc->nonfinite_rows, 5);
    cr_expect_eq(acc->scatter[0], before);
    covaccFree(acc);
    free(x);
}

Test(covacc, strided_rows_and_f64_input)
{
    int n = 300, d = 10, ld = 17;
    float *x = makeRows(n, d, 0, 6);
    float *wide = calloc((size_t)n * ld, sizeof *wide);
    double *xd = malloc((size_t)n * d * sizeof *xd);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < d; j++) {
            wide[(size_t)r * ld + j] = x[(size_t)r * d + j];
            wide[(size_t)r * ld + d + (j % (ld - d))] = NAN; /* padding must be ignored */
            xd[(size_t)r * d + j] = x[(size_t)r * d + j];
        }
    Covacc *a = covaccNew(d), *b = covaccNew(d), *c = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF32(a, x, n, d, &err), 0);
    cr_assert_eq(covaccAddF32(b, wide, n, ld, &err), 0);
    cr_assert_eq(covaccAddF64(c, xd, n, d, &err), 0);
    cr_expect_eq(b->nonfinite_rows, 0);
    for (int i = 0; i < d * d; i++) {
        cr_expect_eq(a->scatter[i], b->scatter[i]);
        cr_expect_eq(a->scatter[i], c->scatter[i]);
    }
    covaccFree(a);
    covaccFree(b);
    covaccFree(c);
    free(x);
    free(wide);
    free(xd);
}

Test(covacc, errors_and_reset)
{
    Covacc *a = covaccNew(4), *b = covaccNew(5);
    Error err = {0};
    double out[16];
    float row[4] = {1, 2, 3, 4};
    cr_expect_eq(covaccCovariance(a, out, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
    cr_assert_eq(covaccAddF32(a, row, 1, 4, &err), 0);
    cr_expect_eq(covaccCovariance(a, out, &err), -1, "one row is not enough");
    cr_expect_eq(covaccMerge(a, b, &err), -1);
    cr_expect(strstr(err.msg, "width") != NULL);
    covaccReset(a);
    cr_expect_eq(a->count, 0);
    cr_expect_eq(a->mean[0], 0);
    cr_expect_null(covaccNew(0));
    cr_expect(covaccBatchRows(64) >= 256 && covaccBatchRows(100000) >= 256);
    covaccFree(a);
    covaccFree(b);
}

Test(covacc, shared_buffers_keep_accumulators_apart)
{
    /* Three accumulators on one set of batch buffers, fed in turn as a
     * model's layers are, each against its own reference; a fourth of another
     * width asks to share and must get buffers of its own. */
    int n = 2600, d = 17;
    float *x[3];
    Covacc *acc[3];
    Error err = {0};
    for (int k = 0; k < 3; k++) {
        x[k] = makeRows(n, d, 2.0 * k - 1, 40 + k);
        acc[k] = covaccNewSharing(d, k ? acc[0] : NULL);
        cr_assert(acc[k]);
    }
    cr_expect_eq(acc[1]->scratch, acc[0]->scratch);
    cr_expect_eq(acc[2]->scratch, acc[0]->scratch);
    Covacc *other = covaccNewSharing(d + 1, acc[0]);
    cr_expect_neq(other->scratch, acc[0]->scratch);
    for (int at = 0; at < n; at += 300)
        for (int k = 0; k < 3; k++)
            cr_assert_eq(covaccAddF32(acc[k], x[k] + (size_t)at * d, n - at < 300 ? n - at : 300, d, &err), 0);
    /* freeing the buffers' first owner leaves them to the others */
    covaccFree(acc[0]);
    cr_assert_eq(covaccAddF32(acc[1], x[0], 5, d, &err), 0);
    for (int k = 1; k < 3; k++) {
        if (k == 1) {
            float *both = malloc((size_t)(n + 5) * d * sizeof *both);
            memcpy(both, x[1], (size_t)n * d * sizeof *both);
            memcpy(both + (size_t)n * d, x[0], (size_t)5 * d * sizeof *both);
            checkAgainstReference(acc[1], both, n + 5, d, 1e-13);
            free(both);
        } else {
            checkAgainstReference(acc[k], x[k], n, d, 1e-13);
        }
    }
    for (int k = 1; k < 3; k++) covaccFree(acc[k]);
    covaccFree(other);
    for (int k = 0; k < 3; k++) free(x[k]);
}

Test(covacc, take_covariance_is_the_upper_triangle_in_place)
{
    int n = 1500, d = 31;
    float *x = makeRows(n, d, 0.25, 7);
    Covacc *acc = covaccNew(d);
    Error err = {0};
    cr_assert_eq(covaccAddF32(acc, x, n, d, &err), 0);
    long double *mean = malloc(d * sizeof *mean), *ref = malloc((size_t)d * d * sizeof *ref);
    int64_t used;
    reference(x, n, d, mean, ref, &used);
    double *cov = covaccTakeCovariance(acc, &err);
    cr_assert(cov, "%s", err.msg);
    cr_expect_eq(cov, acc->scatter, "not in place");
    /* only the upper triangle is defined: mirror it and compare the whole */
    double *full = malloc((size_t)d * d * sizeof *full);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) full[(size_t)i * d + j] = cov[(size_t)(i < j ? i : j) * d + (i < j ? j : i)];
    double e = covError(full, ref, d);
    cr_expect(e < 1e-13, "covariance error %.3g", e);
    free(full);
    covaccFree(acc);
    Covacc *one = covaccNew(d);
    cr_assert_eq(covaccAddF32(one, x, 1, d, &err), 0);
    cr_expect_null(covaccTakeCovariance(one, &err), "one row has no covariance");
    covaccFree(one);
    free(mean);
    free(ref);
    free(x);
}
