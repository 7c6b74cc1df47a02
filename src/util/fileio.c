#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int fileReadAll(const char *path, char **data, size_t *len, Error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return errorSet(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return errorNoMem(err, path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                fclose(fp);
                return errorNoMem(err, path);
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        return errorSet(err, EXIT_INPUT, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    if (len) *len = n;
    return 0;
}

int atomicOpen(AtomicFile *af, const char *path, Error *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp_path = malloc(n + 16);
    if (!af->path || !af->tmp_path) {
        free(af->path);
        free(af->tmp_path);
        return errorNoMem(err, path);
    }
    snprintf(af->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(af->path);
        free(af->tmp_path);
        return errorSet(err, EXIT_RUNTIME, "%s: cannot create: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        unlink(af->tmp_path);
        free(af->path);
        free(af->tmp_path);
        return errorNoMem(err, path);
    }
    return 0;
}

static void atomicFree(AtomicFile *af)
{
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int atomicCommit(AtomicFile *af, Error *err)
{
    int bad = fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0;
    int e = errno;
    bad |= fclose(af->fp) != 0;
    if (!bad && rename(af->tmp_path, af->path) == 0) {
        atomicFree(af);
        return 0;
    }
    if (!e) e = errno;
    unlink(af->tmp_path);
    errorSet(err, EXIT_RUNTIME, "%s: cannot write: %s", af->path, strerror(e));
    atomicFree(af);
    return -1;
}

void atomicAbort(AtomicFile *af)
{
    if (!af->fp) return;
    fclose(af->fp);
    unlink(af->tmp_path);
    atomicFree(af);
}

int fileWriteAtomic(const char *path, const void *data, size_t len, Error *err)
{
    AtomicFile af;
    if (atomicOpen(&af, path, err)) return -1;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        atomicAbort(&af);
        return errorSet(err, EXIT_RUNTIME, "%s: write failed", path);
    }
    return atomicCommit(&af, err);
}

int makeDirs(const char *path, Error *err)
{
    char *p = strdup(path);
    if (!p) return errorNoMem(err, path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                errorSet(err, EXIT_RUNTIME, "%s: cannot create folder: %s", p, strerror(e));
                free(p);
                return -1;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return 0;
}

int fileIsRegular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int fileOpenRegular(const char *path, int *fd, uint64_t *size, Error *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return errorSet(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(*fd);
        *fd = -1;
        return errorSet(err, EXIT_INPUT, "%s: not a regular file", path);
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

void fileMapRelease(const void *p, size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || n == 0) return;
    uintptr_t a = (uintptr_t)p, b = a + n;
    a = a / (uintptr_t)page * (uintptr_t)page;
    b = (b + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    madvise((void *)a, b - a, MADV_DONTNEED);
}
