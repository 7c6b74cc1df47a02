/* util/bigmem: a prefaulted buffer has every page resident before anything
 * writes it (mincore), on two threads, with an odd size that cuts the last
 * part mid-page. The buffer comes straight from mmap, as a big allocation
 * does from malloc, because malloc may be told to fill what it hands out
 * (meson test sets MALLOC_PERTURB_), which would map every page before the
 * call. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/bigmem.h"

static size_t residentPages(void *p, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1);
    size_t len = (uintptr_t)p + bytes - a, n = (len + (size_t)page - 1) / (size_t)page;
    unsigned char *vec = malloc(n);
    cr_assert(vec);
    cr_assert_eq(mincore((void *)a, len, vec), 0);
    size_t resident = 0;
    for (size_t i = 0; i < n; i++) resident += vec[i] & 1;
    free(vec);
    return resident;
}

Test(bigmem, prefault_maps_every_page)
{
    size_t bytes = (size_t)37 << 20 | 12345;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(p != MAP_FAILED);
    long page = sysconf(_SC_PAGESIZE);
    size_t pages = (bytes + (size_t)page - 1) / (size_t)page;
    cr_assert_lt(residentPages(p, bytes), pages, "a fresh buffer is already resident: the test shows nothing");
    bigPrefault(p, bytes, 2);
    cr_assert_eq(residentPages(p, bytes), pages);
    munmap(p, bytes);
}
