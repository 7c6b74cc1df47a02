/* The block decoders on raw bytes: byte 0 picks a readable ggml type, byte 1
 * the blocks per row (1 to 4), the rest are blocks. Every whole row is
 * widened at once and again row by row, and the two must agree bit for bit;
 * the scale check and the type-mix text run over the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "io/ggml_quant.h"

static const uint32_t kReadable[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1,   GGML_TYPE_Q5_0,
    GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K,   GGML_TYPE_Q5_K,
    GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint32_t type = kReadable[data[0] % (sizeof kReadable / sizeof kReadable[0])];
    int64_t blocks = 1 + data[1] % 4, qk = ggmlBlockElements(type), bytes = ggmlBlockBytes(type);
    int64_t row_len = blocks * qk, row_bytes = blocks * bytes, rows = (int64_t)(size - 2) / row_bytes;
    const uint8_t *p = data + 2;
    /* Copied so the decoders read exactly the bytes they may: ASan sees any overrun. */
    uint8_t *copy = malloc((size_t)(rows * row_bytes) + 1);
    float *all = malloc((size_t)(rows * row_len + 1) * sizeof *all);
    float *one = malloc((size_t)row_len * sizeof *one);
    if (copy && all && one) {
        memcpy(copy, p, (size_t)(rows * row_bytes));
        ggmlFindBadScale(type, copy, rows * blocks);
        if (ggmlDequantRows(type, copy, row_len, 0, rows, all, NULL)) __builtin_trap();
        for (int64_t r = 0; r < rows; r++) {
            if (ggmlDequantRows(type, copy, row_len, r, 1, one, NULL)) __builtin_trap();
            if (memcmp(one, all + r * row_len, (size_t)row_len * sizeof *one)) __builtin_trap();
        }
    }
    free(copy);
    free(all);
    free(one);
    /* The mix of (type byte, count byte) pairs, any type id at all. */
    GgmlTypeCount mix[16];
    int n = 0;
    for (size_t i = 2; i + 1 < size && n < 16; i += 2) mix[n++] = (GgmlTypeCount){data[i], data[i + 1]};
    char text[64];
    ggmlFormatTypeMix(mix, n, text, sizeof text);
    return 0;
}
