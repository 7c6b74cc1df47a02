#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader reads little-endian values with memcpy"
#endif

struct GgufFile {
    char *path;
    int fd;
    unsigned char *map;
    size_t size;
    uint32_t version, alignment;
    uint64_t data_start;
    GgufKv *kvs;
    int n_kv;
    GgufTensor *tensors;
    int n_tensors;
    GgufKv **kv_by_name;         /* sorted by key, for lookups and the duplicate check */
    GgufTensor **t_by_name;      /* sorted by name */
    int scan_scales;             /* check every quantized block's scale at open */
};

/* ---- bounded reads: every read checks the bytes left first ---- */

static int truncated(const GgufFile *f, const char *what, size_t off, Error *err)
{
    return errorSet(err, EXIT_INPUT, "%s: truncated: %s runs past the end of the file (offset %zu, file size %zu)",
                    f->path, what, off, f->size);
}

static size_t left(const GgufFile *f, size_t off) { return off <= f->size ? f->size - off : 0; }

static int readU32(const GgufFile *f, size_t *off, uint32_t *v, const char *what, Error *err)
{
    *v = 0;
    if (left(f, *off) < 4) return truncated(f, what, *off, err);
    memcpy(v, f->map + *off, 4);
    *off += 4;
    return 0;
}

static int readU64(const GgufFile *f, size_t *off, uint64_t *v, const char *what, Error *err)
{
    *v = 0;
    if (left(f, *off) < 8) return truncated(f, what, *off, err);
    memcpy(v, f->map + *off, 8);
    *off += 8;
    return 0;
}

/* A string: uint64 length, then the bytes. *s points into the mapping. */
static int readString(const GgufFile *f, size_t *off, const char **s, uint64_t *len, const char *what,
                      Error *err)
{
    if (readU64(f, off, len, what, err)) return -1;
    if (*len > left(f, *off))
        return errorSet(err, EXIT_INPUT, "%s: %s has length %llu, more than the %zu bytes left in the file",
                        f->path, what, (unsigned long long)*len, left(f, *off));
    *s = (const char *)f->map + *off;
    *off += (size_t)*len;
    return 0;
}

static size_t scalarSize(GgufType t)
{
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int knownType(uint32_t t) { return t <= GGUF_FLOAT64; }

/* Walks one value of type t at *off, checking it against the file's end. */
static int skipValue(const GgufFile *f, size_t *off, GgufType t, int depth, const char *what, Error *err)
{
    size_t es = scalarSize(t);
    if (es) {
        if (left(f, *off) < es) return truncated(f, what, *off, err);
        if (t == GGUF_BOOL && f->map[*off] > 1)
            return errorSet(err, EXIT_INPUT, "%s: %s: bool value %u is neither 0 nor 1", f->path, what,
                            f->map[*off]);
        *off += es;
        return 0;
    }
    if (t == GGUF_STRING) {
        const char *s;
        uint64_t len;
        return readString(f, off, &s, &len, what, err);
    }
    if (t != GGUF_ARRAY) return errorSet(err, EXIT_INPUT, "%s: %s: unknown value type %u", f->path, what, (unsigned)t);
    if (depth >= GGUF_MAX_DEPTH)
        return errorSet(err, EXIT_INPUT, "%s: %s: arrays nested more than %d deep", f->path, what, GGUF_MAX_DEPTH);
    uint32_t et = 0;
    uint64_t n = 0;
    if (readU32(f, off, &et, what, err) || readU64(f, off, &n, what, err)) return -1;
    if (!knownType(et))
        return errorSet(err, EXIT_INPUT, "%s: %s: unknown array element type %u", f->path, what, et);
    /* Each element takes at least this many bytes: a count larger than the
     * rest of the file allows is a lie, caught before any loop runs. */
    size_t min = scalarSize((GgufType)et);
    if (et == GGUF_STRING) min = 8;
    if (et == GGUF_ARRAY) min = 12;
    if (n > left(f, *off) / min)
        return errorSet(err, EXIT_INPUT, "%s: %s: array of %llu %s elements runs past the end of the file",
                        f->path, what, (unsigned long long)n, ggufTypeName((GgufType)et));
    if (scalarSize((GgufType)et) && et != GGUF_BOOL) {
        *off += (size_t)n * min;
        return 0;
    }
    for (uint64_t i = 0; i < n; i++)
        if (skipValue(f, off, (GgufType)et, depth + 1, what, err)) return -1;
    return 0;
}

static int cmpKv(const void *a, const void *b)
{
    return strcmp((*(GgufKv *const *)a)->key, (*(GgufKv *const *)b)->key);
}

static int cmpTensorName(const void *a, const void *b)
{
    return strcmp((*(GgufTensor *const *)a)->name, (*(GgufTensor *const *)b)->name);
}

static int cmpTensorOffset(const void *a, const void *b)
{
    const GgufTensor *x = *(GgufTensor *const *)a, *y = *(GgufTensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* A copy of s[0..len) as a C string; NULL when it holds a NUL byte or memory runs out. */
static char *copyName(const char *s, size_t len, int *has_nul)
{
    *has_nul = memchr(s, 0, len) != NULL;
    if (*has_nul) return NULL;
    char *c = malloc(len + 1);
    if (c) {
        memcpy(c, s, len);
        c[len] = 0;
    }
    return c;
}

const char *ggufTypeName(GgufType t)
{
    static const char *const names[] = {"uint8", "int8",   "uint16", "int16", "uint32", "int32", "float32",
                                        "bool",  "string", "array",  "uint64", "int64", "float64"};
    return (unsigned)t <= GGUF_FLOAT64 ? names[t] : "unknown";
}

int64_t ggufElements(const GgufTensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    return n;
}

static int parseKvs(GgufFile *f, size_t *off, uint64_t n_kv, Error *err)
{
    /* The smallest key-value: an 8-byte length, one key byte, the type, one value byte. */
    if (n_kv > left(f, *off) / 14 || n_kv > INT32_MAX)
        return errorSet(err, EXIT_INPUT, "%s: the header claims %llu key-values, more than the file can hold",
                        f->path, (unsigned long long)n_kv);
    f->kvs = calloc(n_kv ? n_kv : 1, sizeof *f->kvs);
    if (!f->kvs) return errorNoMem(err, f->path);
    for (uint64_t i = 0; i < n_kv; i++) {
        char what[96];
        snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
        const char *s;
        uint64_t len;
        if (readString(f, off, &s, &len, what, err)) return -1;
        if (len == 0 || len > 65535)
            return errorSet(err, EXIT_INPUT, "%s: key %llu has length %llu (1 to 65535 allowed)", f->path,
                            (unsigned long long)i, (unsigned long long)len);
        GgufKv *kv = &f->kvs[f->n_kv];
        int nul;
        if (!(kv->key = copyName(s, (size_t)len, &nul)))
            return nul ? errorSet(err, EXIT_INPUT, "%s: key %llu contains a NUL byte", f->path, (unsigned long long)i)
                       : errorNoMem(err, f->path);
        f->n_kv++;
        snprintf(what, sizeof what, "key '%.60s'", kv->key);
        uint32_t t;
        if (readU32(f, off, &t, what, err)) return -1;
        if (!knownType(t))
            return errorSet(err, EXIT_INPUT, "%s: key '%s' has unknown value type %u", f->path, kv->key, t);
        kv->type = (GgufType)t;
        size_t start = *off;
        if (skipValue(f, off, kv->type, 0, what, err)) return -1;
        kv->count = 1;
        kv->data = f->map + start;
        kv->size = *off - start;
        if (kv->type == GGUF_ARRAY) {
            uint32_t et;
            memcpy(&et, f->map + start, 4);
            memcpy(&kv->count, f->map + start + 4, 8);
            kv->elem_type = (GgufType)et;
            kv->data = f->map + start + 12;
            kv->size -= 12;
        }
    }
    f->kv_by_name = malloc((size_t)(f->n_kv > 0 ? f->n_kv : 1) * sizeof *f->kv_by_name);
    if (!f->kv_by_name) return errorNoMem(err, f->path);
    for (int i = 0; i < f->n_kv; i++) f->kv_by_name[i] = &f->kvs[i];
    qsort(f->kv_by_name, (size_t)f->n_kv, sizeof *f->kv_by_name, cmpKv);
    for (int i = 1; i < f->n_kv; i++)
        if (!strcmp(f->kv_by_name[i - 1]->key, f->kv_by_name[i]->key))
            return errorSet(err, EXIT_INPUT, "%s: key '%s' appears twice", f->path, f->kv_by_name[i]->key);
    return 0;
}

static int parseTensorInfos(GgufFile *f, size_t *off, uint64_t n_t, Error *err)
{
    /* The smallest tensor info: name length and one byte, n_dims, one dim, type, offset. */
    if (n_t > left(f, *off) / 33 || n_t > INT32_MAX)
        return errorSet(err, EXIT_INPUT, "%s: the header claims %llu tensors, more than the file can hold",
                        f->path, (unsigned long long)n_t);
    f->tensors = calloc(n_t ? n_t : 1, sizeof *f->tensors);
    if (!f->tensors) return errorNoMem(err, f->path);
    for (uint64_t i = 0; i < n_t; i++) {
        char what[96];
        snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)i);
        const char *s;
        uint64_t len;
        if (readString(f, off, &s, &len, what, err)) return -1;
        if (len == 0 || len > GGUF_MAX_NAME)
            return errorSet(err, EXIT_INPUT, "%s: tensor %llu has a name of %llu bytes (1 to %d allowed)", f->path,
                            (unsigned long long)i, (unsigned long long)len, GGUF_MAX_NAME);
        GgufTensor *t = &f->tensors[f->n_tensors];
        int nul;
        if (!(t->name = copyName(s, (size_t)len, &nul)))
            return nul ? errorSet(err, EXIT_INPUT, "%s: tensor %llu has a NUL byte in its name", f->path,
                                  (unsigned long long)i)
                       : errorNoMem(err, f->path);
        f->n_tensors++;
        snprintf(what, sizeof what, "tensor '%s'", t->name);
        uint32_t nd, type;
        if (readU32(f, off, &nd, what, err)) return -1;
        if (nd < 1 || nd > GGUF_MAX_DIMS)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has %u dimensions (1 to %d allowed)", f->path, t->name,
                            nd, GGUF_MAX_DIMS);
        t->ndim = (int)nd;
        int64_t elements = 1;
        for (uint32_t k = 0; k < nd; k++) {
            uint64_t d;
            if (readU64(f, off, &d, what, err)) return -1;
            if (d == 0 || d > (uint64_t)INT64_MAX || (int64_t)d > INT64_MAX / elements)
                return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has an impossible dimension %llu", f->path, t->name,
                                (unsigned long long)d);
            t->dims[k] = (int64_t)d;
            elements *= (int64_t)d;
        }
        if (readU32(f, off, &type, what, err) || readU64(f, off, &t->offset, what, err)) return -1;
        t->type = type;
        if (!ggmlTypeReadable(type))
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has ggml type %u (%s), which ffnscope does not read (%s)",
                            f->path, t->name, type, ggmlTypeName(type), ggmlReadableList());
        int block = ggmlBlockElements(type), bytes = ggmlBlockBytes(type);
        if (t->dims[0] % block)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' is %s but its rows of %lld are not a multiple of %d",
                            f->path, t->name, ggmlTypeName(type), (long long)t->dims[0], block);
        /* Blocks times bytes per block, compared by division first so that a
         * lying dimension cannot overflow the byte count. */
        uint64_t blocks = (uint64_t)(elements / block);
        if (blocks > f->size / (uint64_t)bytes)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has %lld elements, more than the file can hold",
                            f->path, t->name, (long long)elements);
        t->nbytes = (size_t)blocks * (size_t)bytes;
    }
    return 0;
}

/* Alignment, offsets inside the data region, no overlaps, unique names. */
static int placeTensors(GgufFile *f, size_t off, Error *err)
{
    uint64_t align = 32;
    int rc = ggufGetUint(f, "general.alignment", &align, err);
    if (rc < 0) return -1;
    const GgufKv *akv = ggufFindKv(f, "general.alignment");
    if (akv && akv->type != GGUF_UINT32)
        return errorSet(err, EXIT_INPUT, "%s: key 'general.alignment' has type %s, expected uint32", f->path,
                        ggufTypeName(akv->type));
    if (align == 0 || align % 8 || align > (1u << 20))
        return errorSet(err, EXIT_INPUT, "%s: general.alignment %llu is not a multiple of 8 between 8 and 1048576",
                        f->path, (unsigned long long)align);
    f->alignment = (uint32_t)align;
    f->data_start = off + (align - off % align) % align;
    if (f->n_tensors && f->data_start > f->size)
        return errorSet(err, EXIT_INPUT, "%s: truncated: the tensor data would start at byte %llu, past the end (%zu)",
                        f->path, (unsigned long long)f->data_start, f->size);
    size_t region = f->n_tensors ? f->size - (size_t)f->data_start : 0;
    for (int i = 0; i < f->n_tensors; i++) {
        GgufTensor *t = &f->tensors[i];
        if (t->offset % align)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has offset %llu, not a multiple of the alignment %llu",
                            f->path, t->name, (unsigned long long)t->offset, (unsigned long long)align);
        if (t->offset > region || t->nbytes > region - t->offset)
            return errorSet(err, EXIT_INPUT,
                            "%s: tensor '%s' (offset %llu, %zu bytes) runs past the end of the data region (%zu bytes)",
                            f->path, t->name, (unsigned long long)t->offset, t->nbytes, region);
        t->offset += f->data_start;
        t->data = f->map + t->offset;
        int64_t blocks = (int64_t)(t->nbytes / (size_t)ggmlBlockBytes(t->type));
        int64_t bad = f->scan_scales ? ggmlFindBadScale(t->type, t->data, blocks) : -1;
        if (bad >= 0)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' (%s): block %lld has a non-finite scale (f16 Inf or NaN)",
                            f->path, t->name, ggmlTypeName(t->type), (long long)bad);
        /* the check read every page of a quantized tensor: a model streamed
         * from the file would otherwise count all of it as its memory */
        if (f->scan_scales && ggmlBlockElements(t->type) > 1) fileMapRelease(t->data, t->nbytes);
    }
    GgufTensor **order = malloc((size_t)(f->n_tensors > 0 ? f->n_tensors : 1) * sizeof *order);
    f->t_by_name = malloc((size_t)(f->n_tensors > 0 ? f->n_tensors : 1) * sizeof *f->t_by_name);
    if (!order || !f->t_by_name) {
        free(order);
        return errorNoMem(err, f->path);
    }
    for (int i = 0; i < f->n_tensors; i++) order[i] = f->t_by_name[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, cmpTensorOffset);
    qsort(f->t_by_name, (size_t)f->n_tensors, sizeof *f->t_by_name, cmpTensorName);
    rc = 0;
    for (int i = 1; i < f->n_tensors && !rc; i++) {
        if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
            rc = errorSet(err, EXIT_INPUT, "%s: the data of tensors '%s' and '%s' overlap", f->path, order[i - 1]->name,
                          order[i]->name);
        else if (!strcmp(f->t_by_name[i - 1]->name, f->t_by_name[i]->name))
            rc = errorSet(err, EXIT_INPUT, "%s: tensor '%s' appears twice", f->path, f->t_by_name[i]->name);
    }
    free(order);
    return rc;
}

static int openFile(const char *path, int scan_scales, GgufFile **out, Error *err)
{
    *out = NULL;
    GgufFile *f = calloc(1, sizeof *f);
    if (!f) return errorNoMem(err, path);
    f->fd = -1;
    f->scan_scales = scan_scales;
    if (!(f->path = strdup(path))) {
        free(f);
        return errorNoMem(err, path);
    }
    struct stat st;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        errorSet(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errorSet(err, EXIT_INPUT, "%s: not a regular file", path);
        goto fail;
    }
    f->size = (size_t)st.st_size;
    if (f->size < 24) {
        errorSet(err, EXIT_INPUT, "%s: too short for a GGUF file (%zu bytes)", path, f->size);
        goto fail;
    }
    f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        errorSet(err, EXIT_RUNTIME, "%s: cannot map the file: %s", path, strerror(errno));
        goto fail;
    }
    if (memcmp(f->map, "GGUF", 4)) {
        errorSet(err, EXIT_INPUT, "%s: not a GGUF file (bad magic)", path);
        goto fail;
    }
    size_t off = 4;
    uint64_t n_t, n_kv;
    if (readU32(f, &off, &f->version, "header", err)) goto fail;
    if (f->version == 0x02000000u || f->version == 0x03000000u) {
        errorSet(err, EXIT_INPUT, "%s: big-endian GGUF files are not supported", path);
        goto fail;
    }
    if (f->version != 2 && f->version != 3) {
        errorSet(err, EXIT_INPUT, "%s: GGUF version %u is not supported (2 or 3)", path, f->version);
        goto fail;
    }
    if (readU64(f, &off, &n_t, "header", err) || readU64(f, &off, &n_kv, "header", err) ||
        parseKvs(f, &off, n_kv, err) || parseTensorInfos(f, &off, n_t, err) || placeTensors(f, off, err))
        goto fail;
    *out = f;
    return 0;
fail:
    ggufClose(f);
    return -1;
}

int ggufOpen(const char *path, GgufFile **out, Error *err) { return openFile(path, 1, out, err); }

int ggufOpenHeader(const char *path, GgufFile **out, Error *err) { return openFile(path, 0, out, err); }

void ggufClose(GgufFile *f)
{
    if (!f) return;
    for (int i = 0; i < f->n_kv; i++) free(f->kvs[i].key);
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->kvs);
    free(f->tensors);
    free(f->kv_by_name);
    free(f->t_by_name);
    if (f->map) munmap(f->map, f->size);
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    free(f);
}

const char *ggufPath(const GgufFile *f) { return f->path; }
uint32_t ggufVersion(const GgufFile *f) { return f->version; }
uint32_t ggufAlignment(const GgufFile *f) { return f->alignment; }
int ggufKvCount(const GgufFile *f) { return f->n_kv; }
const GgufKv *ggufKvAt(const GgufFile *f, int i) { return &f->kvs[i]; }
int ggufTensorCount(const GgufFile *f) { return f->n_tensors; }
const GgufTensor *ggufTensorAt(const GgufFile *f, int i) { return &f->tensors[i]; }

const GgufKv *ggufFindKv(const GgufFile *f, const char *key)
{
    if (!f->kv_by_name) return NULL;
    GgufKv probe = {.key = (char *)key}, *pp = &probe;
    GgufKv **hit = bsearch(&pp, f->kv_by_name, (size_t)f->n_kv, sizeof *f->kv_by_name, cmpKv);
    return hit ? *hit : NULL;
}

const GgufTensor *ggufFindTensor(const GgufFile *f, const char *name)
{
    if (!f->t_by_name) return NULL;
    GgufTensor probe = {.name = (char *)name}, *pp = &probe;
    GgufTensor **hit = bsearch(&pp, f->t_by_name, (size_t)f->n_tensors, sizeof *f->t_by_name, cmpTensorName);
    return hit ? *hit : NULL;
}

/* ---- typed getters ---- */

/* An integer of scalar type t at p, sign-extended; *neg when below zero. */
static int intAt(GgufType t, const unsigned char *p, int64_t *v, uint64_t *u, int *neg)
{
    *neg = 0;
    switch (t) {
    case GGUF_UINT8: *u = p[0]; break;
    case GGUF_INT8: *v = (int8_t)p[0]; goto sgn;
    case GGUF_UINT16: { uint16_t x; memcpy(&x, p, 2); *u = x; break; }
    case GGUF_INT16: { int16_t x; memcpy(&x, p, 2); *v = x; goto sgn; }
    case GGUF_UINT32: { uint32_t x; memcpy(&x, p, 4); *u = x; break; }
    case GGUF_INT32: { int32_t x; memcpy(&x, p, 4); *v = x; goto sgn; }
    case GGUF_UINT64: memcpy(u, p, 8); break;
    case GGUF_INT64: memcpy(v, p, 8); goto sgn;
    default: return -1;
    }
    *v = *u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)*u;
    return 0;
sgn:
    *neg = *v < 0;
    *u = *neg ? 0 : (uint64_t)*v;
    return 0;
}

int ggufGetUint(const GgufFile *f, const char *key, uint64_t *out, Error *err)
{
    const GgufKv *kv = ggufFindKv(f, key);
    if (!kv) return 1;
    int64_t v;
    uint64_t u;
    int neg;
    if (intAt(kv->type, kv->data, &v, &u, &neg))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' has type %s, expected an integer", f->path, key,
                        ggufTypeName(kv->type));
    if (neg) return errorSet(err, EXIT_INPUT, "%s: key '%s' is negative (%lld)", f->path, key, (long long)v);
    *out = u;
    return 0;
}

int ggufGetFloat(const GgufFile *f, const char *key, double *out, Error *err)
{
    const GgufKv *kv = ggufFindKv(f, key);
    if (!kv) return 1;
    if (kv->type == GGUF_FLOAT32) {
        float x;
        memcpy(&x, kv->data, 4);
        *out = x;
        return 0;
    }
    if (kv->type == GGUF_FLOAT64) {
        memcpy(out, kv->data, 8);
        return 0;
    }
    int64_t v;
    uint64_t u;
    int neg;
    if (intAt(kv->type, kv->data, &v, &u, &neg))
        return errorSet(err, EXIT_INPUT, "%s: key '%s' has type %s, expected a number", f->path, key,
                        ggufTypeName(kv->type));
    *out = neg ? (double)v : (double)u;
    return 0;
}

int ggufGetBool(const GgufFile *f, const char *key, int *out, Error *err)
{
    const GgufKv *kv = ggufFindKv(f, key);
    if (!kv) return 1;
    if (kv->type != GGUF_BOOL)
        return errorSet(err, EXIT_INPUT, "%s: key '%s' has type %s, expected bool", f->path, key,
                        ggufTypeName(kv->type));
    *out = kv->data[0];
    return 0;
}

int ggufGetString(const GgufFile *f, const char *key, const char **s, size_t *len, Error *err)
{
    const GgufKv *kv = ggufFindKv(f, key);
    if (!kv) return 1;
    if (kv->type != GGUF_STRING)
        return errorSet(err, EXIT_INPUT, "%s: key '%s' has type %s, expected string", f->path, key,
                        ggufTypeName(kv->type));
    uint64_t n;
    memcpy(&n, kv->data, 8);
    *s = (const char *)kv->data + 8;
    *len = (size_t)n;
    return 0;
}

static const GgufKv *arrayKv(const GgufFile *f, const char *key, int (*ok)(GgufType), const char *want,
                             Error *err, int *rc)
{
    const GgufKv *kv = ggufFindKv(f, key);
    *rc = kv ? 0 : 1;
    if (!kv) return NULL;
    if (kv->type != GGUF_ARRAY || !ok(kv->elem_type)) {
        *rc = errorSet(err, EXIT_INPUT, "%s: key '%s' has type %s%s%s%s, expected array[%s]", f->path, key,
                       ggufTypeName(kv->type), kv->type == GGUF_ARRAY ? "[" : "",
                       kv->type == GGUF_ARRAY ? ggufTypeName(kv->elem_type) : "", kv->type == GGUF_ARRAY ? "]" : "",
                       want);
        return NULL;
    }
    return kv;
}

static int isString(GgufType t) { return t == GGUF_STRING; }
static int isFloat(GgufType t) { return t == GGUF_FLOAT32 || t == GGUF_FLOAT64; }
static int isInt(GgufType t) { return scalarSize(t) && t != GGUF_BOOL && !isFloat(t); }

int ggufGetStrings(const GgufFile *f, const char *key, const char ***strs, uint32_t **lens, uint64_t *count,
                   Error *err)
{
    int rc;
    const GgufKv *kv = arrayKv(f, key, isString, "string", err, &rc);
    if (!kv) return rc;
    size_t n = (size_t)kv->count;
    const char **s = malloc((n ? n : 1) * sizeof *s);
    uint32_t *l = malloc((n ? n : 1) * sizeof *l);
    if (!s || !l) {
        free(s);
        free(l);
        return errorNoMem(err, f->path);
    }
    const unsigned char *p = kv->data;
    for (size_t i = 0; i < n; i++) {
        uint64_t len;
        memcpy(&len, p, 8);
        if (len > UINT32_MAX) {
            free(s);
            free(l);
            return errorSet(err, EXIT_INPUT, "%s: key '%s': element %zu is longer than 4 GiB", f->path, key, i);
        }
        s[i] = (const char *)p + 8;
        l[i] = (uint32_t)len;
        p += 8 + len;
    }
    *strs = s;
    *lens = l;
    *count = kv->count;
    return 0;
}

int ggufGetF32Array(const GgufFile *f, const char *key, float **out, uint64_t *count, Error *err)
{
    int rc;
    const GgufKv *kv = arrayKv(f, key, isFloat, "float32", err, &rc);
    if (!kv) return rc;
    size_t n = (size_t)kv->count;
    float *o = malloc((n ? n : 1) * sizeof *o);
    if (!o) return errorNoMem(err, f->path);
    for (size_t i = 0; i < n; i++) {
        if (kv->elem_type == GGUF_FLOAT32) {
            memcpy(&o[i], kv->data + 4 * i, 4);
        } else {
            double d;
            memcpy(&d, kv->data + 8 * i, 8);
            o[i] = (float)d;
        }
    }
    *out = o;
    *count = kv->count;
    return 0;
}

int ggufGetI32Array(const GgufFile *f, const char *key, int32_t **out, uint64_t *count, Error *err)
{
    int rc;
    const GgufKv *kv = arrayKv(f, key, isInt, "int32", err, &rc);
    if (!kv) return rc;
    size_t n = (size_t)kv->count, es = scalarSize(kv->elem_type);
    int32_t *o = malloc((n ? n : 1) * sizeof *o);
    if (!o) return errorNoMem(err, f->path);
    for (size_t i = 0; i < n; i++) {
        int64_t v = 0;
        uint64_t u = 0;
        int neg;
        intAt(kv->elem_type, kv->data + es * i, &v, &u, &neg);
        if (v < INT32_MIN || v > INT32_MAX) {
            free(o);
            return errorSet(err, EXIT_INPUT, "%s: key '%s': element %zu (%lld) does not fit in int32", f->path, key,
                            i, (long long)v);
        }
        o[i] = (int32_t)v;
    }
    *out = o;
    *count = kv->count;
    return 0;
}

/* ---- tensor data ---- */

int64_t ggufRows(const GgufTensor *t) { return ggufElements(t) / t->dims[0]; }

void ggufToF32(const GgufTensor *t, float *out)
{
    /* Validated at open: the type is readable and the rows whole blocks. */
    ggmlDequantRows(t->type, t->data, t->dims[0], 0, ggufRows(t), out, NULL);
}

int ggufRowsToF32(const GgufTensor *t, int64_t first_row, int64_t n_rows, float *out, Error *err)
{
    int64_t rows = ggufRows(t);
    if (first_row < 0 || n_rows < 0 || first_row > rows || n_rows > rows - first_row)
        return errorSet(err, EXIT_RUNTIME, "tensor '%s': rows %lld to %lld are outside its %lld rows", t->name,
                        (long long)first_row, (long long)(first_row + n_rows), (long long)rows);
    return ggmlDequantRows(t->type, t->data, t->dims[0], first_row, n_rows, out, err);
}

int ggufTypeMix(const GgufFile *f, char *buf, size_t len)
{
    GgmlTypeCount *items = malloc((size_t)(f->n_tensors > 0 ? f->n_tensors : 1) * sizeof *items);
    if (!items) {
        if (len) buf[0] = '\0';
        return 0;
    }
    for (int i = 0; i < f->n_tensors; i++)
        items[i] = (GgmlTypeCount){f->tensors[i].type, ggufElements(&f->tensors[i])};
    int n = ggmlFormatTypeMix(items, f->n_tensors, buf, len);
    free(items);
    return n;
}

/* ---- metadata as JSON ---- */

/* A JSON string of s; bytes that are not valid UTF-8 become '?'. */
static json_t *jsonText(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j) return j;
    char *c = malloc(len + 1);
    if (!c) return NULL;
    for (size_t i = 0; i < len; i++) c[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
    j = json_stringn(c, len);
    free(c);
    return j;
}

static json_t *valueJson(const GgufFile *f, GgufType t, size_t *off, size_t inline_max);

static json_t *arrayJson(const GgufFile *f, GgufType et, uint64_t n, size_t *off, size_t inline_max)
{
    if (n > inline_max) {
        char type[40];
        snprintf(type, sizeof type, "array[%s]", ggufTypeName(et));
        for (uint64_t i = 0; i < n; i++) skipValue(f, off, et, 0, "", NULL);
        return json_pack("{s:s, s:I}", "type", type, "count", (json_int_t)n);
    }
    json_t *a = json_array();
    for (uint64_t i = 0; a && i < n; i++) {
        json_t *v = valueJson(f, et, off, inline_max);
        if (!v || json_array_append_new(a, v)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* The value of type t at *off (already validated), advancing *off. */
static json_t *valueJson(const GgufFile *f, GgufType t, size_t *off, size_t inline_max)
{
    const unsigned char *p = f->map + *off;
    if (t == GGUF_STRING) {
        uint64_t n;
        memcpy(&n, p, 8);
        *off += 8 + (size_t)n;
        return jsonText((const char *)p + 8, (size_t)n);
    }
    if (t == GGUF_ARRAY) {
        uint32_t et;
        uint64_t n;
        memcpy(&et, p, 4);
        memcpy(&n, p + 4, 8);
        *off += 12;
        return arrayJson(f, (GgufType)et, n, off, inline_max);
    }
    *off += scalarSize(t);
    if (t == GGUF_BOOL) return json_boolean(p[0]);
    double d;
    if (t == GGUF_FLOAT32 || t == GGUF_FLOAT64) {
        if (t == GGUF_FLOAT32) {
            float x;
            memcpy(&x, p, 4);
            d = x;
        } else {
            memcpy(&d, p, 8);
        }
        return isfinite(d) ? json_real(d) : json_null();
    }
    int64_t v = 0;
    uint64_t u = 0;
    int neg = 0;
    intAt(t, p, &v, &u, &neg);
    if (!neg && u > (uint64_t)INT64_MAX) return json_real((double)u);
    return json_integer(neg ? v : (json_int_t)u);
}

int ggufMetadataJson(const GgufFile *f, size_t inline_max, json_t **out, Error *err)
{
    json_t *o = json_object();
    if (!o) return errorNoMem(err, f->path);
    for (int i = 0; i < f->n_kv; i++) {
        const GgufKv *kv = &f->kvs[i];
        size_t off = (size_t)(kv->data - f->map);
        json_t *v;
        if (kv->type == GGUF_ARRAY) v = arrayJson(f, kv->elem_type, kv->count, &off, inline_max);
        else v = valueJson(f, kv->type, &off, inline_max);
        if (!v || json_object_set_new(o, kv->key, v)) {
            json_decref(o);
            return errorNoMem(err, f->path);
        }
    }
    *out = o;
    return 0;
}

int ggufReadMetadataJson(const char *path, size_t inline_max, json_t **out, Error *err)
{
    GgufFile *f;
    if (ggufOpen(path, &f, err)) return -1;
    int rc = ggufMetadataJson(f, inline_max, out, err);
    ggufClose(f);
    return rc;
}
