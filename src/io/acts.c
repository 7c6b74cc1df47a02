#include "ffnscope/acts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/npy.h"
#include "io/safetensors.h"
#include "util/fileio.h"
#include "util/half.h"

/* Where a tensor's rows live in the file. Rows are read with pread, not
 * through a mapping, so what was read never stays in our resident set. */
typedef struct ActSource {
    uint64_t offset;  /* file offset of row 0 */
    int elsize;
} ActSource;

struct ActFile {
    char *path;
    int fd;           /* owned unless st is set (then stFd(st)) */
    StFile *st;       /* safetensors only: header, names */
    ActTensor *tensors; /* [count] */
    ActSource *src;   /* [count] */
    int count;
    double *bounce;   /* float64 -> float32 staging, BOUNCE elements */
};

#define BOUNCE (1 << 16)

static int isSep(char c) { return c == '.' || c == '/' || c == ':' || c == '\0'; }

void actNameParse(const char *name, int *layer, Site *site)
{
    *layer = -1;
    *site = SITE_POST;
    int have_site = 0;
    const char *p = name;
    while (*p) {
        const char *e = p;
        while (!isSep(*e)) e++;
        size_t n = (size_t)(e - p);
#define IS(word) (n == sizeof(word) - 1 && !memcmp(p, word, n))
        if (*layer < 0 && (IS("blocks") || IS("layers") || IS("layer") || IS("h")) && *e) {
            const char *q = e + 1;
            long v = 0;
            int digits = 0;
            while (isdigit((unsigned char)*q) && v < 1000000) v = v * 10 + (*q++ - '0'), digits++;
            if (digits && isSep(*q)) *layer = (int)v;
        }
        if (*layer < 0 && n > 5 && !memcmp(p, "layer", 5)) { /* "layerN", as in spectra.safetensors keys */
            const char *q = p + 5;
            long v = 0;
            while (q < e && isdigit((unsigned char)*q) && v < 1000000) v = v * 10 + (*q++ - '0');
            if (q == e) *layer = (int)v;
        }
        if (!have_site && (IS("hook_post") || IS("post"))) *site = SITE_POST, have_site = 1;
        if (!have_site && (IS("hook_pre") || IS("pre"))) *site = SITE_PRE, have_site = 1;
#undef IS
        p = *e ? e + 1 : e;
    }
}

int actFileCount(const ActFile *f) { return f->count; }

const ActTensor *actFileTensor(const ActFile *f, int i) { return i >= 0 && i < f->count ? &f->tensors[i] : NULL; }

const char *actFilePath(const ActFile *f) { return f->path; }

void actFileClose(ActFile *f)
{
    if (!f) return;
    for (int i = 0; i < f->count; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->src);
    free(f->bounce);
    if (f->st) stClose(f->st);
    else if (f->fd >= 0) close(f->fd);
    free(f->path);
    free(f);
}

static int fileFd(const ActFile *f) { return f->st ? stFd(f->st) : f->fd; }

/* Checks a shape is [N, D] or [B, T, D] with N >= 2 and fills rows/width. */
static int checkShape(const char *path, const char *label, int ndim, const int64_t *shape, ActTensor *t, Error *err)
{
    if (ndim != 2 && ndim != 3)
        return errorSet(err, EXIT_INPUT, "%s: %s%d-D array (need 2-D [N, D] or 3-D [B, T, D])", path, label, ndim);
    int64_t rows = shape[0];
    if (ndim == 3 && __builtin_mul_overflow(shape[0], shape[1], &rows))
        return errorSet(err, EXIT_INPUT, "%s: %sshape is too large", path, label);
    if (shape[ndim - 1] < 1 || shape[ndim - 1] > INT_MAX / 2)
        return errorSet(err, EXIT_INPUT, "%s: %swidth %lld is out of range", path, label, (long long)shape[ndim - 1]);
    if (rows < 2)
        return errorSet(err, EXIT_INPUT, "%s: %s%lld row%s (a covariance needs at least 2)", path, label,
                        (long long)rows, rows == 1 ? "" : "s");
    t->rows = rows;
    t->width = (int)shape[ndim - 1];
    return 0;
}

static const char *baseName(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int openNpy(ActFile *f, uint64_t size, Error *err)
{
    NpyHeader h;
    if (npyReadHeader(f->path, f->fd, size, &h, err)) return -1;
    f->tensors = calloc(1, sizeof *f->tensors);
    f->src = calloc(1, sizeof *f->src);
    if (!f->tensors || !f->src) return errorNoMem(err, f->path);
    ActTensor *t = &f->tensors[0];
    if (!(t->name = strdup(""))) return errorNoMem(err, f->path);
    f->count = 1;
    if (checkShape(f->path, "", h.ndim, h.shape, t, err)) return -1;
    t->dtype = h.dtype == NPY_DT_F16 ? ACT_F16 : h.dtype == NPY_DT_F32 ? ACT_F32 : ACT_F64;
    char *stem = strdup(baseName(f->path));
    if (!stem) return errorNoMem(err, f->path);
    char *dot = strrchr(stem, '.');
    if (dot && !strcmp(dot, ".npy")) *dot = '\0';
    actNameParse(stem, &t->layer, &t->site);
    free(stem);
    f->src[0].offset = h.data_offset;
    f->src[0].elsize = h.elsize;
    return 0;
}

static int openSafetensors(ActFile *f, Error *err)
{
    close(f->fd);
    f->fd = -1;
    if (stOpen(f->path, &f->st, err)) return -1;
    int n = stCount(f->st);
    if (n == 0) return errorSet(err, EXIT_INPUT, "%s: holds no tensors", f->path);
    f->tensors = calloc((size_t)n, sizeof *f->tensors);
    f->src = calloc((size_t)n, sizeof *f->src);
    if (!f->tensors || !f->src) return errorNoMem(err, f->path);
    for (int i = 0; i < n; i++) {
        const StTensor *s = stTensor(f->st, i);
        ActTensor *t = &f->tensors[i];
        if (!(t->name = strdup(s->name))) return errorNoMem(err, f->path);
        f->count = i + 1;
        char label[300];
        snprintf(label, sizeof label, "tensor '%.256s': ", s->name);
        switch (s->dtype) {
        case ST_F16: t->dtype = ACT_F16; break;
        case ST_BF16: t->dtype = ACT_BF16; break;
        case ST_F32: t->dtype = ACT_F32; break;
        case ST_F64: t->dtype = ACT_F64; break;
        default:
            return errorSet(err, EXIT_INPUT, "%s: %sdtype %s is not an activation type (F16, BF16, F32 or F64)",
                            f->path, label, stDtypeName(s->dtype));
        }
        if (checkShape(f->path, label, s->ndim, s->shape, t, err)) return -1;
        actNameParse(s->name, &t->layer, &t->site);
        f->src[i].offset = s->offset;
        f->src[i].elsize = (int)stDtypeSize(s->dtype);
    }
    return 0;
}

int actFileOpen(const char *path, ActFile **out, Error *err)
{
    *out = NULL;
    ActFile *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return errorNoMem(err, path);
    }
    uint64_t size;
    if (fileOpenRegular(path, &f->fd, &size, err)) goto fail;
    unsigned char magic[6] = {0};
    ssize_t got = pread(f->fd, magic, sizeof magic, 0);
    const char *ext = strrchr(baseName(path), '.');
    int rc;
    if ((got == 6 && !memcmp(magic, "\x93NUMPY", 6)) || (ext && !strcmp(ext, ".npy")))
        rc = openNpy(f, size, err);
    else
        rc = openSafetensors(f, err);
    if (rc) goto fail;
    posix_fadvise(fileFd(f), 0, 0, POSIX_FADV_SEQUENTIAL);
    *out = f;
    return 0;
fail:
    actFileClose(f);
    return -1;
}

static int readAt(ActFile *f, void *buf, size_t n, uint64_t off, Error *err)
{
    int fd = fileFd(f);
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errorSet(err, EXIT_INPUT, "%s: read error: %s", f->path, strerror(errno));
        if (r == 0) return errorSet(err, EXIT_INPUT, "%s: file shrank while being read", f->path);
        done += (size_t)r;
    }
    return 0;
}

static int checkRange(ActFile *f, int i, int64_t row0, int64_t nrows, Error *err)
{
    if (i < 0 || i >= f->count) return errorSet(err, EXIT_RUNTIME, "%s: no tensor %d", f->path, i);
    const ActTensor *t = &f->tensors[i];
    if (row0 < 0 || nrows < 0 || row0 > t->rows || nrows > t->rows - row0)
        return errorSet(err, EXIT_RUNTIME, "%s: rows [%lld, %lld) out of range", f->path, (long long)row0,
                        (long long)(row0 + nrows));
    return 0;
}

/* Widening reads land in the tail of `out` and are converted front to back:
 * element k's output never reaches the input of an element after it, so no
 * second buffer is needed. */
int actFileRead(ActFile *f, int i, int64_t row0, int64_t nrows, float *out, Error *err)
{
    if (checkRange(f, i, row0, nrows, err)) return -1;
    const ActTensor *t = &f->tensors[i];
    const ActSource *s = &f->src[i];
    size_t n = (size_t)nrows * (size_t)t->width;
    uint64_t off = s->offset + (uint64_t)row0 * (uint64_t)t->width * (uint64_t)s->elsize;
    if (n == 0) return 0;
    switch (t->dtype) {
    case ACT_F32:
        return readAt(f, out, n * 4, off, err);
    case ACT_F16:
    case ACT_BF16: {
        unsigned char *tail = (unsigned char *)out + n * 2;
        if (readAt(f, tail, n * 2, off, err)) return -1;
        if (t->dtype == ACT_F16) halfToF32n(tail, out, n);
        else bf16ToF32n(tail, out, n);
        return 0;
    }
    case ACT_F64:
        if (!f->bounce && !(f->bounce = malloc(BOUNCE * sizeof *f->bounce))) return errorNoMem(err, f->path);
        for (size_t k = 0; k < n; k += BOUNCE) {
            size_t m = n - k < BOUNCE ? n - k : BOUNCE;
            if (readAt(f, f->bounce, m * 8, off + k * 8, err)) return -1;
            for (size_t j = 0; j < m; j++) out[k + j] = (float)f->bounce[j];
        }
        return 0;
    }
    return errorSet(err, EXIT_RUNTIME, "%s: bad dtype", f->path);
}

int actFileReadF64(ActFile *f, int i, int64_t row0, int64_t nrows, double *out, Error *err)
{
    if (checkRange(f, i, row0, nrows, err)) return -1;
    const ActTensor *t = &f->tensors[i];
    const ActSource *s = &f->src[i];
    size_t n = (size_t)nrows * (size_t)t->width;
    uint64_t off = s->offset + (uint64_t)row0 * (uint64_t)t->width * (uint64_t)s->elsize;
    if (n == 0) return 0;
    if (t->dtype == ACT_F64) return readAt(f, out, n * 8, off, err);
    unsigned char *tail = (unsigned char *)out + n * (8 - (size_t)s->elsize);
    if (readAt(f, tail, n * (size_t)s->elsize, off, err)) return -1;
    for (size_t k = 0; k < n; k++) {
        const unsigned char *p = tail + k * (size_t)s->elsize;
        float v;
        if (t->dtype == ACT_F32) memcpy(&v, p, 4);
        else if (t->dtype == ACT_F16) v = halfToF32((uint16_t)(p[0] | p[1] << 8));
        else v = bf16ToF32((uint16_t)(p[0] | p[1] << 8));
        out[k] = v;
    }
    return 0;
}
