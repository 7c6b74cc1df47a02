/* llama2.c's tokenizer.bin: load, then encode (fuzzTokenizer). */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzWriteFile(".bin", data, size);
    if (path) fuzzTokenizer(path, NULL);
    return 0;
}
