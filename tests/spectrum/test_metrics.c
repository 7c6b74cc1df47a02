/* Metrics on spectra with known answers: every expected value below comes
 * from a closed form (or a direct sum in long double), not from the code under
 * test. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/eigen.h"
#include "ffnscope/metrics.h"

static void expectRel(double got, double want, double tol, const char *what)
{
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1;
    cr_expect(fabs(got - want) <= tol * scale, "%s: got %.17g want %.17g", what, got, want);
}

Test(metrics, identity_spectrum)
{
    enum { D = 200 };
    double eig[D];
    for (int i = 0; i < D; i++) eig[i] = 3.5;
    Metrics m;
    metricsCompute(eig, D, 10 * D, 0, 0.1, &m);
    expectRel(m.hard_rank, D, 1e-12, "HR");
    expectRel(m.soft_rank, D, 1e-12, "SR");
    expectRel(m.hard_util, 1, 1e-12, "HR/D");
    expectRel(m.soft_util, 1, 1e-12, "SR/D");
    expectRel(m.sui, 1, 1e-12, "SUI");
    cr_expect_eq(m.concentration_k, 20);
    expectRel(m.concentration, 0.1, 1e-12, "C_k");
    cr_expect(fabs(m.eee) < 1e-12, "EEE of a flat spectrum is 0, got %g", m.eee);
    cr_expect(fabs(m.alpha) < 1e-12, "alpha of a flat spectrum is 0, got %g", m.alpha);
    cr_expect_eq(m.warnings, 0u);
    cr_expect_eq(m.tokens, 10 * D);
    cr_expect_eq(m.width, D);
}

Test(metrics, rank_one)
{
    enum { D = 64 };
    double eig[D] = {0};
    eig[0] = 7.25;
    eig[5] = -1e-17; /* round-off below zero counts as zero */
    Metrics m;
    metricsCompute(eig, D, 100, 0, 0.1, &m);
    expectRel(m.hard_rank, 1, 1e-15, "HR");
    expectRel(m.soft_rank, 1, 1e-15, "SR");
    expectRel(m.sui, 1.0 / D, 1e-15, "SUI");
    expectRel(m.concentration, 1, 1e-15, "C_k");
    /* c_k = 1 for every k: sum (1 - k/D) / (D/2) = (D - 1) / D */
    expectRel(m.eee, (D - 1.0) / D, 1e-14, "EEE");
    cr_expect(isnan(m.alpha), "alpha needs two eigenvalues, got %g", m.alpha);
    cr_expect_eq(m.warnings, (unsigned)WARN_RANK_LIMITED);
}

Test(metrics, geometric_spectrum)
{
    enum { D = 300 };
    const double q = 0.97;
    double eig[D];
    for (int i = 0; i < D; i++) eig[i] = 5 * pow(q, i);
    Metrics m;
    metricsCompute(eig, D, 1 << 20, 0, 0.1, &m);
    /* Closed forms for lambda_i = q^(i-1) (the factor 5 cancels). */
    double qD = pow(q, D);
    double s1 = (1 - qD) / (1 - q), s2 = (1 - qD * qD) / (1 - q * q);
    double hr = s1 * s1 / s2;
    double sum_ip = q * (1 - D * pow(q, D - 1) + (D - 1) * qD) / ((1 - q) * (1 - q)); /* sum (i-1) q^(i-1) */
    double entropy = log(s1) - log(q) * sum_ip / s1;
    double sr = exp(entropy);
    int k = 30;
    double ck = (1 - pow(q, k)) / (1 - qD);
    double sum_c = (D - q * (1 - qD) / (1 - q)) / (1 - qD);
    double eee = (sum_c - (D + 1) / 2.0) / (D / 2.0);
    expectRel(m.hard_rank, hr, 1e-12, "HR");
    expectRel(m.soft_rank, sr, 1e-12, "SR");
    cr_expect_eq(m.concentration_k, k);
    expectRel(m.concentration, ck, 1e-12, "C_k");
    expectRel(m.eee, eee, 1e-12, "EEE");
    expectRel(m.sui, sqrt(hr * sr) / D, 1e-12, "SUI");
    cr_expect(m.soft_rank >= m.hard_rank);
}

Test(metrics, power_law_spectrum)
{
    enum { D = 512 };
    const double a = 1.3;
    double eig[D];
    for (int i = 0; i < D; i++) eig[i] = 2e-3 * pow(i + 1, -a);
    Metrics m;
    metricsCompute(eig, D, 5000, 0, 0.25, &m);
    /* Generalised harmonic sums in long double: H(a) = sum i^-a,
     * S = sum i^-a ln i; entropy = ln H(a) + a S / H(a). */
    long double h1 = 0, h2 = 0, s = 0;
    for (int i = D; i >= 1; i--) {
        h1 += powl(i, -a);
        h2 += powl(i, -2 * a);
        s += powl(i, -a) * logl(i);
    }
    expectRel(m.hard_rank, (double)(h1 * h1 / h2), 1e-12, "HR");
    expectRel(m.soft_rank, (double)expl(logl(h1) + a * s / h1), 1e-12, "SR");
    expectRel(m.alpha, a, 1e-12, "alpha of an exact power law");
    cr_expect_eq(m.concentration_k, 128);
    long double top = 0;
    for (int i = 128; i >= 1; i--) top += powl(i, -a);
    expectRel(m.concentration, (double)(top / h1), 1e-12, "C_k");
    cr_expect_eq(m.warnings, (unsigned)WARN_RANK_LIMITED);
}

Test(metrics, alpha_uses_top_half_of_nonzero_spectrum)
{
    /* 40 eigenvalues i^-2, then 60 numerically zero ones (below 1e-12 * l1):
     * r = 40, the fit covers i = 1..20 and must return exactly 2 even though
     * the tail is garbage. */
    enum { D = 100 };
    double eig[D];
    for (int i = 0; i < D; i++) eig[i] = i < 40 ? pow(i + 1, -2.0) : 1e-13 / (i + 1);
    eig[20] = 1e-6; /* inside the top 40 but outside the fitted top 20 */
    for (int i = 21; i < 40; i++) eig[i] = 1e-6 * pow(i + 1, -2.0);
    Metrics m;
    metricsCompute(eig, D, 1000, 0, 0.1, &m);
    expectRel(m.alpha, 2.0, 1e-12, "alpha");
}

Test(metrics, zero_variance)
{
    double eig[16] = {0};
    Metrics m;
    metricsCompute(eig, 16, 1000, 0, 0.1, &m);
    cr_expect_eq(m.hard_rank, 0);
    cr_expect_eq(m.soft_rank, 0);
    cr_expect_eq(m.sui, 0);
    cr_expect(m.warnings & WARN_ZERO_VARIANCE);
    char buf[64];
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "zero_variance");
}

Test(metrics, concentration_k_rule)
{
    double eig[1100];
    for (int i = 0; i < 1100; i++) eig[i] = 1;
    struct { int d; double k; int want; } cases[] = {
        {640, 0.1, 64}, {1000, 0.1, 100}, {1001, 0.1, 101}, {64, 0.1, 7}, {5, 0.1, 1},
        {100, 20, 20}, {100, 2.6, 3}, {100, 5000, 100}, {100, 1, 1}, {768, 0.25, 192},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Metrics m;
        metricsCompute(eig, cases[i].d, 1 << 20, 0, cases[i].k, &m);
        cr_expect_eq(m.concentration_k, cases[i].want, "D=%d k=%g: got %d want %d", cases[i].d, cases[i].k,
                     m.concentration_k, cases[i].want);
        expectRel(m.concentration, (double)cases[i].want / cases[i].d, 1e-12, "C_k of a flat spectrum");
    }
}

Test(metrics, warnings_string)
{
    double eig[8] = {4, 3, 2, 1, 1, 1, 1, 1};
    Metrics m;
    char buf[64];
    metricsCompute(eig, 8, 80, 0, 0.1, &m);
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "");
    metricsCompute(eig, 8, 79, 0, 0.1, &m);
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "rank_limited");
    metricsCompute(eig, 8, 79, 12, 0.1, &m);
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "rank_limited;nonfinite=12");
    metricsCompute(eig, 8, 1000, 3, 0.1, &m);
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "nonfinite=3");
    double zero[8] = {0};
    metricsCompute(zero, 8, 5, 12, 0.1, &m);
    cr_expect_str_eq(metricsWarnings(&m, buf, sizeof buf), "rank_limited;nonfinite=12;zero_variance");
    char small[10];
    cr_expect_str_eq(metricsWarnings(&m, small, sizeof small), "rank_limi"); /* truncated, still terminated */
}

Test(eigen, known_matrices)
{
    double a[4] = {2, 1, 1, 2}, eig[2];
    Error err = {0};
    cr_assert_eq(eigenSymmetric(a, 2, eig, &err), 0, "%s", err.msg);
    expectRel(eig[0], 3, 1e-15, "l1");
    expectRel(eig[1], 1, 1e-15, "l2");
    double b[9] = {1, 1, 0, 1, 1, 0, 0, 0, 0}, e3[3]; /* eigenvalues 2, 0, 0 */
    cr_assert_eq(eigenSymmetric(b, 3, e3, &err), 0);
    expectRel(e3[0], 2, 1e-15, "l1");
    cr_expect(e3[1] >= 0 && e3[1] < 1e-15 && e3[2] >= 0 && e3[2] < 1e-15, "clamped: %g %g", e3[1], e3[2]);
}

Test(eigen, rotated_spectrum_recovered_descending)
{
    /* A = Q diag(l) Q^T with Q a product of Givens rotations: eigenvalues must
     * come back as l, sorted descending. */
    enum { D = 40 };
    double l[D], a[D * D] = {0}, q[D * D] = {0}, eig[D];
    for (int i = 0; i < D; i++) l[i] = 1.0 + ((i * 7919) % D); /* a permutation of 1..D */
    for (int i = 0; i < D; i++) q[i * D + i] = 1;
    srand(3);
    for (int r = 0; r < 400; r++) {
        int i = rand() % D, j = rand() % D;
        if (i == j) continue;
        double th = rand() / (double)RAND_MAX * 6.283185307179586, c = cos(th), s = sin(th);
        for (int k = 0; k < D; k++) {
            double x = q[k * D + i], y = q[k * D + j];
            q[k * D + i] = c * x - s * y;
            q[k * D + j] = s * x + c * y;
        }
    }
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += q[i * D + k] * l[k] * q[j * D + k];
            a[i * D + j] = s;
        }
    Error err = {0};
    cr_assert_eq(eigenSymmetric(a, D, eig, &err), 0, "%s", err.msg);
    for (int i = 0; i < D; i++) expectRel(eig[i], D - i, 1e-12, "eigenvalue");
}
