/* llama2.c checkpoints (v0 and v1 headers): load with the format forced, then one tiny forward pass. */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzzWriteFile(".bin", data, size);
    if (path) fuzzModel(path, "llama2c");
    return 0;
}
