/* tokenizer.json (byte-level BPE and SentencePiece-style BPE), then an
 * encode of a text that touches every pre-tokenizer branch. */
#include <stdlib.h>
#include <string.h>

#include "ffnscope/tokenizer.h"
#include "fuzzutil.h"

static const char text[] =
    "Hello, world! It's 2024: naïve café 日本語 🙂\n\n  \ttabs   and  spaces'll 12345 ok\xc3\xa9";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".json", data, size);
    if (!path) return 0;
    Tokenizer *t = NULL;
    if (tokenizerLoad(path, &t, &err) != 0) return 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizerEncode(t, text, strlen(text), &ids, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            size_t len;
            (void)tokenizerToken(t, ids[i], &len);
        }
        free(ids);
    }
    (void)tokenizerVocabSize(t);
    tokenizerFree(t);
    return 0;
}
