/* Snapshots: immutable once published, shared by reference count. The
 * worker builds a fresh deep copy for every publish, so readers never see a
 * structure that is still changing and the last reader frees it. */
#include "ffnscope/snapshot.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The header keeps a plain int so that it stays C-compatible for every
 * reader; all accesses go through these atomic views of it. */
static atomic_int *refcountOf(Snapshot *s) { return (atomic_int *)&s->refcount; }

Snapshot *snapshotNew(void)
{
    Snapshot *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    atomic_init(refcountOf(s), 1);
    s->concentration_k = 0.1;
    return s;
}

Snapshot *snapshotRetain(Snapshot *s)
{
    if (s) atomic_fetch_add_explicit(refcountOf(s), 1, memory_order_relaxed);
    return s;
}

void snapshotModelClear(ModelSnapshot *m)
{
    free(m->name);
    free(m->family);
    free(m->fit_group);
    free(m->format);
    free(m->path);
    free(m->error);
    free(m->plan);
    for (int i = 0; i < m->n_rows; i++) free(m->rows[i].eigen);
    free(m->rows);
    memset(m, 0, sizeof *m);
}

static void snapshotFree(Snapshot *s)
{
    for (int i = 0; i < s->n_models; i++) snapshotModelClear(&s->models[i]);
    free(s->models);
    for (int i = 0; i < s->n_fits; i++) free(s->fits[i].family);
    free(s->fits);
    free(s->source);
    free(s);
}

void snapshotRelease(Snapshot *s)
{
    if (!s) return;
    /* acq_rel: the thread that frees must see every write made before the
     * other threads' releases. */
    if (atomic_fetch_sub_explicit(refcountOf(s), 1, memory_order_acq_rel) == 1) snapshotFree(s);
}

static int dupStr(char **dst, const char *src)
{
    *dst = NULL;
    if (!src) return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static int copyModel(ModelSnapshot *d, const ModelSnapshot *m)
{
    *d = *m;
    d->name = d->family = d->format = d->path = d->error = d->fit_group = d->plan = NULL;
    d->rows = NULL;
    d->n_rows = 0;
    if (dupStr(&d->name, m->name) || dupStr(&d->family, m->family) || dupStr(&d->format, m->format) ||
        dupStr(&d->path, m->path) || dupStr(&d->error, m->error) || dupStr(&d->fit_group, m->fit_group) ||
        dupStr(&d->plan, m->plan))
        return -1;
    if (m->n_rows) {
        d->rows = calloc((size_t)m->n_rows, sizeof *d->rows);
        if (!d->rows) return -1;
        for (int i = 0; i < m->n_rows; i++) {
            d->rows[i] = m->rows[i];
            d->rows[i].eigen = NULL;
            d->n_rows = i + 1;
            if (m->rows[i].n_eigen > 0) {
                size_t bytes = sizeof(double) * (size_t)m->rows[i].n_eigen;
                if (!(d->rows[i].eigen = malloc(bytes))) return -1;
                memcpy(d->rows[i].eigen, m->rows[i].eigen, bytes);
            } else {
                d->rows[i].n_eigen = 0;
            }
        }
    }
    return 0;
}

Snapshot *snapshotCopy(const Snapshot *s)
{
    Snapshot *d = snapshotNew();
    if (!d) return NULL;
    d->generation = s->generation;
    d->state = s->state;
    d->elapsed_s = s->elapsed_s;
    d->concentration_k = s->concentration_k;
    d->memory_limit = s->memory_limit;
    if (dupStr(&d->source, s->source)) goto fail;
    if (s->n_models) {
        if (!(d->models = calloc((size_t)s->n_models, sizeof *d->models))) goto fail;
        for (int i = 0; i < s->n_models; i++) {
            d->n_models = i + 1;
            if (copyModel(&d->models[i], &s->models[i])) goto fail;
        }
    }
    if (s->n_fits) {
        if (!(d->fits = calloc((size_t)s->n_fits, sizeof *d->fits))) goto fail;
        for (int i = 0; i < s->n_fits; i++) {
            d->fits[i] = s->fits[i];
            d->fits[i].family = NULL;
            d->n_fits = i + 1;
            if (dupStr(&d->fits[i].family, s->fits[i].family)) goto fail;
        }
    }
    return d;
fail:
    snapshotRelease(d);
    return NULL;
}

int snapshotFindModel(const Snapshot *s, const char *name)
{
    for (int i = 0; i < s->n_models; i++)
        if (s->models[i].name && !strcmp(s->models[i].name, name)) return i;
    return -1;
}

const LayerSnapshot *snapshotFindRow(const ModelSnapshot *m, int layer, Site site)
{
    for (int i = 0; i < m->n_rows; i++)
        if (m->rows[i].layer == layer && m->rows[i].site == site) return &m->rows[i];
    return NULL;
}

const char *snapshotFitGroup(const ModelSnapshot *m)
{
    return m->fit_group ? m->fit_group : m->family ? m->family : "";
}

const FitSnapshot *snapshotFindFit(const Snapshot *s, const char *family, Site site, RankKind rank)
{
    for (int i = 0; i < s->n_fits; i++) {
        const FitSnapshot *f = &s->fits[i];
        if (f->site == site && f->rank == rank && f->family && !strcmp(f->family, family)) return f;
    }
    return NULL;
}

double snapshotDeltaBeta(const Snapshot *s, const char *family, Site site)
{
    const FitSnapshot *soft = snapshotFindFit(s, family, site, RANK_SOFT);
    const FitSnapshot *hard = snapshotFindFit(s, family, site, RANK_HARD);
    if (!soft || !hard || !soft->fit.valid || !hard->fit.valid) return NAN;
    return soft->fit.beta - hard->fit.beta;
}

double snapshotPhaseOther(const ModelSnapshot *m)
{
    if (!m->phases) return NAN;
    double left = m->elapsed_s;
    for (int p = 0; p < PHASE_COUNT; p++)
        if (m->phases & PHASE_BIT(p)) left -= m->phase_s[p];
    /* the phases are timed inside elapsed_s: below 0 is clock rounding */
    return left > 0 ? left : 0;
}

const char *phaseName(Phase p)
{
    static const char *const names[PHASE_COUNT] = {"load", "tokenize", "forward", "covariance", "spectra"};
    return p >= 0 && p < PHASE_COUNT ? names[p] : "unknown";
}

const char *modelStatusName(ModelStatus st)
{
    switch (st) {
    case MODEL_QUEUED: return "queued";
    case MODEL_LOADING: return "loading";
    case MODEL_CAPTURING: return "capturing";
    case MODEL_DONE: return "done";
    case MODEL_FAILED: return "failed";
    }
    return "unknown";
}

const char *workerStateName(WorkerState st)
{
    switch (st) {
    case WORKER_IDLE: return "idle";
    case WORKER_RUNNING: return "running";
    case WORKER_PAUSED: return "paused";
    case WORKER_DONE: return "done";
    case WORKER_STOPPED: return "stopped";
    case WORKER_SAVED: return "saved";
    }
    return "unknown";
}

int snapshotRowCounted(const LayerSnapshot *r)
{
    return r->n_eigen > 0 || (r->metrics.warnings & (WARN_NO_TOKENS | WARN_TOO_FEW_TOKENS));
}

int64_t snapshotRowTokens(const LayerSnapshot *r) { return r->metrics.tokens + r->metrics.nonfinite_rows; }

int snapshotMoeStats(const ModelSnapshot *m, int layer, Site site, MoeStats *out)
{
    int n = 0;
    int64_t total = 0;
    const LayerSnapshot *first = NULL;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->layer != layer || r->site != site || !r->routed || r->expert < 0) continue;
        if (!first) first = r;
        n++;
        total += snapshotRowTokens(r);
    }
    if (!n) return 0;
    double h = 0;
    for (int i = 0; i < m->n_rows; i++) {
        const LayerSnapshot *r = &m->rows[i];
        if (r->layer != layer || r->site != site || !r->routed || r->expert < 0) continue;
        int64_t t = snapshotRowTokens(r);
        if (t > 0) {
            double p = (double)t / (double)total;
            h -= p * log(p);
        }
    }
    out->n_experts = n;
    out->tokens = total;
    out->entropy = total > 0 ? h : NAN;
    out->entropy_norm = total > 0 && n > 1 ? h / log((double)n) : NAN;
    out->overlap = first->overlap_pairs > 0 ? first->overlap : NAN;
    out->overlap_k = first->overlap_k;
    out->overlap_pairs = first->overlap_pairs;
    return n;
}
