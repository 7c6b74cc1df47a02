/* vocab.json + merges.txt: the input is split at the first NUL byte. */
#include <stdlib.h>
#include <string.h>

#include "ffnscope/tokenizer.h"
#include "fuzzutil.h"

static const char text[] = "Hello, world! It's 2024: naïve café 日本語 🙂\n\n  \ttabs 12345";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const uint8_t *nul = memchr(data, 0, size);
    size_t L = nul ? (size_t)(nul - data) : size;
    size_t rest = nul ? size - L - 1 : 0;
    if (fuzzWriteSibling("merges.txt", nul ? nul + 1 : data, rest) != 0) return 0;
    const char *path = fuzzWriteFile("/vocab.json", data, L);
    if (!path) return 0;
    Tokenizer *t = NULL;
    if (tokenizerLoad(fuzzDir(), &t, &err) != 0) return 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizerEncode(t, text, strlen(text), &ids, &n, &err) == 0) free(ids);
    tokenizerFree(t);
    return 0;
}
