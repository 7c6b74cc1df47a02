/* util/pool: every item runs exactly once, parts are contiguous, cover
 * [0, n) in order and come out the same for the same n and grain. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/pool.h"

#define MAX_PARTS 8

typedef struct Record {
    unsigned char *seen;           /* times each item ran */
    size_t begin[MAX_PARTS], end[MAX_PARTS];
    uint64_t sum[MAX_PARTS];       /* sum of the item indices of each part */
} Record;

static void record(void *arg, size_t b, size_t e, int part)
{
    Record *r = arg;
    r->begin[part] = b;
    r->end[part] = e;
    r->sum[part] = 0;
    for (size_t i = b; i < e; i++) {
        r->seen[i]++;
        r->sum[part] += i;
    }
}

static int runChecked(Pool *p, size_t n, size_t grain, Record *r)
{
    r->seen = calloc(n ? n : 1, 1);
    cr_assert(r->seen);
    int parts = poolRun(p, n, grain, record, r);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) cr_assert_eq(r->seen[i], 1, "item %zu ran %d times", i, r->seen[i]);
    for (int k = 0; k < parts; k++) {
        cr_assert_eq(r->begin[k], k ? r->end[k - 1] : 0, "part %d does not start where %d ended", k, k - 1);
        if (parts > 1) cr_assert_geq(r->end[k] - r->begin[k], grain ? grain : 1, "part %d is below the grain", k);
        total += r->sum[k];
    }
    if (n) cr_assert_eq(r->end[parts - 1], n);
    cr_assert_eq(total, (uint64_t)n * (n ? n - 1 : 0) / 2);
    free(r->seen);
    return parts;
}

Test(pool, splits_among_all_threads_when_there_is_enough_work)
{
    Pool *p = poolNew(4);
    cr_assert(p);
    cr_assert_eq(poolThreads(p), 4);
    Record a, b;
    cr_expect_eq(runChecked(p, 1001, 10, &a), 4);
    cr_expect_eq(runChecked(p, 1001, 10, &b), 4);
    for (int k = 0; k < 4; k++) {
        cr_expect_eq(a.begin[k], b.begin[k]);
        cr_expect_eq(a.end[k], b.end[k]);
    }
    poolFree(p);
}

Test(pool, small_jobs_take_fewer_parts)
{
    Pool *p = poolNew(4);
    cr_assert(p);
    Record r;
    cr_expect_eq(runChecked(p, 25, 10, &r), 2);   /* three parts would be below the grain */
    cr_expect_eq(runChecked(p, 9, 10, &r), 1);
    cr_expect_eq(runChecked(p, 3, 0, &r), 3);     /* grain 0 counts as 1 */
    cr_expect_eq(poolRun(p, 0, 1, record, &r), 0);
    poolFree(p);
}

Test(pool, null_pool_runs_on_the_caller)
{
    Record r;
    cr_expect_eq(poolThreads(NULL), 1);
    cr_expect_eq(runChecked(NULL, 500, 1, &r), 1);
}

typedef struct Counter {
    uint64_t per_part[MAX_PARTS];
} Counter;

static void count(void *arg, size_t b, size_t e, int part)
{
    ((Counter *)arg)->per_part[part] += e - b;
}

Test(pool, many_jobs_in_a_row_lose_no_part)
{
    Pool *p = poolNew(3);
    cr_assert(p);
    Counter c = {{0}};
    for (int j = 0; j < 5000; j++) poolRun(p, 300 + (size_t)(j % 7), 1, count, &c);
    uint64_t total = 0, want = 0;
    for (int k = 0; k < MAX_PARTS; k++) total += c.per_part[k];
    for (int j = 0; j < 5000; j++) want += 300 + (uint64_t)(j % 7);
    cr_expect_eq(total, want);
    for (int k = 0; k < 3; k++) cr_expect_gt(c.per_part[k], 0, "part %d never ran", k);
    poolFree(p);
}
