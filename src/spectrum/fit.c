#include "ffnscope/fit.h"

#include <math.h>
#include <string.h>

/* Continued fraction of the regularised incomplete beta function I_x(a, b),
 * evaluated with the modified Lentz method; converges quickly for
 * x < (a + 1) / (a + b + 2). */
static double betaContinuedFraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double f = d;
    for (int m = 1; m < 10000; m++) {
        /* even step: m (b - m) x / ((a + 2m - 1)(a + 2m)) */
        double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        d = 1 + num * d;
        c = 1 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        f *= c * d;
        /* odd step: -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
        d = 1 + num * d;
        c = 1 + num / c;
        if (fabs(d) < tiny) d = tiny;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double step = c * d;
        f *= step;
        if (fabs(step - 1) < 1e-16) break;
    }
    return f;
}

/* Regularised incomplete beta I_x(a, b) for a, b > 0 and x in [0, 1]. */
static double incompleteBeta(double a, double b, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double log_front = a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b));
    if (x < (a + 1) / (a + b + 2)) return exp(log_front) * betaContinuedFraction(a, b, x) / a;
    return 1 - exp(log_front) * betaContinuedFraction(b, a, 1 - x) / b;
}

double fitStudentTQuantile(double p, double dof)
{
    if (!(p > 0 && p < 1) || !(dof > 0)) return NAN;
    if (p == 0.5) return 0;
    double tail = 2 * (p > 0.5 ? 1 - p : p); /* P(|T| > t) */
    /* P(|T| > t) = I_x(dof/2, 1/2) with x = dof / (dof + t^2), increasing in
     * x; bisect on x, then invert for t. */
    double lo = 0, hi = 1;
    for (int i = 0; i < 200 && hi - lo > 0; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi) break;
        if (incompleteBeta(dof / 2, 0.5, mid) < tail) lo = mid;
        else hi = mid;
    }
    double x = 0.5 * (lo + hi);
    double t = sqrt(dof * (1 - x) / x);
    return p > 0.5 ? t : -t;
}

int fitPowerLaw(const double *x, const double *y, int n, Fit *out)
{
    memset(out, 0, sizeof *out);
    out->beta = out->beta_ci_low = out->beta_ci_high = out->log10_a = out->r2 = NAN;
    double sx = 0, sy = 0;
    int used = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i]))) continue;
        sx += log10(x[i]);
        sy += log10(y[i]);
        used++;
    }
    out->n = used;
    if (used < 3) return 0;
    double mx = sx / used, my = sy / used, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i]))) continue;
        double dx = log10(x[i]) - mx, dy = log10(y[i]) - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if (!(sxx > 0)) return 0;
    double beta = sxy / sxx, a = my - beta * mx, ss_res = 0;
    for (int i = 0; i < n; i++) {
        if (!(x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i]))) continue;
        double r = log10(y[i]) - (a + beta * log10(x[i]));
        ss_res += r * r;
    }
    out->beta = beta;
    out->log10_a = a;
    /* Identical metric values are fitted perfectly by a flat line; R^2 would
     * be round-off over round-off. */
    int flat = 1;
    double first = NAN;
    for (int i = 0; i < n && flat; i++) {
        if (!(x[i] > 0 && y[i] > 0 && isfinite(x[i]) && isfinite(y[i]))) continue;
        if (isnan(first)) first = y[i];
        else flat = y[i] == first;
    }
    out->r2 = flat || !(syy > 0) ? 1 : 1 - ss_res / syy;
    double se = sqrt(ss_res / (used - 2) / sxx);
    double t = fitStudentTQuantile(0.975, used - 2);
    out->beta_ci_low = beta - t * se;
    out->beta_ci_high = beta + t * se;
    out->valid = 1;
    return 1;
}
