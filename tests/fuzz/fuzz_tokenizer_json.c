/* tokenizer.json (byte-level BPE and SentencePiece-style BPE): load, then encode (fuzzTokenizer). */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzWriteFile(".json", data, size);
    if (path) fuzzTokenizer(path, NULL);
    return 0;
}
