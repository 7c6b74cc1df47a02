#include "io/npy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A cursor over the header text. The dict is a tiny, fixed subset of Python
 * literal syntax, so a small recursive-descent reader is enough: quoted
 * strings, True/False, integers (with Python 2's optional L suffix) and
 * tuples of integers. */
typedef struct Cursor {
    const char *p, *end;
    const char *path;
    Error *err;
} Cursor;

static void skipSpace(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int fail(Cursor *c, const char *what)
{
    return errorSet(c->err, EXIT_INPUT, "%s: bad .npy header: %s", c->path, what);
}

static int expectChar(Cursor *c, char ch, const char *what)
{
    skipSpace(c);
    if (c->p >= c->end || *c->p != ch) return fail(c, what);
    c->p++;
    return 0;
}

/* Quoted string into buf (no escapes: none of the keys or dtype strings we
 * accept need them). */
static int readString(Cursor *c, char *buf, size_t len)
{
    skipSpace(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return fail(c, "expected a quoted string");
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= len) return fail(c, "unexpected string");
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return fail(c, "unterminated string");
    c->p++;
    buf[n] = '\0';
    return 0;
}

static int readInt(Cursor *c, int64_t *out)
{
    skipSpace(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return fail(c, "shape holds something that is not a non-negative integer");
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (uint64_t)(*c->p++ - '0');
        if (v > (uint64_t)INT64_MAX / 16) return fail(c, "shape value too large");
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++;
    *out = (int64_t)v;
    return 0;
}

static int readShape(Cursor *c, NpyHeader *h)
{
    if (expectChar(c, '(', "shape is not a tuple")) return -1;
    h->ndim = 0;
    for (;;) {
        skipSpace(c);
        if (c->p < c->end && *c->p == ')') {
            c->p++;
            return 0;
        }
        if (h->ndim == NPY_MAX_DIMS) return fail(c, "shape has too many dimensions");
        if (readInt(c, &h->shape[h->ndim++])) return -1;
        skipSpace(c);
        if (c->p < c->end && *c->p == ',') c->p++;
        else if (c->p >= c->end || *c->p != ')') return fail(c, "shape tuple is malformed");
    }
}

static int parseDescr(Cursor *c, const char *d, NpyHeader *h)
{
    char order = '<';
    const char *t = d;
    if (*t == '<' || *t == '>' || *t == '|' || *t == '=') order = *t++;
    int size = 0;
    if (t[0] == 'f' && (t[1] == '2' || t[1] == '4' || t[1] == '8') && t[2] == '\0') size = t[1] - '0';
    if (!size)
        return errorSet(c->err, EXIT_INPUT, "%s: unsupported dtype '%s' (float16, float32 or float64 expected)", c->path,
                        d);
    if (order == '>')
        return errorSet(c->err, EXIT_INPUT, "%s: big-endian dtype '%s' is not supported (save it little-endian)",
                        c->path, d);
    if (order == '|')
        return errorSet(c->err, EXIT_INPUT, "%s: dtype '%s' has no byte order, which a %d-byte float needs", c->path, d,
                        size);
    h->elsize = size;
    h->dtype = size == 2 ? NPY_DT_F16 : size == 4 ? NPY_DT_F32 : NPY_DT_F64;
    return 0;
}

int npyParseDict(const char *path, const char *text, size_t len, NpyHeader *h, Error *err)
{
    Cursor c = {text, text + len, path, err};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (expectChar(&c, '{', "header is not a dict")) return -1;
    for (;;) {
        skipSpace(&c);
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        char key[32];
        if (readString(&c, key, sizeof key) || expectChar(&c, ':', "expected ':' after a key")) return -1;
        skipSpace(&c);
        if (!strcmp(key, "descr")) {
            if (c.p < c.end && *c.p == '[')
                return errorSet(err, EXIT_INPUT, "%s: structured dtypes are not supported", path);
            char d[32];
            if (readString(&c, d, sizeof d) || parseDescr(&c, d, h)) return -1;
            have_descr++;
        } else if (!strcmp(key, "fortran_order")) {
            if ((size_t)(c.end - c.p) >= 4 && !memcmp(c.p, "True", 4)) {
                return errorSet(err, EXIT_INPUT, "%s: Fortran-ordered arrays are not supported (save in C order)",
                                path);
            } else if ((size_t)(c.end - c.p) >= 5 && !memcmp(c.p, "False", 5)) {
                c.p += 5;
            } else {
                return fail(&c, "fortran_order is not True or False");
            }
            have_order++;
        } else if (!strcmp(key, "shape")) {
            if (readShape(&c, h)) return -1;
            have_shape++;
        } else {
            return errorSet(err, EXIT_INPUT, "%s: bad .npy header: unexpected key '%s'", path, key);
        }
        skipSpace(&c);
        if (c.p < c.end && *c.p == ',') c.p++;
        else if (c.p >= c.end || *c.p != '}') return fail(&c, "expected ',' or '}'");
    }
    skipSpace(&c);
    while (c.p < c.end && *c.p == '\0') c.p++; /* some writers pad with NUL */
    if (c.p != c.end) return fail(&c, "trailing characters after the dict");
    if (have_descr != 1 || have_order != 1 || have_shape != 1)
        return fail(&c, "descr, fortran_order and shape must each appear once");
    return 0;
}

static int readAt(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

int npyReadHeader(const char *path, int fd, uint64_t file_size, NpyHeader *h, Error *err)
{
    memset(h, 0, sizeof *h);
    unsigned char pre[12];
    if (file_size < 10 || readAt(fd, pre, 10, 0))
        return errorSet(err, EXIT_INPUT, "%s: too short for a .npy file", path);
    if (memcmp(pre, "\x93NUMPY", 6)) return errorSet(err, EXIT_INPUT, "%s: not a .npy file (bad magic)", path);
    h->major = pre[6];
    h->minor = pre[7];
    uint64_t hlen, start;
    if (h->major == 1) {
        hlen = pre[8] | (uint64_t)pre[9] << 8;
        start = 10;
    } else if (h->major == 2 || h->major == 3) {
        if (file_size < 12 || readAt(fd, pre + 10, 2, 10))
            return errorSet(err, EXIT_INPUT, "%s: too short for a .npy file", path);
        hlen = pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
        start = 12;
    } else {
        return errorSet(err, EXIT_INPUT, "%s: unsupported .npy format version %d.%d", path, h->major, h->minor);
    }
    if (hlen > NPY_MAX_HEADER)
        return errorSet(err, EXIT_INPUT, "%s: .npy header length %llu is larger than the %u byte limit", path,
                        (unsigned long long)hlen, NPY_MAX_HEADER);
    if (start + hlen > file_size)
        return errorSet(err, EXIT_INPUT, "%s: .npy header length %llu runs past the end of the file (%llu bytes)",
                        path, (unsigned long long)hlen, (unsigned long long)file_size);
    char *text = malloc(hlen ? hlen : 1);
    if (!text) return errorNoMem(err, path);
    if (readAt(fd, text, hlen, start)) {
        free(text);
        return errorSet(err, EXIT_INPUT, "%s: cannot read the .npy header", path);
    }
    int rc = npyParseDict(path, text, hlen, h, err);
    free(text);
    if (rc) return -1;
    uint64_t bytes = (uint64_t)h->elsize;
    for (int i = 0; i < h->ndim; i++)
        if (__builtin_mul_overflow(bytes, (uint64_t)h->shape[i], &bytes))
            return errorSet(err, EXIT_INPUT, "%s: shape is too large", path);
    h->data_offset = start + hlen;
    h->data_bytes = bytes;
    uint64_t have = file_size - h->data_offset;
    if (have < bytes)
        return errorSet(err, EXIT_INPUT, "%s: truncated: shape needs %llu data bytes, the file holds %llu", path,
                        (unsigned long long)bytes, (unsigned long long)have);
    if (have > bytes)
        return errorSet(err, EXIT_INPUT, "%s: %llu bytes after the data the shape describes (wrong shape?)", path,
                        (unsigned long long)(have - bytes));
    return 0;
}
