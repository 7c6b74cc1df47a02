/* .safetensors: the raw reader, then the activation-file view of it. */
#include <stdlib.h>

#include "ffnscope/acts.h"
#include "fuzzutil.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".safetensors", data, size);
    if (!path) return 0;
    StFile *st = NULL;
    if (stOpen(path, &st, &err) == 0) {
        for (int i = 0; i < stCount(st); i++) {
            const StTensor *t = stTensor(st, i);
            size_t n = t->nbytes / stDtypeSize(t->dtype);
            float *buf = malloc(n * sizeof *buf + 1);
            if (buf) stToF32(t, buf, &err);
            free(buf);
            (void)stFind(st, t->name);
        }
        (void)stMetadata(st, "format");
        stClose(st);
    }
    ActFile *f = NULL;
    if (actFileOpen(path, &f, &err) != 0) return 0;
    for (int i = 0; i < actFileCount(f); i++) {
        const ActTensor *t = actFileTensor(f, i);
        int64_t rows = t->rows < 64 ? t->rows : 64;
        double *buf = malloc((size_t)(rows * t->width) * sizeof *buf + 1);
        if (buf) actFileReadF64(f, i, 0, rows, buf, &err);
        free(buf);
    }
    actFileClose(f);
    return 0;
}
