#include "model/ckpt.h"

#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int ckptMapOpen(const char *path, CkptMap *m, Error *err)
{
    memset(m, 0, sizeof *m);
    uint64_t size;
    if (fileOpenRegular(path, &m->fd, &size, err)) return -1;
    m->size = (size_t)size;
    if (m->size == 0) return 0;
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, m->fd, 0);
    if (p == MAP_FAILED) {
        close(m->fd);
        m->fd = -1;
        return errorSet(err, EXIT_RUNTIME, "%s: cannot map the file: %s", path, strerror(errno));
    }
    m->data = p;
    return 0;
}

void ckptMapClose(CkptMap *m)
{
    if (m->data) munmap((void *)m->data, m->size);
    if (m->fd >= 0) close(m->fd);
    memset(m, 0, sizeof *m);
    m->fd = -1;
}

int ckptHasMagic(const char *path, const void *magic, size_t n)
{
    if (!fileIsRegular(path)) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    unsigned char buf[16];
    ssize_t got = n <= sizeof buf ? read(fd, buf, n) : -1;
    close(fd);
    return got == (ssize_t)n && !memcmp(buf, magic, n);
}

int ckptHasSuffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

int ckptMulAdd(int64_t *acc, int64_t a, int64_t b, int64_t c)
{
    int64_t p;
    if (__builtin_mul_overflow(a, b, &p)) return -1;
    if (c > 0 && __builtin_mul_overflow(p, c, &p)) return -1;
    return __builtin_add_overflow(*acc, p, acc) ? -1 : 0;
}

int ckptUnpermuteRope(float *w, int64_t rows, int64_t cols, int head_dim, Error *err)
{
    int half = head_dim / 2;
    float *tmp = malloc((size_t)head_dim * (size_t)cols * sizeof *tmp);
    if (!tmp) return errorNoMem(err, "rotary weights");
    for (int64_t h = 0; h + head_dim <= rows; h += head_dim) {
        float *blk = w + h * cols;
        memcpy(tmp, blk, (size_t)head_dim * (size_t)cols * sizeof *tmp);
        for (int i = 0; i < half; i++)
            for (int j = 0; j < 2; j++)
                memcpy(blk + (int64_t)(j * half + i) * cols, tmp + (int64_t)(2 * i + j) * cols,
                       (size_t)cols * sizeof *tmp);
    }
    free(tmp);
    return 0;
}

int ckptSiblingTokenizer(const char *model_path, const char *name, Tokenizer **tok, Error *err)
{
    *tok = NULL;
    const char *slash = strrchr(model_path, '/');
    size_t dir_len = slash ? (size_t)(slash - model_path) : 0;
    size_t n = dir_len + strlen(name) + 3;
    char *p = malloc(n);
    if (!p) return errorNoMem(err, model_path);
    if (slash) snprintf(p, n, "%.*s/%s", (int)dir_len, model_path, name);
    else snprintf(p, n, "%s", name);
    int rc = fileIsRegular(p) ? tokenizerLoad(p, tok, err) : 0;
    free(p);
    return rc;
}
