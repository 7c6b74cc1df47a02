#include "model/ops.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The elementwise kernels are compiled twice, for AVX2 and for the
 * baseline, and picked at load time: a release build stays portable while the
 * GELU/SiLU/softmax loops run 8 floats wide where the CPU allows. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define OPS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define OPS_CLONES
#endif
/* GCC keeps float compares as branches (and so leaves the loops scalar) while
 * they might raise FP exceptions; nothing here reads the exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* exp(x) for float, within 2 ulp over the normal range, written without calls
 * or branches so loops around it vectorise (libm's expf/tanhf calls were a
 * sixth of the forward time). Range reduction x = n ln2 + r with ln2 split in
 * two, a degree-6 polynomial for e^r on [-ln2/2, ln2/2] (Cephes' expf
 * coefficients), and 2^n built in the exponent bits. Inputs are clamped so
 * 2^n stays a normal number: below -87.3 the result is ~1e-38, not 0. */
static inline float expApprox(float x0)
{
    /* Written so NaN clamps too (every comparison with NaN is false): a NaN
     * reaching the int conversion below would be undefined behaviour. NaN in,
     * NaN out, restored at the end. */
    float x = x0 > -87.3f ? x0 : -87.3f;
    x = x < 88.3f ? x : 88.3f;
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x0 == x0 ? p * scale : x0;
}

void opsLinear(const float *x, int rows, int in, const float *w, const float *b, int out,
               float *y, int ldy, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, in, 1.0f, x, in, w, in,
                accumulate ? 1.0f : 0.0f, y, ldy);
    if (!b) return;
    for (int r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * ldy;
        for (int j = 0; j < out; j++) yr[j] += b[j];
    }
}

/* Row statistics in double: the rows are short and this keeps the result
 * independent of summation order, at no measurable cost. */
void opsLayerNorm(const float *x, float *y, int rows, int n, const float *g, const float *b,
                  float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double s = 0;
        for (int j = 0; j < n; j++) s += xr[j];
        double mean = s / n, v = 0;
        for (int j = 0; j < n; j++) v += (xr[j] - mean) * (xr[j] - mean);
        float inv = (float)(1.0 / sqrt(v / n + eps));
        float m = (float)mean;
        for (int j = 0; j < n; j++) yr[j] = (xr[j] - m) * inv * g[j] + b[j];
    }
}

void opsRmsNorm(const float *x, float *y, int rows, int n, const float *g, float eps)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double)xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / n + eps));
        for (int j = 0; j < n; j++) yr[j] = xr[j] * inv * g[j];
    }
}

void opsL2Normalize(float *x, int count, int n, int ld)
{
    for (int c = 0; c < count; c++) {
        float *xc = x + (size_t)c * ld;
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double)xc[j] * xc[j];
        /* No epsilon, as the reference divides by the plain norm. */
        float inv = (float)(1.0 / sqrt(ss));
        for (int j = 0; j < n; j++) xc[j] *= inv;
    }
}

/* Row i of a causal score matrix: softmax over columns 0..i, zeros after, so
 * the following P V sgemm can run over the full square. */
OPS_CLONES static void softmaxCausal(float *s, int t)
{
    for (int i = 0; i < t; i++) {
        float *row = s + (size_t)i * t;
        float mx = row[0];
        for (int j = 1; j <= i; j++)
            if (row[j] > mx) mx = row[j];
        float sum = 0;
        for (int j = 0; j <= i; j++) {
            row[j] = expApprox(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j <= i; j++) row[j] *= inv;
        for (int j = i + 1; j < t; j++) row[j] = 0.0f;
    }
}

void opsAttention(const AttnArgs *a, float *scores)
{
    int t = a->seq_len, hd = a->head_dim, group = a->n_heads / a->n_kv_heads;
    for (int s = 0; s < a->batch; s++) {
        size_t row0 = (size_t)s * t;
        for (int h = 0; h < a->n_heads; h++) {
            int kvh = h / group;
            const float *q = a->q + row0 * a->ldq + (size_t)h * hd;
            const float *k = a->k + row0 * a->ldk + (size_t)kvh * hd;
            const float *v = a->v + row0 * a->ldv + (size_t)kvh * hd;
            float *o = a->o + row0 * a->ldo + (size_t)h * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hd, a->scale, q, a->ldq, k,
                        a->ldk, 0.0f, scores, t);
            softmaxCausal(scores, t);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hd, t, 1.0f, scores, t, v,
                        a->ldv, 0.0f, o, a->ldo);
        }
    }
}

/* 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
 * the same function with one exp and no cancellation near tanh = -1. */
OPS_CLONES void opsGeluTanh(const float *x, float *y, size_t n)
{
    const float c2 = -2.0f * 0.7978845608028654f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v / (1.0f + expApprox(c2 * (v + 0.044715f * v * v * v)));
    }
}

void opsGeluErf(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void opsRelu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

OPS_CLONES void opsSilu(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expApprox(-x[i]));
}

static void initThreadsOnce(void)
{
    const char *e = getenv("OPENBLAS_NUM_THREADS");
    if (!e || !*e) e = getenv("OMP_NUM_THREADS");
    /* OpenBLAS read the variable itself at load time; only the default needs setting. */
    if (e && atoi(e) > 0) return;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(n > 0 ? (int)n : 1);
}

void opsInitThreads(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, initThreadsOnce);
}
