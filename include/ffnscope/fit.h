#ifndef FFNSCOPE_FIT_H
#define FFNSCOPE_FIT_H

/* Power-law fit metric = A * D^beta by ordinary least squares on log10 (README "What it measures"). */
typedef struct Fit {
    int n;                    /* points used */
    int valid;                /* 0 when n < 3 or the widths do not vary */
    double beta, beta_ci_low, beta_ci_high; /* 95% t-interval, n-2 dof */
    double log10_a, r2;
} Fit;

/* x: widths, y: metric values (both > 0). Always fills out; returns out->valid. */
int fitPowerLaw(const double *x, const double *y, int n, Fit *out);

/* Quantile of Student's t distribution with `dof` degrees of freedom
 * (p in (0, 1); 0.975 gives the two-sided 95% critical value). NaN when
 * the arguments are out of range. */
double fitStudentTQuantile(double p, double dof);

#endif
