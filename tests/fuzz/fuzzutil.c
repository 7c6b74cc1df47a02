/* Temp files for the fuzz harnesses: one private folder per process, so two
 * fuzzers (or the regression test next to a running fuzzer) never share a
 * file. */
#include "fuzzutil.h"

#include "ffnscope/model.h"
#include "ffnscope/tokenizer.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

/* The folder holds only files this process wrote: remove them and it. */
static void removeDir(void)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *fuzzDir(void)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ffnscope-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            dir[0] = 0;
            return NULL;
        }
        atexit(removeDir);
    }
    return dir;
}

static int writeAll(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

const char *fuzzWriteFile(const char *suffix, const uint8_t *data, size_t size)
{
    static char path[512];
    const char *d = fuzzDir();
    if (!d) return NULL;
    const char *slash = strrchr(suffix, '/');
    snprintf(path, sizeof path, "%s/%s%s", d, slash ? "" : "input", suffix[0] == '/' ? suffix + 1 : suffix);
    if (writeAll(path, data, size) != 0) return NULL;
    return path;
}

int fuzzWriteSibling(const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    const char *d = fuzzDir();
    if (!d) return -1;
    snprintf(path, sizeof path, "%s/%s", d, name);
    return writeAll(path, data, size);
}

static volatile float sink;

static int readRows(void *ctx, CaptureKey key, const float *acts, size_t rows, int width, Error *err)
{
    (void)ctx; (void)key; (void)err;
    /* Read every value, so a buffer shorter than rows x width shows under ASan. */
    float sum = 0;
    for (size_t i = 0; i < rows * (size_t)width; i++) sum += acts[i];
    sink = sum;
    return 0;
}

void fuzzModel(const char *path, const char *format)
{
    Error err = {0};
    ModelOptions opt = {.format = format};
    Model *m = NULL;
    if (modelOpen(path, &opt, &m, &err) != 0) return;
    const ModelInfo *info = modelInfo(m);
    if (info->n_layers > 0 && info->n_layers <= 64 && info->vocab_size > 0 && info->context >= 4) {
        int32_t tokens[8];
        for (int i = 0; i < 8; i++) tokens[i] = (int32_t)((i * 7) % info->vocab_size);
        uint8_t *capture = calloc((size_t)info->n_layers, 1);
        if (capture) {
            for (int l = 0; l < info->n_layers; l++) capture[l] = SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE);
            modelForward(m, tokens, 2, 4, capture, readRows, NULL, &err);
        }
        free(capture);
    }
    modelFree(m);
}

void fuzzTokenizer(const char *path, const char *text)
{
    if (!text) text = "Hello, world! It's 2024: naïve café 日本語 🙂\n\n  \ttabs   and  spaces'll 12345 ok\xc3\xa9";
    Error err = {0};
    Tokenizer *t = NULL;
    if (tokenizerLoad(path, &t, &err) != 0) return;
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizerEncode(t, text, strlen(text), &ids, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++) {
            size_t len;
            (void)tokenizerToken(t, ids[i], &len);
        }
        free(ids);
    }
    (void)tokenizerVocabSize(t);
    tokenizerFree(t);
}
