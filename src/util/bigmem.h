#ifndef FFNSCOPE_UTIL_BIGMEM_H
#define FFNSCOPE_UTIL_BIGMEM_H

#include <stddef.h>

/* Buffers of many megabytes (covariance scatters, weights, forward-pass
 * activations) aligned to 2 MB and offered to the kernel as transparent huge
 * pages. BLAS walks them in tiles that jump whole rows ahead; with 4 KB pages
 * a D = 3072 float64 scatter spans 18,000 pages and the TLB misses cost 18%
 * of the covariance update in a twelve-layer capture (BENCHMARKS.md). Where
 * the kernel has huge pages only on request (the usual "madvise" setting)
 * this is the request. Release with free(). NULL when out of memory. */
void *bigAlloc(size_t bytes);
void *bigCalloc(size_t bytes);

#endif
