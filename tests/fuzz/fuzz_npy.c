/* .npy activation files: header (magic, version, length, dict) and data. */
#include <stdlib.h>

#include "ffnscope/acts.h"
#include "fuzzutil.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    NpyHeader h;
    /* The dict parser alone, on the raw bytes. */
    npyParseDict("fuzz", (const char *)data, size, &h, &err);

    const char *path = fuzzWriteFile(".npy", data, size);
    if (!path) return 0;
    ActFile *f = NULL;
    if (actFileOpen(path, &f, &err) != 0) return 0;
    for (int i = 0; i < actFileCount(f); i++) {
        const ActTensor *t = actFileTensor(f, i);
        int64_t rows = t->rows < 64 ? t->rows : 64;
        float *buf = malloc((size_t)(rows * t->width) * sizeof *buf + 1);
        if (buf) actFileRead(f, i, t->rows - rows, rows, buf, &err);
        free(buf);
    }
    actFileClose(f);
    return 0;
}
