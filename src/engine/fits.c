/* Scaling fits over a snapshot (README "What it measures"): per family, site and rank kind,
 * one point per model, (FFN width, median of the rank over the model's
 * layers; for a mixture-of-experts model its routed experts' width and the
 * median over every routed expert), fitted as a power law. */
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

int snapshotModelRouted(const ModelSnapshot *m)
{
    for (int i = 0; i < m->n_rows; i++)
        if (m->rows[i].routed && m->rows[i].expert >= 0) return 1;
    return 0;
}

int snapshotModelWidth(const ModelSnapshot *m)
{
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->routed && r->expert >= 0) return r->width > 0 ? r->width : r->metrics.width;
    }
    return m->width;
}

int snapshotRowInPoint(const LayerSnapshot *r, int model_routed)
{
    return !model_routed || (r->routed && r->expert >= 0);
}

int snapshotModelPoint(const ModelSnapshot *m, Site site, RankKind rank, double *width, double *value)
{
    /* failed models contribute nothing: their rows are partial */
    if (m->status == MODEL_FAILED || m->n_rows <= 0) return 0;
    double *v = malloc(2 * sizeof(double) * (size_t)m->n_rows), *w = v + m->n_rows;
    if (!v) return -1;
    int routed = snapshotModelRouted(m), n = 0;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->site != site || r->n_eigen <= 0 || !snapshotRowInPoint(r, routed)) continue;
        double x = rank == RANK_SOFT ? r->metrics.soft_rank : r->metrics.hard_rank;
        if (!(x > 0)) continue;
        v[n] = x;
        w[n] = r->width > 0 ? r->width : r->metrics.width;
        n++;
    }
    int ok = 0;
    if (n) {
        /* a dense model's width is the model's (the table's), an expert's the rows' */
        *width = !routed && m->width > 0 ? m->width : median(w, n);
        *value = median(v, n);
        ok = *width > 0;
    }
    free(v);
    return ok;
}

int snapshotComputeFits(Snapshot *s)
{
    for (int i = 0; i < s->n_fits; i++) free(s->fits[i].family);
    free(s->fits);
    s->fits = NULL;
    s->n_fits = 0;

    int nm = s->n_models ? s->n_models : 1;
    double *x = malloc(sizeof(double) * (size_t)nm);
    double *y = malloc(sizeof(double) * (size_t)nm);
    /* at most families x sites x 2 fits, families <= models */
    FitSnapshot *fits = calloc((size_t)nm * SITE_COUNT * 2, sizeof *fits);
    int rc = -1, nf = 0;
    if (!x || !y || !fits) goto out;

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
                    int got = snapshotModelPoint(m, (Site)site, (RankKind)rank, &x[n], &y[n]);
                    if (got < 0) goto out;
                    n += got;
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
    free(x);
    free(y);
    return rc;
}
