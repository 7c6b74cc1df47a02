/* Scaling fits over a snapshot (README "What it measures"): per family, site and rank kind,
 * one point per model, (FFN width, median of the rank over the model's
 * layers), fitted as a power law. */
#include <stdlib.h>
#include <string.h>

#include "ffnscope/fit.h"
#include "ffnscope/snapshot.h"

static int cmpDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v); n > 0. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpDouble);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One model's point for (site, rank): 0 when it has no computed layer with a
 * positive rank. Failed models contribute nothing (their rows are partial). */
static int modelPoint(const ModelSnapshot *m, Site site, RankKind rank, double *tmp, double *widths,
                      double *x, double *y)
{
    if (m->status == MODEL_FAILED) return 0;
    int n = 0;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->site != site || r->n_eigen <= 0) continue;
        double v = rank == RANK_SOFT ? r->metrics.soft_rank : r->metrics.hard_rank;
        if (!(v > 0)) continue;
        tmp[n] = v;
        widths[n] = r->metrics.width;
        n++;
    }
    if (!n) return 0;
    *x = m->width > 0 ? m->width : median(widths, n);
    *y = median(tmp, n);
    return *x > 0;
}

int snapshotComputeFits(Snapshot *s)
{
    for (int i = 0; i < s->n_fits; i++) free(s->fits[i].family);
    free(s->fits);
    s->fits = NULL;
    s->n_fits = 0;

    int max_rows = 1;
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].n_rows > max_rows) max_rows = s->models[i].n_rows;
    int nm = s->n_models ? s->n_models : 1;
    double *tmp = malloc(sizeof(double) * (size_t)max_rows);
    double *widths = malloc(sizeof(double) * (size_t)max_rows);
    double *x = malloc(sizeof(double) * (size_t)nm);
    double *y = malloc(sizeof(double) * (size_t)nm);
    /* at most families x sites x 2 fits, families <= models */
    FitSnapshot *fits = calloc((size_t)nm * SITE_COUNT * 2, sizeof *fits);
    int rc = -1, nf = 0;
    if (!tmp || !widths || !x || !y || !fits) goto out;

    for (int i = 0; i < s->n_models; i++) {
        const char *fam = snapshotFitGroup(&s->models[i]);
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(fam, snapshotFitGroup(&s->models[j]));
        if (seen) continue;
        for (int site = 0; site < SITE_COUNT; site++)
            for (int rank = RANK_SOFT; rank <= RANK_HARD; rank++) {
                int n = 0;
                for (int j = i; j < s->n_models; j++) {
                    const ModelSnapshot *m = &s->models[j];
                    if (strcmp(fam, snapshotFitGroup(m))) continue;
                    n += modelPoint(m, (Site)site, (RankKind)rank, tmp, widths, &x[n], &y[n]);
                }
                if (!n) continue;
                FitSnapshot *f = &fits[nf];
                if (!(f->family = strdup(fam))) goto out;
                nf++;
                f->site = (Site)site;
                f->rank = (RankKind)rank;
                fitPowerLaw(x, y, n, &f->fit);
            }
    }
    rc = 0;
out:
    if (rc) {
        for (int i = 0; i < nf; i++) free(fits[i].family);
        free(fits);
    } else {
        s->fits = fits;
        s->n_fits = nf;
    }
    free(tmp);
    free(widths);
    free(x);
    free(y);
    return rc;
}
