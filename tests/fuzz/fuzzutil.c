/* Temp files for the fuzz harnesses: one private folder per process, so two
 * fuzzers (or the regression test next to a running fuzzer) never share a
 * file. */
#include "fuzzutil.h"

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
