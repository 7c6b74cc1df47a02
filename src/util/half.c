#include "util/half.h"

#include <math.h>
#include <string.h>

static inline uint32_t f32Bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float f32FromBits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float halfToF32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) return f32FromBits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* Subnormal (or zero): man * 2^-24 is exact in float32. */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return f32FromBits(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t halfFromF32(float f)
{
    uint32_t u = f32Bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a >= 0x7f800000u) /* Inf or NaN (keep NaN quiet and non-zero) */
        return sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0);
    if (a >= 0x477ff000u) return sign | 0x7c00; /* rounds past 65504 */
    if (a < 0x38800000u) {
        /* Result is subnormal or zero: round a * 2^24 to an integer, ties to even. */
        float v = f32FromBits(a) * 0x1p24f;
        return sign | (uint16_t)lrintf(v); /* default rounding mode is nearest-even */
    }
    uint32_t man = a & 0x7fffff, exp = (a >> 23) - 112;
    uint32_t h = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* carry into the exponent is right */
    return sign | (uint16_t)h;
}

float bf16ToF32(uint16_t b) { return f32FromBits((uint32_t)b << 16); }

uint16_t bf16FromF32(float f)
{
    uint32_t u = f32Bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

void halfToF32n(const void *src, float *dst, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++) dst[i] = halfToF32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
}

void bf16ToF32n(const void *src, float *dst, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = ((uint32_t)p[2 * i] << 16) | ((uint32_t)p[2 * i + 1] << 24);
        dst[i] = f32FromBits(u);
    }
}
