/* GGUF checkpoints (llama, gpt2): load with the format forced, then one tiny forward pass. */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzWriteFile(".gguf", data, size);
    if (path) fuzzModel(path, "gguf");
    return 0;
}
