/* The covariance update ffnscope does (covaccAddF32: float32 rows widened to
 * float64, centred per block, one float64 dsyrk per block into the scatter)
 * against the alternative of accumulating each block in float32 (ssyrk of the
 * block's float32 rows centred on the block mean) and adding the block's
 * float32 scatter into the float64 scatter (the "promotion"), with the block
 * means merged in float64 (Chan et al.'s rank-1 correction, dsyr).
 *
 * usage: cov_f32_blocks ACTS.f32 N D BLOCK REPS OUT_PREFIX
 *   ACTS.f32: N x D float32, row-major. Times REPS updates of all N rows with
 *   each method, alternating, and writes the two covariances (upper triangle
 *   filled, divided by N - 1) as OUT_PREFIX.f64.bin and OUT_PREFIX.f32blk.bin.
 * Prints one JSON object: the median seconds of each method, the promotion's
 * share of the float32 method, and the rate against N D^2 multiply-adds. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ffnscope/covacc.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpDouble);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The float32-block accumulator: scatter S (upper, float64), mean, count. */
typedef struct Blk {
    int d, block;
    double *s, *mean, *bmean, *delta;
    float *y, *t;
    long n;
    double promote_s;
} Blk;

static int blkInit(Blk *b, int d, int block)
{
    memset(b, 0, sizeof *b);
    b->d = d;
    b->block = block;
    b->s = calloc((size_t)d * d, sizeof *b->s);
    b->mean = calloc((size_t)d, sizeof *b->mean);
    b->bmean = malloc((size_t)d * sizeof *b->bmean);
    b->delta = malloc((size_t)d * sizeof *b->delta);
    b->y = malloc((size_t)block * d * sizeof *b->y);
    b->t = malloc((size_t)d * d * sizeof *b->t);
    return b->s && b->mean && b->bmean && b->delta && b->y && b->t ? 0 : -1;
}

static void blkAdd(Blk *b, const float *x, long rows)
{
    int d = b->d;
    for (long r0 = 0; r0 < rows; r0 += b->block) {
        long nb = rows - r0 < b->block ? rows - r0 : b->block;
        const float *xb = x + (size_t)r0 * d;
        for (int j = 0; j < d; j++) b->bmean[j] = 0;
        for (long i = 0; i < nb; i++)
            for (int j = 0; j < d; j++) b->bmean[j] += xb[(size_t)i * d + j];
        for (int j = 0; j < d; j++) b->bmean[j] /= (double)nb;
        for (long i = 0; i < nb; i++)
            for (int j = 0; j < d; j++) b->y[(size_t)i * d + j] = (float)(xb[(size_t)i * d + j] - b->bmean[j]);
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)nb, 1.0f, b->y, d, 0.0f, b->t, d);
        double t0 = now();
        for (int i = 0; i < d; i++) {
            double *si = b->s + (size_t)i * d;
            const float *ti = b->t + (size_t)i * d;
            for (int j = i; j < d; j++) si[j] += ti[j];
        }
        b->promote_s += now() - t0;
        long na = b->n, n = na + nb;
        if (na > 0) {
            for (int j = 0; j < d; j++) b->delta[j] = b->bmean[j] - b->mean[j];
            cblas_dsyr(CblasRowMajor, CblasUpper, d, (double)na * (double)nb / (double)n, b->delta, 1, b->s, d);
        }
        for (int j = 0; j < d; j++) b->mean[j] += (b->bmean[j] - b->mean[j]) * (double)nb / (double)n;
        b->n = n;
    }
}

/* scale 0 leaves c as it is (covaccCovariance's output is final). */
static int writeCov(const char *path, double *c, int d, long n, int scale)
{
    for (int i = 0; scale && i < d; i++)
        for (int j = i; j < d; j++) {
            double v = c[(size_t)i * d + j] / (double)(n - 1);
            c[(size_t)i * d + j] = c[(size_t)j * d + i] = v;
        }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t ok = fwrite(c, sizeof *c, (size_t)d * d, f);
    return fclose(f) == 0 && ok == (size_t)d * d ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: cov_f32_blocks ACTS.f32 N D BLOCK REPS OUT_PREFIX\n");
        return 2;
    }
    long n = atol(argv[2]);
    int d = atoi(argv[3]), block = atoi(argv[4]), reps = atoi(argv[5]);
    float *x = malloc((size_t)n * d * sizeof *x);
    FILE *f = fopen(argv[1], "rb");
    if (!x || !f || fread(x, sizeof *x, (size_t)n * d, f) != (size_t)n * d) {
        fprintf(stderr, "cov_f32_blocks: %s: cannot read %ld x %d float32\n", argv[1], n, d);
        return 2;
    }
    fclose(f);
    double t64[64], t32[64], pr[64];
    if (reps > 64) reps = 64;
    Covacc *acc = covaccNew(d);
    Blk b;
    if (!acc || blkInit(&b, d, block)) return 1;
    Error err;
    for (int r = 0; r < reps; r++) {
        covaccReset(acc);
        double t0 = now();
        if (covaccAddF32(acc, x, (size_t)n, (size_t)d, &err)) return 1;
        t64[r] = now() - t0;
        memset(b.s, 0, (size_t)d * d * sizeof *b.s);
        memset(b.mean, 0, (size_t)d * sizeof *b.mean);
        b.n = 0;
        b.promote_s = 0;
        t0 = now();
        blkAdd(&b, x, n);
        t32[r] = now() - t0;
        pr[r] = b.promote_s;
    }
    char path[4096];
    double *c = malloc((size_t)d * d * sizeof *c);
    if (!c || covaccCovariance(acc, c, &err)) return 1;
    snprintf(path, sizeof path, "%s.f64.bin", argv[6]);
    if (writeCov(path, c, d, n, 0)) return 1;
    snprintf(path, sizeof path, "%s.f32blk.bin", argv[6]);
    if (writeCov(path, b.s, d, b.n, 1)) return 1;
    double m64 = median(t64, reps), m32 = median(t32, reps), mp = median(pr, reps);
    double flop = (double)n * d * (double)d; /* syrk: N D (D + 1) / 2 multiply-adds, 2 FLOP each */
    printf("{\"n\": %ld, \"d\": %d, \"block\": %d, \"reps\": %d, \"f64_s\": %.4f, \"f32blk_s\": %.4f, "
           "\"promote_s\": %.4f, \"f64_gflops\": %.1f, \"f32blk_gflops\": %.1f, \"f64_runs\": [", n, d, block, reps,
           m64, m32, mp, flop / m64 * 1e-9, flop / m32 * 1e-9);
    for (int r = 0; r < reps; r++) printf("%s%.4f", r ? ", " : "", t64[r]);
    printf("], \"f32blk_runs\": [");
    for (int r = 0; r < reps; r++) printf("%s%.4f", r ? ", " : "", t32[r]);
    printf("]}\n");
    return 0;
}
