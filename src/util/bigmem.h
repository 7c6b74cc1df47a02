#ifndef FFNSCOPE_UTIL_BIGMEM_H
#define FFNSCOPE_UTIL_BIGMEM_H

#include <stddef.h>

/* Buffers of many megabytes that are written whole (weights, forward-pass
 * activations, the covariance staging block), aligned to 2 MB and offered to
 * the kernel as transparent huge pages: BLAS walks them in tiles that jump
 * whole rows ahead, and with 4 KB pages the TLB misses show (BENCHMARKS.md).
 * Where the kernel gives huge pages only on request (the usual "madvise"
 * setting) this is the request. Not for buffers only partly touched, such as
 * a scatter of which BLAS writes the upper triangle: a huge page is resident
 * whole, a 4 KB page only once touched. Release with free(). NULL when out of
 * memory. */
void *bigAlloc(size_t bytes);

/* Maps every page of a bigAlloc buffer now, split among `threads` threads.
 * On a machine where a fresh megabyte costs milliseconds (the kernel zeroes
 * each page at its first touch), filling half a gigabyte of weights spent
 * most of its time there, on one core. Only for buffers about to be written
 * whole. */
void bigPrefault(void *p, size_t bytes, int threads);

#endif
