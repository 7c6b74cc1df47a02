#include "util/threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

static int positiveEnv(const char *name)
{
    const char *e = getenv(name);
    int n = e && *e ? atoi(e) : 0;
    return n > 0 ? n : 0;
}

int threadsWanted(void)
{
    int n = positiveEnv("OPENBLAS_NUM_THREADS");
    if (!n) n = positiveEnv("OMP_NUM_THREADS");
    if (!n) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    return n;
}

void threadsBlasSingle(void) { openblas_set_num_threads(1); }
