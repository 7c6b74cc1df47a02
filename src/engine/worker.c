/* The worker thread: runs the plan model by model, feeds the accumulators,
 * refreshes spectra within a time budget and publishes snapshots.
 *
 * Threads: the worker owns `draft` (a Snapshot it edits freely) and every
 * ModelRun. Everything other threads may touch (the published snapshot, the
 * generation, the command queue, the focus) sits behind `mu`. A publish is a
 * deep copy of the draft swapped in under the mutex, so readers hold an
 * immutable snapshot for as long as they like.
 *
 * Refresh budget: an eigensolve of a D=3072 covariance takes over a second,
 * so refreshes are budgeted to at most a fifth of the worker's time for the
 * running model (refresh time <= capture time / 4). When the budget does not
 * cover every due layer, the focused layer goes first and the rest wait
 * their turn round-robin. The refresh when a model finishes is never
 * skipped, is not charged to the budget and runs on every core
 * (finalRefresh). */
#define _GNU_SOURCE
#include "ffnscope/worker.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/peek.h"
#include "engine/run.h"
#include "ffnscope/acts.h"
#include "ffnscope/eigen.h"
#include "ffnscope/metrics.h"
#include "io/stats.h"
#include "util/fileio.h"
#include "util/memsize.h"
#include "util/threads.h"

#define QUEUE_LEN 64
#define BUDGET_SHARE 0.25         /* refresh time / capture time: a fifth of the total */
#define PROGRESS_PUBLISH_S 0.2    /* progress-only snapshots at most this often */

typedef enum CmdKind { CMD_PAUSE, CMD_RESUME, CMD_RESTART, CMD_QUIT } CmdKind;

typedef struct Cmd {
    CmdKind kind;
    int arg;
} Cmd;

struct Worker {
    const Config *cfg;
    pthread_t thread;
    int started, joined;

    pthread_mutex_t mu;
    pthread_cond_t published_cond;   /* a new snapshot */
    pthread_cond_t cmd_cond;         /* a new command */
    Snapshot *published;
    uint64_t generation;
    Cmd queue[QUEUE_LEN];
    int q_head, q_len;
    int focus_model, focus_layer;
    Site focus_site;
    int focus_changed;
    int current;                     /* snapshot index of the model being captured, -1 */
    atomic_int interrupt;            /* quit, or restart of the current model: stop mid-batch */

    int live;                        /* refresh spectra during captures */
    uint64_t memory_limit;           /* bytes (README "Memory") */
    char *spill_dir;                 /* where hidden states that do not fit go */

    /* worker thread only */
    Snapshot *draft;
    int paused;
    int quitting;
    double t0;                       /* worker start, moved forward by pauses */
    double last_publish;
    double solve_rate;               /* seconds per D^3, measured */
    double *cov;                     /* [cov_cap], covariance scratch */
    size_t cov_cap;
    char *corpus;
    size_t corpus_len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- publishing ---- */

static void updateTimes(Worker *w, ModelRun *r)
{
    double t = now();
    w->draft->elapsed_s = t - w->t0;
    if (r) {
        ModelSnapshot *m = &w->draft->models[r->index];
        m->elapsed_s = t - r->t_start;
        m->tokens_done = r->tokens_done;
        /* over several passes each token goes through the model once in all: the rate counts whole tokens */
        int passes = m->passes > 1 ? m->passes : 1;
        m->tokens_per_s =
            m->elapsed_s > 0 ? (double)(r->tokens_before + r->tokens_done) / passes / m->elapsed_s : 0;
        m->refresh_s = r->t_refresh;
        memcpy(m->phase_s, r->phase_s, sizeof m->phase_s);
        m->phases = r->phases;
    }
}

/* Publishes a copy of the draft. Out of memory skips one publish: the next
 * one carries everything. */
static void publish(Worker *w, ModelRun *r)
{
    updateTimes(w, r);
    Snapshot *s = snapshotCopy(w->draft);
    if (!s) return;
    snapshotComputeFits(s);
    w->last_publish = now();
    pthread_mutex_lock(&w->mu);
    s->generation = ++w->generation;
    Snapshot *old = w->published;
    w->published = s;
    pthread_cond_broadcast(&w->published_cond);
    pthread_mutex_unlock(&w->mu);
    snapshotRelease(old);
}

static void setState(Worker *w, WorkerState st)
{
    w->draft->state = st;
}

/* ---- the plan ---- */

/* Snapshot order: grouped by family (first appearance in the config), then
 * by width where it is known before loading; config order otherwise. The
 * order is fixed for the whole run so that indices stay valid. */
typedef struct Slot {
    int config_index, family_rank, width;
    char family[64];
    const char *format;
} Slot;

static int slotCmp(const void *a, const void *b)
{
    const Slot *x = a, *y = b;
    if (x->family_rank != y->family_rank) return x->family_rank - y->family_rank;
    if (!x->width != !y->width) return x->width ? -1 : 1;
    if (x->width != y->width) return x->width < y->width ? -1 : 1;
    return x->config_index - y->config_index;
}

static const char *fileFormat(const ModelEntry *e)
{
    if (e->format) return e->format;
    size_t n = strlen(e->path);
    if (e->is_acts) return n >= 4 && !strcmp(e->path + n - 4, ".npy") ? "npy" : "safetensors";
    return "";
}

static int buildPlan(Worker *w, Error *err)
{
    const Config *cfg = w->cfg;
    Slot *slots = calloc((size_t)(cfg->n_models ? cfg->n_models : 1), sizeof *slots);
    if (!slots) return errorNoMem(err, "worker");
    for (int i = 0; i < cfg->n_models; i++) {
        const ModelEntry *e = &cfg->models[i];
        Slot *s = &slots[i];
        s->config_index = i;
        s->format = fileFormat(e);
        StatsFile *sf;
        Error no_stats = {0};
        if (e->is_acts && statsDetect(e->path) && statsOpen(e->path, &sf, &no_stats) == 0) {
            /* statistics carry their model's family and width */
            s->width = statsMeta(sf)->width;
            snprintf(s->family, sizeof s->family, "%s",
                     e->family ? e->family : *statsMeta(sf)->family ? statsMeta(sf)->family : "acts");
            statsClose(sf);
        } else if (e->is_acts) {
            ActFile *f;
            Error ignored = {0};
            /* the header alone: cheap, and a bad file fails later, in its turn */
            if (actFileOpen(e->path, &f, &ignored) == 0) {
                for (int t = 0; t < actFileCount(f); t++)
                    if (actFileTensor(f, t)->width > s->width) s->width = actFileTensor(f, t)->width;
                actFileClose(f);
            }
            snprintf(s->family, sizeof s->family, "%s", e->family ? e->family : "acts");
        } else {
            Peek p;
            peekHfConfig(e->path, &p);
            s->width = p.width;
            snprintf(s->family, sizeof s->family, "%s", e->family ? e->family : p.family);
        }
        s->family_rank = i;
        for (int j = 0; j < i; j++)
            if (!strcmp(slots[j].family, s->family)) {
                s->family_rank = slots[j].family_rank;
                break;
            }
    }
    qsort(slots, (size_t)cfg->n_models, sizeof *slots, slotCmp);

    Snapshot *d = w->draft;
    d->models = calloc((size_t)(cfg->n_models ? cfg->n_models : 1), sizeof *d->models);
    if (!d->models) {
        free(slots);
        return errorNoMem(err, "worker");
    }
    d->n_models = cfg->n_models;
    for (int i = 0; i < cfg->n_models; i++) {
        const ModelEntry *e = &cfg->models[slots[i].config_index];
        ModelSnapshot *m = &d->models[i];
        m->config_index = slots[i].config_index;
        m->status = MODEL_QUEUED;
        m->width = slots[i].width;
        m->name = strdup(e->name);
        m->path = strdup(e->path);
        m->family = strdup(slots[i].family);
        m->format = strdup(slots[i].format);
        m->fit_group = e->fit_group ? strdup(e->fit_group) : NULL;
        if (!m->name || !m->path || !m->family || !m->format || (e->fit_group && !m->fit_group)) {
            free(slots);
            return errorNoMem(err, "worker");
        }
    }
    free(slots);
    return 0;
}

/* ---- commands ---- */

static void pushCmd(Worker *w, CmdKind kind, int arg)
{
    pthread_mutex_lock(&w->mu);
    if (w->q_len < QUEUE_LEN) {
        w->queue[(w->q_head + w->q_len) % QUEUE_LEN] = (Cmd){kind, arg};
        w->q_len++;
    }
    if (kind == CMD_QUIT || (kind == CMD_RESTART && arg == w->current)) atomic_store(&w->interrupt, 1);
    pthread_cond_signal(&w->cmd_cond);
    pthread_mutex_unlock(&w->mu);
}

static int popCmd(Worker *w, Cmd *c, int block)
{
    pthread_mutex_lock(&w->mu);
    while (block && !w->q_len) pthread_cond_wait(&w->cmd_cond, &w->mu);
    int got = w->q_len > 0;
    if (got) {
        *c = w->queue[w->q_head];
        w->q_head = (w->q_head + 1) % QUEUE_LEN;
        w->q_len--;
    }
    pthread_mutex_unlock(&w->mu);
    return got;
}

static void setCurrent(Worker *w, int index)
{
    pthread_mutex_lock(&w->mu);
    w->current = index;
    atomic_store(&w->interrupt, w->quitting);
    pthread_mutex_unlock(&w->mu);
}

static void clearModel(ModelSnapshot *m)
{
    for (int i = 0; i < m->n_rows; i++) free(m->rows[i].eigen);
    free(m->rows);
    m->rows = NULL;
    m->n_rows = 0;
    free(m->error);
    m->error = NULL;
    m->error_code = 0;
    m->tokens_done = 0;
    m->tokens_per_s = 0;
    m->elapsed_s = 0;
    m->pass = m->passes = 0;
    m->group_first = m->group_last = 0;
    m->plan_peak = 0;
    free(m->plan);
    m->plan = NULL;
    memset(m->phase_s, 0, sizeof m->phase_s);
    m->phases = 0;
    m->refresh_s = 0;
}

/* Applies one command. Returns RUN_QUIT, RUN_RESTART (for the running model)
 * or 0. */
static int applyCmd(Worker *w, const Cmd *c, int current)
{
    switch (c->kind) {
    case CMD_PAUSE:
        w->paused = 1;
        return 0;
    case CMD_RESUME:
        w->paused = 0;
        return 0;
    case CMD_QUIT:
        w->quitting = 1;
        return RUN_QUIT;
    case CMD_RESTART:
        if (c->arg < 0 || c->arg >= w->draft->n_models) return 0;
        if (c->arg == current) return RUN_RESTART;
        ModelSnapshot *m = &w->draft->models[c->arg];
        if (m->status == MODEL_DONE || m->status == MODEL_FAILED) {
            clearModel(m);
            m->status = MODEL_QUEUED;
        }
        return 0;
    }
    return 0;
}

/* Drains the queue; while paused, waits for commands. Pause time is taken
 * out of every clock so that tokens/s and the budget ignore it. */
static int pollCommands(Worker *w, ModelRun *r)
{
    int current = r ? r->index : -1, result = 0;
    Cmd c = {0};
    while (popCmd(w, &c, 0)) {
        int a = applyCmd(w, &c, current);
        if (a == RUN_QUIT) return RUN_QUIT;
        if (a) result = a;
    }
    if (!w->paused || result) return result;
    double t = now();
    setState(w, WORKER_PAUSED);
    publish(w, r);
    while (w->paused && !result) {
        popCmd(w, &c, 1);
        int a = applyCmd(w, &c, current);
        if (a == RUN_QUIT) result = RUN_QUIT;
        else if (a) result = a;
        else if (c.kind == CMD_RESTART) publish(w, r);   /* a requeued model shows at once */
    }
    double paused = now() - t;
    w->t0 += paused;
    if (r) r->t_start += paused;
    /* a restart while paused leaves the worker paused: the main loop waits again */
    if (!w->paused) setState(w, WORKER_RUNNING);
    if (!result) publish(w, r);
    return result;
}

/* ---- refreshing spectra ---- */

static LayerSnapshot *rowOf(ModelRun *r, int i) { return &r->w->draft->models[r->index].rows[i]; }

/* Eigenvectors per expert for the subspace overlap: metrics.overlap_k, at most the width. */
static int overlapK(const ModelRun *r, int width)
{
    int k = r->cfg->overlap_k > 0 ? r->cfg->overlap_k : 8;
    return k < width ? k : width;
}

/* Whether the final solve of stream s keeps its top eigenvectors: a routed expert whose
 * covariance can have rank k (k + 1 tokens or more). */
static int wantsVectors(const ModelRun *r, const Stream *s)
{
    return s->key.expert >= 0 && s->acc && s->acc->count > overlapK(r, s->width);
}

/* A stream's spectrum and metrics from its covariance `cov` (destroyed) into
 * its snapshot row; with `vectors`, its top eigenvectors into the stream. */
static int solveInto(ModelRun *r, int i, double *cov, int vectors, Error *err)
{
    Stream *s = &r->streams[i];
    LayerSnapshot *row = rowOf(r, i);
    if (!row->eigen && !(row->eigen = malloc((size_t)s->width * sizeof *row->eigen)))
        return errorNoMem(err, "eigenvalues");
    if (vectors) {
        int k = overlapK(r, s->width);
        if (!s->vecs && !(s->vecs = malloc((size_t)k * (size_t)s->width * sizeof *s->vecs)))
            return errorNoMem(err, "eigenvectors");
        if (eigenSymmetricTop(cov, s->width, row->eigen, k, s->vecs, err)) return -1;
        s->n_vecs = k;
    } else if (eigenSymmetric(cov, s->width, row->eigen, err)) {
        return -1;
    }
    metricsCompute(row->eigen, s->width, s->acc->count, s->acc->nonfinite_rows, r->cfg->concentration_k,
                   &row->metrics);
    row->n_eigen = s->width;
    s->refreshed_count = s->acc->count;
    return 0;
}

/* Whether stream i has statistics its row does not show yet. Clears `due`. */
static int needsSolve(Stream *s)
{
    s->due = 0;
    return s->acc && s->acc->count >= 2 && s->acc->count != s->refreshed_count;
}

/* A refresh during the capture: the accumulator goes on, so the solve works
 * on a copy of its covariance. */
static int refreshStream(ModelRun *r, int i, Error *err)
{
    Worker *w = r->w;
    Stream *s = &r->streams[i];
    if (!needsSolve(s)) return 0;
    size_t dd = (size_t)s->width * (size_t)s->width;
    if (dd > w->cov_cap) {
        free(w->cov);
        if (!(w->cov = malloc(dd * sizeof *w->cov))) {
            w->cov_cap = 0;
            return errorNoMem(err, "covariance");
        }
        w->cov_cap = dd;
    }
    double t = now();
    if (covaccCovariance(s->acc, w->cov, err) || solveInto(r, i, w->cov, 0, err)) return -1;
    double d3 = (double)s->width * s->width * s->width, cost = now() - t;
    /* an eigensolve costs about D^3: keep a running rate to price the next one */
    w->solve_rate = w->solve_rate > 0 ? 0.5 * w->solve_rate + 0.5 * cost / d3 : cost / d3;
    return 0;
}

static double estimateCost(const Worker *w, int width)
{
    double rate = w->solve_rate > 0 ? w->solve_rate : 5e-11;
    return rate * (double)width * width * width;
}

/* The stream the user looks at, when it belongs to this model. */
static int focusedStream(ModelRun *r)
{
    Worker *w = r->w;
    pthread_mutex_lock(&w->mu);
    int model = w->focus_model, layer = w->focus_layer;
    Site site = w->focus_site;
    int changed = w->focus_changed;
    w->focus_changed = 0;
    pthread_mutex_unlock(&w->mu);
    if (model != r->index) return -1;
    for (int i = 0; i < r->n_streams; i++)
        if (r->streams[i].key.layer == layer && r->streams[i].key.site == site) {
            /* a newly focused layer shows fresh numbers without waiting for the next round */
            if (changed) r->streams[i].due = 1;
            return i;
        }
    return -1;
}

/* Refreshes due streams while the budget lasts: focused first, then
 * round-robin. Returns how many were refreshed, or -1. */
static int refreshDue(ModelRun *r, Error *err)
{
    Worker *w = r->w;
    int done = 0, focus = focusedStream(r);
    for (int k = -1; k < r->n_streams; k++) {
        int i = k < 0 ? focus : (r->rr + k) % r->n_streams;
        if (i < 0 || !r->streams[i].due) continue;
        if (i == focus && k >= 0) continue;
        double capture = now() - r->t_start - r->t_refresh;
        if (r->t_refresh + estimateCost(w, r->streams[i].width) > BUDGET_SHARE * capture) {
            /* over budget: resume the round-robin here next time */
            if (k >= 0) r->rr = i;
            break;
        }
        double t = now();
        if (refreshStream(r, i, err)) return -1;
        double spent = now() - t;
        r->t_refresh += spent;
        runPhaseAdd(r, PHASE_SPECTRA, spent);
        done++;
        if (k >= 0) r->rr = (i + 1) % r->n_streams;
        /* publish each layer as it is ready: the focused one shows first */
        publish(w, r);
        if (atomic_load(&w->interrupt)) break;
    }
    return done;
}

/* ---- what the sources call ---- */

double runNow(void) { return now(); }

void runPhaseAdd(ModelRun *r, Phase p, double seconds)
{
    r->phase_s[p] += seconds;
    r->phases |= PHASE_BIT(p);
}

void runDescribe(ModelRun *r, const char *family, const char *format, int width, int n_layers)
{
    ModelSnapshot *m = &r->w->draft->models[r->index];
    if (family && *family && strcmp(family, m->family ? m->family : "")) {
        /* a model forced into another family keeps its configured name */
        char *f = strdup(family);
        if (f && !r->entry->family) {
            free(m->family);
            m->family = f;
        } else {
            free(f);
        }
    }
    if (format && *format) {
        char *f = strdup(format);
        if (f) {
            free(m->format);
            m->format = f;
        }
    }
    if (width > 0) m->width = width;
    if (n_layers > 0) m->n_layers = n_layers;
}

/* Stream order: layer, site, then expert (a routed layer's experts by index, its shared expert last). */
static int keyBefore(CaptureKey a, CaptureKey b)
{
    if (a.layer != b.layer) return a.layer < b.layer;
    if (a.site != b.site) return a.site < b.site;
    unsigned ea = (unsigned)a.expert, eb = (unsigned)b.expert; /* CAPTURE_SHARED after every index */
    return a.expert == CAPTURE_DENSE ? b.expert != CAPTURE_DENSE : b.expert != CAPTURE_DENSE && ea < eb;
}

int runDeclareKeys(ModelRun *r, int n, const CaptureKey *keys, const int *widths, int64_t tokens_target, Error *err)
{
    r->streams = calloc((size_t)n, sizeof *r->streams);
    ModelSnapshot *m = &r->w->draft->models[r->index];
    m->rows = calloc((size_t)n, sizeof *m->rows);
    if (!r->streams || !m->rows) return errorNoMem(err, r->entry->path);
    /* insertion sort by key: n is small */
    for (int i = 0; i < n; i++) {
        Stream s = {.key = keys[i], .width = widths[i]};
        int j = i;
        while (j > 0 && keyBefore(s.key, r->streams[j - 1].key)) {
            r->streams[j] = r->streams[j - 1];
            j--;
        }
        r->streams[j] = s;
    }
    r->n_streams = n;
    m->n_rows = n;
    for (int i = 0; i < n; i++) {
        m->rows[i].layer = r->streams[i].key.layer;
        m->rows[i].site = r->streams[i].key.site;
        m->rows[i].routed = r->streams[i].key.expert != CAPTURE_DENSE;
        m->rows[i].expert = r->streams[i].key.expert;
        m->rows[i].width = r->streams[i].width;
    }
    r->tokens_target = tokens_target;
    m->tokens_target = tokens_target;
    return 0;
}

int runDeclareStreams(ModelRun *r, int n, const int *layers, const Site *sites, const int *widths,
                      int64_t tokens_target, Error *err)
{
    CaptureKey *keys = malloc((size_t)(n > 0 ? n : 1) * sizeof *keys);
    if (!keys) return errorNoMem(err, r->entry->path);
    for (int i = 0; i < n; i++) keys[i] = (CaptureKey){layers[i], sites[i], CAPTURE_DENSE};
    int rc = runDeclareKeys(r, n, keys, widths, tokens_target, err);
    free(keys);
    return rc;
}

int runOpenGroup(ModelRun *r, int pass, int passes, int first, int last, Error *err)
{
    ModelSnapshot *m = &r->w->draft->models[r->index];
    for (int i = 0; i < r->n_streams; i++) {
        Stream *s = &r->streams[i];
        if (s->key.layer < first || s->key.layer > last || s->acc) continue;
        /* layers (and experts) are fed one at a time, so one set of batch buffers serves all the
         * accumulators of one width */
        Covacc *peer = NULL;
        for (int j = 0; j < i && !peer; j++)
            if (r->streams[j].acc && r->streams[j].width == s->width) peer = r->streams[j].acc;
        if (!(s->acc = covaccNewSharing(s->width, peer))) return errorNoMem(err, r->entry->path);
        s->refreshed_count = 0;
        s->due = 0;
    }
    /* the last pass's tokens join the earlier passes' only now, so that
     * between passes they are not counted twice in the rate */
    r->tokens_before += r->tokens_done;
    r->tokens_done = 0;
    r->next_refresh_at = r->cfg->refresh_tokens;
    m->pass = pass;
    m->passes = passes;
    m->group_first = first;
    m->group_last = last;
    m->status = MODEL_CAPTURING;
    publish(r->w, r);
    return 0;
}

int runSetStreams(ModelRun *r, int n, const int *layers, const Site *sites, const int *widths,
                  int64_t tokens_target, Error *err)
{
    if (runDeclareStreams(r, n, layers, sites, widths, tokens_target, err)) return -1;
    return runOpenGroup(r, 1, 1, 0, INT32_MAX, err);
}

uint64_t runMemoryLimit(const ModelRun *r) { return r->w->memory_limit; }
int runLive(const ModelRun *r) { return r->w->live; }
const char *runSpillDir(const ModelRun *r) { return r->w->spill_dir; }

void runSetPlan(ModelRun *r, uint64_t peak, int passes, const char *line)
{
    ModelSnapshot *m = &r->w->draft->models[r->index];
    m->plan_peak = peak;
    m->passes = passes;
    free(m->plan);
    m->plan = line ? strdup(line) : NULL;   /* out of memory: the line is not shown */
    publish(r->w, r);
}

Stream *runStream(ModelRun *r, CaptureKey key)
{
    for (int i = 0; i < r->n_streams; i++) {
        const CaptureKey *k = &r->streams[i].key;
        if (k->layer == key.layer && k->site == key.site && k->expert == key.expert)
            return r->streams[i].acc ? &r->streams[i] : NULL;
    }
    return NULL;
}

int runInterrupted(const ModelRun *r) { return atomic_load(&r->w->interrupt) != 0; }

int runProgress(ModelRun *r, int64_t tokens_done, Error *err)
{
    Worker *w = r->w;
    r->tokens_done = tokens_done;
    int rc = pollCommands(w, r);
    if (rc) return rc;
    if (w->live && tokens_done >= r->next_refresh_at) {
        for (int i = 0; i < r->n_streams; i++) r->streams[i].due = 1;
        while (r->next_refresh_at <= tokens_done) r->next_refresh_at += r->cfg->refresh_tokens;
    }
    int refreshed = refreshDue(r, err);
    if (refreshed < 0) return -1;
    if (!refreshed && now() - w->last_publish >= PROGRESS_PUBLISH_S) publish(w, r);
    return 0;
}

int runCorpus(ModelRun *r, const char **text, size_t *len, Error *err)
{
    Worker *w = r->w;
    if (!w->corpus) {
        if (!r->cfg->has_corpus || !r->cfg->corpus.path)
            return errorSet(err, EXIT_INPUT, "%s: the config has no corpus", r->cfg->path);
        if (fileReadAll(r->cfg->corpus.path, &w->corpus, &w->corpus_len, err)) return -1;
    }
    *text = w->corpus;
    *len = w->corpus_len;
    return 0;
}

/* ---- one model ---- */

static void freeStreams(ModelRun *r)
{
    for (int i = 0; i < r->n_streams; i++) {
        covaccFree(r->streams[i].acc);
        free(r->streams[i].vecs);
    }
    free(r->streams);
    r->streams = NULL;
    r->n_streams = 0;
}

/* ---- the final refresh: every spectrum at once ---- */

/* When a model's capture ends every stream needs its eigensolve, and the
 * two-stage solver runs best on one BLAS thread (eigen.c), so the streams
 * are shared out among threadsWanted() solver threads, one BLAS thread each:
 * two at once on two cores take no longer than one alone. Each accumulator's
 * scatter becomes its covariance in place: the statistics are spent (saved
 * before, when asked) and no D*D copy is made. */
typedef struct FinalSolve {
    ModelRun *r;
    atomic_int next;           /* the next stream to take */
    pthread_mutex_t mu;
    int failed;
    Error err;                 /* the first failure */
} FinalSolve;

static int solveFinal(ModelRun *r, int i, Error *err)
{
    Stream *s = &r->streams[i];
    if (s->acc && s->acc->count < 2 && s->key.expert >= 0) {
        /* an expert (almost) no token was routed to: its count shows, with a warning */
        LayerSnapshot *row = rowOf(r, i);
        metricsEmpty(s->width, s->acc->count, s->acc->nonfinite_rows, &row->metrics);
        return 0;
    }
    int vectors = wantsVectors(r, s) && !s->n_vecs;
    if (!needsSolve(s) && !vectors) return 0;
    double *cov = covaccTakeCovariance(s->acc, err);
    return cov ? solveInto(r, i, cov, vectors, err) : -1;
}

/* ||A^T B||_F^2 / k for two orthonormal bases A, B [k * dim] (columns). */
static double subspaceOverlap(const double *a, const double *b, int dim, int k)
{
    double sum = 0;
    for (int x = 0; x < k; x++)
        for (int y = 0; y < k; y++) {
            double dot = 0;
            for (int t = 0; t < dim; t++) dot += a[(size_t)x * dim + t] * b[(size_t)y * dim + t];
            sum += dot * dot;
        }
    return sum / k;
}

/* After the final solves of a group: the subspace overlap of each routed (layer, site) whose
 * experts were solved now, written to each of its expert rows. */
static void computeOverlaps(ModelRun *r)
{
    for (int i = 0; i < r->n_streams; i++) {
        Stream *s = &r->streams[i];
        if (s->key.expert < 0 || !s->acc) continue;
        /* i is the first expert of its (layer, site): streams are sorted by key */
        if (i > 0 && r->streams[i - 1].key.layer == s->key.layer && r->streams[i - 1].key.site == s->key.site &&
            r->streams[i - 1].key.expert >= 0)
            continue;
        int end = i;
        while (end < r->n_streams && r->streams[end].key.layer == s->key.layer &&
               r->streams[end].key.site == s->key.site && r->streams[end].key.expert >= 0)
            end++;
        double sum = 0;
        int pairs = 0, k = overlapK(r, s->width);
        for (int a = i; a < end; a++)
            for (int b = a + 1; b < end; b++) {
                const Stream *x = &r->streams[a], *y = &r->streams[b];
                if (x->n_vecs != k || y->n_vecs != k || x->width != y->width) continue;
                sum += subspaceOverlap(x->vecs, y->vecs, x->width, k);
                pairs++;
            }
        for (int a = i; a < end; a++) {
            LayerSnapshot *row = rowOf(r, a);
            row->overlap = pairs ? sum / pairs : 0;
            row->overlap_k = k;
            row->overlap_pairs = pairs;
        }
    }
}

static void *finalSolver(void *arg)
{
    FinalSolve *f = arg;
    while (!atomic_load(&f->r->w->interrupt)) {
        int i = atomic_fetch_add(&f->next, 1);
        if (i >= f->r->n_streams) break;
        Error e = {0};
        if (solveFinal(f->r, i, &e)) {
            pthread_mutex_lock(&f->mu);
            if (!f->failed) f->err = e;
            f->failed = 1;
            pthread_mutex_unlock(&f->mu);
            atomic_store(&f->next, f->r->n_streams);   /* the others stop after their current solve */
            break;
        }
    }
    return NULL;
}

static int finalRefresh(ModelRun *r, Error *err)
{
    double t0 = now();
    FinalSolve f = {.r = r};
    atomic_init(&f.next, 0);
    pthread_mutex_init(&f.mu, NULL);
    int want = threadsWanted();
    int n = want < r->n_streams ? want : r->n_streams, started = 0, rc = 0;
    pthread_t helpers[64];
    if (n > 64) n = 64;
    threadsBlasSingle();   /* each solver on one BLAS thread (eigen.c), none spinning beside them */
    /* the worker itself is one solver; a helper that cannot start leaves its share to the others */
    for (int k = 1; k < n; k++)
        if (pthread_create(&helpers[started], NULL, finalSolver, &f) == 0) started++;
    finalSolver(&f);
    for (int k = 0; k < started; k++) pthread_join(helpers[k], NULL);
    pthread_mutex_destroy(&f.mu);
    if (f.failed) {
        *err = f.err;
        return -1;
    }
    if (atomic_load(&r->w->interrupt)) {
        rc = pollCommands(r->w, r);
    } else {
        computeOverlaps(r);
        runPhaseAdd(r, PHASE_SPECTRA, now() - t0);
    }
    return rc;
}

int runCloseGroup(ModelRun *r, Error *err)
{
    int rc = finalRefresh(r, err);
    if (rc) return rc;
    /* the spent accumulators go before the next pass allocates its own */
    for (int i = 0; i < r->n_streams; i++) {
        covaccFree(r->streams[i].acc);
        r->streams[i].acc = NULL;
        free(r->streams[i].vecs);
        r->streams[i].vecs = NULL;
        r->streams[i].n_vecs = 0;
    }
    publish(r->w, r);
    return 0;
}

/* Runs the model at snapshot index `index`. Returns RUN_QUIT when the
 * worker must stop, 0 otherwise (done, failed or requeued). */
static int runModel(Worker *w, int index)
{
    ModelSnapshot *m = &w->draft->models[index];
    ModelRun r = {
        .w = w,
        .cfg = w->cfg,
        .entry = &w->cfg->models[m->config_index],
        .index = index,
        .t_start = now(),
    };
    Error err = {0};
    clearModel(m);
    m->status = MODEL_LOADING;
    setCurrent(w, index);
    publish(w, &r);
    int rc = !r.entry->is_acts          ? runCheckpoint(&r, &err)
             : statsDetect(r.entry->path) ? runStats(&r, &err)
                                          : runActivations(&r, &err);
    m = &w->draft->models[index];
    /* saved first: the final refresh spends the statistics */
    if (rc == 0 && w->cfg->save_stats) rc = runSaveStats(&r, w->cfg->save_stats, m->family, m->width, m->n_layers, &err);
    if (rc == 0) rc = finalRefresh(&r, &err);
    if (rc == 0) {
        m->status = MODEL_DONE;
    } else if (rc < 0) {
        clearModel(m);
        m->status = MODEL_FAILED;
        m->error = strdup(err.msg[0] ? err.msg : "failed");
        m->error_code = err.code ? err.code : EXIT_RUNTIME;
    } else if (rc == RUN_RESTART) {
        clearModel(m);
        m->status = MODEL_QUEUED;
    }
    /* on quit the model keeps its last refreshed rows and status */
    freeStreams(&r);
    free(w->cov);
    w->cov = NULL;
    w->cov_cap = 0;
    setCurrent(w, -1);
    publish(w, rc == RUN_QUIT || rc == 0 ? &r : NULL);
    return rc == RUN_QUIT ? RUN_QUIT : 0;
}

/* The next queued model in config order, or -1. */
static int nextQueued(const Worker *w)
{
    int best = -1;
    for (int i = 0; i < w->draft->n_models; i++) {
        const ModelSnapshot *m = &w->draft->models[i];
        if (m->status == MODEL_QUEUED && (best < 0 || m->config_index < w->draft->models[best].config_index))
            best = i;
    }
    return best;
}

static void *workerMain(void *arg)
{
    Worker *w = arg;
    w->t0 = now();
    setState(w, WORKER_RUNNING);
    publish(w, NULL);
    for (;;) {
        if (pollCommands(w, NULL) == RUN_QUIT) break;
        int next = nextQueued(w);
        if (next < 0) {
            /* everything done: stay for restarts until told to quit */
            setState(w, WORKER_DONE);
            publish(w, NULL);
            Cmd c = {0};
            popCmd(w, &c, 1);
            if (applyCmd(w, &c, -1) == RUN_QUIT) break;
            if (nextQueued(w) >= 0) setState(w, WORKER_RUNNING);
            publish(w, NULL);
            continue;
        }
        if (runModel(w, next) == RUN_QUIT) break;
    }
    int all = 1;
    for (int i = 0; i < w->draft->n_models; i++)
        all &= w->draft->models[i].status == MODEL_DONE || w->draft->models[i].status == MODEL_FAILED;
    setState(w, all ? WORKER_DONE : WORKER_STOPPED);
    publish(w, NULL);
    return NULL;
}

/* ---- the public side ---- */

int workerStart(const Config *cfg, Worker **out, Error *err)
{
    WorkerOptions opt = {.live = 1};
    return workerStartWith(cfg, &opt, out, err);
}

int workerStartWith(const Config *cfg, const WorkerOptions *opt, Worker **out, Error *err)
{
    *out = NULL;
    Worker *w = calloc(1, sizeof *w);
    if (!w) return errorNoMem(err, "worker");
    w->cfg = cfg;
    w->live = opt ? opt->live : 1;
    w->memory_limit = opt && opt->memory_limit ? opt->memory_limit
                      : cfg->memory_limit     ? cfg->memory_limit
                                              : memDefaultLimit();
    const char *spill = opt && opt->spill_dir ? opt->spill_dir : cfg->output_dir;
    if (spill && !(w->spill_dir = strdup(spill))) {
        free(w);
        return errorNoMem(err, "worker");
    }
    w->current = -1;
    w->focus_model = -1;
    atomic_init(&w->interrupt, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->published_cond, NULL);
    pthread_cond_init(&w->cmd_cond, NULL);
    w->draft = snapshotNew();
    if (!w->draft || !(w->draft->source = strdup(cfg->path))) {
        workerFree(w);
        return errorNoMem(err, "worker");
    }
    w->draft->concentration_k = cfg->concentration_k;
    w->draft->memory_limit = w->memory_limit;
    w->draft->state = WORKER_IDLE;
    if (buildPlan(w, err)) {
        workerFree(w);
        return -1;
    }
    w->t0 = now();
    publish(w, NULL);
    int e = pthread_create(&w->thread, NULL, workerMain, w);
    if (e) {
        workerFree(w);
        return errorSet(err, EXIT_RUNTIME, "cannot start the worker thread: %s", strerror(e));
    }
    w->started = 1;
    *out = w;
    return 0;
}

Snapshot *workerSnapshot(Worker *w)
{
    pthread_mutex_lock(&w->mu);
    Snapshot *s = snapshotRetain(w->published);
    pthread_mutex_unlock(&w->mu);
    return s;
}

uint64_t workerWait(Worker *w, uint64_t generation, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&w->mu);
    while (w->generation <= generation && timeout_ms != 0) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&w->published_cond, &w->mu);
        } else if (pthread_cond_timedwait(&w->published_cond, &w->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    uint64_t g = w->generation;
    pthread_mutex_unlock(&w->mu);
    return g;
}

void workerPause(Worker *w) { pushCmd(w, CMD_PAUSE, 0); }
void workerResume(Worker *w) { pushCmd(w, CMD_RESUME, 0); }
void workerRestartModel(Worker *w, int model_index) { pushCmd(w, CMD_RESTART, model_index); }

void workerFocus(Worker *w, int model_index, int layer, Site site)
{
    pthread_mutex_lock(&w->mu);
    if (w->focus_model != model_index || w->focus_layer != layer || w->focus_site != site) w->focus_changed = 1;
    w->focus_model = model_index;
    w->focus_layer = layer;
    w->focus_site = site;
    pthread_mutex_unlock(&w->mu);
}

void workerStop(Worker *w)
{
    if (!w || !w->started || w->joined) return;
    pushCmd(w, CMD_QUIT, 0);
    pthread_join(w->thread, NULL);
    w->joined = 1;
}

void workerFree(Worker *w)
{
    if (!w) return;
    workerStop(w);
    snapshotRelease(w->published);
    snapshotRelease(w->draft);
    free(w->cov);
    free(w->corpus);
    free(w->spill_dir);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->published_cond);
    pthread_cond_destroy(&w->cmd_cond);
    free(w);
}
