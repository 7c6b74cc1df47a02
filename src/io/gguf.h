#ifndef FFNSCOPE_IO_GGUF_H
#define FFNSCOPE_IO_GGUF_H

/* GGUF files (ggml / llama.cpp), versions 2 and 3, little-endian.
 *
 * Layout: "GGUF", uint32 version, uint64 tensor_count, uint64 kv_count, the
 * typed key-values, the tensor infos (name, n_dims, dims innermost first,
 * ggml type, offset relative to the data region), zero padding up to
 * general.alignment (default 32), then the tensor data.
 *
 * The reader maps the file and walks every byte of the header before it hands
 * anything out: counts and string lengths bounded by what is left of the file,
 * value types known, bools 0 or 1, arrays nested at most GGUF_MAX_DEPTH deep,
 * keys and tensor names unique, tensor types known to ffnscope (ggml_quant.h:
 * plain floats and the block-quantized types), rows a whole number of blocks,
 * sizes without overflow, offsets aligned, inside the file and not
 * overlapping, and the f16 scales of every quantized block finite (that last
 * check reads one or two scales per block, so opening touches every page of
 * a quantized tensor). Errors are EXIT_INPUT "PATH: what is wrong"
 * (EXIT_RUNTIME for memory). Version 1 files (32-bit counts) and big-endian
 * files are refused. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "io/ggml_quant.h"

typedef enum GgufType {
    GGUF_UINT8 = 0,
    GGUF_INT8 = 1,
    GGUF_UINT16 = 2,
    GGUF_INT16 = 3,
    GGUF_UINT32 = 4,
    GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6,
    GGUF_BOOL = 7,
    GGUF_STRING = 8,
    GGUF_ARRAY = 9,
    GGUF_UINT64 = 10,
    GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12,
} GgufType;

enum { GGUF_MAX_DIMS = 4, GGUF_MAX_DEPTH = 8, GGUF_MAX_NAME = 64 };

typedef struct GgufKv {
    char *key;                  /* NUL-terminated copy */
    GgufType type;
    GgufType elem_type;         /* arrays: the element type */
    uint64_t count;             /* arrays: the number of elements */
    const unsigned char *data;  /* the value (arrays: the first element) inside the mapping */
    size_t size;                /* bytes of the value (arrays: of all elements) */
} GgufKv;

typedef struct GgufTensor {
    char *name;
    int ndim;
    int64_t dims[GGUF_MAX_DIMS]; /* innermost first: dims[0] is the row length */
    uint32_t type;               /* GGML_TYPE_* */
    uint64_t offset;             /* from the start of the file */
    size_t nbytes;
    const void *data;            /* inside the mapping, valid until ggufClose; may be unaligned */
} GgufTensor;

typedef struct GgufFile GgufFile;

int ggufOpen(const char *path, GgufFile **out, Error *err);
/* ggufOpen without the scan of every quantized block's scale (all the
 * header's checks are made): a look at a file that reads no tensor, as the
 * memory plan's before the model is loaded, at a fraction of the time (the
 * scan reads the whole file). Whoever reads tensor data opens it with ggufOpen. */
int ggufOpenHeader(const char *path, GgufFile **out, Error *err);
void ggufClose(GgufFile *f);

const char *ggufPath(const GgufFile *f);
uint32_t ggufVersion(const GgufFile *f);
uint32_t ggufAlignment(const GgufFile *f);

int ggufKvCount(const GgufFile *f);
const GgufKv *ggufKvAt(const GgufFile *f, int i);        /* in file order */
const GgufKv *ggufFindKv(const GgufFile *f, const char *key);
int ggufTensorCount(const GgufFile *f);
const GgufTensor *ggufTensorAt(const GgufFile *f, int i); /* in file order */
const GgufTensor *ggufFindTensor(const GgufFile *f, const char *name);

/* Typed getters: 0 with *out set, 1 when the key is absent (out untouched),
 * -1 with err ("PATH: key 'K' ...") when present with another type or out of
 * range. Uint accepts any integer type holding a value >= 0; Float accepts
 * float32, float64 and integers. */
int ggufGetUint(const GgufFile *f, const char *key, uint64_t *out, Error *err);
int ggufGetFloat(const GgufFile *f, const char *key, double *out, Error *err);
int ggufGetBool(const GgufFile *f, const char *key, int *out, Error *err);
/* The string's bytes inside the mapping (not NUL-terminated). */
int ggufGetString(const GgufFile *f, const char *key, const char **s, size_t *len, Error *err);

/* Arrays, same return convention; the arrays are malloc'd (free them).
 * Strings point into the mapping, with their byte lengths in *lens. Int32
 * accepts any integer element type whose values fit. */
int ggufGetStrings(const GgufFile *f, const char *key, const char ***strs, uint32_t **lens,
                   uint64_t *count, Error *err);
int ggufGetF32Array(const GgufFile *f, const char *key, float **out, uint64_t *count, Error *err);
int ggufGetI32Array(const GgufFile *f, const char *key, int32_t **out, uint64_t *count, Error *err);

const char *ggufTypeName(GgufType t);  /* "uint32", "string", "array", ... */
int64_t ggufElements(const GgufTensor *t);
/* Rows of the tensor: ggufElements / dims[0]. */
int64_t ggufRows(const GgufTensor *t);

/* Converts the tensor to float32 (ggufElements values; quantized blocks
 * widened as ggml does). */
void ggufToF32(const GgufTensor *t, float *out);
/* Rows first_row .. first_row + n_rows of the tensor (rows of dims[0]
 * elements) into out[n_rows * dims[0]]; -1 with err (EXIT_RUNTIME, naming the
 * tensor) when the range is not inside the tensor. */
int ggufRowsToF32(const GgufTensor *t, int64_t first_row, int64_t n_rows, float *out, Error *err);

/* The tensors' type mix by elements, "Q4_K 67%, Q6_K 12%, F32 21%"
 * (ggmlFormatTypeMix); same return as snprintf. */
int ggufTypeMix(const GgufFile *f, char *buf, size_t len);

/* The metadata as a JSON object (jansson), key -> value in file order: numbers,
 * strings and bools as themselves, arrays of up to `inline_max` elements as
 * JSON arrays, longer ones as {"type": "array[ELEM]", "count": N}. */
struct json_t;
int ggufMetadataJson(const GgufFile *f, size_t inline_max, struct json_t **out, Error *err);
/* The same for the file at path (opened, validated and closed). */
int ggufReadMetadataJson(const char *path, size_t inline_max, struct json_t **out, Error *err);

#endif
