#include "io/ggml_quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/half.h"

/* Super-block size of the K-quants and IQ4_XS. */
enum { QK_K = 256 };

typedef void (*DecodeFn)(const unsigned char *p, int64_t n_blocks, float *y);

typedef struct TypeInfo {
    const char *name;
    int block;    /* elements per block; 0: not readable */
    int bytes;    /* bytes per block */
    int d_at;     /* byte offset of the f16 scale d; -1: none */
    int m_at;     /* byte offset of the f16 min (m / dmin); -1: none */
    DecodeFn decode;
} TypeInfo;

static float f16At(const unsigned char *p) { return halfToF32((uint16_t)(p[0] | p[1] << 8)); }

/* ---- plain floats ---- */

static void decodeF32(const unsigned char *p, int64_t n, float *y) { memcpy(y, p, (size_t)n * sizeof *y); }
static void decodeF16(const unsigned char *p, int64_t n, float *y) { halfToF32n(p, y, (size_t)n); }
static void decodeBF16(const unsigned char *p, int64_t n, float *y) { bf16ToF32n(p, y, (size_t)n); }

/* ---- blocks of 32: the first half of the elements in the low nibbles, the
 * second half in the high nibbles ---- */

static void decodeQ4_0(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 18, y += 32) {
        float d = f16At(p);
        const unsigned char *qs = p + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 15) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

static void decodeQ4_1(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 20, y += 32) {
        float d = f16At(p), m = f16At(p + 2);
        const unsigned char *qs = p + 4;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(qs[j] & 15) * d + m;
            y[j + 16] = (float)(qs[j] >> 4) * d + m;
        }
    }
}

/* Q5: bit j of the 32-bit qh is the fifth bit of element j. */
static void decodeQ5_0(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 22, y += 32) {
        float d = f16At(p);
        uint32_t qh = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
        const unsigned char *qs = p + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(lo - 16) * d;
            y[j + 16] = (float)(hi - 16) * d;
        }
    }
}

static void decodeQ5_1(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 24, y += 32) {
        float d = f16At(p), m = f16At(p + 2);
        uint32_t qh = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        const unsigned char *qs = p + 8;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)lo * d + m;
            y[j + 16] = (float)hi * d + m;
        }
    }
}

static void decodeQ8_0(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 34, y += 32) {
        float d = f16At(p);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)p[2 + j] * d;
    }
}

/* The non-linear 4-bit grid of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl). */
static const int8_t kIq4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static void decodeIQ4_NL(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 18, y += 32) {
        float d = f16At(p);
        const unsigned char *qs = p + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)kIq4Grid[qs[j] & 15];
            y[j + 16] = d * (float)kIq4Grid[qs[j] >> 4];
        }
    }
}

/* ---- super-blocks of 256 ---- */

/* Q2_K, 84 bytes: scales[16] (low nibble: scale, high: min, of 16 elements
 * each), qs[64] (four 2-bit quants a byte), f16 d, f16 dmin. Each half of
 * 128 elements takes 32 bytes of qs; its groups of 32 are the 2-bit planes
 * at shifts 0, 2, 4, 6, each split in two groups of 16 with their own scale. */
static void decodeQ2_K(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 84) {
        const unsigned char *sc = p, *q = p + 16;
        float d = f16At(p + 80), dmin = f16At(p + 82);
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int g = 0; g < 2; g++, is++) {
                    float dl = d * (float)(sc[is] & 15), ml = dmin * (float)(sc[is] >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * g + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* Q3_K, 110 bytes: hmask[32] (the third bit), qs[64] (low 2 bits, laid out
 * as Q2_K's), scales[12] (sixteen 6-bit scales, offset by 32), f16 d. Scale
 * i's low 4 bits are the low (i < 8) or high (i >= 8) nibble of byte i % 8,
 * its top 2 bits are bits 2*(i/4).. of byte 8 + i % 4. Bit k of hmask[l] is
 * the high bit of element 32*k + l; a clear high bit means minus 4. */
static void decodeQ3_K(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 110) {
        const unsigned char *hm = p, *q = p + 32, *s = p + 96;
        float d = f16At(p + 108);
        int scale[16];
        for (int i = 0; i < 16; i++) {
            int low = i < 8 ? s[i] & 15 : s[i - 8] >> 4;
            scale[i] = (low | ((s[8 + i % 4] >> (2 * (i / 4))) & 3) << 4) - 32;
        }
        int is = 0, bit = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, bit++) {
                for (int g = 0; g < 2; g++, is++) {
                    float dl = d * (float)scale[is];
                    for (int l = 16 * g; l < 16 * g + 16; l++) {
                        int v = ((q[l] >> shift) & 3) - ((hm[l] >> bit) & 1 ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

/* The 6-bit scale and min of sub-block j (0..7) of Q4_K / Q5_K from their
 * 12 packed bytes: sub-blocks 0-3 in the low 6 bits of bytes j and j + 4;
 * 4-7 in the nibbles of byte j + 4, topped by the 2 high bits of bytes j - 4
 * and j. */
static void scaleMinK4(int j, const unsigned char *s, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

/* Q4_K, 144 bytes: f16 d, f16 dmin, scales[12], qs[128]. Each 64 elements
 * take 32 bytes of qs: low nibbles for the first 32, high for the next. */
static void decodeQ4_K(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 144) {
        float d = f16At(p), dmin = f16At(p + 2);
        const unsigned char *s = p + 4, *q = p + 16;
        for (int j = 0; j < 4; j++, q += 32) {
            int sc, m;
            scaleMinK4(2 * j, s, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            scaleMinK4(2 * j + 1, s, &sc, &m);
            float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 15) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Q5_K, 176 bytes: Q4_K's fields with qh[32] before qs: bit 2j of qh[l] is
 * the fifth bit of element 64j + l, bit 2j + 1 that of element 64j + 32 + l. */
static void decodeQ5_K(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 176) {
        float d = f16At(p), dmin = f16At(p + 2);
        const unsigned char *s = p + 4, *qh = p + 16, *q = p + 48;
        for (int j = 0; j < 4; j++, q += 32) {
            int sc, m;
            scaleMinK4(2 * j, s, &sc, &m);
            float d1 = d * (float)sc, m1 = dmin * (float)m;
            scaleMinK4(2 * j + 1, s, &sc, &m);
            float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] & 15) + ((qh[l] >> (2 * j)) & 1) * 16) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((q[l] >> 4) + ((qh[l] >> (2 * j + 1)) & 1) * 16) - m2;
        }
    }
}

/* Q6_K, 210 bytes: ql[128] (low 4 bits), qh[64] (high 2 bits), int8
 * scales[16] (one per 16 elements), f16 d; quants offset by 32. Each half of
 * 128 elements takes 64 bytes of ql and 32 of qh: element l (0..31) of its
 * four groups of 32 is the low / low / high / high nibble of ql[l], ql[l+32],
 * ql[l], ql[l+32], topped by bits 0-1 / 2-3 / 4-5 / 6-7 of qh[l]. */
static void decodeQ6_K(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 210) {
        const unsigned char *ql = p, *qh = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = f16At(p + 208);
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

/* IQ4_XS, 136 bytes: f16 d, uint16 scales_h, scales_l[4], qs[128]: eight
 * groups of 32 on the IQ4_NL grid, each with a 6-bit scale (offset by 32)
 * whose low 4 bits are a nibble of scales_l[ib / 2] and high 2 bits are
 * bits 2*ib.. of scales_h. */
static void decodeIQ4_XS(const unsigned char *p, int64_t nb, float *y)
{
    for (int64_t b = 0; b < nb; b++, p += 136) {
        float d = f16At(p);
        unsigned sh = (unsigned)(p[2] | p[3] << 8);
        const unsigned char *sl = p + 4, *qs = p + 8;
        for (int ib = 0; ib < 8; ib++, qs += 16, y += 32) {
            int ls = ((sl[ib / 2] >> (4 * (ib % 2))) & 15) | (int)((sh >> (2 * ib)) & 3) << 4;
            float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)kIq4Grid[qs[j] & 15];
                y[j + 16] = dl * (float)kIq4Grid[qs[j] >> 4];
            }
        }
    }
}

/* Every type ggml defines has a name (so errors can say what a file holds);
 * only those with a block size are read. */
static const TypeInfo kTypes[] = {
    [GGML_TYPE_F32] = {"F32", 1, 4, -1, -1, decodeF32},
    [GGML_TYPE_F16] = {"F16", 1, 2, -1, -1, decodeF16},
    [GGML_TYPE_Q4_0] = {"Q4_0", 32, 18, 0, -1, decodeQ4_0},
    [GGML_TYPE_Q4_1] = {"Q4_1", 32, 20, 0, 2, decodeQ4_1},
    [4] = {"Q4_2", 0, 0, -1, -1, NULL}, /* removed from ggml; the ids stay taken */
    [5] = {"Q4_3", 0, 0, -1, -1, NULL},
    [GGML_TYPE_Q5_0] = {"Q5_0", 32, 22, 0, -1, decodeQ5_0},
    [GGML_TYPE_Q5_1] = {"Q5_1", 32, 24, 0, 2, decodeQ5_1},
    [GGML_TYPE_Q8_0] = {"Q8_0", 32, 34, 0, -1, decodeQ8_0},
    [9] = {"Q8_1", 0, 0, -1, -1, NULL},
    [GGML_TYPE_Q2_K] = {"Q2_K", QK_K, 84, 80, 82, decodeQ2_K},
    [GGML_TYPE_Q3_K] = {"Q3_K", QK_K, 110, 108, -1, decodeQ3_K},
    [GGML_TYPE_Q4_K] = {"Q4_K", QK_K, 144, 0, 2, decodeQ4_K},
    [GGML_TYPE_Q5_K] = {"Q5_K", QK_K, 176, 0, 2, decodeQ5_K},
    [GGML_TYPE_Q6_K] = {"Q6_K", QK_K, 210, 208, -1, decodeQ6_K},
    [15] = {"Q8_K", 0, 0, -1, -1, NULL},
    [16] = {"IQ2_XXS", 0, 0, -1, -1, NULL},
    [17] = {"IQ2_XS", 0, 0, -1, -1, NULL},
    [18] = {"IQ3_XXS", 0, 0, -1, -1, NULL},
    [19] = {"IQ1_S", 0, 0, -1, -1, NULL},
    [GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, 0, -1, decodeIQ4_NL},
    [21] = {"IQ3_S", 0, 0, -1, -1, NULL},
    [22] = {"IQ2_S", 0, 0, -1, -1, NULL},
    [GGML_TYPE_IQ4_XS] = {"IQ4_XS", QK_K, 136, 0, -1, decodeIQ4_XS},
    [24] = {"I8", 0, 0, -1, -1, NULL},
    [25] = {"I16", 0, 0, -1, -1, NULL},
    [26] = {"I32", 0, 0, -1, -1, NULL},
    [27] = {"I64", 0, 0, -1, -1, NULL},
    [28] = {"F64", 0, 0, -1, -1, NULL},
    [29] = {"IQ1_M", 0, 0, -1, -1, NULL},
    [GGML_TYPE_BF16] = {"BF16", 1, 2, -1, -1, decodeBF16},
    [34] = {"TQ1_0", 0, 0, -1, -1, NULL},
    [35] = {"TQ2_0", 0, 0, -1, -1, NULL},
    [39] = {"MXFP4", 0, 0, -1, -1, NULL},
};

enum { N_TYPES = (int)(sizeof kTypes / sizeof kTypes[0]) };

static const TypeInfo *info(uint32_t type) { return type < N_TYPES && kTypes[type].name ? &kTypes[type] : NULL; }

const char *ggmlTypeName(uint32_t type)
{
    const TypeInfo *t = info(type);
    return t ? t->name : "?";
}

int ggmlTypeReadable(uint32_t type)
{
    const TypeInfo *t = info(type);
    return t && t->block > 0;
}

int ggmlBlockElements(uint32_t type) { return ggmlTypeReadable(type) ? kTypes[type].block : 0; }
int ggmlBlockBytes(uint32_t type) { return ggmlTypeReadable(type) ? kTypes[type].bytes : 0; }

const char *ggmlReadableList(void)
{
    return "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS";
}

/* An f16 with all exponent bits set is Inf or NaN. */
static int f16NonFinite(const unsigned char *p) { return (p[1] & 0x7c) == 0x7c; }

int64_t ggmlFindBadScale(uint32_t type, const void *data, int64_t n_blocks)
{
    const TypeInfo *t = info(type);
    if (!t || t->block <= 1 || t->d_at < 0) return -1;
    const unsigned char *p = data;
    for (int64_t b = 0; b < n_blocks; b++, p += t->bytes)
        if (f16NonFinite(p + t->d_at) || (t->m_at >= 0 && f16NonFinite(p + t->m_at))) return b;
    return -1;
}

int ggmlDequantRows(uint32_t type, const void *data, int64_t row_len, int64_t first_row, int64_t n_rows,
                    float *out, Error *err)
{
    if (!ggmlTypeReadable(type))
        return errorSet(err, EXIT_RUNTIME, "ggml type %u (%s) cannot be converted to float32", type,
                        ggmlTypeName(type));
    const TypeInfo *t = &kTypes[type];
    if (row_len <= 0 || row_len % t->block || first_row < 0 || n_rows < 0)
        return errorSet(err, EXIT_RUNTIME, "%s rows of %lld elements, rows %lld + %lld: not whole blocks of %d",
                        t->name, (long long)row_len, (long long)first_row, (long long)n_rows, t->block);
    int64_t blocks_per_row = row_len / t->block;
    const unsigned char *p = (const unsigned char *)data + first_row * blocks_per_row * t->bytes;
    t->decode(p, n_rows * blocks_per_row, out);
    return 0;
}

/* ---- the type mix ---- */

static int cmpMix(const void *a, const void *b)
{
    const GgmlTypeCount *x = a, *y = b;
    if (x->elements != y->elements) return x->elements > y->elements ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

int ggmlFormatTypeMix(const GgmlTypeCount *items, int n, char *buf, size_t len)
{
    GgmlTypeCount merged[64];
    int m = 0;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (items[i].elements <= 0) continue;
        total += items[i].elements;
        int k = 0;
        while (k < m && merged[k].type != items[i].type) k++;
        if (k == m) {
            if (m == (int)(sizeof merged / sizeof merged[0])) continue; /* more types than ggml has */
            merged[m++] = (GgmlTypeCount){items[i].type, 0};
        }
        merged[k].elements += items[i].elements;
    }
    qsort(merged, (size_t)m, sizeof *merged, cmpMix);
    if (len) buf[0] = '\0';
    size_t o = 0;
    for (int k = 0; k < m; k++) {
        long pct = (long)((double)merged[k].elements * 100.0 / (double)total + 0.5);
        char piece[48];
        int pl = pct == 0 ? snprintf(piece, sizeof piece, "%s%s <1%%", k ? ", " : "", ggmlTypeName(merged[k].type))
                          : snprintf(piece, sizeof piece, "%s%s %ld%%", k ? ", " : "",
                                     ggmlTypeName(merged[k].type), pct);
        if (o < len) snprintf(buf + o, len - o, "%s", piece);
        o += (size_t)pl;
    }
    return (int)o;
}
