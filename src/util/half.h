#ifndef FFNSCOPE_UTIL_HALF_H
#define FFNSCOPE_UTIL_HALF_H

/* IEEE half (f16) and bfloat16 (bf16) to and from float32, exact in the
 * widening direction (subnormals, infinities and NaN included), round to
 * nearest even when narrowing. */

#include <stddef.h>
#include <stdint.h>

float halfToF32(uint16_t h);
uint16_t halfFromF32(float f);
float bf16ToF32(uint16_t b);
uint16_t bf16FromF32(float f);

/* Bulk conversion of n little-endian values read from possibly unaligned memory. */
void halfToF32n(const void *src, float *dst, size_t n);
void bf16ToF32n(const void *src, float *dst, size_t n);

#endif
