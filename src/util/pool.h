#ifndef FFNSCOPE_UTIL_POOL_H
#define FFNSCOPE_UTIL_POOL_H

#include <stddef.h>

/* Helper threads that split ffnscope's arithmetic: the forward pass's
 * products and loops, the covariance update (util/threads.h says why these
 * and not BLAS's own threads). Before, with BLAS splitting its calls and the
 * loops between them on one thread, attention, the norms and the activations
 * were 15% of the forward pass on two cores.
 *
 * A pool runs one job at a time, split into contiguous parts of [0, n): the
 * caller runs the first part itself and waits for the others, which sleep
 * between jobs. Owned by one thread at a time, not shared. */
typedef struct Pool Pool;

/* One part: items [begin, end) of the job; part is 0 .. parts-1. */
typedef void (*PoolFn)(void *arg, size_t begin, size_t end, int part);

/* A pool of `threads` threads in all, the caller included (threads - 1 are
 * started). NULL when out of memory; a helper that cannot start leaves its
 * share to the caller. */
Pool *poolNew(int threads);

/* How many parts a job may be split into (1 for a NULL pool). */
int poolThreads(const Pool *p);

/* Runs fn over [0, n) in at most poolThreads(p) parts of at least `grain`
 * items each (grain 0 counts as 1); fewer items run in one part on the
 * caller. A NULL pool runs everything on the caller. Returns the number of
 * parts. */
int poolRun(Pool *p, size_t n, size_t grain, PoolFn fn, void *arg);

void poolFree(Pool *p);

#endif
