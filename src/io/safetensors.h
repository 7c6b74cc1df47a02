#ifndef FFNSCOPE_IO_SAFETENSORS_H
#define FFNSCOPE_IO_SAFETENSORS_H

/* safetensors files: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}
 * and the data region. The reader maps the file and validates everything in
 * the header before any tensor is handed out; the writer builds a file from
 * borrowed buffers and saves it atomically. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

typedef enum StDtype { ST_F16, ST_BF16, ST_F32, ST_F64, ST_I8, ST_I16, ST_I32, ST_I64, ST_U8, ST_BOOL } StDtype;

#define ST_MAX_DIMS 8

typedef struct StTensor {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;   /* inside the mapping, valid until stClose; may be unaligned */
    size_t nbytes;
    uint64_t offset;    /* byte offset of data from the start of the file */
} StTensor;

typedef struct StFile StFile;

/* Maps and validates PATH: header length bounded and inside the file, JSON,
 * known dtypes, shape product * element size == end - begin (no overflow),
 * offsets inside the data region, sorted, non-overlapping, covering it,
 * unique names. Errors are EXIT_INPUT "PATH: ..." (EXIT_RUNTIME for memory). */
int stOpen(const char *path, StFile **out, Error *err);
int stCount(const StFile *f);
const StTensor *stTensor(const StFile *f, int i);   /* in file order (by offset) */
const StTensor *stFind(const StFile *f, const char *name);
const char *stMetadata(const StFile *f, const char *key); /* __metadata__ string value or NULL */
const char *stPath(const StFile *f);
int stFd(const StFile *f);                          /* the open descriptor (for pread) */
void stClose(StFile *f);

size_t stDtypeSize(StDtype d);
const char *stDtypeName(StDtype d);                 /* "F16", "BF16", ... */
int stDtypeFromName(const char *s, StDtype *out);   /* 0 or -1 */
int64_t stElements(const StTensor *t);              /* product of the shape */

/* Converts a float tensor (F16, BF16, F32, F64) to float32, nbytes/elsize
 * elements into out. Other dtypes: EXIT_INPUT error naming the tensor. */
int stToF32(const StTensor *t, float *out, Error *err);
/* Same into float64. */
int stToF64(const StTensor *t, double *out, Error *err);

typedef struct StWriter StWriter;

StWriter *stWriterNew(void);   /* NULL when out of memory */
/* Adds a tensor; the data is borrowed (must live until stWriterSave). Names
 * must be unique and not "__metadata__"; ndim 0..8. */
int stWriterAdd(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape,
                const void *data, Error *err);
int stWriterMeta(StWriter *w, const char *key, const char *value, Error *err);
/* Writes the file atomically (temp file + rename): tensors in the order added,
 * packed back to back (the format allows no gaps); the header is padded with
 * spaces so the data region starts 8-byte aligned. */
int stWriterSave(StWriter *w, const char *path, Error *err);
void stWriterFree(StWriter *w);

#endif
