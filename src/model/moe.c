/* The routed (mixture-of-experts) FFN of the shared block: the router, the
 * float32 softmax over all experts, the top-k as torch.topk picks it, each
 * expert on the rows routed to it (captured under its own CaptureKey), the
 * routing weight on its output after the down projection, and the shared
 * expert behind its sigmoid gate. docs/architectures.md ("Mixture of
 * experts") has the math. */
#include <math.h>
#include <string.h>

#include "model/decoder.h"
#include "model/ops.h"

/* ---- top-k ----
 * torch.topk on the CPU selects with std::nth_element (std::partial_sort
 * when k * 64 <= n) over (value, index) pairs compared by value alone, so
 * which of two equal probabilities wins depends on libstdc++'s introselect.
 * Routing ties are real (identical router rows, saturated softmax), and the
 * expert a token goes to decides every count, so the same algorithm runs
 * here, step for step. */

typedef struct Pick {
    float v;
    int i;
} Pick;

static int above(Pick a, Pick b) { return (isnan(a.v) && !isnan(b.v)) || a.v > b.v; }

static void swapPick(Pick *a, Pick *b)
{
    Pick t = *a;
    *a = *b;
    *b = t;
}

static void adjustHeap(Pick *p, int hole, int len, Pick value)
{
    int top = hole, child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (above(p[child], p[child - 1])) child--;
        p[hole] = p[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        p[hole] = p[child - 1];
        hole = child - 1;
    }
    int parent = (hole - 1) / 2;
    while (hole > top && above(p[parent], value)) {
        p[hole] = p[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    p[hole] = value;
}

/* p[0..middle) ends up holding the middle "largest" of p[0..last). */
static void heapSelect(Pick *p, int middle, int last)
{
    if (middle >= 2)
        for (int parent = (middle - 2) / 2;; parent--) {
            adjustHeap(p, parent, middle, p[parent]);
            if (parent == 0) break;
        }
    for (int i = middle; i < last; i++)
        if (above(p[i], p[0])) {
            Pick v = p[i];
            p[i] = p[0];
            adjustHeap(p, 0, middle, v);
        }
}

static void medianToFirst(Pick *r, Pick *a, Pick *b, Pick *c)
{
    if (above(*a, *b)) {
        if (above(*b, *c)) swapPick(r, b);
        else if (above(*a, *c)) swapPick(r, c);
        else swapPick(r, a);
    } else if (above(*a, *c)) swapPick(r, a);
    else if (above(*b, *c)) swapPick(r, c);
    else swapPick(r, b);
}

static int partition(Pick *p, int first, int last, int pivot)
{
    for (;;) {
        while (above(p[first], p[pivot])) first++;
        last--;
        while (above(p[pivot], p[last])) last--;
        if (!(first < last)) return first;
        swapPick(&p[first], &p[last]);
        first++;
    }
}

static void insertionSort(Pick *p, int first, int last)
{
    for (int i = first + 1; i < last; i++) {
        Pick v = p[i];
        if (above(v, p[first])) {
            memmove(p + first + 1, p + first, (size_t)(i - first) * sizeof *p);
            p[first] = v;
        } else {
            int j = i - 1;
            while (above(v, p[j])) {
                p[j + 1] = p[j];
                j--;
            }
            p[j + 1] = v;
        }
    }
}

static void nthElement(Pick *p, int n, int nth)
{
    int first = 0, last = n, depth = 0;
    for (int m = n; m > 1; m >>= 1) depth++;
    depth *= 2;
    while (last - first > 3) {
        if (depth == 0) {
            heapSelect(p + first, nth + 1 - first, last - first);
            swapPick(&p[first], &p[nth]);
            return;
        }
        depth--;
        int mid = first + (last - first) / 2;
        medianToFirst(&p[first], &p[first + 1], &p[mid], &p[last - 1]);
        int cut = partition(p, first + 1, last, first);
        if (cut <= nth) first = cut;
        else last = cut;
    }
    insertionSort(p, first, last);
}

static void topK(const float *v, int n, int k, Pick *work, int *idx)
{
    for (int i = 0; i < n; i++) work[i] = (Pick){v[i], i};
    if ((int64_t)k * 64 <= n) heapSelect(work, k, n);
    else nthElement(work, n, k - 1);
    for (int j = 0; j < k; j++) idx[j] = work[j].i;
}

/* ---- the routed FFN ---- */

static int captureRows(Fwd *f, int l, Site site, int expert, const float *acts, size_t rows, int width, Error *err)
{
    if (!(f->capture[l] & SITE_BIT(site)) || !f->fn || rows == 0) return 0;
    CaptureKey key = {l, site, expert};
    return f->fn(f->ctx, key, acts, rows, width, err);
}

/* One gated expert on n rows of x: captures pre and post, leaves post in up
 * and, unless down is NULL, the down projection in y. */
static int runExpert(Decoder *m, int l, Fwd *f, int expert, const float *x, size_t n, int width, float *const *w,
                     float *y, Error *err)
{
    const ArchConfig *c = &m->cfg;
    float *gate = m->scratch.buf[SCR_GATE], *up = m->scratch.buf[SCR_UP];
    opsLinear(f->pool, x, (int)n, c->d, w[X_GATE], NULL, width, gate, width, 0);
    if (captureRows(f, l, SITE_PRE, expert, gate, n, width, err)) return -1;
    opsLinear(f->pool, x, (int)n, c->d, w[X_UP], NULL, width, up, width, 0);
    decoderActivate(f->pool, c->act, gate, gate, n * width);
    opsMul(f->pool, up, gate, n * width);
    if (captureRows(f, l, SITE_POST, expert, up, n, width, err)) return -1;
    if (y) opsLinear(f->pool, up, (int)n, width, w[X_DOWN], NULL, c->d, y, c->d, 0);
    return 0;
}

int decoderMoe(Decoder *m, int l, Fwd *f, const float *in, float *out, Error *err)
{
    const ArchConfig *c = &m->cfg;
    const Layer *ly = &m->layers[l];
    Scratch *s = &m->scratch;
    size_t rows = f->rows, d = (size_t)c->d;
    int E = c->n_experts, k = c->top_k, last = l == f->last;
    /* SCR_ROUTE: probabilities [rows, E], choices and weights [rows, k], the
     * (row, slot) list grouped by expert [rows * k], expert starts [E + 1],
     * top-k work [E] */
    float *prob = s->buf[SCR_ROUTE];
    int *choice = (int *)(prob + rows * E);
    float *weight = (float *)(choice + rows * k);
    int *list = (int *)(weight + rows * k);
    int *start = list + rows * k;
    Pick *work = (Pick *)(start + E + 1);
    float *xin = s->buf[SCR_MOE_IN], *y = s->buf[SCR_MOE_OUT];

    /* Router logits in double, so equal router rows give equal logits
     * whatever the BLAS kernel's blocking; softmax in float32 as transformers
     * computes it (dtype=torch.float). */
    const float *wr = ly->w[L_ROUTER];
    memset(start, 0, (size_t)(E + 1) * sizeof *start);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = in + r * d;
        float *p = prob + r * E, mx = -INFINITY, sum = 0;
        for (int e = 0; e < E; e++) {
            double acc = 0;
            for (size_t j = 0; j < d; j++) acc += (double)xr[j] * wr[(size_t)e * d + j];
            p[e] = (float)acc;
            if (p[e] > mx) mx = p[e];
        }
        for (int e = 0; e < E; e++) sum += p[e] = expf(p[e] - mx);
        for (int e = 0; e < E; e++) p[e] /= sum;
        int *ch = choice + r * k;
        float *wt = weight + r * k, tot = 0;
        topK(p, E, k, work, ch);
        for (int j = 0; j < k; j++) tot += wt[j] = p[ch[j]];
        if (c->norm_topk)
            for (int j = 0; j < k; j++) wt[j] /= tot;
        for (int j = 0; j < k; j++) start[ch[j] + 1]++;
    }
    for (int e = 0; e < E; e++) start[e + 1] += start[e];
    /* rows of each expert in row order (a token never picks one expert twice) */
    int *fill = (int *)work; /* the top-k work is free again */
    memcpy(fill, start, (size_t)E * sizeof *fill);
    for (size_t r = 0; r < rows; r++)
        for (int j = 0; j < k; j++) list[fill[choice[r * k + j]]++] = (int)(r * k + j);

    memset(out, 0, rows * d * sizeof *out);
    for (int e = 0; e < E; e++) {
        size_t n = (size_t)(start[e + 1] - start[e]);
        const int *lst = list + start[e];
        if (n == 0) continue;
        for (size_t i = 0; i < n; i++) memcpy(xin + i * d, in + (size_t)(lst[i] / k) * d, d * sizeof *xin);
        if (runExpert(m, l, f, e, xin, n, c->expert_ffn, ly->ex[e], last ? NULL : y, err)) return -1;
        if (last) continue;
        for (size_t i = 0; i < n; i++) {
            float wt = weight[lst[i]], *o = out + (size_t)(lst[i] / k) * d;
            const float *yr = y + i * d;
            for (size_t j = 0; j < d; j++) o[j] += wt * yr[j];
        }
    }
    if (c->shared_ffn) {
        float *const sw[X_ROLE_COUNT] = {ly->w[L_SH_GATE], ly->w[L_SH_UP], ly->w[L_SH_DOWN]};
        if (runExpert(m, l, f, CAPTURE_SHARED, in, rows, c->shared_ffn, sw, last ? NULL : y, err)) return -1;
        if (!last)
            for (size_t r = 0; r < rows; r++) {
                const float *xr = in + r * d, *g = ly->w[L_SH_GATE_INP];
                float z = 0;
                for (size_t j = 0; j < d; j++) z += xr[j] * g[j];
                float sg = 1.0f / (1.0f + expf(-z));
                for (size_t j = 0; j < d; j++) out[r * d + j] += sg * y[r * d + j];
            }
    }
    return 0;
}
