/* llm.c GPT-2 checkpoints (fp32, bf16): load with the format forced, then one tiny forward pass. */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzWriteFile(".bin", data, size);
    if (path) fuzzModel(path, "llmc");
    return 0;
}
