#include "model/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/pool.h"

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

/* Items per part below which a loop stays on one thread: a wake-up costs
 * microseconds, a part of this size tens of them. */
#define GRAIN_ELEMS 32768

typedef struct LinearTask {
    const float *x, *w, *b;
    int in, out, ldy;
    float beta;
    float *y;
} LinearTask;

static void linearRows(void *arg, size_t r0, size_t r1, int part)
{
    (void)part;
    const LinearTask *t = arg;
    const float *b = t->b;
    int out = t->out;
    float *y = t->y + r0 * (size_t)t->ldy;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), out, t->in, 1.0f, t->x + r0 * (size_t)t->in,
                t->in, t->w, t->in, t->beta, y, t->ldy);
    if (!b) return;
    for (size_t r = r0; r < r1; r++, y += t->ldy)
        for (int j = 0; j < out; j++) y[j] += b[j];
}

/* Rows per part: below this each thread's sgemm loses speed to packing the
 * weights, which every part does for itself. */
#define LINEAR_GRAIN_ROWS 256

void opsLinear(Pool *pool, const float *x, int rows, int in, const float *w, const float *b, int out,
               float *y, int ldy, int accumulate)
{
    LinearTask t = {x, w, b, in, out, ldy, accumulate ? 1.0f : 0.0f, y};
    poolRun(pool, (size_t)rows, LINEAR_GRAIN_ROWS, linearRows, &t);
}

typedef struct NormTask {
    const float *x;
    float *y;
    int n;
    const float *g, *b;
    float eps;
} NormTask;

/* Row statistics in double: the rows are short and this keeps the result
 * independent of summation order, at no measurable cost. */
static void layerNormRows(void *arg, size_t r0, size_t r1, int part)
{
    (void)part;
    const NormTask *t = arg;
    const float *g = t->g, *b = t->b;
    int n = t->n;
    for (size_t r = r0; r < r1; r++) {
        const float *xr = t->x + r * n;
        float *yr = t->y + r * n;
        double s = 0;
        for (int j = 0; j < n; j++) s += xr[j];
        double mean = s / n, v = 0;
        for (int j = 0; j < n; j++) v += (xr[j] - mean) * (xr[j] - mean);
        float inv = (float)(1.0 / sqrt(v / n + t->eps));
        float m = (float)mean;
        if (b)
            for (int j = 0; j < n; j++) yr[j] = (xr[j] - m) * inv * g[j] + b[j];
        else
            for (int j = 0; j < n; j++) yr[j] = (xr[j] - m) * inv * g[j];
    }
}

void opsLayerNorm(Pool *pool, const float *x, float *y, int rows, int n, const float *g, const float *b,
                  float eps)
{
    NormTask t = {x, y, n, g, b, eps};
    poolRun(pool, (size_t)rows, GRAIN_ELEMS / (size_t)n + 1, layerNormRows, &t);
}

static void rmsNormRows(void *arg, size_t r0, size_t r1, int part)
{
    (void)part;
    const NormTask *t = arg;
    const float *g = t->g;
    int n = t->n;
    for (size_t r = r0; r < r1; r++) {
        const float *xr = t->x + r * n;
        float *yr = t->y + r * n;
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double)xr[j] * xr[j];
        float inv = (float)(1.0 / sqrt(ss / n + t->eps));
        for (int j = 0; j < n; j++) yr[j] = xr[j] * inv * g[j];
    }
}

void opsRmsNorm(Pool *pool, const float *x, float *y, int rows, int n, const float *g, float eps)
{
    NormTask t = {x, y, n, g, NULL, eps};
    poolRun(pool, (size_t)rows, GRAIN_ELEMS / (size_t)n + 1, rmsNormRows, &t);
}

typedef struct L2Task {
    float *x;
    int n, ld;
} L2Task;

static void l2Rows(void *arg, size_t c0, size_t c1, int part)
{
    (void)part;
    const L2Task *t = arg;
    int n = t->n;
    for (size_t c = c0; c < c1; c++) {
        float *xc = t->x + c * (size_t)t->ld;
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double)xc[j] * xc[j];
        /* No epsilon, as the reference divides by the plain norm. */
        float inv = (float)(1.0 / sqrt(ss));
        for (int j = 0; j < n; j++) xc[j] *= inv;
    }
}

void opsL2Normalize(Pool *pool, float *x, int count, int n, int ld)
{
    L2Task t = {x, n, ld};
    poolRun(pool, (size_t)count, GRAIN_ELEMS / (size_t)n + 1, l2Rows, &t);
}

/* Row i of a causal score matrix: softmax over columns lo..i (lo = 0, or
 * i-window+1 with a sliding window), zeros elsewhere, so the following P V
 * sgemm can run over the full square. */
OPS_CLONES static void softmaxCausal(float *s, int t, int window)
{
    for (int i = 0; i < t; i++) {
        float *row = s + (size_t)i * t;
        int lo = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
        for (int j = 0; j < lo; j++) row[j] = 0.0f;
        float mx = row[lo];
        for (int j = lo + 1; j <= i; j++)
            if (row[j] > mx) mx = row[j];
        float sum = 0;
        for (int j = lo; j <= i; j++) {
            row[j] = expApprox(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = lo; j <= i; j++) row[j] *= inv;
        for (int j = i + 1; j < t; j++) row[j] = 0.0f;
    }
}

static void softcapScores(float *s, int t, float cap)
{
    float inv = 1.0f / cap;
    for (int i = 0; i < t; i++)
        for (int j = 0; j <= i; j++) s[(size_t)i * t + j] = cap * tanhf(s[(size_t)i * t + j] * inv);
}

typedef struct AttnTask {
    const AttnArgs *a;
    float *scores;
} AttnTask;

/* Items are (sequence, head) pairs; each part has its own score square. */
static void attendHeads(void *arg, size_t i0, size_t i1, int part)
{
    const AttnTask *task = arg;
    const AttnArgs *a = task->a;
    int t = a->seq_len, hd = a->head_dim, group = a->n_heads / a->n_kv_heads;
    float *scores = task->scores + (size_t)part * t * t;
    for (size_t i = i0; i < i1; i++) {
        size_t row0 = i / (size_t)a->n_heads * t;
        int h = (int)(i % (size_t)a->n_heads), kvh = h / group;
        const float *q = a->q + row0 * a->ldq + (size_t)h * hd;
        const float *k = a->k + row0 * a->ldk + (size_t)kvh * hd;
        const float *v = a->v + row0 * a->ldv + (size_t)kvh * hd;
        float *o = a->o + row0 * a->ldo + (size_t)h * hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hd, a->scale, q, a->ldq, k, a->ldk,
                    0.0f, scores, t);
        if (a->softcap > 0) softcapScores(scores, t, a->softcap);
        softmaxCausal(scores, t, a->window);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hd, t, 1.0f, scores, t, v, a->ldv,
                    0.0f, o, a->ldo);
    }
}

/* The per-head products are small (128 x 128 x 64 at GPT-2's sizes), so the
 * pool splits the (sequence, head) pairs, not the products. */
void opsAttention(Pool *pool, const AttnArgs *a, float *scores)
{
    AttnTask t = {a, scores};
    poolRun(pool, (size_t)a->batch * a->n_heads, 1, attendHeads, &t);
}

typedef struct RopeTask {
    float *x;
    int seq_len, heads, hd, dims;
    const float *cs, *sn;
} RopeTask;

static void ropeRows(void *arg, size_t r0, size_t r1, int part)
{
    (void)part;
    const RopeTask *t = arg;
    int half = t->dims / 2;
    for (size_t r = r0; r < r1; r++) {
        size_t p = r % (size_t)t->seq_len;
        const float *c = t->cs + p * half, *s = t->sn + p * half;
        for (int h = 0; h < t->heads; h++) {
            float *v = t->x + (r * t->heads + h) * t->hd;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * c[i] - b * s[i];
                v[i + half] = b * c[i] + a * s[i];
            }
        }
    }
}

void opsRope(Pool *pool, float *x, size_t rows, int seq_len, int heads, int head_dim, int dims, const float *cs,
             const float *sn)
{
    RopeTask t = {x, seq_len, heads, head_dim, dims, cs, sn};
    poolRun(pool, rows, GRAIN_ELEMS / ((size_t)heads * dims + 1) + 1, ropeRows, &t);
}

/* Elementwise kernels: one task shape, y[i] = f(x[i]) (or y[i] *= x[i]). */
typedef struct MapTask {
    const float *x;
    float *y;
} MapTask;

/* 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
 * the same function with one exp and no cancellation near tanh = -1. */
OPS_CLONES static void geluTanhRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x, c2 = -2.0f * 0.7978845608028654f;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) {
        float v = x[i];
        y[i] = v / (1.0f + expApprox(c2 * (v + 0.044715f * v * v * v)));
    }
}

static void geluErfRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void reluRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

OPS_CLONES static void siluRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) y[i] = x[i] / (1.0f + expApprox(-x[i]));
}

OPS_CLONES static void mulRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) y[i] *= x[i];
}

OPS_CLONES static void addRange(void *arg, size_t i0, size_t i1, int part)
{
    (void)part;
    const MapTask *t = arg;
    const float *x = t->x;
    float *y = t->y;
    for (size_t i = i0; i < i1; i++) y[i] += x[i];
}

static void map(Pool *pool, PoolFn fn, const float *x, float *y, size_t n)
{
    MapTask t = {x, y};
    poolRun(pool, n, GRAIN_ELEMS, fn, &t);
}

void opsGeluTanh(Pool *pool, const float *x, float *y, size_t n) { map(pool, geluTanhRange, x, y, n); }
void opsGeluErf(Pool *pool, const float *x, float *y, size_t n) { map(pool, geluErfRange, x, y, n); }
void opsRelu(Pool *pool, const float *x, float *y, size_t n) { map(pool, reluRange, x, y, n); }
void opsSilu(Pool *pool, const float *x, float *y, size_t n) { map(pool, siluRange, x, y, n); }
void opsMul(Pool *pool, float *y, const float *x, size_t n) { map(pool, mulRange, x, y, n); }
void opsAdd(Pool *pool, float *y, const float *x, size_t n) { map(pool, addRange, x, y, n); }
