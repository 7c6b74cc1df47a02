#ifndef FFNSCOPE_MODEL_OPS_H
#define FFNSCOPE_MODEL_OPS_H

/* Kernels shared by the forward passes. Activations are row-major [rows, width]
 * with rows = batch * seq_len (sequence-major); weight matrices are stored as
 * [out, in] (the nn.Linear layout) so every projection is Y = X W^T over all
 * rows of the batch: one sgemm per thread, each on its share of the rows.
 * Every kernel splits its rows among the pool (util/pool.h; NULL runs them on
 * the caller) and expects BLAS on one thread (util/threads.h). */

#include <stddef.h>

#include "util/pool.h"

/* y[rows, out] (row stride ldy) = x[rows, in] w^T (+ b[out] when b is set).
 * accumulate: add to y instead of overwriting it (residual connections). */
void opsLinear(Pool *pool, const float *x, int rows, int in, const float *w, const float *b, int out,
               float *y, int ldy, int accumulate);

/* y = (x - mean) / sqrt(var + eps) * g + b, per row of width n (biased
 * variance); b may be NULL (no bias). y may be x. */
void opsLayerNorm(Pool *pool, const float *x, float *y, int rows, int n, const float *g, const float *b,
                  float eps);

/* y = x / sqrt(mean(x^2) + eps) * g, per row (LLaMA's RMSNorm). y may be x. */
void opsRmsNorm(Pool *pool, const float *x, float *y, int rows, int n, const float *g, float eps);

/* x /= ||x||_2 per segment of n values, for count segments at stride ld. */
void opsL2Normalize(Pool *pool, float *x, int count, int n, int ld);

/* Causal self-attention over whole sequences, one (sequence, head) at a time
 * with two sgemms (Q K^T, then P V). Head h reads its queries at column
 * h*head_dim of q (row stride ldq) and its keys/values at column
 * (h / group)*head_dim of k, v (grouped-query attention: group = n_heads /
 * n_kv_heads). The output of head h goes to column h*head_dim of o (stride ldo).
 * scores: workspace of poolThreads(pool) * seq_len * seq_len floats (one
 * square per part). */
typedef struct AttnArgs {
    const float *q, *k, *v;
    int ldq, ldk, ldv;
    float *o;
    int ldo;
    int batch, seq_len, n_heads, n_kv_heads, head_dim;
    float scale;           /* multiplies Q K^T before the softmax */
    int window;            /* > 0: query i sees keys i-window+1 .. i only (sliding window) */
    float softcap;         /* > 0: scores -> softcap * tanh(scores / softcap) before the mask (Gemma 2) */
} AttnArgs;
void opsAttention(Pool *pool, const AttnArgs *a, float *scores);

/* Rotary positions, Hugging Face rotate-half layout, in place: for each row r
 * (position r % seq_len) and head, the first dims values of the head rotate in
 * pairs (i, i + dims/2) by the angles of cs/sn [seq_len, dims/2]; the rest of
 * the head is left alone (partial rotary). x is [rows, heads * head_dim]. */
void opsRope(Pool *pool, float *x, size_t rows, int seq_len, int heads, int head_dim, int dims, const float *cs,
             const float *sn);

/* y[i] += x[i] (residual connections). */
void opsAdd(Pool *pool, float *y, const float *x, size_t n);

/* Activations, elementwise over n values (in place allowed: y == x). */
void opsGeluTanh(Pool *pool, const float *x, float *y, size_t n);
void opsGeluErf(Pool *pool, const float *x, float *y, size_t n);
void opsRelu(Pool *pool, const float *x, float *y, size_t n);
void opsSilu(Pool *pool, const float *x, float *y, size_t n);
/* y[i] *= x[i] (the gated FFN's product). */
void opsMul(Pool *pool, float *y, const float *x, size_t n);

#endif
