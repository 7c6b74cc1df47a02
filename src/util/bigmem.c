#include "util/bigmem.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

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
