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
    Covacc *acc = NULL;
    for (int i = 0; i < statsCount(f); i++) {
        int width = statsKey(f, i).width; /* experts have their own */
        if (width > 256) continue;
        if (!acc || acc->dim != width) {
            covaccFree(acc);
            if (!(acc = covaccNew(width))) break;
        }
        covaccReset(acc);
        if (statsLoad(f, i, acc, &err) != 0) continue;
        Metrics m;
        statsMetrics(acc, "fuzz", 0.1, &m, NULL, &err);
    }
    covaccFree(acc);
    statsClose(f);
    return 0;
}
