/* The cost of widening quantized GGUF weights next to the matrix product
 * they feed (bench/quant.sh).
 *
 *   quant_bench ROWS D_IN D_OUT REPS
 *
 * For each readable ggml type: the median time of ggmlDequantRows over a
 * whole [D_OUT, D_IN] weight matrix (one thread: the decoders are serial),
 * against the median of cblas_sgemm of ROWS activation rows with it
 * (X[ROWS, D_IN] times W^T, at OPENBLAS_NUM_THREADS). The blocks are random
 * bytes with finite f16 scales. Prints one JSON object. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/ggml_quant.h"
#include "util/half.h"

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

/* Where each block keeps its f16 scales (ggml-common.h), to make them finite. */
static const struct { uint32_t type; int d_at, m_at; } kTypes[] = {
    {GGML_TYPE_F16, -1, -1},   {GGML_TYPE_BF16, -1, -1},  {GGML_TYPE_Q8_0, 0, -1},  {GGML_TYPE_Q4_0, 0, -1},
    {GGML_TYPE_Q4_1, 0, 2},    {GGML_TYPE_Q5_0, 0, -1},   {GGML_TYPE_Q5_1, 0, 2},   {GGML_TYPE_Q2_K, 80, 82},
    {GGML_TYPE_Q3_K, 108, -1}, {GGML_TYPE_Q4_K, 0, 2},    {GGML_TYPE_Q5_K, 0, 2},   {GGML_TYPE_Q6_K, 208, -1},
    {GGML_TYPE_IQ4_NL, 0, -1}, {GGML_TYPE_IQ4_XS, 0, -1},
};

static uint64_t rngState = 0x9E3779B97F4A7C15ull;
static uint32_t nextRandom(void)
{
    rngState = rngState * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rngState >> 33);
}

static void putScale(unsigned char *p)
{
    uint16_t h = halfFromF32((float)(nextRandom() % 1000 + 1) * 1e-5f);
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: quant_bench ROWS D_IN D_OUT REPS\n");
        return 2;
    }
    int rows = atoi(argv[1]), d_in = atoi(argv[2]), d_out = atoi(argv[3]), reps = atoi(argv[4]);
    if (rows <= 0 || d_in <= 0 || d_in % 256 || d_out <= 0 || reps <= 0 || reps > 100) {
        fprintf(stderr, "quant_bench: ROWS, D_OUT > 0, D_IN a multiple of 256, 1 <= REPS <= 100\n");
        return 2;
    }
    size_t nw = (size_t)d_out * (size_t)d_in;
    float *x = malloc((size_t)rows * d_in * sizeof *x), *w = malloc(nw * sizeof *w);
    float *y = malloc((size_t)rows * d_out * sizeof *y);
    unsigned char *q = malloc(nw * 4);
    double *t = malloc((size_t)reps * sizeof *t);
    if (!x || !w || !y || !q || !t) {
        fprintf(stderr, "quant_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)rows * d_in; i++) x[i] = (float)(nextRandom() % 2001) * 1e-3f - 1.0f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)(nextRandom() % 2001) * 1e-3f - 1.0f;

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, d_out, d_in, 1.0f, x, d_in, w, d_in, 0.0f, y, d_out);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, d_out, d_in, 1.0f, x, d_in, w, d_in, 0.0f, y,
                    d_out);
        t[r] = now() - t0;
    }
    double sgemm = median(t, reps);
    printf("{\"rows\": %d, \"d_in\": %d, \"d_out\": %d, \"reps\": %d, \"sgemm_s\": %.6f, \"sgemm_gflops\": %.1f, "
           "\"types\": [",
           rows, d_in, d_out, reps, sgemm, 2.0 * rows * (double)d_in * d_out / sgemm / 1e9);
    for (size_t k = 0; k < sizeof kTypes / sizeof kTypes[0]; k++) {
        uint32_t type = kTypes[k].type;
        int qk = ggmlBlockElements(type), bytes = ggmlBlockBytes(type);
        size_t nblocks = nw / (size_t)qk, nbytes = nblocks * (size_t)bytes;
        for (size_t i = 0; i < nbytes; i++) q[i] = (unsigned char)nextRandom();
        if (type == GGML_TYPE_F16 || type == GGML_TYPE_BF16)
            for (size_t i = 0; i < nw; i++) {
                uint16_t h = type == GGML_TYPE_F16 ? halfFromF32(w[i]) : bf16FromF32(w[i]);
                q[2 * i] = (unsigned char)h;
                q[2 * i + 1] = (unsigned char)(h >> 8);
            }
        for (size_t b = 0; b < nblocks && kTypes[k].d_at >= 0; b++) {
            putScale(q + b * bytes + kTypes[k].d_at);
            if (kTypes[k].m_at >= 0) putScale(q + b * bytes + kTypes[k].m_at);
        }
        ggmlDequantRows(type, q, d_in, 0, d_out, w, NULL); /* first touch of w and q */
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            ggmlDequantRows(type, q, d_in, 0, d_out, w, NULL);
            t[r] = now() - t0;
        }
        double s = median(t, reps);
        printf("%s{\"type\": \"%s\", \"bytes\": %zu, \"dequant_s\": %.6f, \"melem_per_s\": %.1f, \"of_sgemm\": %.4f}",
               k ? ", " : "", ggmlTypeName(type), nbytes, s, (double)nw / s / 1e6, s / sgemm);
    }
    printf("]}\n");
    free(x), free(w), free(y), free(q), free(t);
    return 0;
}
