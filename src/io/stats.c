#include "io/stats.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnscope/eigen.h"
#include "io/safetensors.h"
#include "util/fileio.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; stats.c writes host-order values"
#endif

/* Round-off slack for the scatter checks: a scatter accumulated in float64 is
 * symmetric and Cauchy-Schwarz bounded to ~1e-13 relative; 1e-6 only rejects
 * files that are not centred scatter matrices at all. */
#define STATS_REL_TOL 1e-6
#define STATS_ABS_TOL 1e-12

/* The four per-entry tensors, in the order the writer lays them out. */
enum { F_COUNT, F_NONFINITE, F_MEAN, F_SCATTER, N_FIELDS };
static const char *const field_names[N_FIELDS] = {"count", "nonfinite", "mean", "scatter"};

typedef struct StatsItem {
    StatsKey key;
    const StTensor *t[N_FIELDS]; /* t[F_NONFINITE] may be NULL */
    int64_t count, nonfinite;
} StatsItem;

struct StatsFile {
    StFile *st;
    StatsMeta meta;       /* strings point into st's metadata or "" */
    int n;
    StatsItem *items;     /* [n] sorted by layer, then site */
};

struct StatsWriter {
    AtomicFile af;
    char *path;
    int n, next;
    StatsKey *keys;       /* [n], widths filled in */
    double *row;          /* [widest entry] mirrored scatter row */
};

void statsEntryName(StatsKey key, char *buf, int len)
{
    if (!key.routed) snprintf(buf, (size_t)len, "layers.%d.%s", key.layer, siteName(key.site));
    else if (key.expert == CAPTURE_SHARED) snprintf(buf, (size_t)len, "layers.%d.%s.expertshared", key.layer, siteName(key.site));
    else snprintf(buf, (size_t)len, "layers.%d.%s.expert%d", key.layer, siteName(key.site), key.expert);
}

/* --- names and small values ------------------------------------------- */

/* A decimal without leading zeros at *p, at most max, followed by '.'; *p moves past the dot. */
static int parseIndex(const char **p, long max, long *out)
{
    const char *q = *p;
    if (*q < '0' || *q > '9' || (q[0] == '0' && q[1] >= '0' && q[1] <= '9')) return -1;
    long v = 0;
    while (*q >= '0' && *q <= '9') {
        v = v * 10 + (*q - '0');
        if (v > max) return -1;
        q++;
    }
    if (*q++ != '.') return -1;
    *p = q;
    *out = v;
    return 0;
}

/* Parses "layers.N.S.F" and "layers.N.S.expert{E,shared}.F"; 0 on success. */
static int parseName(const char *name, StatsKey *key, int *field)
{
    if (strncmp(name, "layers.", 7)) return -1;
    const char *p = name + 7;
    long layer, expert = CAPTURE_DENSE;
    if (parseIndex(&p, STATS_MAX_LAYER, &layer)) return -1;
    if (!strncmp(p, "post.", 5)) {
        key->site = SITE_POST;
        p += 5;
    } else if (!strncmp(p, "pre.", 4)) {
        key->site = SITE_PRE;
        p += 4;
    } else {
        return -1;
    }
    if (!strncmp(p, "expertshared.", 13)) {
        expert = CAPTURE_SHARED;
        p += 13;
    } else if (!strncmp(p, "expert", 6)) {
        p += 6;
        if (parseIndex(&p, STATS_MAX_EXPERT, &expert)) return -1;
    }
    for (int f = 0; f < N_FIELDS; f++)
        if (!strcmp(p, field_names[f])) {
            key->layer = (int)layer;
            key->routed = expert != CAPTURE_DENSE;
            key->expert = (int)expert;
            *field = f;
            return 0;
        }
    return -1;
}

/* A decimal integer in [lo, hi], the whole string. */
static int parseInt(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* count / nonfinite: I64 or whole-number F64, shape [] or [1], >= 0. */
static int readCount(const char *path, const StTensor *t, int64_t *out, Error *err)
{
    if (!(t->ndim == 0 || (t->ndim == 1 && t->shape[0] == 1)))
        return errorSet(err, EXIT_INPUT, "%s: tensor '%s': shape must be [1] or a scalar", path, t->name);
    if (t->dtype == ST_I64) {
        int64_t v;
        memcpy(&v, t->data, sizeof v);
        if (v < 0) return errorSet(err, EXIT_INPUT, "%s: tensor '%s': negative count %lld", path, t->name, (long long)v);
        *out = v;
        return 0;
    }
    if (t->dtype == ST_F64) {
        double v;
        memcpy(&v, t->data, sizeof v);
        if (!isfinite(v) || v < 0 || v != floor(v) || v > 9007199254740992.0)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': count %g is not a whole number >= 0", path, t->name, v);
        *out = (int64_t)v;
        return 0;
    }
    return errorSet(err, EXIT_INPUT, "%s: tensor '%s': dtype %s (expected I64 or F64)", path, t->name,
                    stDtypeName(t->dtype));
}

int statsKeyCompare(const StatsKey *x, const StatsKey *y)
{
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    if (x->site != y->site) return (int)x->site - (int)y->site;
    if (x->routed != y->routed) return x->routed - y->routed;
    if (!x->routed) return 0;
    unsigned ex = (unsigned)x->expert, ey = (unsigned)y->expert; /* CAPTURE_SHARED after every index */
    return ex == ey ? 0 : ex < ey ? -1 : 1;
}

static int cmpKey(const void *a, const void *b) { return statsKeyCompare(a, b); }

/* --- reading ---------------------------------------------------------- */

static int readMeta(StatsFile *f, Error *err)
{
    const StFile *st = f->st;
    const char *path = stPath(st);
    const char *ver = stMetadata(st, "ffnscope_stats");
    if (!ver)
        return errorSet(err, EXIT_INPUT,
                        "%s: not a covariance statistics file (no 'ffnscope_stats' in __metadata__)", path);
    long v;
    if (parseInt(ver, 1, INT_MAX, &v))
        return errorSet(err, EXIT_INPUT, "%s: __metadata__ 'ffnscope_stats' is '%.40s', not a format version", path,
                        ver);
    if (v != STATS_FORMAT_VERSION)
        return errorSet(err, EXIT_INPUT, "%s: statistics format version %ld (this ffnscope reads version %d)", path,
                        v, STATS_FORMAT_VERSION);
    const char *w = stMetadata(st, "width");
    if (!w) return errorSet(err, EXIT_INPUT, "%s: __metadata__ has no 'width'", path);
    if (parseInt(w, 1, STATS_MAX_WIDTH, &v))
        return errorSet(err, EXIT_INPUT, "%s: __metadata__ 'width' is '%.40s', not a width in 1..%d", path, w,
                        STATS_MAX_WIDTH);
    f->meta.width = (int)v;
    const char *nl = stMetadata(st, "n_layers");
    f->meta.n_layers = 0;
    if (nl) {
        if (parseInt(nl, 0, STATS_MAX_LAYER + 1, &v))
            return errorSet(err, EXIT_INPUT, "%s: __metadata__ 'n_layers' is '%.40s', not a layer count", path, nl);
        f->meta.n_layers = (int)v;
    }
    const char *s;
    f->meta.model = (s = stMetadata(st, "model")) ? s : "";
    f->meta.family = (s = stMetadata(st, "family")) ? s : "";
    f->meta.producer = (s = stMetadata(st, "producer")) ? s : "";
    return 0;
}

/* One parsed tensor name, for grouping. */
typedef struct NamedTensor {
    StatsKey key;
    int field;
    const StTensor *t;
} NamedTensor;

static int cmpNamed(const void *a, const void *b)
{
    const NamedTensor *x = a, *y = b;
    int c = statsKeyCompare(&x->key, &y->key);
    return c ? c : x->field - y->field;
}

/* Groups the tensors into entries (by sorting, so a header with very many
 * tensors stays O(n log n)) and checks dtypes, shapes and counts. */
static int readItems(StatsFile *f, Error *err)
{
    const char *path = stPath(f->st);
    int nt = stCount(f->st);
    NamedTensor *named = calloc(nt ? (size_t)nt : 1, sizeof *named);
    f->items = calloc(nt ? (size_t)nt : 1, sizeof *f->items);
    if (!named || !f->items) {
        free(named);
        return errorNoMem(err, path);
    }
    for (int i = 0; i < nt; i++) {
        const StTensor *t = stTensor(f->st, i);
        named[i].t = t;
        if (parseName(t->name, &named[i].key, &named[i].field)) {
            free(named);
            return errorSet(err, EXIT_INPUT,
                            "%s: tensor '%s': not a statistics tensor (expected layers.N.{post,pre}[.expertE]."
                            "{count,nonfinite,mean,scatter})",
                            path, t->name);
        }
    }
    qsort(named, (size_t)nt, sizeof *named, cmpNamed);
    for (int i = 0; i < nt; i++) {
        if (i == 0 || statsKeyCompare(&named[i].key, &named[i - 1].key)) f->items[f->n++].key = named[i].key;
        /* Names are unique and carry no leading zeros, so each field
         * appears at most once per entry. */
        f->items[f->n - 1].t[named[i].field] = named[i].t;
    }
    free(named);
    if (f->n == 0) return errorSet(err, EXIT_INPUT, "%s: no statistics tensors", path);
    for (int k = 0; k < f->n; k++) {
        StatsItem *it = &f->items[k];
        char base[80];
        statsEntryName(it->key, base, sizeof base);
        for (int fl = 0; fl < N_FIELDS; fl++)
            if (!it->t[fl] && fl != F_NONFINITE)
                return errorSet(err, EXIT_INPUT, "%s: tensor '%s.%s' is missing", path, base, field_names[fl]);
        const StTensor *m = it->t[F_MEAN], *s = it->t[F_SCATTER];
        int64_t d = f->meta.width;
        if (m->dtype != ST_F64 || s->dtype != ST_F64)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': dtype %s (expected F64)", path,
                            m->dtype != ST_F64 ? m->name : s->name,
                            stDtypeName(m->dtype != ST_F64 ? m->dtype : s->dtype));
        /* an expert's width is its own: the mean's length, within bounds */
        if (it->key.routed && m->ndim == 1) d = m->shape[0] >= 1 && m->shape[0] <= STATS_MAX_WIDTH ? m->shape[0] : -1;
        if (d < 0)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': width %lld is outside 1..%d", path, m->name,
                            (long long)m->shape[0], STATS_MAX_WIDTH);
        if (m->ndim != 1 || m->shape[0] != d)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': shape is not [%lld] (width %lld)", path, m->name,
                            (long long)d, (long long)d);
        if (s->ndim != 2 || s->shape[0] != d || s->shape[1] != d)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': shape is not [%lld, %lld] (width %lld)", path,
                            s->name, (long long)d, (long long)d, (long long)d);
        it->key.width = (int)d;
        if (readCount(path, it->t[F_COUNT], &it->count, err)) return -1;
        it->nonfinite = 0;
        if (it->t[F_NONFINITE] && readCount(path, it->t[F_NONFINITE], &it->nonfinite, err)) return -1;
    }
    return 0;
}

int statsOpen(const char *path, StatsFile **out, Error *err)
{
    *out = NULL;
    StatsFile *f = calloc(1, sizeof *f);
    if (!f) return errorNoMem(err, path);
    if (stOpen(path, &f->st, err) || readMeta(f, err) || readItems(f, err)) {
        statsClose(f);
        return -1;
    }
    *out = f;
    return 0;
}

const StatsMeta *statsMeta(const StatsFile *f) { return &f->meta; }

const char *statsPath(const StatsFile *f) { return stPath(f->st); }

int statsCount(const StatsFile *f) { return f->n; }

StatsKey statsKey(const StatsFile *f, int i) { return f->items[i].key; }

int64_t statsRows(const StatsFile *f, int i) { return f->items[i].count; }

int statsFind(const StatsFile *f, int layer, Site site)
{
    for (int i = 0; i < f->n; i++)
        if (f->items[i].key.layer == layer && f->items[i].key.site == site && !f->items[i].key.routed) return i;
    return -1;
}

/* Checks loaded values; the messages give the first offending element. */
static int checkValues(const char *path, const StatsItem *it, const Covacc *acc, Error *err)
{
    int64_t d = acc->dim;
    const char *mname = it->t[F_MEAN]->name, *sname = it->t[F_SCATTER]->name;
    for (int64_t i = 0; i < d; i++)
        if (!isfinite(acc->mean[i]))
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': element %lld is not finite", path, mname, (long long)i);
    const double *s = acc->scatter;
    double maxdiag = 0;
    for (int64_t i = 0; i < d * d; i++)
        if (!isfinite(s[i]))
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': element (%lld, %lld) is not finite", path, sname,
                            (long long)(i / d), (long long)(i % d));
    for (int64_t i = 0; i < d; i++)
        if (s[i * d + i] > maxdiag) maxdiag = s[i * d + i];
    if (it->count == 0) {
        for (int64_t i = 0; i < d; i++)
            if (acc->mean[i] != 0)
                return errorSet(err, EXIT_INPUT, "%s: tensor '%s': count is 0 but the mean is not zero", path, mname);
        for (int64_t i = 0; i < d * d; i++)
            if (s[i] != 0)
                return errorSet(err, EXIT_INPUT, "%s: tensor '%s': count is 0 but the scatter is not zero", path,
                                sname);
        return 0;
    }
    double abs_tol = STATS_ABS_TOL * maxdiag;
    for (int64_t i = 0; i < d; i++)
        if (s[i * d + i] < -abs_tol)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': negative diagonal element (%lld, %lld) = %g", path,
                            sname, (long long)i, (long long)i, s[i * d + i]);
    for (int64_t i = 0; i < d; i++) {
        double di = sqrt(fmax(s[i * d + i], 0));
        for (int64_t j = i + 1; j < d; j++) {
            double a = s[i * d + j], b = s[j * d + i];
            double bound = di * sqrt(fmax(s[j * d + j], 0));
            double slack = STATS_REL_TOL * bound + abs_tol;
            if (fabs(a - b) > slack)
                return errorSet(err, EXIT_INPUT, "%s: tensor '%s': not symmetric: (%lld, %lld) = %g but (%lld, %lld) = %g",
                                path, sname, (long long)i, (long long)j, a, (long long)j, (long long)i, b);
            if (fabs(a) > bound + slack)
                return errorSet(err, EXIT_INPUT,
                                "%s: tensor '%s': element (%lld, %lld) = %g exceeds sqrt(s_ii * s_jj) = %g, not a "
                                "scatter matrix",
                                path, sname, (long long)i, (long long)j, a, bound);
        }
    }
    return 0;
}

int statsLoad(StatsFile *f, int i, Covacc *acc, Error *err)
{
    const char *path = stPath(f->st);
    if (i < 0 || i >= f->n) return errorSet(err, EXIT_RUNTIME, "%s: no statistics entry %d", path, i);
    const StatsItem *it = &f->items[i];
    if (acc->dim != it->key.width)
        return errorSet(err, EXIT_RUNTIME, "%s: accumulator width %d, entry width %d", path, acc->dim, it->key.width);
    if (stToF64(it->t[F_MEAN], acc->mean, err) || stToF64(it->t[F_SCATTER], acc->scatter, err)) return -1;
    acc->count = it->count;
    acc->nonfinite_rows = it->nonfinite;
    if (checkValues(path, it, acc, err)) {
        covaccReset(acc);
        return -1;
    }
    return 0;
}

void statsClose(StatsFile *f)
{
    if (!f) return;
    free(f->items);
    stClose(f->st);
    free(f);
}

int statsDetect(const char *path)
{
    StFile *st;
    Error e = {0};
    if (stOpen(path, &st, &e)) return 0;
    int yes = stMetadata(st, "ffnscope_stats") != NULL;
    stClose(st);
    return yes;
}

/* --- writing ---------------------------------------------------------- */

static int writerFail(StatsWriter *w, Error *err)
{
    return errorSet(err, EXIT_RUNTIME, "%s: write failed: %s", w->path, strerror(errno ? errno : EIO));
}

/* One tensor's header entry; *at advances past its data. */
static int addHeaderEntry(json_t *root, const char *name, const char *dtype, int ndim, const int64_t *shape,
                          uint64_t *at)
{
    json_t *jshape = json_array();
    if (!jshape) return -1;
    uint64_t bytes = 8; /* both dtypes used here are 8 bytes wide */
    for (int k = 0; k < ndim; k++) {
        if (json_array_append_new(jshape, json_integer(shape[k]))) {
            json_decref(jshape);
            return -1;
        }
        bytes *= (uint64_t)shape[k];
    }
    json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype, "shape", jshape, "data_offsets",
                          (json_int_t)*at, (json_int_t)(*at + bytes));
    if (!e || json_object_set_new(root, name, e)) return -1;
    *at += bytes;
    return 0;
}

static json_t *buildHeader(const StatsMeta *meta, const StatsKey *keys, int n, uint64_t *data_len)
{
    json_t *root = json_object(), *md = json_object();
    if (!root || !md) goto fail;
    char buf[64];
    char producer[96];
    snprintf(producer, sizeof producer, "ffnscope %s", FFNSCOPE_VERSION);
    snprintf(buf, sizeof buf, "%d", STATS_FORMAT_VERSION);
    if (json_object_set_new(md, "ffnscope_stats", json_string(buf))) goto fail;
    snprintf(buf, sizeof buf, "%d", meta->width);
    if (json_object_set_new(md, "width", json_string(buf))) goto fail;
    if (json_object_set_new(md, "model", json_string(meta->model ? meta->model : ""))) goto fail;
    if (json_object_set_new(md, "family", json_string(meta->family ? meta->family : ""))) goto fail;
    snprintf(buf, sizeof buf, "%d", meta->n_layers > 0 ? meta->n_layers : 0);
    if (json_object_set_new(md, "n_layers", json_string(buf))) goto fail;
    if (json_object_set_new(md, "producer", json_string(meta->producer ? meta->producer : producer))) goto fail;
    if (json_object_set_new(root, "__metadata__", md)) {
        md = NULL;
        goto fail;
    }
    md = NULL;
    uint64_t at = 0;
    const int64_t one[1] = {1};
    for (int i = 0; i < n; i++) {
        char base[80], name[96];
        const int64_t dd[2] = {keys[i].width, keys[i].width};
        statsEntryName(keys[i], base, sizeof base);
        snprintf(name, sizeof name, "%s.count", base);
        if (addHeaderEntry(root, name, "I64", 1, one, &at)) goto fail;
        snprintf(name, sizeof name, "%s.nonfinite", base);
        if (addHeaderEntry(root, name, "I64", 1, one, &at)) goto fail;
        snprintf(name, sizeof name, "%s.mean", base);
        if (addHeaderEntry(root, name, "F64", 1, dd, &at)) goto fail;
        snprintf(name, sizeof name, "%s.scatter", base);
        if (addHeaderEntry(root, name, "F64", 2, dd, &at)) goto fail;
    }
    *data_len = at;
    return root;
fail:
    json_decref(md);
    json_decref(root);
    return NULL;
}

void statsWriterAbort(StatsWriter *w)
{
    if (!w) return;
    if (w->af.fp) atomicAbort(&w->af);
    free(w->keys);
    free(w->row);
    free(w->path);
    free(w);
}

int statsWriterOpen(const char *path, const StatsMeta *meta, const StatsKey *keys, int n, StatsWriter **out,
                    Error *err)
{
    *out = NULL;
    if (meta->width < 1 || meta->width > STATS_MAX_WIDTH)
        return errorSet(err, EXIT_INPUT, "%s: width %d is outside 1..%d", path, meta->width, STATS_MAX_WIDTH);
    if (n < 1) return errorSet(err, EXIT_INPUT, "%s: no statistics to write", path);
    int widest = meta->width;
    for (int i = 0; i < n; i++) {
        int d = keys[i].width ? keys[i].width : meta->width;
        if (d < 1 || d > STATS_MAX_WIDTH || (!keys[i].routed && d != meta->width))
            return errorSet(err, EXIT_INPUT, "%s: entry (layer %d, site %d) has width %d (file width %d)", path,
                            keys[i].layer, (int)keys[i].site, d, meta->width);
        if (d > widest) widest = d;
    }
    StatsWriter *w = calloc(1, sizeof *w);
    if (!w) return errorNoMem(err, path);
    w->n = n;
    w->path = strdup(path);
    w->keys = malloc((size_t)n * sizeof *w->keys);
    w->row = malloc((size_t)widest * sizeof *w->row);
    if (!w->path || !w->keys || !w->row) {
        statsWriterAbort(w);
        return errorNoMem(err, path);
    }
    memcpy(w->keys, keys, (size_t)n * sizeof *keys);
    for (int i = 0; i < n; i++)
        if (!w->keys[i].width) w->keys[i].width = meta->width;
    StatsKey *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) {
        statsWriterAbort(w);
        return errorNoMem(err, path);
    }
    memcpy(sorted, keys, (size_t)n * sizeof *keys);
    qsort(sorted, (size_t)n, sizeof *sorted, cmpKey);
    for (int i = 0; i < n; i++) {
        int bad = sorted[i].layer < 0 || sorted[i].layer > STATS_MAX_LAYER || (unsigned)sorted[i].site >= SITE_COUNT ||
                  (sorted[i].routed && sorted[i].expert != CAPTURE_SHARED &&
                   (sorted[i].expert < 0 || sorted[i].expert > STATS_MAX_EXPERT));
        int dup = i > 0 && !cmpKey(&sorted[i - 1], &sorted[i]);
        if (bad || dup) {
            errorSet(err, EXIT_INPUT, "%s: %s statistics entry (layer %d, site %d)", path, bad ? "invalid" : "duplicate",
                     sorted[i].layer, (int)sorted[i].site);
            free(sorted);
            statsWriterAbort(w);
            return -1;
        }
    }
    free(sorted);

    uint64_t data_len;
    json_t *hdr = buildHeader(meta, w->keys, n, &data_len);
    char *text = hdr ? json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(hdr);
    if (!text) {
        statsWriterAbort(w);
        /* json_string refuses invalid UTF-8, the only input-driven failure. */
        return errorSet(err, EXIT_INPUT, "%s: cannot build the header (model or family not valid UTF-8?)", path);
    }
    size_t len = strlen(text);
    size_t padded = (len + 8 + 7) / 8 * 8 - 8; /* data starts 8-byte aligned */
    if (atomicOpen(&w->af, path, err)) {
        free(text);
        statsWriterAbort(w);
        return -1;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    errno = 0;
    int ok = fwrite(le, 1, 8, w->af.fp) == 8 && fwrite(text, 1, len, w->af.fp) == len;
    for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', w->af.fp) != EOF;
    free(text);
    if (!ok) {
        writerFail(w, err);
        statsWriterAbort(w);
        return -1;
    }
    *out = w;
    return 0;
}

int statsWriterPut(StatsWriter *w, const Covacc *acc, Error *err)
{
    if (w->next >= w->n) return errorSet(err, EXIT_RUNTIME, "%s: more entries than announced", w->path);
    const StatsKey *k = &w->keys[w->next];
    if (acc->dim != k->width) {
        char name[80];
        statsEntryName(*k, name, sizeof name);
        return errorSet(err, EXIT_RUNTIME, "%s: %s: width %d, entry width %d", w->path, name, acc->dim, k->width);
    }
    int64_t d = k->width;
    int64_t head[2] = {acc->count, acc->nonfinite_rows};
    errno = 0;
    if (fwrite(head, sizeof head[0], 2, w->af.fp) != 2) return writerFail(w, err);
    if (fwrite(acc->mean, sizeof(double), (size_t)d, w->af.fp) != (size_t)d) return writerFail(w, err);
    const double *s = acc->scatter;
    for (int64_t i = 0; i < d; i++) {
        for (int64_t j = 0; j < i; j++) w->row[j] = s[j * d + i];
        memcpy(w->row + i, s + i * d + i, (size_t)(d - i) * sizeof(double));
        if (fwrite(w->row, sizeof(double), (size_t)d, w->af.fp) != (size_t)d) return writerFail(w, err);
    }
    w->next++;
    return 0;
}

int statsWriterCommit(StatsWriter *w, Error *err)
{
    int rc = -1;
    if (w->next != w->n)
        errorSet(err, EXIT_RUNTIME, "%s: %d of %d entries written", w->path, w->next, w->n);
    else
        rc = atomicCommit(&w->af, err);
    if (rc == 0) w->af.fp = NULL; /* committed: nothing to remove */
    statsWriterAbort(w);
    return rc;
}

/* --- whole files ------------------------------------------------------ */

static StatsKey entryKey(const StatsEntry *e)
{
    return (StatsKey){e->layer, e->site, e->routed, e->routed ? e->expert : CAPTURE_DENSE, e->acc->dim};
}

static int cmpEntryPtr(const void *a, const void *b)
{
    StatsKey x = entryKey(*(const StatsEntry *const *)a), y = entryKey(*(const StatsEntry *const *)b);
    return statsKeyCompare(&x, &y);
}

int statsWrite(const char *path, const StatsMeta *meta, const StatsEntry *entries, int n, Error *err)
{
    if (n < 1) return errorSet(err, EXIT_INPUT, "%s: no statistics to write", path);
    const StatsEntry **order = malloc((size_t)n * sizeof *order);
    StatsKey *keys = malloc((size_t)n * sizeof *keys);
    if (!order || !keys) {
        free(order);
        free(keys);
        return errorNoMem(err, path);
    }
    for (int i = 0; i < n; i++) order[i] = &entries[i];
    qsort(order, (size_t)n, sizeof *order, cmpEntryPtr);
    for (int i = 0; i < n; i++) keys[i] = entryKey(order[i]);
    StatsWriter *w;
    int rc = statsWriterOpen(path, meta, keys, n, &w, err);
    for (int i = 0; rc == 0 && i < n; i++) rc = statsWriterPut(w, order[i]->acc, err);
    if (rc == 0) rc = statsWriterCommit(w, err);
    else if (w) statsWriterAbort(w);
    free(order);
    free(keys);
    return rc;
}

void statsEntriesFree(StatsEntry *entries, int n)
{
    if (!entries) return;
    for (int i = 0; i < n; i++) covaccFree(entries[i].acc);
    free(entries);
}

void statsMetaFree(StatsMeta *meta)
{
    if (!meta) return;
    free((char *)meta->model);
    free((char *)meta->family);
    free((char *)meta->producer);
    memset(meta, 0, sizeof *meta);
}

int statsRead(const char *path, StatsMeta *meta, StatsEntry **entries, int *n, Error *err)
{
    *entries = NULL;
    *n = 0;
    StatsFile *f;
    if (statsOpen(path, &f, err)) return -1;
    int count = statsCount(f);
    StatsEntry *e = calloc((size_t)count, sizeof *e);
    if (!e) {
        statsClose(f);
        return errorNoMem(err, path);
    }
    for (int i = 0; i < count; i++) {
        e[i].layer = f->items[i].key.layer;
        e[i].site = f->items[i].key.site;
        e[i].routed = f->items[i].key.routed;
        e[i].expert = f->items[i].key.expert;
        if (!(e[i].acc = covaccNew(f->items[i].key.width))) {
            errorNoMem(err, path);
            goto fail;
        }
        if (statsLoad(f, i, e[i].acc, err)) goto fail;
    }
    if (meta) {
        *meta = f->meta;
        meta->model = strdup(f->meta.model);
        meta->family = strdup(f->meta.family);
        meta->producer = strdup(f->meta.producer);
        if (!meta->model || !meta->family || !meta->producer) {
            statsMetaFree(meta);
            errorNoMem(err, path);
            goto fail;
        }
    }
    statsClose(f);
    *entries = e;
    *n = count;
    return 0;
fail:
    statsEntriesFree(e, count);
    statsClose(f);
    return -1;
}

/* --- spectrum ---------------------------------------------------------- */

int statsSpectrum(const Covacc *acc, const char *what, double *eig, Error *err)
{
    if (acc->count < 2)
        return errorSet(err, EXIT_INPUT, "%s: %lld rows (need at least 2 for a covariance)", what,
                        (long long)acc->count);
    size_t d = (size_t)acc->dim;
    double *c = malloc(d * d * sizeof *c);
    if (!c) return errorNoMem(err, what);
    int rc = covaccCovariance(acc, c, err);
    if (rc == 0) rc = eigenSymmetric(c, acc->dim, eig, err);
    free(c);
    return rc;
}

int statsMetrics(const Covacc *acc, const char *what, double k_param, Metrics *m, double *eig, Error *err)
{
    double *e = eig ? eig : malloc((size_t)acc->dim * sizeof *e);
    if (!e) return errorNoMem(err, what);
    int rc = statsSpectrum(acc, what, e, err);
    if (rc == 0) metricsCompute(e, acc->dim, acc->count, acc->nonfinite_rows, k_param, m);
    if (!eig) free(e);
    return rc;
}
