/* vocab.json + merges.txt: the input is split at the first NUL byte; load,
 * then encode (fuzzTokenizer). */
#include <string.h>

#include "fuzzutil.h"

/* the text the crash inputs in vocab_merges/ were found with */
static const char text[] = "Hello, world! It's 2024: naïve café 日本語 🙂\n\n  \ttabs 12345";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t len = nul ? (size_t)(nul - data) : size;
    if (fuzzWriteSibling("merges.txt", nul ? nul + 1 : data, nul ? size - len - 1 : 0) != 0) return 0;
    if (fuzzWriteFile("/vocab.json", data, len)) fuzzTokenizer(fuzzDir(), text);
    return 0;
}
