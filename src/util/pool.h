#ifndef FFNSCOPE_UTIL_POOL_H
#define FFNSCOPE_UTIL_POOL_H

#include <stddef.h>

/* Helper threads for the loops between BLAS calls (norms, activations, the
 * per-head attention products). BLAS spreads its own calls over every core,
 * but a loop written in C runs on one while the other cores wait: on two
 * cores, attention, the norms and the activations were 15% of the forward
 * pass, all on one core.
 *
 * A pool runs one job at a time, split into contiguous parts of [0, n): the
 * caller runs the first part itself and waits for the others. Owned by one
 * thread at a time (a model's forward pass), not shared. */
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
