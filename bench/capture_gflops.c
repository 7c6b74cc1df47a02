/* Arithmetic throughput behind bench/capture_throughput.sh: the machine's
 * sgemm peak (large square products and the model's own projection shape)
 * and ffnscope's forward pass alone (no capture) on a GPT-2 checkpoint,
 * counted in useful FLOPs.
 *
 * usage: capture_gflops MODEL TOKENS SEQ_LEN BATCH
 * Prints one JSON object. Threads: OPENBLAS_NUM_THREADS, else all cores. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ffnscope/model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best of `reps` timed runs after one warm-up, C[m,n] = A[m,k] B[n,k]^T. */
static double sgemmRate(int m, int n, int k, int reps)
{
    float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)n * k);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    if (!a || !b || !c) return 0;
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)((i * 7) % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)n * k; i++) b[i] = (float)((i * 5) % 11) * 0.01f;
    double best = 0;
    for (int r = 0; r <= reps; r++) {
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
        t = now() - t;
        double rate = 2.0 * m * n * k / t / 1e9;
        if (r > 0 && rate > best) best = rate;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static int sink(void *ctx, int layer, Site site, const float *acts, size_t rows, int width, Error *err)
{
    (void)ctx, (void)layer, (void)site, (void)err;
    volatile float last = acts[rows * (size_t)width - 1];
    (void)last;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: capture_gflops MODEL TOKENS SEQ_LEN BATCH\n");
        return 2;
    }
    int tokens = atoi(argv[2]), T = atoi(argv[3]), B = atoi(argv[4]);
    Error err = {0};
    Model *m;
    if (modelOpen(argv[1], NULL, &m, &err)) {
        fprintf(stderr, "capture_gflops: %s\n", err.msg);
        return err.code;
    }
    const ModelInfo *in = modelInfo(m);
    if (strcmp(in->family, "gpt2")) {
        fprintf(stderr, "capture_gflops: counts FLOPs for gpt2 only\n");
        return 2;
    }
    double peak_sq = sgemmRate(4096, 4096, 4096, 3);
    int rows = B * T;
    double peak_shape = sgemmRate(rows, in->ffn_width, in->d_model, 5);

    uint8_t *cap = calloc((size_t)in->n_layers, 1);
    int32_t *ids = malloc(sizeof *ids * (size_t)rows);
    if (!cap || !ids) return 1;
    for (int l = 0; l < in->n_layers; l++) cap[l] = SITE_BIT(SITE_POST);
    int n_batches = tokens / rows;
    srand(1);
    double t_fwd = 0;
    for (int b = 0; b < n_batches; b++) {
        for (int i = 0; i < rows; i++) ids[i] = rand() % in->vocab_size;
        double t = now();
        if (modelForward(m, ids, B, T, cap, sink, NULL, &err)) {
            fprintf(stderr, "capture_gflops: %s\n", err.msg);
            return err.code;
        }
        t_fwd += now() - t;
    }
    /* What the forward computes for all layers with `post` captured: per layer
     * QKV, both attention products over full T x T squares, the output
     * projection and c_fc; c_proj everywhere but the last layer. */
    double d = in->d_model, D = in->ffn_width, L = in->n_layers, R = (double)rows * n_batches;
    double per_layer = 2 * R * d * 3 * d + 2 * 2 * R * T * d + 2 * R * d * d + 2 * R * d * D;
    double flops = L * per_layer + (L - 1) * 2 * R * D * d;
    printf("{\"threads\": %d, \"sgemm_peak_4096\": %.1f, \"sgemm_model_shape\": %.1f, \"forward_tokens\": %.0f, "
           "\"forward_s\": %.3f, \"forward_gflop\": %.1f, \"forward_gflops\": %.1f}\n",
           openblas_get_num_threads(), peak_sq, peak_shape, R, t_fwd, flops / 1e9, flops / t_fwd / 1e9);
    free(cap);
    free(ids);
    modelFree(m);
    return 0;
}
