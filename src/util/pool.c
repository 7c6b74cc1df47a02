#include "util/pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct Pool {
    int threads;              /* parts a job may have: started helpers + the caller */
    int started;
    pthread_t *helpers;
    pthread_mutex_t mu;
    pthread_cond_t work;      /* a new job (or stop) for the helpers */
    pthread_cond_t done;      /* the last helper part of a job finished */
    uint64_t job;             /* bumped for every job */
    int pending;              /* helper parts of the current job not yet finished */
    int stop;
    /* the current job */
    PoolFn fn;
    void *arg;
    size_t n;
    int parts;
};

typedef struct Helper {
    Pool *pool;
    int part;
} Helper;

static void partRange(size_t n, int parts, int part, size_t *begin, size_t *end)
{
    *begin = n * (size_t)part / (size_t)parts;
    *end = n * (size_t)(part + 1) / (size_t)parts;
}

static void *helperMain(void *arg)
{
    Helper h = *(Helper *)arg;
    free(arg);
    Pool *p = h.pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->job == seen) pthread_cond_wait(&p->work, &p->mu);
        if (p->stop) break;
        seen = p->job;
        PoolFn fn = p->fn;
        void *a = p->arg;
        size_t n = p->n;
        int parts = p->parts;
        pthread_mutex_unlock(&p->mu);
        if (h.part < parts) {
            size_t b, e;
            partRange(n, parts, h.part, &b, &e);
            fn(a, b, e, h.part);
        }
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

Pool *poolNew(int threads)
{
    Pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (threads < 1) threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->helpers = calloc((size_t)threads, sizeof *p->helpers);
    if (!p->helpers) {
        poolFree(p);
        return NULL;
    }
    for (int k = 1; k < threads; k++) {
        Helper *h = malloc(sizeof *h);
        if (!h) break;
        *h = (Helper){p, k};
        if (pthread_create(&p->helpers[p->started], NULL, helperMain, h)) {
            free(h);
            break;
        }
        p->started++;
    }
    p->threads = p->started + 1;
    return p;
}

int poolThreads(const Pool *p) { return p ? p->threads : 1; }

int poolRun(Pool *p, size_t n, size_t grain, PoolFn fn, void *arg)
{
    if (n == 0) return 0;
    if (grain == 0) grain = 1;
    size_t most = n / grain;   /* parts of at least grain items */
    int parts = p && most > 1 ? (most < (size_t)p->threads ? (int)most : p->threads) : 1;
    if (parts == 1) {
        fn(arg, 0, n, 0);
        return 1;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->parts = parts;
    p->pending = p->started;   /* every helper reports, with or without a part */
    p->job++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    size_t b, e;
    partRange(n, parts, 0, &b, &e);
    fn(arg, b, e, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return parts;
}

void poolFree(Pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < p->started; k++) pthread_join(p->helpers[k], NULL);
    free(p->helpers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
}
