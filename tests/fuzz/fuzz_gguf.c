/* GGUF: header, typed key-values, tensor infos; then the getters, the
 * conversion of every tensor (whole, and its last row alone, which must
 * match) and the type mix. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "io/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".gguf", data, size);
    if (!path) return 0;
    GgufFile *f = NULL;
    if (ggufOpen(path, &f, &err) != 0) return 0;
    for (int i = 0; i < ggufKvCount(f); i++) {
        const GgufKv *kv = ggufKvAt(f, i);
        uint64_t u, count;
        double d;
        int b;
        const char *s;
        size_t len;
        ggufGetUint(f, kv->key, &u, &err);
        ggufGetFloat(f, kv->key, &d, &err);
        ggufGetBool(f, kv->key, &b, &err);
        ggufGetString(f, kv->key, &s, &len, &err);
        const char **strs = NULL;
        uint32_t *lens = NULL;
        if (ggufGetStrings(f, kv->key, &strs, &lens, &count, &err) == 0) {
            free(strs);
            free(lens);
        }
        float *fa = NULL;
        if (ggufGetF32Array(f, kv->key, &fa, &count, &err) == 0) free(fa);
        int32_t *ia = NULL;
        if (ggufGetI32Array(f, kv->key, &ia, &count, &err) == 0) free(ia);
    }
    for (int i = 0; i < ggufTensorCount(f); i++) {
        const GgufTensor *t = ggufTensorAt(f, i);
        int64_t n = ggufElements(t);
        if (n < 0 || n > (1 << 22)) continue;
        float *buf = malloc((size_t)n * sizeof *buf + 1);
        float *row = malloc((size_t)t->dims[0] * sizeof *row);
        if (buf && row) {
            ggufToF32(t, buf);
            int64_t last = ggufRows(t) - 1;
            if (ggufRowsToF32(t, last, 1, row, &err) ||
                memcmp(row, buf + last * t->dims[0], (size_t)t->dims[0] * sizeof *row))
                __builtin_trap();
        }
        free(buf);
        free(row);
    }
    char mix[256];
    ggufTypeMix(f, mix, sizeof mix);
    json_t *meta = NULL;
    if (ggufMetadataJson(f, 8, &meta, &err) == 0) json_decref(meta);
    ggufClose(f);
    return 0;
}
