#include "util/bigmem.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "util/pool.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define SMALL_PAGE ((size_t)4096) /* x86-64's base page; touching more often is harmless */

void *bigAlloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    /* small buffers keep malloc's granularity: a 2 MB alignment would waste most of a page */
    if (bytes < HUGE_PAGE) return malloc(bytes);
    if (posix_memalign(&p, HUGE_PAGE, bytes)) return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* advice only: without huge pages the buffer still works */
    return p;
}

static void touchPages(void *arg, size_t begin, size_t end, int part)
{
    (void)part;
    volatile char *p = arg;
    for (size_t i = begin; i < end; i++) p[i * SMALL_PAGE] = 0;
}

void bigPrefault(void *p, size_t bytes, int threads)
{
    if (bytes < HUGE_PAGE || threads < 2) return;
    Pool *pool = poolNew(threads);
    if (!pool) return; /* only a head start: the pages still map when written */
    poolRun(pool, (bytes + SMALL_PAGE - 1) / SMALL_PAGE, HUGE_PAGE / SMALL_PAGE, touchPages, p); /* p is page aligned */
    poolFree(pool);
}
