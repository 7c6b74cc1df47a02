/* Covariance statistics files (safetensors with count, mean, scatter). */
#include "ffnscope/covacc.h"
#include "fuzzutil.h"
#include "io/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".safetensors", data, size);
    if (!path) return 0;
    (void)statsDetect(path);
    StatsFile *f = NULL;
    if (statsOpen(path, &f, &err) != 0) return 0;
    int width = statsMeta(f)->width;
    Covacc *acc = width > 0 && width <= 256 ? covaccNew(width) : NULL;
    for (int i = 0; acc && i < statsCount(f); i++) {
        covaccReset(acc);
        if (statsLoad(f, i, acc, &err) != 0) continue;
        Metrics m;
        statsMetrics(acc, "fuzz", 0.1, &m, NULL, &err);
    }
    covaccFree(acc);
    statsClose(f);
    return 0;
}
