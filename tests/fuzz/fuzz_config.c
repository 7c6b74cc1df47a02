/* The YAML config (libyaml events into the config schema of README "Config"). */
#include "ffnscope/config.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".yaml", data, size);
    if (!path) return 0;
    Config *cfg = NULL;
    if (configLoad(path, &cfg, &err) != 0) return 0;
    for (int l = 0; l < 8; l++) (void)configWantsLayer(cfg, l);
    configFree(cfg);
    return 0;
}
