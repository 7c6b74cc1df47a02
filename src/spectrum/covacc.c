#include "ffnscope/covacc.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bigmem.h"
#include "util/pool.h"
#include "util/threads.h"

/* Each batch is split into blocks of at most this many rows. One block costs a
 * dsyrk of (rows + 1) * D^2 / 2 multiply-adds (commit() explains the extra
 * row); at 2048 rows the two passes that prepare the block are under 10% of
 * it. OpenBLAS dsyrk at D = 1024 on two cores ran at 68 GFLOP/s with 512-row
 * blocks and 70-76 from 1024 rows up, so larger blocks only cost memory. The
 * float64 block buffer is capped so wide layers do not need hundreds of MB of
 * scratch. */
#define BLOCK_ROWS 2048
#define BLOCK_MIN_ROWS 256
#define BLOCK_MAX_BYTES ((size_t)32 << 20)
/* The update is split into at most this many column strips, one per thread;
 * below STRIP_MIN_DIM it stays one dsyrk. */
#define MAX_STRIPS 64
#define STRIP_MIN_DIM 256

/* One prepared block: the finite rows, centred on their own mean, in float64. */
typedef struct Stage {
    double *y;           /* [block_rows + 1, D]: the extra row carries Chan's correction */
    double *mean;        /* [D] block mean */
    unsigned char *keep; /* [block_rows] row is finite */
    int64_t nb;          /* finite rows in y */
    int64_t dropped;     /* rows with NaN/Inf */
} Stage;

/* The batch buffers. Reference-counted so that accumulators fed one after
 * another (a model's layers) can hold one set between them. */
typedef struct Scratch {
    int refs;
    int dim;
    int block_rows;
    int ready;           /* buffers allocated (on the first add) */
    Stage stage;
    double *delta;       /* [D] block mean minus running mean */
    Pool *pool;          /* one thread per column strip */
    int strips;
    int cut[MAX_STRIPS + 1]; /* strip k is columns [cut[k], cut[k+1]) */
} Scratch;

int covaccBatchRows(int dim)
{
    size_t cap = BLOCK_MAX_BYTES / ((size_t)(dim > 0 ? dim : 1) * sizeof(double));
    if (cap > BLOCK_ROWS) cap = BLOCK_ROWS;
    if (cap < BLOCK_MIN_ROWS) cap = BLOCK_MIN_ROWS;
    return (int)cap;
}

static void stageFree(Stage *st)
{
    free(st->y);
    free(st->mean);
    free(st->keep);
    memset(st, 0, sizeof *st);
}

static int stageAlloc(Stage *st, int rows, int dim)
{
    st->y = bigAlloc(((size_t)rows + 1) * dim * sizeof *st->y);
    st->mean = malloc((size_t)dim * sizeof *st->mean);
    st->keep = malloc((size_t)rows);
    if (st->y && st->mean && st->keep) return 0;
    stageFree(st);
    return -1;
}

static void scratchRelease(Scratch *s)
{
    if (!s || --s->refs > 0) return;
    stageFree(&s->stage);
    free(s->delta);
    poolFree(s->pool);
    free(s);
}

Covacc *covaccNewSharing(int dim, Covacc *peer)
{
    if (dim <= 0) return NULL;
    Covacc *acc = calloc(1, sizeof *acc);
    if (!acc) return NULL;
    acc->dim = dim;
    acc->mean = calloc((size_t)dim, sizeof *acc->mean);
    acc->scatter = calloc((size_t)dim * dim, sizeof *acc->scatter);
    Scratch *s = peer && peer->dim == dim ? peer->scratch : calloc(1, sizeof *s);
    if (s && !s->refs) {
        s->dim = dim;
        s->block_rows = covaccBatchRows(dim);
    }
    if (s) s->refs++;
    acc->scratch = s;
    if (!acc->mean || !acc->scatter || !s) {
        covaccFree(acc);
        return NULL;
    }
    return acc;
}

Covacc *covaccNew(int dim) { return covaccNewSharing(dim, NULL); }

void covaccFree(Covacc *acc)
{
    if (!acc) return;
    scratchRelease(acc->scratch);
    free(acc->mean);
    free(acc->scatter);
    free(acc);
}

void covaccReset(Covacc *acc)
{
    acc->count = 0;
    acc->nonfinite_rows = 0;
    memset(acc->mean, 0, (size_t)acc->dim * sizeof *acc->mean);
    memset(acc->scatter, 0, (size_t)acc->dim * acc->dim * sizeof *acc->scatter);
}

static Scratch *scratchGet(Covacc *acc, Error *err)
{
    Scratch *s = acc->scratch;
    if (s->ready) return s;
    int want = s->dim < STRIP_MIN_DIM ? 1 : threadsWanted();
    if (want > 1 && !s->pool) s->pool = poolNew(want < MAX_STRIPS ? want : MAX_STRIPS);
    /* Strip k ends at D sqrt((k + 1) / strips), so that every strip holds the
     * same share of the upper triangle (rounded down to 8 columns). A missing
     * pool makes one strip. */
    s->strips = poolThreads(s->pool);
    for (int k = 0; k <= s->strips; k++) {
        int c = (int)((double)s->dim * sqrt((double)k / s->strips) + 0.5) & ~7;
        s->cut[k] = k == s->strips ? s->dim : c;
    }
    s->delta = malloc((size_t)s->dim * sizeof *s->delta);
    if (!s->delta || stageAlloc(&s->stage, s->block_rows, s->dim)) {
        free(s->delta);
        s->delta = NULL;
        return errorNoMem(err, "covariance accumulator"), NULL;
    }
    s->ready = 1;
    return s;
}

typedef struct StripTask {
    const Scratch *s;
    const double *y;     /* [k, D] */
    int k;
    double *scatter;
} StripTask;

/* Columns [c0, c1) of the upper triangle: the rectangle above the strip's
 * diagonal block (dgemm) and the block itself (dsyrk). */
static void updateStrips(void *arg, size_t first, size_t end, int part)
{
    (void)part;
    const StripTask *t = arg;
    int d = t->s->dim;
    for (size_t i = first; i < end; i++) {
        int c0 = t->s->cut[i], w = t->s->cut[i + 1] - c0;
        if (w <= 0) continue;
        if (c0 > 0)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c0, w, t->k, 1.0, t->y, d, t->y + c0, d, 1.0,
                        t->scatter + c0, d);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, w, t->k, 1.0, t->y + c0, d, 1.0,
                    t->scatter + (size_t)c0 * d + c0, d);
    }
}

/* Chan et al.: merging a block (nb rows, mean mb, centred scatter M_b) into
 * the running (na, ma, M_a) gives M_a + M_b + na nb / n (mb - ma)(mb - ma)^T.
 * The correction is a rank-one term with a positive weight, so it rides along
 * as one extra row sqrt(na nb / n) (mb - ma) under the block's centred rows and
 * the same dsyrk adds both: no separate O(D^2) pass over the scatter. */
static void commit(Covacc *acc, Stage *st)
{
    acc->nonfinite_rows += st->dropped;
    if (st->nb == 0) return;
    int d = acc->dim;
    int64_t na = acc->count, nb = st->nb, n = na + nb;
    double *delta = ((Scratch *)acc->scratch)->delta, *extra = st->y + (size_t)nb * d;
    double w = sqrt((double)na * (double)nb / (double)n);
    for (int j = 0; j < d; j++) {
        delta[j] = st->mean[j] - acc->mean[j];
        extra[j] = w * delta[j];
    }
    Scratch *s = acc->scratch;
    StripTask t = {s, st->y, (int)nb + (na > 0), acc->scatter};
    poolRun(s->pool, (size_t)s->strips, 1, updateStrips, &t);
    double f = (double)nb / (double)n;
    for (int j = 0; j < d; j++) acc->mean[j] += delta[j] * f;
    acc->count = n;
}

/* Pass 1 finds the finite rows and their mean, pass 2 writes them centred
 * in float64: both touch each element once, the dsyrk that follows touches it
 * D/2 times. A macro so float and double input share one body without a
 * per-element branch. */
#define DEFINE_PREPARE(name, T)                                                                 \
    static void name(Stage *st, int d, const T *x, size_t rows, size_t ld)                     \
    {                                                                                           \
        double *mean = st->mean;                                                                \
        int64_t nb = 0;                                                                         \
        memset(mean, 0, (size_t)d * sizeof *mean);                                              \
        for (size_t r = 0; r < rows; r++) {                                                     \
            const T *row = x + r * ld;                                                          \
            int bad = 0;                                                                        \
            for (int j = 0; j < d; j++) bad |= !(row[j] - row[j] == 0); /* NaN or Inf */       \
            st->keep[r] = !bad;                                                                 \
            if (bad) continue;                                                                  \
            nb++;                                                                               \
            for (int j = 0; j < d; j++) mean[j] += row[j];                                      \
        }                                                                                       \
        st->nb = nb;                                                                            \
        st->dropped = (int64_t)rows - nb;                                                       \
        if (nb == 0) return;                                                                    \
        double inv = 1.0 / (double)nb;                                                          \
        for (int j = 0; j < d; j++) mean[j] *= inv;                                             \
        double *y = st->y;                                                                      \
        for (size_t r = 0; r < rows; r++) {                                                     \
            if (!st->keep[r]) continue;                                                         \
            const T *row = x + r * ld;                                                          \
            for (int j = 0; j < d; j++) y[j] = (double)row[j] - mean[j];                        \
            y += d;                                                                             \
        }                                                                                       \
    }

DEFINE_PREPARE(prepareF32, float)
DEFINE_PREPARE(prepareF64, double)

/* Blocks are prepared and committed in turn. Overlapping the two (a helper
 * thread preparing block k+1 during block k's dsyrk) was measured on two
 * cores and gained nothing: dsyrk already keeps both cores busy. */
static int addRows(Covacc *acc, const void *x, size_t rows, size_t ld, int f64, Error *err)
{
    if (rows == 0) return 0;
    if (ld < (size_t)acc->dim)
        return errorSet(err, EXIT_RUNTIME, "covariance accumulator: row stride %zu below width %d", ld, acc->dim);
    Scratch *s = scratchGet(acc, err);
    if (!s) return -1;
    size_t br = (size_t)s->block_rows;
    for (size_t r0 = 0; r0 < rows; r0 += br) {
        size_t nr = rows - r0 < br ? rows - r0 : br;
        if (f64) prepareF64(&s->stage, acc->dim, (const double *)x + r0 * ld, nr, ld);
        else prepareF32(&s->stage, acc->dim, (const float *)x + r0 * ld, nr, ld);
        commit(acc, &s->stage);
    }
    return 0;
}

int covaccAddF32(Covacc *acc, const float *x, size_t rows, size_t ld, Error *err)
{
    return addRows(acc, x, rows, ld, 0, err);
}

int covaccAddF64(Covacc *acc, const double *x, size_t rows, size_t ld, Error *err)
{
    return addRows(acc, x, rows, ld, 1, err);
}

int covaccMerge(Covacc *dst, const Covacc *src, Error *err)
{
    if (dst->dim != src->dim)
        return errorSet(err, EXIT_INPUT, "cannot merge covariance statistics of width %d into width %d", src->dim,
                        dst->dim);
    dst->nonfinite_rows += src->nonfinite_rows;
    if (src->count == 0) return 0;
    int d = dst->dim;
    int64_t na = dst->count, nb = src->count, n = na + nb;
    double *delta = malloc((size_t)d * sizeof *delta);
    if (!delta) return errorNoMem(err, "covariance merge");
    for (int j = 0; j < d; j++) delta[j] = src->mean[j] - dst->mean[j];
    for (int i = 0; i < d; i++) {
        size_t o = (size_t)i * d + i;
        cblas_daxpy(d - i, 1.0, src->scatter + o, 1, dst->scatter + o, 1);
    }
    if (na > 0) cblas_dsyr(CblasRowMajor, CblasUpper, d, (double)na * (double)nb / (double)n, delta, 1, dst->scatter, d);
    double w = (double)nb / (double)n;
    for (int j = 0; j < d; j++) dst->mean[j] += delta[j] * w;
    dst->count = n;
    free(delta);
    return 0;
}

int covaccCovariance(const Covacc *acc, double *out, Error *err)
{
    if (acc->count < 2)
        return errorSet(err, EXIT_INPUT, "covariance needs at least 2 finite rows, got %lld", (long long)acc->count);
    int d = acc->dim;
    double inv = 1.0 / (double)(acc->count - 1);
    for (int i = 0; i < d; i++) {
        const double *src = acc->scatter + (size_t)i * d;
        double *row = out + (size_t)i * d;
        for (int j = i; j < d; j++) row[j] = src[j] * inv;
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) out[(size_t)i * d + j] = out[(size_t)j * d + i];
    return 0;
}

double *covaccTakeCovariance(Covacc *acc, Error *err)
{
    if (acc->count < 2)
        return errorSet(err, EXIT_INPUT, "covariance needs at least 2 finite rows, got %lld", (long long)acc->count),
               NULL;
    int d = acc->dim;
    double inv = 1.0 / (double)(acc->count - 1);
    for (int i = 0; i < d; i++) cblas_dscal(d - i, inv, acc->scatter + (size_t)i * d + i, 1);
    return acc->scatter;
}
