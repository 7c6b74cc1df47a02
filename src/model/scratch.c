#include <stdlib.h>

#include "model/family.h"
#include "util/bigmem.h"
#include "util/threads.h"

int scratchReserve(Scratch *s, int i, size_t n, Error *err)
{
    if (s->len[i] >= n) return 0;
    float *p = bigAlloc(n * sizeof(float));
    if (!p) return errorNoMem(err, "forward pass buffers");
    free(s->buf[i]);
    s->buf[i] = p;
    s->len[i] = n;
    return 0;
}

Pool *scratchPool(Scratch *s)
{
    if (!s->pool) s->pool = poolNew(threadsWanted());
    return s->pool;
}

void scratchFree(Scratch *s)
{
    for (int i = 0; i < 12; i++) free(s->buf[i]);
    poolFree(s->pool);
}
