#ifndef FFNSCOPE_IO_NPY_H
#define FFNSCOPE_IO_NPY_H

/* NumPy .npy headers (format versions 1.0, 2.0 and 3.0): magic, version,
 * header length, then a Python dict literal {'descr': '<f4', 'fortran_order':
 * False, 'shape': (N, D), } padded with spaces and a newline; the raw array
 * follows. Only little-endian (or native) float16/32/64 in C order is
 * accepted; the data size must match the file exactly. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

#define NPY_MAX_DIMS 8
#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses far smaller headers by default */

typedef enum NpyDtype { NPY_DT_F16, NPY_DT_F32, NPY_DT_F64 } NpyDtype;

typedef struct NpyHeader {
    int major, minor;
    NpyDtype dtype;
    int elsize;                  /* bytes per element */
    int ndim;
    int64_t shape[NPY_MAX_DIMS];
    uint64_t data_offset;        /* where the array starts in the file */
    uint64_t data_bytes;         /* product of shape * elsize */
} NpyHeader;

/* Reads and validates the header of the open file fd (file_size bytes).
 * Errors are EXIT_INPUT "PATH: ...". */
int npyReadHeader(const char *path, int fd, uint64_t file_size, NpyHeader *h, Error *err);

/* Parses the header dict text (no magic); exposed for the tests and fuzzing. */
int npyParseDict(const char *path, const char *text, size_t len, NpyHeader *h, Error *err);

#endif
