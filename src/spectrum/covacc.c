#include "ffnscope/covacc.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each batch is split into blocks of at most this many rows. One block costs a
 * dsyrk of rows*D^2/2 multiply-adds plus O(D^2) for the Chan update; at 2048
 * rows the update and the two passes over the block are a few percent of the
 * syrk, and dsyrk is near its best rate from ~1000 rows on (bench numbers in
 * BENCHMARKS.md). The float64 block buffer is capped so wide layers do not
 * need hundreds of MB of scratch. */
#define BLOCK_ROWS 2048
#define BLOCK_MIN_ROWS 256
#define BLOCK_MAX_BYTES ((size_t)32 << 20)

typedef struct Scratch {
    int block_rows;
    double *y;         /* [block_rows, D] centred float64 copy of one block */
    double *sum;       /* [D] block sum, then block mean */
    double *delta;     /* [D] block mean minus running mean */
    unsigned char *keep; /* [block_rows] row is finite */
} Scratch;

int covaccBatchRows(int dim)
{
    size_t cap = BLOCK_MAX_BYTES / ((size_t)(dim > 0 ? dim : 1) * sizeof(double));
    if (cap > BLOCK_ROWS) cap = BLOCK_ROWS;
    if (cap < BLOCK_MIN_ROWS) cap = BLOCK_MIN_ROWS;
    return (int)cap;
}

Covacc *covaccNew(int dim)
{
    if (dim <= 0) return NULL;
    Covacc *acc = calloc(1, sizeof *acc);
    if (!acc) return NULL;
    acc->dim = dim;
    acc->mean = calloc((size_t)dim, sizeof *acc->mean);
    acc->scatter = calloc((size_t)dim * dim, sizeof *acc->scatter);
    if (!acc->mean || !acc->scatter) {
        covaccFree(acc);
        return NULL;
    }
    return acc;
}

static void scratchFree(Covacc *acc)
{
    Scratch *s = acc->scratch;
    if (!s) return;
    free(s->y);
    free(s->sum);
    free(s->delta);
    free(s->keep);
    free(s);
    acc->scratch = NULL;
    acc->scratch_len = 0;
}

void covaccFree(Covacc *acc)
{
    if (!acc) return;
    scratchFree(acc);
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
    if (acc->scratch) return acc->scratch;
    size_t d = (size_t)acc->dim;
    Scratch *s = calloc(1, sizeof *s);
    if (!s) return errorNoMem(err, "covariance accumulator"), NULL;
    s->block_rows = covaccBatchRows(acc->dim);
    s->y = malloc((size_t)s->block_rows * d * sizeof *s->y);
    s->sum = malloc(d * sizeof *s->sum);
    s->delta = malloc(d * sizeof *s->delta);
    s->keep = malloc((size_t)s->block_rows);
    acc->scratch = s;
    if (!s->y || !s->sum || !s->delta || !s->keep) {
        scratchFree(acc);
        return errorNoMem(err, "covariance accumulator"), NULL;
    }
    acc->scratch_len = (size_t)s->block_rows * d * sizeof *s->y + 2 * d * sizeof *s->sum + (size_t)s->block_rows;
    return s;
}

/* Chan et al.: the block's centred scatter is already in acc->scatter (dsyrk
 * added it); fold in the shift between the two means. Upper triangle only. */
static void chanUpdate(Covacc *acc, const double *block_mean, int64_t nb)
{
    int d = acc->dim;
    int64_t na = acc->count, n = na + nb;
    double *delta = ((Scratch *)acc->scratch)->delta;
    for (int j = 0; j < d; j++) delta[j] = block_mean[j] - acc->mean[j];
    if (na > 0) cblas_dsyr(CblasRowMajor, CblasUpper, d, (double)na * (double)nb / (double)n, delta, 1, acc->scatter, d);
    double w = (double)nb / (double)n;
    for (int j = 0; j < d; j++) acc->mean[j] += delta[j] * w;
    acc->count = n;
}

/* One block of at most block_rows rows, already known to fit the scratch.
 * Pass 1 finds finite rows and their sum, pass 2 writes centred float64 rows,
 * then one dsyrk adds their scatter. The macro keeps the float and double
 * sources in one body without a per-element branch. */
#define ADD_BLOCK(T, acc, x, rows, ld)                                                                   \
    do {                                                                                                 \
        Scratch *s_ = (acc)->scratch;                                                                    \
        int d_ = (acc)->dim;                                                                             \
        double *sum_ = s_->sum;                                                                          \
        int64_t nb_ = 0;                                                                                 \
        memset(sum_, 0, (size_t)d_ * sizeof *sum_);                                                      \
        for (size_t r_ = 0; r_ < (rows); r_++) {                                                         \
            const T *row_ = (x) + r_ * (ld);                                                             \
            int bad_ = 0;                                                                                \
            for (int j_ = 0; j_ < d_; j_++) bad_ |= !(row_[j_] - row_[j_] == 0);                         \
            s_->keep[r_] = !bad_;                                                                        \
            if (bad_) continue;                                                                          \
            nb_++;                                                                                       \
            for (int j_ = 0; j_ < d_; j_++) sum_[j_] += row_[j_];                                        \
        }                                                                                                \
        (acc)->nonfinite_rows += (int64_t)(rows) - nb_;                                                  \
        if (nb_ == 0) break;                                                                             \
        double inv_ = 1.0 / (double)nb_;                                                                 \
        for (int j_ = 0; j_ < d_; j_++) sum_[j_] *= inv_;                                                \
        double *yr_ = s_->y;                                                                             \
        for (size_t r_ = 0; r_ < (rows); r_++) {                                                         \
            if (!s_->keep[r_]) continue;                                                                 \
            const T *row_ = (x) + r_ * (ld);                                                             \
            for (int j_ = 0; j_ < d_; j_++) yr_[j_] = (double)row_[j_] - sum_[j_];                       \
            yr_ += d_;                                                                                   \
        }                                                                                                \
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d_, (int)nb_, 1.0, s_->y, d_, 1.0,            \
                    (acc)->scatter, d_);                                                                 \
        chanUpdate((acc), sum_, nb_);                                                                    \
    } while (0)

int covaccAddF32(Covacc *acc, const float *x, size_t rows, size_t ld, Error *err)
{
    if (rows == 0) return 0;
    if (ld < (size_t)acc->dim)
        return errorSet(err, EXIT_RUNTIME, "covariance accumulator: row stride %zu below width %d", ld, acc->dim);
    Scratch *s = scratchGet(acc, err);
    if (!s) return -1;
    for (size_t r0 = 0; r0 < rows; r0 += (size_t)s->block_rows) {
        size_t nr = rows - r0 < (size_t)s->block_rows ? rows - r0 : (size_t)s->block_rows;
        ADD_BLOCK(float, acc, x + r0 * ld, nr, ld);
    }
    return 0;
}

int covaccAddF64(Covacc *acc, const double *x, size_t rows, size_t ld, Error *err)
{
    if (rows == 0) return 0;
    if (ld < (size_t)acc->dim)
        return errorSet(err, EXIT_RUNTIME, "covariance accumulator: row stride %zu below width %d", ld, acc->dim);
    Scratch *s = scratchGet(acc, err);
    if (!s) return -1;
    for (size_t r0 = 0; r0 < rows; r0 += (size_t)s->block_rows) {
        size_t nr = rows - r0 < (size_t)s->block_rows ? rows - r0 : (size_t)s->block_rows;
        ADD_BLOCK(double, acc, x + r0 * ld, nr, ld);
    }
    return 0;
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
