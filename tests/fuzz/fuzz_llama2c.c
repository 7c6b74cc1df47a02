/* llama2.c checkpoints (v0 and v1 headers): load with the format forced, then one tiny forward pass with
 * capture at every layer, so shapes the loader accepted are also safe to run. */
#include <stdlib.h>

#include "ffnscope/model.h"
#include "fuzzutil.h"

static volatile float sink;

static int countRows(void *ctx, int layer, Site site, const float *acts, size_t rows, int width,
                     Error *err)
{
    (void)layer; (void)site; (void)err;
    /* Read every value, so a buffer shorter than rows x width shows under ASan. */
    float sum = 0;
    for (size_t i = 0; i < rows * (size_t)width; i++) sum += acts[i];
    sink = sum;
    (*(size_t *)ctx) += rows;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Error err = {0};
    const char *path = fuzzWriteFile(".bin", data, size);
    if (!path) return 0;
    ModelOptions opt = {.format = "llama2c"};
    Model *m = NULL;
    if (modelOpen(path, &opt, &m, &err) != 0) return 0;
    const ModelInfo *info = modelInfo(m);
    if (info->n_layers > 0 && info->n_layers <= 64 && info->vocab_size > 0 && info->context >= 4) {
        int32_t tokens[8];
        for (int i = 0; i < 8; i++) tokens[i] = (int32_t)((i * 7) % info->vocab_size);
        uint8_t *capture = calloc((size_t)info->n_layers, 1);
        size_t rows = 0;
        if (capture) {
            for (int l = 0; l < info->n_layers; l++) capture[l] = SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE);
            modelForward(m, tokens, 2, 4, capture, countRows, &rows, &err);
        }
        free(capture);
    }
    modelFree(m);
    return 0;
}
