#include "model/hf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/families.h"
#include "util/fileio.h"
#include "util/half.h"

/* ---- config.json as a hyperparameter source ---- */

/* Follows a dotted path ("rope_scaling.factor", "layer_types.3") through
 * objects and arrays. */
static json_t *jsonPath(json_t *root, const char *key)
{
    char part[128];
    json_t *j = root;
    while (j && *key) {
        size_t n = strcspn(key, ".");
        if (n >= sizeof part) return NULL;
        memcpy(part, key, n);
        part[n] = 0;
        key += n + (key[n] == '.');
        if (json_is_object(j)) {
            j = json_object_get(j, part);
        } else if (json_is_array(j)) {
            char *end;
            long i = strtol(part, &end, 10);
            j = *part && !*end && i >= 0 ? json_array_get(j, (size_t)i) : NULL;
        } else {
            return NULL;
        }
    }
    return j;
}

static int jsonFind(const HpSource *s, const char *key, HpKind want, HpValue *v, Error *err)
{
    (void)want;
    (void)err;
    json_t *j = jsonPath((json_t *)s->impl, key);
    memset(v, 0, sizeof *v);
    if (!j) v->kind = HPV_ABSENT;
    else if (json_is_null(j)) v->kind = HPV_NULL;
    else if (json_is_integer(j)) {
        v->kind = HPV_INT;
        v->i = json_integer_value(j);
        v->r = (double)v->i;
    } else if (json_is_real(j)) {
        v->kind = HPV_REAL;
        v->r = json_real_value(j);
    } else if (json_is_boolean(j)) {
        v->kind = HPV_BOOL;
        v->i = json_is_true(j);
    } else if (json_is_string(j)) {
        v->kind = HPV_STR;
        v->s = json_string_value(j);
        v->len = json_string_length(j);
    } else {
        v->kind = HPV_OTHER;
    }
    return 0;
}

/* model_type first (exact), then the architectures list (exact names). */
static const Family *detectFamily(json_t *root, const char *path, Error *err)
{
    json_t *mt = json_object_get(root, "model_type");
    if (mt && !json_is_null(mt) && !json_is_string(mt)) {
        errorSet(err, EXIT_INPUT, "%s: key 'model_type' must be a string", path);
        return NULL;
    }
    const char *type = json_string_value(mt);
    const Family *f = type ? familyByName(type) : NULL;
    if (f) return f;
    json_t *arch = json_object_get(root, "architectures"), *a;
    size_t ai;
    if (json_is_array(arch))
        json_array_foreach(arch, ai, a) if (json_is_string(a) && (f = familyByHfArch(json_string_value(a)))) return f;
    char list[256];
    if (type && *type)
        errorSet(err, EXIT_INPUT, "%s: model_type '%s' is not supported (%s)", path, type,
                 familyList(list, sizeof list, 0));
    else
        errorSet(err, EXIT_INPUT, "%s: key 'model_type' is missing and 'architectures' names no known family", path);
    return NULL;
}

/* ---- safetensors, single or sharded ---- */

typedef struct Files {
    char *index_path;   /* NULL when single */
    json_t *index;      /* the parsed index (owns weight_map) */
    json_t *weight_map;
    int n;
    char **names;       /* [n] shard file names, as in the index */
    StFile **st;        /* [n] */
} Files;

static char *joinPath(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void filesClose(Files *f)
{
    for (int i = 0; i < f->n; i++) {
        stClose(f->st[i]);
        free(f->names[i]);
    }
    free(f->st);
    free(f->names);
    json_decref(f->index);
    free(f->index_path);
}

static int filesAdd(Files *f, const char *dir, const char *name, Error *err)
{
    char **names = realloc(f->names, (size_t)(f->n + 1) * sizeof *names);
    if (!names) return errorNoMem(err, dir);
    f->names = names;
    StFile **st = realloc(f->st, (size_t)(f->n + 1) * sizeof *st);
    if (!st) return errorNoMem(err, dir);
    f->st = st;
    char *path = joinPath(dir, name);
    if (!path || !(f->names[f->n] = strdup(name))) {
        free(path);
        return errorNoMem(err, dir);
    }
    int rc = stOpen(path, &f->st[f->n], err);
    free(path);
    if (rc) {
        free(f->names[f->n]);
        return -1;
    }
    f->n++;
    return 0;
}

static int filesOpen(Files *f, const char *dir, Error *err)
{
    memset(f, 0, sizeof *f);
    char *single = joinPath(dir, "model.safetensors");
    char *index = joinPath(dir, "model.safetensors.index.json");
    if (!single || !index) {
        free(single);
        free(index);
        return errorNoMem(err, dir);
    }
    int rc = 0;
    if (fileIsRegular(single)) {
        rc = filesAdd(f, dir, "model.safetensors", err);
        free(index);
    } else if (fileIsRegular(index)) {
        f->index_path = index;
        json_error_t je;
        f->index = json_load_file(index, 0, &je);
        if (!f->index) {
            rc = errorSet(err, EXIT_INPUT, "%s:%d:%d: %s", index, je.line, je.column, je.text);
        } else if (!json_is_object(f->weight_map = json_object_get(f->index, "weight_map"))) {
            rc = errorSet(err, EXIT_INPUT, "%s: 'weight_map' is missing or not an object", index);
        } else {
            const char *key;
            json_t *v;
            json_object_foreach(f->weight_map, key, v)
            {
                const char *name = json_string_value(v);
                if (!name || !*name || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, ".")) {
                    rc = errorSet(err, EXIT_INPUT, "%s: shard of tensor '%s' must be a file name in the same folder",
                                  index, key);
                    break;
                }
                int seen = 0;
                for (int i = 0; i < f->n && !seen; i++) seen = !strcmp(f->names[i], name);
                if (!seen && (rc = filesAdd(f, dir, name, err))) break;
            }
        }
    } else {
        free(index);
        rc = errorSet(err, EXIT_INPUT, "%s: neither model.safetensors nor model.safetensors.index.json found",
                      dir);
    }
    free(single);
    if (rc) filesClose(f);
    return rc;
}

/* The tensor called name, or NULL when absent; *where gets the file that
 * should hold it (for messages). */
static const StTensor *filesFind(const Files *f, const char *name, const char **where)
{
    if (!f->weight_map) {
        *where = stPath(f->st[0]);
        return stFind(f->st[0], name);
    }
    *where = f->index_path;
    const char *shard = json_string_value(json_object_get(f->weight_map, name));
    if (!shard) return NULL;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->names[i], shard)) {
            *where = stPath(f->st[i]);
            return stFind(f->st[i], name);
        }
    return NULL;
}

/* ---- filling the weight slots ---- */

static void shapeStr(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

static int isFloat(StDtype d) { return d == ST_F16 || d == ST_BF16 || d == ST_F32 || d == ST_F64; }

/* Out-of-place transpose of src [r, c] into dst [c, r], in tiles for the cache. */
static void transpose(const float *src, float *dst, int64_t r, int64_t c)
{
    const int64_t B = 32;
    for (int64_t i0 = 0; i0 < r; i0 += B)
        for (int64_t j0 = 0; j0 < c; j0 += B)
            for (int64_t i = i0; i < i0 + B && i < r; i++)
                for (int64_t j = j0; j < j0 + B && j < c; j++) dst[j * r + i] = src[i * c + j];
}

/* Rows [row, row + n) of t viewed as [elements / cols, cols], cols its
 * last dimension, into dst. */
static int tensorRows(const StTensor *t, const char *name, int64_t row, int64_t n, float *dst, Error *err)
{
    int64_t cols = t->shape[t->ndim - 1];
    size_t es = stDtypeSize(t->dtype), off = (size_t)(row * cols) * es, count = (size_t)(n * cols);
    const unsigned char *p = (const unsigned char *)t->data + off;
    if (row < 0 || n < 0 || cols <= 0 || row + n > stElements(t) / cols)
        return errorSet(err, EXIT_RUNTIME, "%s: rows out of range", name);
    switch (t->dtype) {
    case ST_F32: memcpy(dst, p, count * 4); break;
    case ST_F16: halfToF32n(p, dst, count); break;
    case ST_BF16: bf16ToF32n(p, dst, count); break;
    case ST_F64:
        for (size_t i = 0; i < count; i++) {
            double v;
            memcpy(&v, p + 8 * i, 8);
            dst[i] = (float)v;
        }
        break;
    default: return errorSet(err, EXIT_RUNTIME, "%s: dtype %s is not a float", name, stDtypeName(t->dtype));
    }
    return 0;
}

/* The slot's tensor in canonical float32: converted, transposed where the
 * file stores [in, out], the slot's transforms applied; then its mapped
 * bytes are dropped from this process. */
static int widenSlot(const WeightSlot *s, float *dst, Error *err)
{
    const StTensor *t = s->src;
    if (s->expert >= 0 && t->ndim == 3) {
        /* part `part` of expert `expert`'s matrix in the layer's stacked experts (transformers 5) */
        int64_t rows = s->shape[0], first = ((int64_t)s->expert * s->parts + s->part) * rows;
        if (tensorRows(t, s->name, first, rows, dst, err)) return -1;
        size_t row_bytes = (size_t)t->shape[2] * stDtypeSize(t->dtype);
        fileMapRelease((const char *)t->data + (size_t)first * row_bytes, (size_t)rows * row_bytes);
        return weightsFinish(s, LAYOUT_HF, err);
    }
    if (s->flags & SLOT_CONV1D) {
        float *tmp = malloc((size_t)stElements(t) * sizeof(float));
        if (!tmp) return errorNoMem(err, s->name);
        int rc = stToF32(t, tmp, err);
        if (!rc) transpose(tmp, dst, s->shape[1], s->shape[0]);
        free(tmp);
        if (rc) return -1;
    } else if (stToF32(t, dst, err)) {
        return -1;
    }
    fileMapRelease(t->data, t->nbytes); /* converted: the mapped bytes are not needed again */
    return weightsFinish(s, LAYOUT_HF, err); /* dst is *s->dst */
}

/* Rows [row, row + n) of a 2-D tensor stored untransposed (the embedding). */
static int widenRows(const WeightSlot *s, int64_t row, int64_t n, float *dst, Error *err)
{
    return tensorRows(s->src, s->name, row, n, dst, err);
}

static const WeightReader kReader = {widenSlot, widenRows};

/* Finds and checks every slot's tensor (presence, shape, dtype) and points
 * the slot at it; dtype_out gets the dtype holding most weights. */
static int findSlots(const Files *f, WeightSet *ws, const char *prefix, int n_experts, char *dtype_out, Error *err)
{
    int64_t by_dtype[ST_BOOL + 1] = {0};
    for (int i = 0; i < ws->count; i++) {
        WeightSlot *s = &ws->slots[i];
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, s->name);
        const char *where;
        const StTensor *t = filesFind(f, name, &where);
        if (!t && s->hf_alt[0]) {
            /* the layout transformers 5 writes: its name, and experts stacked */
            char alt[160];
            const char *alt_where;
            snprintf(alt, sizeof alt, "%s%s", prefix, s->hf_alt);
            if ((t = filesFind(f, alt, &alt_where))) {
                snprintf(name, sizeof name, "%s", alt);
                where = alt_where;
            }
        }
        if (!t) return errorSet(err, EXIT_INPUT, "%s: tensor '%s' is missing", where, name);
        int stacked = s->expert >= 0 && strcmp(name + strlen(prefix), s->name);
        int64_t want[3] = {s->shape[0], s->shape[1], 0};
        int n = s->ndim;
        if (s->flags & SLOT_CONV1D) {
            want[0] = s->shape[1];
            want[1] = s->shape[0];
        }
        if (stacked) {
            want[0] = n_experts;
            want[1] = (int64_t)s->parts * s->shape[0];
            want[2] = s->shape[1];
            n = 3;
        }
        int ok = t->ndim == n;
        for (int k = 0; ok && k < n; k++) ok = t->shape[k] == want[k];
        if (!ok) {
            char got[128], exp[64];
            shapeStr(got, sizeof got, t->ndim, t->shape);
            shapeStr(exp, sizeof exp, n, want);
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has shape %s, expected %s", where, name,
                            got, exp);
        }
        if (!isFloat(t->dtype))
            return errorSet(err, EXIT_INPUT, "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16",
                            where, name, stDtypeName(t->dtype));
        /* a stacked tensor is counted once, with its first expert's first part */
        if (!stacked || (s->expert == 0 && s->part == 0)) by_dtype[t->dtype] += stElements(t);
        s->src = t;
        s->rd = &kReader;
    }
    StDtype best = ST_F32;
    for (int d = 0; d <= ST_BOOL; d++)
        if (by_dtype[d] > by_dtype[best]) best = (StDtype)d;
    snprintf(dtype_out, 8, "%s", stDtypeName(best));
    return 0;
}

static void filesFree(void *p)
{
    filesClose(p);
    free(p);
}

int hfDetect(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hfLoad(const char *dir, const ModelOptions *opt, LoadedModel *out, Error *err)
{
    memset(out, 0, sizeof *out);
    char *cfg_path = joinPath(dir, "config.json");
    if (!cfg_path) return errorNoMem(err, dir);
    json_t *root = NULL;
    Files *files = calloc(1, sizeof *files);
    int files_open = 0, rc = -1;
    if (!files) {
        free(cfg_path);
        return errorNoMem(err, dir);
    }
    if (!fileIsRegular(cfg_path)) {
        errorSet(err, EXIT_INPUT, "%s: no config.json (not a Hugging Face model directory)", dir);
        goto done;
    }
    json_error_t je;
    if (!(root = json_load_file(cfg_path, 0, &je))) {
        errorSet(err, EXIT_INPUT, "%s:%d:%d: %s", cfg_path, je.line, je.column, je.text);
        goto done;
    }
    if (!json_is_object(root)) {
        errorSet(err, EXIT_INPUT, "%s: not a JSON object", cfg_path);
        goto done;
    }
    const Family *family;
    if (opt->family) {
        char list[256];
        if (!(family = familyByName(opt->family))) {
            errorSet(err, EXIT_INPUT, "%s: family '%s' is not supported (%s)", dir, opt->family,
                     familyList(list, sizeof list, 0));
            goto done;
        }
    } else if (!(family = detectFamily(root, cfg_path, err))) {
        goto done;
    }
    HpSource src = {.path = cfg_path, .find = jsonFind, .impl = root};
    if (decoderNew(family, &src, &out->dec, err)) goto done;
    ModelInfo *info = &out->info;
    snprintf(info->format, sizeof info->format, "hf");

    if (filesOpen(files, dir, err)) goto done;
    files_open = 1;
    /* GPT2LMHeadModel saves its body under "transformer.", GPT2Model without it. */
    const char *prefix = "", *where;
    if (family->hf_prefix) {
        char probe[160];
        snprintf(probe, sizeof probe, "%s%s", family->hf_prefix, out->dec->ws.slots[0].name);
        if (filesFind(files, probe, &where)) prefix = family->hf_prefix;
    }
    /* Every tensor is checked against the config before the weights are
     * allocated, so a lying config cannot ask for a huge allocation. */
    WeightSet *ws = &out->dec->ws;
    if (findSlots(files, ws, prefix, out->dec->cfg.n_experts, info->dtype, err)) goto done;
    if (!opt->info_only) {
        if (opt->stream_weights) {
            /* the files stay mapped: layers are widened from them when they run */
            if (decoderStream(out->dec, err)) goto done;
            out->keep = files;
            out->keep_free = filesFree;
            files = NULL;
        } else if (weightsAlloc(ws, err) || weightsWidenAll(ws, err)) {
            goto done;
        }
    }
    decoderFinishLoad(out->dec);
    decoderDescribe(out->dec, info);
    rc = 0;
done:
    if (rc) {
        decoderFree(out->dec);
        out->dec = NULL;
    }
    if (files && files_open) filesClose(files);
    free(files);
    json_decref(root);
    free(cfg_path);
    return rc;
}
