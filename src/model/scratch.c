#include <stdlib.h>

#include "model/family.h"

int scratchReserve(Scratch *s, int i, size_t n, Error *err)
{
    if (s->len[i] >= n) return 0;
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)))
        return errorNoMem(err, "forward pass buffers");
    free(s->buf[i]);
    s->buf[i] = p;
    s->len[i] = n;
    return 0;
}

void scratchFree(Scratch *s)
{
    for (int i = 0; i < 12; i++) free(s->buf[i]);
}
