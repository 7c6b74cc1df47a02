#include "io/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/half.h"

/* The reference implementation refuses headers above 100 MB; so do we, which
 * also bounds what a lying length field can make us allocate. */
#define ST_MAX_HEADER (100u << 20)

struct StFile {
    char *path;
    int fd;
    void *map;           /* whole file, read-only */
    size_t map_len;
    StTensor *tensors;   /* [count], sorted by offset */
    const StTensor **by_name; /* [count] sorted by name, for stFind */
    int count;
    char **meta_keys;    /* [meta_count] */
    char **meta_values;  /* [meta_count] */
    int meta_count;
};

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8},
    [ST_I8] = {"I8", 1},   [ST_I16] = {"I16", 2},   [ST_I32] = {"I32", 4}, [ST_I64] = {"I64", 8},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtypes / sizeof dtypes[0]))

size_t stDtypeSize(StDtype d) { return (unsigned)d < (unsigned)N_DTYPES ? dtypes[d].size : 0; }

const char *stDtypeName(StDtype d) { return (unsigned)d < (unsigned)N_DTYPES ? dtypes[d].name : "?"; }

int stDtypeFromName(const char *s, StDtype *out)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (!strcmp(s, dtypes[i].name)) {
            *out = (StDtype)i;
            return 0;
        }
    return -1;
}

int64_t stElements(const StTensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int stCount(const StFile *f) { return f->count; }

const StTensor *stTensor(const StFile *f, int i) { return i >= 0 && i < f->count ? &f->tensors[i] : NULL; }

const char *stPath(const StFile *f) { return f->path; }

int stFd(const StFile *f) { return f->fd; }

const StTensor *stFind(const StFile *f, const char *name)
{
    int lo = 0, hi = f->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

const char *stMetadata(const StFile *f, const char *key)
{
    for (int i = 0; i < f->meta_count; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

void stClose(StFile *f)
{
    if (!f) return;
    for (int i = 0; i < f->count; i++) free(f->tensors[i].name);
    for (int i = 0; i < f->meta_count; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    free(f->tensors);
    free(f->by_name);
    if (f->map && f->map != MAP_FAILED) munmap(f->map, f->map_len);
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    free(f);
}

static int cmpOffset(const void *a, const void *b)
{
    const StTensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmpName(const void *a, const void *b)
{
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

/* Parses one tensor entry; fills t (name owned by caller on success). */
static int parseEntry(const char *path, const char *name, json_t *v, uint64_t data_len, StTensor *t,
                      Error *err)
{
    if (!json_is_object(v)) return errorSet(err, EXIT_INPUT, "%s: tensor '%s': entry is not an object", path, name);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd)) return errorSet(err, EXIT_INPUT, "%s: tensor '%s': missing or non-string dtype", path, name);
    if (stDtypeFromName(json_string_value(jd), &t->dtype))
        return errorSet(err, EXIT_INPUT, "%s: tensor '%s': unknown dtype '%.32s'", path, name, json_string_value(jd));
    if (!json_is_array(js)) return errorSet(err, EXIT_INPUT, "%s: tensor '%s': missing or non-array shape", path, name);
    size_t nd = json_array_size(js);
    if (nd > ST_MAX_DIMS)
        return errorSet(err, EXIT_INPUT, "%s: tensor '%s': %zu dimensions (at most %d)", path, name, nd, ST_MAX_DIMS);
    t->ndim = (int)nd;
    uint64_t elems = 1;
    int overflow = 0;
    for (size_t i = 0; i < nd; i++) {
        json_t *e = json_array_get(js, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s': shape holds a value that is not a non-negative integer",
                            path, name);
        t->shape[i] = json_integer_value(e);
        overflow |= __builtin_mul_overflow(elems, (uint64_t)t->shape[i], &elems);
    }
    uint64_t bytes;
    overflow |= __builtin_mul_overflow(elems, (uint64_t)stDtypeSize(t->dtype), &bytes);
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)))
        return errorSet(err, EXIT_INPUT, "%s: tensor '%s': data_offsets is not a pair of integers", path, name);
    json_int_t b = json_integer_value(json_array_get(jo, 0)), e = json_integer_value(json_array_get(jo, 1));
    if (b < 0 || e < b)
        return errorSet(err, EXIT_INPUT, "%s: tensor '%s': data_offsets [%lld, %lld] are not an increasing pair", path,
                        name, (long long)b, (long long)e);
    if ((uint64_t)e > data_len)
        return errorSet(err, EXIT_INPUT,
                        "%s: tensor '%s': data_offsets [%lld, %lld] reach past the data region (%llu bytes)", path,
                        name, (long long)b, (long long)e, (unsigned long long)data_len);
    if (overflow || bytes != (uint64_t)(e - b))
        return errorSet(err, EXIT_INPUT,
                        "%s: tensor '%s': shape and dtype %s need %s bytes but data_offsets span %lld", path, name,
                        stDtypeName(t->dtype), overflow ? "too many" : "a different number of", (long long)(e - b));
    t->offset = (uint64_t)b;
    t->nbytes = (size_t)(e - b);
    return 0;
}

static int parseMetadata(StFile *f, json_t *meta, Error *err)
{
    if (!json_is_object(meta)) return errorSet(err, EXIT_INPUT, "%s: __metadata__ is not an object", f->path);
    size_t n = json_object_size(meta);
    f->meta_keys = calloc(n ? n : 1, sizeof *f->meta_keys);
    f->meta_values = calloc(n ? n : 1, sizeof *f->meta_values);
    if (!f->meta_keys || !f->meta_values) return errorNoMem(err, f->path);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v))
            return errorSet(err, EXIT_INPUT, "%s: __metadata__ value of '%s' is not a string", f->path, k);
        f->meta_keys[f->meta_count] = strdup(k);
        f->meta_values[f->meta_count] = strdup(json_string_value(v));
        f->meta_count++;
        if (!f->meta_keys[f->meta_count - 1] || !f->meta_values[f->meta_count - 1]) return errorNoMem(err, f->path);
    }
    return 0;
}

static int parseHeader(StFile *f, const char *hdr, size_t hlen, uint64_t data_len, Error *err)
{
    json_error_t je;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root) return errorSet(err, EXIT_INPUT, "%s: header is not valid JSON: %s", f->path, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        errorSet(err, EXIT_INPUT, "%s: header is not a JSON object", f->path);
        goto done;
    }
    size_t n = json_object_size(root);
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    f->by_name = calloc(n ? n : 1, sizeof *f->by_name);
    if (!f->tensors || !f->by_name) {
        errorNoMem(err, f->path);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (parseMetadata(f, v, err)) goto done;
            continue;
        }
        StTensor *t = &f->tensors[f->count];
        if (parseEntry(f->path, key, v, data_len, t, err)) goto done;
        if (!(t->name = strdup(key))) {
            errorNoMem(err, f->path);
            goto done;
        }
        f->count++;
    }
    qsort(f->tensors, f->count, sizeof *f->tensors, cmpOffset);
    uint64_t at = 0;
    for (int i = 0; i < f->count; i++) {
        StTensor *t = &f->tensors[i];
        if (t->offset < at) {
            errorSet(err, EXIT_INPUT, "%s: tensor '%s': data overlaps tensor '%s'", f->path, t->name,
                     f->tensors[i - 1].name);
            goto done;
        }
        if (t->offset > at) {
            errorSet(err, EXIT_INPUT, "%s: tensor '%s': gap of %llu bytes before its data", f->path, t->name,
                     (unsigned long long)(t->offset - at));
            goto done;
        }
        at = t->offset + t->nbytes;
    }
    if (at != data_len) {
        errorSet(err, EXIT_INPUT, "%s: tensors cover %llu of the %llu data bytes", f->path, (unsigned long long)at,
                 (unsigned long long)data_len);
        goto done;
    }
    for (int i = 0; i < f->count; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->count, sizeof *f->by_name, cmpName);
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int stOpen(const char *path, StFile **out, Error *err)
{
    *out = NULL;
    StFile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return errorNoMem(err, path);
    }
    uint64_t size;
    if (fileOpenRegular(path, &f->fd, &size, err)) goto fail;
    if (size < 8) {
        errorSet(err, EXIT_INPUT, "%s: too short for a safetensors file (%llu bytes)", path, (unsigned long long)size);
        goto fail;
    }
    f->map_len = (size_t)size;
    f->map = mmap(NULL, f->map_len, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        errorSet(err, EXIT_RUNTIME, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    const unsigned char *p = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen > ST_MAX_HEADER) {
        errorSet(err, EXIT_INPUT, "%s: header length %llu is larger than the %u byte limit", path,
                 (unsigned long long)hlen, ST_MAX_HEADER);
        goto fail;
    }
    if (hlen > size - 8) {
        errorSet(err, EXIT_INPUT, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                 (unsigned long long)hlen, (unsigned long long)size);
        goto fail;
    }
    if (hlen < 2 || p[8] != '{') {
        errorSet(err, EXIT_INPUT, "%s: header does not start with a JSON object", path);
        goto fail;
    }
    if (parseHeader(f, (const char *)p + 8, (size_t)hlen, size - 8 - hlen, err)) goto fail;
    const unsigned char *data = p + 8 + hlen;
    for (int i = 0; i < f->count; i++) f->tensors[i].data = data + f->tensors[i].offset;
    for (int i = 0; i < f->count; i++) f->tensors[i].offset += 8 + hlen;
    *out = f;
    return 0;
fail:
    stClose(f);
    return -1;
}

static int convert(const StTensor *t, float *o32, double *o64, Error *err)
{
    size_t n = t->nbytes / stDtypeSize(t->dtype);
    const unsigned char *s = t->data;
    switch (t->dtype) {
    case ST_F16:
    case ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(s[2 * i] | (s[2 * i + 1] << 8));
            float v = t->dtype == ST_F16 ? halfToF32(h) : bf16ToF32(h);
            if (o32) o32[i] = v;
            else o64[i] = v;
        }
        return 0;
    case ST_F32:
        if (o32) memcpy(o32, s, n * 4);
        else
            for (size_t i = 0; i < n; i++) {
                float v;
                memcpy(&v, s + 4 * i, 4);
                o64[i] = v;
            }
        return 0;
    case ST_F64:
        if (o64) memcpy(o64, s, n * 8);
        else
            for (size_t i = 0; i < n; i++) {
                double v;
                memcpy(&v, s + 8 * i, 8);
                o32[i] = (float)v;
            }
        return 0;
    default:
        return errorSet(err, EXIT_INPUT, "tensor '%s': dtype %s is not a float type", t->name, stDtypeName(t->dtype));
    }
}

int stToF32(const StTensor *t, float *out, Error *err) { return convert(t, out, NULL, err); }

int stToF64(const StTensor *t, double *out, Error *err) { return convert(t, NULL, out, err); }

/* ---- writer ---- */

typedef struct StEntry {
    char *name;
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} StEntry;

struct StWriter {
    StEntry *entries;
    int count, cap;
    json_t *meta; /* object of strings */
};

StWriter *stWriterNew(void)
{
    StWriter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    if (!(w->meta = json_object())) {
        free(w);
        return NULL;
    }
    return w;
}

void stWriterFree(StWriter *w)
{
    if (!w) return;
    for (int i = 0; i < w->count; i++) free(w->entries[i].name);
    free(w->entries);
    json_decref(w->meta);
    free(w);
}

int stWriterAdd(StWriter *w, const char *name, StDtype dtype, int ndim, const int64_t *shape, const void *data,
                Error *err)
{
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return errorSet(err, EXIT_RUNTIME, "safetensors writer: invalid tensor name '%s'", name ? name : "");
    if (stDtypeSize(dtype) == 0 || ndim < 0 || ndim > ST_MAX_DIMS)
        return errorSet(err, EXIT_RUNTIME, "safetensors writer: tensor '%s': bad dtype or rank", name);
    for (int i = 0; i < w->count; i++)
        if (!strcmp(w->entries[i].name, name))
            return errorSet(err, EXIT_RUNTIME, "safetensors writer: tensor '%s' added twice", name);
    uint64_t bytes = stDtypeSize(dtype);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(bytes, (uint64_t)shape[i], &bytes))
            return errorSet(err, EXIT_RUNTIME, "safetensors writer: tensor '%s': bad shape", name);
    if (bytes > 0 && !data) return errorSet(err, EXIT_RUNTIME, "safetensors writer: tensor '%s': no data", name);
    if (w->count == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        StEntry *grown = realloc(w->entries, (size_t)cap * sizeof *grown);
        if (!grown) return errorNoMem(err, "safetensors writer");
        w->entries = grown;
        w->cap = cap;
    }
    StEntry *e = &w->entries[w->count];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name))) return errorNoMem(err, "safetensors writer");
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = (size_t)bytes;
    w->count++;
    return 0;
}

int stWriterMeta(StWriter *w, const char *key, const char *value, Error *err)
{
    json_t *s = json_string(value);
    if (!s || json_object_set_new(w->meta, key, s))
        return errorSet(err, EXIT_RUNTIME, "safetensors writer: bad metadata '%s' (not UTF-8?)", key);
    return 0;
}

int stWriterSave(StWriter *w, const char *path, Error *err)
{
    json_t *root = json_object();
    if (!root) return errorNoMem(err, path);
    int bad = 0;
    if (json_object_size(w->meta)) bad |= json_object_set(root, "__metadata__", w->meta);
    uint64_t at = 0;
    for (int i = 0; i < w->count && !bad; i++) {
        StEntry *e = &w->entries[i];
        json_t *shape = json_array();
        bad |= !shape;
        for (int d = 0; d < e->ndim && !bad; d++) bad |= json_array_append_new(shape, json_integer(e->shape[d]));
        json_t *ent = json_pack("{s:s, s:o, s:[I,I]}", "dtype", stDtypeName(e->dtype), "shape", shape,
                                "data_offsets", (json_int_t)at, (json_int_t)(at + e->nbytes));
        bad |= !ent || json_object_set_new(root, e->name, ent);
        at += e->nbytes;
    }
    char *js = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!js) return errorSet(err, EXIT_RUNTIME, "%s: cannot build the safetensors header (bad tensor name?)", path);
    size_t jl = strlen(js), padded = (jl + 7) & ~(size_t)7;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    AtomicFile af;
    if (atomicOpen(&af, path, err)) {
        free(js);
        return -1;
    }
    bad = fwrite(lenbuf, 1, 8, af.fp) != 8 || fwrite(js, 1, jl, af.fp) != jl;
    for (size_t i = jl; i < padded && !bad; i++) bad = fputc(' ', af.fp) == EOF;
    free(js);
    for (int i = 0; i < w->count && !bad; i++)
        if (w->entries[i].nbytes) bad = fwrite(w->entries[i].data, 1, w->entries[i].nbytes, af.fp) != w->entries[i].nbytes;
    if (bad) {
        atomicAbort(&af);
        return errorSet(err, EXIT_RUNTIME, "%s: write failed", path);
    }
    return atomicCommit(&af, err);
}
