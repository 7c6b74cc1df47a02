#ifndef FFNSCOPE_UTIL_THREADS_H
#define FFNSCOPE_UTIL_THREADS_H

/* How ffnscope spreads its arithmetic over the cores.
 *
 * After each call OpenBLAS's threads spin, waiting for the next one, for
 * about 2^28 cycles, so whatever runs between two BLAS calls (the norms,
 * activations and attention of the forward pass) shares its cores with
 * spinning threads: on two cores, splitting those loops among two threads
 * gained a fifth while BLAS had two threads and half with BLAS on one. So
 * BLAS runs on one thread and ffnscope splits the large products itself
 * (rows of the forward's sgemms, column strips of the covariance update)
 * among util/pool threads, each calling BLAS on one thread. That is no slower
 * for the products themselves (BENCHMARKS.md, "What each change bought"). */

/* The number of threads to compute with: OPENBLAS_NUM_THREADS when set to a
 * positive number, else OMP_NUM_THREADS, else the online cores (at least 1). */
int threadsWanted(void);

/* Puts OpenBLAS on one thread for the rest of the process (callers then split
 * the work themselves with threadsWanted() pool threads). */
void threadsBlasSingle(void);

#endif
