#ifndef FFNSCOPE_UTIL_FILEIO_H
#define FFNSCOPE_UTIL_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ffnscope/error.h"

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
int fileReadAll(const char *path, char **data, size_t *len, Error *err);

/* Writing without ever leaving a half-written file: data goes to PATH.tmp.XXXXXX
 * in the same folder and is renamed over PATH on commit; abort removes it. */
typedef struct AtomicFile {
    FILE *fp;          /* write here */
    char *path;
    char *tmp_path;
} AtomicFile;

int atomicOpen(AtomicFile *af, const char *path, Error *err);
int atomicCommit(AtomicFile *af, Error *err); /* flush, fsync, rename; closes */
void atomicAbort(AtomicFile *af);             /* closes and removes the temp file */

/* One-shot atomic write of a buffer. */
int fileWriteAtomic(const char *path, const void *data, size_t len, Error *err);

/* 1 when path names a regular file (following links). */
int fileIsRegular(const char *path);

/* Opens a regular file read-only: *fd and *size on success; on failure *fd is
 * -1 and err says "PATH: why" (EXIT_INPUT). */
int fileOpenRegular(const char *path, int *fd, uint64_t *size, Error *err);

/* Drops the pages of [p, p + n) inside a read-only file mapping from this
 * process (whole pages around the range): they were read and are not needed
 * again, so they stop counting as its memory; the page cache keeps them,
 * and a later read faults them back in. */
void fileMapRelease(const void *p, size_t n);

/* mkdir -p. */
int makeDirs(const char *path, Error *err);

#endif
