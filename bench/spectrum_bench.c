/* Arithmetic rates behind bench/spectrum.sh and bench/vs_torch.sh.
 *
 *   spectrum_bench peaks                  sgemm and dgemm at 4096^3 (best of 3)
 *   spectrum_bench covacc D ROWS REPS     covaccAddF32 of ROWS x D float32 rows
 *   spectrum_bench eigen D REPS [onestage]
 *                                         eigenSymmetric (values only), median; with
 *                                         onestage: LAPACKE_dsyevd at the current BLAS
 *                                         thread count, what eigenSymmetric used to call
 *   spectrum_bench capture MODEL TOKENS SEQ_LEN BATCH
 *                                         forward alone, then forward + covariance
 *                                         capture of every layer's post site
 * Each prints one JSON object. Threads: OPENBLAS_NUM_THREADS, else all cores. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ffnscope/covacc.h"
#include "ffnscope/eigen.h"
#include "ffnscope/model.h"
#include "util/threads.h"

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

static double gemmRate(int dbl, int n, int reps)
{
    size_t sz = (size_t)n * n;
    void *a = malloc(sz * 8), *b = malloc(sz * 8), *c = malloc(sz * 8);
    if (!a || !b || !c) return 0;
    for (size_t i = 0; i < sz; i++) {
        if (dbl) ((double *)a)[i] = ((double *)b)[i] = (double)((i * 7) % 13) * 0.01;
        else ((float *)a)[i] = ((float *)b)[i] = (float)((i * 7) % 13) * 0.01f;
    }
    double best = 0;
    for (int r = 0; r <= reps; r++) {
        double t = now();
        if (dbl) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t = now() - t;
        double rate = 2.0 * n * n * (double)n / t / 1e9;
        if (r > 0 && rate > best) best = rate;
    }
    free(a), free(b), free(c);
    return best;
}

static float gauss(void)
{
    double u = (rand() + 1.0) / (RAND_MAX + 2.0), v = (rand() + 1.0) / (RAND_MAX + 2.0);
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

typedef struct CaptureCtx {
    Covacc **acc;
    int do_cov;
} CaptureCtx;

static int feed(void *ctx, int layer, Site site, const float *acts, size_t rows, int width, Error *err)
{
    CaptureCtx *c = ctx;
    (void)site;
    if (!c->do_cov) {
        volatile float last = acts[rows * (size_t)width - 1];
        (void)last;
        return 0;
    }
    return covaccAddF32(c->acc[layer], acts, rows, (size_t)width, err);
}

static int capture(const char *path, int tokens, int T, int B)
{
    Error err = {0};
    Model *m;
    if (modelOpen(path, NULL, &m, &err)) {
        fprintf(stderr, "spectrum_bench: %s\n", err.msg);
        return err.code;
    }
    const ModelInfo *in = modelInfo(m);
    int rows = B * T, L = in->n_layers, n_batches = tokens / rows;
    uint8_t *cap = calloc((size_t)L, 1);
    int32_t *ids = malloc(sizeof *ids * (size_t)rows);
    Covacc **acc = calloc((size_t)L, sizeof *acc);
    if (!cap || !ids || !acc) return 1;
    for (int l = 0; l < L; l++) {
        cap[l] = SITE_BIT(SITE_POST);
        if (!(acc[l] = covaccNew(in->ffn_width))) return 1;
    }
    double t_pass[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        CaptureCtx ctx = {acc, pass};
        srand(1);
        for (int b = 0; b < n_batches; b++) {
            for (int i = 0; i < rows; i++) ids[i] = rand() % in->vocab_size;
            double t = now();
            if (modelForward(m, ids, B, T, cap, feed, &ctx, &err)) {
                fprintf(stderr, "spectrum_bench: %s\n", err.msg);
                return err.code;
            }
            t_pass[pass] += now() - t;
        }
    }
    /* Useful FLOPs with `post` captured at every layer (the last layer's down
     * projection is skipped, nothing reads it): projections, both attention
     * products over full T x T squares, the FFN; the covariance update is a
     * syrk, rows * D * (D + 1) per layer. */
    double d = in->d_model, D = in->ffn_width, R = (double)rows * n_batches;
    double kvd = d * in->n_kv_heads / in->n_heads;
    int llama = !strcmp(in->family, "llama");
    double attn = 2 * R * d * (d + 2 * kvd) + 2 * 2 * R * T * d + 2 * R * d * d;
    double up = (llama ? 2 : 1) * 2 * R * d * D, down = 2 * R * D * d;
    double fwd = L * (attn + up) + (L - 1) * down;
    double cov = L * R * D * (D + 1);
    printf("{\"family\": \"%s\", \"tokens\": %.0f, \"forward_s\": %.3f, \"forward_gflop\": %.1f, "
           "\"capture_s\": %.3f, \"capture_gflop\": %.1f}\n",
           in->family, R, t_pass[0], fwd / 1e9, t_pass[1], (fwd + cov) / 1e9);
    for (int l = 0; l < L; l++) covaccFree(acc[l]);
    free(acc), free(cap), free(ids);
    modelFree(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "peaks")) {
        printf("{\"threads\": %d, \"sgemm_gflops\": %.1f, \"dgemm_gflops\": %.1f}\n", openblas_get_num_threads(),
               gemmRate(0, 4096, 3), gemmRate(1, 4096, 3));
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "covacc")) {
        int D = atoi(argv[2]), rows = atoi(argv[3]), reps = atoi(argv[4]);
        threadsBlasSingle(); /* as ffnscope runs it: the accumulator splits the update itself */
        float *x = malloc(sizeof *x * (size_t)rows * D);
        Covacc *acc = covaccNew(D);
        Error err = {0};
        if (!x || !acc) return 1;
        srand(2);
        for (size_t i = 0; i < (size_t)rows * D; i++) x[i] = gauss();
        covaccAddF32(acc, x, (size_t)rows, (size_t)D, &err); /* warm-up: scratch, BLAS threads */
        double t = now();
        for (int r = 0; r < reps; r++)
            if (covaccAddF32(acc, x, (size_t)rows, (size_t)D, &err)) return 1;
        t = (now() - t) / reps;
        printf("{\"D\": %d, \"rows\": %d, \"seconds\": %.4f, \"gflops\": %.1f}\n", D, rows, t,
               (double)rows * D * (D + 1.0) / t / 1e9);
        return 0;
    }
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "eigen")) {
        int D = atoi(argv[2]), reps = atoi(argv[3]), onestage = argc == 5 && !strcmp(argv[4], "onestage");
        int n = 2 * D;
        float *x = malloc(sizeof *x * (size_t)n * D);
        Covacc *acc = covaccNew(D);
        double *c = malloc(sizeof *c * (size_t)D * D), *a = malloc(sizeof *a * (size_t)D * D);
        double *eig = malloc(sizeof *eig * (size_t)D), *ts = malloc(sizeof *ts * (size_t)reps);
        Error err = {0};
        if (!x || !acc || !c || !a || !eig || !ts) return 1;
        srand(3);
        for (size_t i = 0; i < (size_t)n * D; i++) x[i] = gauss();
        if (covaccAddF32(acc, x, (size_t)n, (size_t)D, &err) || covaccCovariance(acc, c, &err)) return 1;
        for (int r = 0; r < reps; r++) {
            memcpy(a, c, sizeof *a * (size_t)D * D);
            double t = now();
            if (onestage ? LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', D, a, D, eig) != 0
                         : eigenSymmetric(a, D, eig, &err)) {
                fprintf(stderr, "spectrum_bench: %s\n", err.msg);
                return 1;
            }
            ts[r] = now() - t;
        }
        qsort(ts, (size_t)reps, sizeof *ts, cmpDouble);
        printf("{\"D\": %d, \"reps\": %d, \"median_s\": %.4f, \"min_s\": %.4f}\n", D, reps, ts[reps / 2], ts[0]);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "capture")) return capture(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: spectrum_bench peaks | covacc D ROWS REPS | eigen D REPS | capture MODEL TOKENS SEQ_LEN BATCH\n");
    return 2;
}
