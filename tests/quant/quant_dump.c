/* Test helper for check_quant.py: widens GGUF tensors through the reader's
 * public API and writes the float32 values, so Python can compare them with
 * its own dequantization.
 *
 *   quant_dump FILE TENSOR OUT             ggufToF32 of the whole tensor
 *   quant_dump FILE TENSOR FIRST N OUT     ggufRowsToF32 of rows FIRST .. FIRST+N
 *   quant_dump --mix FILE                  ggufTypeMix, one line
 *
 * Errors: "quant_dump: MESSAGE" on stderr, exit with the Error's code. */
#include <stdio.h>
#include <stdlib.h>

#include "io/gguf.h"

static int fail(const Error *err)
{
    fprintf(stderr, "quant_dump: %s\n", err->msg);
    return err->code ? err->code : 1;
}

static int writeAll(const char *path, const float *v, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(v, sizeof *v, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "quant_dump: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    Error err = {0};
    GgufFile *f;
    if (argc == 3 && argv[1][0] == '-') {
        if (ggufOpen(argv[2], &f, &err)) return fail(&err);
        char mix[512];
        ggufTypeMix(f, mix, sizeof mix);
        printf("%s\n", mix);
        ggufClose(f);
        return 0;
    }
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: quant_dump FILE TENSOR [FIRST N] OUT | --mix FILE\n");
        return 2;
    }
    if (ggufOpen(argv[1], &f, &err)) return fail(&err);
    const GgufTensor *t = ggufFindTensor(f, argv[2]);
    if (!t) {
        fprintf(stderr, "quant_dump: no tensor '%s'\n", argv[2]);
        ggufClose(f);
        return 2;
    }
    int64_t first = 0, n = ggufRows(t);
    if (argc == 6) {
        first = atoll(argv[3]);
        n = atoll(argv[4]);
    }
    size_t count = (size_t)(n > 0 ? n : 0) * (size_t)t->dims[0];
    float *out = malloc((count ? count : 1) * sizeof *out);
    int rc = 0;
    if (!out) {
        fprintf(stderr, "quant_dump: out of memory\n");
        rc = 1;
    } else if (argc == 4) {
        ggufToF32(t, out);
    } else if (ggufRowsToF32(t, first, n, out, &err)) {
        rc = fail(&err);
    }
    if (!rc) rc = writeAll(argv[argc - 1], out, count);
    free(out);
    ggufClose(f);
    return rc;
}
