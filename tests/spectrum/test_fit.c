/* Scaling fits: exact power laws, a noisy fit against numpy.polyfit's numbers,
 * and Student-t quantiles against closed forms and printed tables. */
#include <criterion/criterion.h>
#include <math.h>

#include "ffnscope/fit.h"

static void expectRel(double got, double want, double tol, const char *what)
{
    cr_expect(fabs(got - want) <= tol * fabs(want), "%s: got %.17g want %.17g", what, got, want);
}

Test(fit, student_t_closed_forms)
{
    /* dof 1 is Cauchy: t = tan(pi (p - 1/2)); dof 2: t = (2p - 1) sqrt(2 / (4 p (1 - p))). */
    const double ps[] = {0.6, 0.9, 0.975, 0.995, 0.9999};
    for (int i = 0; i < 5; i++) {
        double p = ps[i];
        expectRel(fitStudentTQuantile(p, 1), tan(M_PI * (p - 0.5)), 1e-10, "dof 1");
        expectRel(fitStudentTQuantile(p, 2), (2 * p - 1) * sqrt(2 / (4 * p * (1 - p))), 1e-10, "dof 2");
        expectRel(fitStudentTQuantile(1 - p, 2), -(2 * p - 1) * sqrt(2 / (4 * p * (1 - p))), 1e-10, "lower tail");
    }
}

Test(fit, student_t_tables)
{
    /* Two-sided 95% critical values as printed in t tables. */
    struct { int dof; double t; } rows[] = {
        {1, 12.7062047}, {2, 4.30265273}, {3, 3.18244631}, {4, 2.77644511}, {5, 2.57058184},
        {10, 2.22813885}, {20, 2.08596345}, {30, 2.04227246}, {100, 1.98397152},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        expectRel(fitStudentTQuantile(0.975, rows[i].dof), rows[i].t, 5e-9, "t(0.975)");
    /* the coarse values the design discussion quotes */
    cr_expect(fabs(fitStudentTQuantile(0.975, 1) - 12.706) < 5e-4);
    cr_expect(fabs(fitStudentTQuantile(0.975, 2) - 4.303) < 5e-4);
    cr_expect(fabs(fitStudentTQuantile(0.975, 3) - 3.182) < 5e-4);
    cr_expect(fabs(fitStudentTQuantile(0.975, 10) - 2.228) < 5e-4);
    cr_expect(fabs(fitStudentTQuantile(0.975, 30) - 2.042) < 5e-4);
    expectRel(fitStudentTQuantile(0.975, 1e7), 1.959963985, 1e-6, "normal limit");
    cr_expect(isnan(fitStudentTQuantile(1.5, 3)));
    cr_expect(isnan(fitStudentTQuantile(0.975, 0)));
}

Test(fit, exact_power_law)
{
    double x[6] = {64, 128, 256, 512, 1024, 2048}, y[6];
    for (int i = 0; i < 6; i++) y[i] = 3.0 * pow(x[i], 0.66);
    Fit f;
    cr_assert(fitPowerLaw(x, y, 6, &f));
    cr_expect_eq(f.n, 6);
    expectRel(f.beta, 0.66, 1e-12, "beta");
    expectRel(f.log10_a, log10(3.0), 1e-12, "log10 A");
    expectRel(f.r2, 1, 1e-12, "R^2");
    cr_expect(f.beta_ci_low <= f.beta && f.beta <= f.beta_ci_high);
    cr_expect(f.beta_ci_high - f.beta_ci_low < 1e-10, "perfect fit has a tiny interval");
}

Test(fit, noisy_points_match_numpy)
{
    /* numpy.polyfit(log10 x, log10 y, 1) on these points: slope 0.7582137813888118,
     * intercept 0.2442728752456554, R^2 0.9993572951456604, slope standard error
     * 0.011101366562625494; the interval is slope +- t(0.975, 3) * se. */
    double x[5] = {64, 128, 256, 512, 1024}, y[5] = {40.1, 71.3, 118.0, 201.5, 330.2};
    Fit f;
    cr_assert(fitPowerLaw(x, y, 5, &f));
    expectRel(f.beta, 0.7582137813888118, 1e-12, "beta");
    expectRel(f.log10_a, 0.2442728752456554, 1e-12, "log10 A");
    expectRel(f.r2, 0.9993572951456604, 1e-12, "R^2");
    double half = 3.18244630528371 * 0.011101366562625494;
    expectRel(f.beta_ci_low, 0.7582137813888118 - half, 1e-9, "ci low");
    expectRel(f.beta_ci_high, 0.7582137813888118 + half, 1e-9, "ci high");
}

Test(fit, too_few_or_degenerate_points)
{
    double x[4] = {64, 128, 0, 256}, y[4] = {10, 20, 30, -1};
    Fit f;
    cr_expect_eq(fitPowerLaw(x, y, 4, &f), 0, "two usable points");
    cr_expect_eq(f.n, 2);
    cr_expect_eq(f.valid, 0);
    cr_expect(isnan(f.beta));
    double same[3] = {128, 128, 128}, vals[3] = {1, 2, 3};
    cr_expect_eq(fitPowerLaw(same, vals, 3, &f), 0, "widths that do not vary");
    double x3[3] = {64, 128, 256}, y3[3] = {8, 8, 8};
    cr_expect_eq(fitPowerLaw(x3, y3, 3, &f), 1);
    cr_expect(fabs(f.beta) < 1e-15);
    cr_expect_eq(f.r2, 1);
}
