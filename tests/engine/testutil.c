#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int testTempDir(char *buf, size_t len)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, len, "%s/ffnscope-engine-XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(buf) ? 0 : -1;
}

static int rmOne(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

void testRemoveTree(const char *path)
{
    if (path && *path) nftw(path, rmOne, 16, FTW_DEPTH | FTW_PHYS);
}

int testCountEntries(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

int testWriteNpyF32(const char *path, const float *data, int rows, int cols)
{
    char header[128];
    int n = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }",
                     rows, cols);
    /* magic (6) + version (2) + length (2) + header + padding + '\n', a multiple of 64 */
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    unsigned short hl = (unsigned short)(n + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    unsigned char le[2] = {(unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    fwrite(le, 1, 2, fp);
    fwrite(header, 1, (size_t)n, fp);
    for (int i = 0; i < pad; i++) fputc(' ', fp);
    fputc('\n', fp);
    fwrite(data, sizeof(float), (size_t)rows * (size_t)cols, fp);
    return fclose(fp);
}

int testWriteSafetensorsF32(const char *path, int n, const char *const *names, const float *const *data, int rows,
                            int cols)
{
    size_t bytes = sizeof(float) * (size_t)rows * (size_t)cols, len = 1;
    char header[4096] = "{";
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(header + len, sizeof header - len,
                                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                i ? "," : "", names[i], rows, cols, bytes * (size_t)i, bytes * (size_t)(i + 1));
    }
    header[len++] = '}';
    while (len % 8) header[len++] = ' ';
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)len >> (8 * i));
    fwrite(le, 1, 8, fp);
    fwrite(header, 1, len, fp);
    for (int i = 0; i < n; i++) fwrite(data[i], 1, bytes, fp);
    return fclose(fp);
}
