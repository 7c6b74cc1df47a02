/* Hugging Face directories: the input is a 4-byte little-endian length L,
 * L bytes of config.json, then model.safetensors: load with the format forced,
 * then one tiny forward pass. */
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    size_t L = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    if (L > size - 4) L = size - 4;
    if (fuzzWriteSibling("model.safetensors", data + 4 + L, size - 4 - L) != 0) return 0;
    if (fuzzWriteFile("/config.json", data + 4, L)) fuzzModel(fuzzDir(), "hf");
    return 0;
}
