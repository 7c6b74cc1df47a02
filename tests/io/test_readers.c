/* Readers on good and broken files: safetensors (reader and writer), .npy
 * headers and data, the activation-file layer, half-precision conversion and
 * tensor-name parsing. Files are built byte by byte in a temp folder. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ffnscope/acts.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "util/half.h"

static char tmpdir[64];

static void makeTmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ffnscope-io-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void removeTmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(safetensors, .init = makeTmp, .fini = removeTmp);
TestSuite(npy, .init = makeTmp, .fini = removeTmp);
TestSuite(acts, .init = makeTmp, .fini = removeTmp);

static const char *tmpPath(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static void writeFile(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

/* A safetensors file from a header text and a data region. */
static void writeSt(const char *path, const char *header, const void *data, size_t len, int64_t lie)
{
    size_t hl = strlen(header);
    unsigned char *buf = malloc(8 + hl + len);
    uint64_t n = lie >= 0 ? (uint64_t)lie : hl;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (len) memcpy(buf + 8 + hl, data, len);
    writeFile(path, buf, 8 + hl + len);
    free(buf);
}

/* ---- half precision ---- */

Test(half, known_values)
{
    struct { uint16_t h; float f; } v[] = {
        {0x3c00, 1.0f}, {0xc000, -2.0f}, {0x7bff, 65504.0f}, {0x0001, 0x1p-24f}, {0x03ff, 1023 * 0x1p-24f},
        {0x0400, 0x1p-14f}, {0x3555, 0.333251953125f}, {0x0000, 0.0f},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cr_expect_eq(halfToF32(v[i].h), v[i].f, "0x%04x", v[i].h);
        cr_expect_eq(halfFromF32(v[i].f), v[i].h, "%g", v[i].f);
    }
    cr_expect(isinf(halfToF32(0x7c00)) && halfToF32(0x7c00) > 0);
    cr_expect(isinf(halfToF32(0xfc00)) && halfToF32(0xfc00) < 0);
    cr_expect(isnan(halfToF32(0x7e00)));
    cr_expect(signbit(halfToF32(0x8000)) && halfToF32(0x8000) == 0);
    cr_expect_eq(halfFromF32(65520.0f), 0x7c00, "rounds to infinity");
    cr_expect_eq(halfFromF32(1.0f + 0x1p-11f), 0x3c00, "tie to even (down)");
    cr_expect_eq(halfFromF32(1.0f + 3 * 0x1p-11f), 0x3c02, "tie to even (up)");
    cr_expect_eq(bf16ToF32(0x3f80), 1.0f);
    cr_expect_eq(bf16ToF32(0xc2f7), -123.5f);
    cr_expect_eq(bf16FromF32(1.0f + 0x1p-8f), 0x3f80, "tie to even");
}

Test(half, every_value_round_trips)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = halfToF32((uint16_t)h);
        if (isnan(f)) continue;
        cr_assert_eq(halfFromF32(f), h, "f16 0x%04x -> %g -> 0x%04x", h, f, halfFromF32(f));
        float b = bf16ToF32((uint16_t)h);
        if (!isnan(b)) cr_assert_eq(bf16FromF32(b), h, "bf16 0x%04x", h);
    }
    unsigned char le[4] = {0x00, 0x3c, 0x00, 0xc0};
    float out[2];
    halfToF32n(le, out, 2);
    cr_expect(out[0] == 1.0f && out[1] == -2.0f);
    unsigned char lb[4] = {0x80, 0x3f, 0xf7, 0xc2};
    bf16ToF32n(lb, out, 2);
    cr_expect(out[0] == 1.0f && out[1] == -123.5f);
}

/* ---- safetensors ---- */

Test(safetensors, writer_reader_round_trip)
{
    float a[6] = {1, 2, 3, 4, 5, -6};
    uint16_t h[3] = {0x3c00, 0xc000, 0x3555};
    uint16_t b[2] = {0x3f80, 0xc2f7};
    double d[2] = {0.1, -1e300};
    int32_t iv[1] = {-7};
    int64_t sa[2] = {2, 3}, sh[1] = {3}, sb[2] = {1, 2}, sd[1] = {2}, se[2] = {0, 5};
    Error err = {0};
    StWriter *w = stWriterNew();
    cr_assert_not_null(w);
    cr_assert_eq(stWriterAdd(w, "model/post/layer0", ST_F32, 2, sa, a, &err), 0, "%s", err.msg);
    cr_assert_eq(stWriterAdd(w, "half", ST_F16, 1, sh, h, &err), 0);
    cr_assert_eq(stWriterAdd(w, "brain", ST_BF16, 2, sb, b, &err), 0);
    cr_assert_eq(stWriterAdd(w, "dbl", ST_F64, 1, sd, d, &err), 0);
    cr_assert_eq(stWriterAdd(w, "scalar", ST_I32, 0, NULL, iv, &err), 0);
    cr_assert_eq(stWriterAdd(w, "empty", ST_F32, 2, se, NULL, &err), 0);
    cr_expect_eq(stWriterAdd(w, "half", ST_F16, 1, sh, h, &err), -1, "duplicate name");
    cr_expect_eq(stWriterAdd(w, "__metadata__", ST_F16, 1, sh, h, &err), -1);
    cr_assert_eq(stWriterMeta(w, "format", "pt", &err), 0);
    cr_assert_eq(stWriterMeta(w, "note", "ünïcode \"quoted\"", &err), 0);
    const char *path = tmpPath("rt.safetensors");
    cr_assert_eq(stWriterSave(w, path, &err), 0, "%s", err.msg);
    stWriterFree(w);

    StFile *f;
    cr_assert_eq(stOpen(path, &f, &err), 0, "%s", err.msg);
    cr_expect_eq(stCount(f), 6);
    cr_expect_str_eq(stPath(f), path);
    cr_expect_str_eq(stMetadata(f, "format"), "pt");
    cr_expect_str_eq(stMetadata(f, "note"), "ünïcode \"quoted\"");
    cr_expect_null(stMetadata(f, "missing"));
    const StTensor *t = stFind(f, "model/post/layer0");
    cr_assert_not_null(t);
    cr_expect(t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && t->nbytes == 24);
    cr_expect_eq(memcmp(t->data, a, 24), 0);
    float out[6];
    cr_assert_eq(stToF32(stFind(f, "half"), out, &err), 0);
    cr_expect(out[0] == 1 && out[1] == -2 && out[2] == 0.333251953125f);
    cr_assert_eq(stToF32(stFind(f, "brain"), out, &err), 0);
    cr_expect(out[0] == 1 && out[1] == -123.5f);
    double dout[2];
    cr_assert_eq(stToF64(stFind(f, "dbl"), dout, &err), 0);
    cr_expect(dout[0] == 0.1 && dout[1] == -1e300);
    const StTensor *s = stFind(f, "scalar");
    cr_expect(s && s->ndim == 0 && s->nbytes == 4 && stElements(s) == 1);
    cr_expect_eq(stToF32(s, out, &err), -1, "I32 is not a float type");
    cr_expect(stFind(f, "empty") && stFind(f, "empty")->nbytes == 0);
    cr_expect_null(stFind(f, "nope"));
    /* the data region starts 8-byte aligned */
    cr_expect_eq(stFind(f, "model/post/layer0")->offset % 8, 0);
    /* tensors come back in file order */
    for (int i = 1; i < stCount(f); i++) cr_expect(stTensor(f, i - 1)->offset <= stTensor(f, i)->offset);
    stClose(f);
    /* no temp file left behind */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", tmpdir);
    cr_expect_neq(system(cmd), 0);
}

Test(safetensors, reads_foreign_layout)
{
    /* Keys out of offset order, no metadata, no padding (as other writers do). */
    float a[2] = {1.5f, 2.5f};
    unsigned char data[8 + 4];
    memcpy(data, a, 8);
    data[8] = 0x00, data[9] = 0x3c, data[10] = 0x00, data[11] = 0xc0;
    writeSt(tmpPath("f.safetensors"),
            "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}",
            data, sizeof data, -1);
    StFile *f;
    Error err = {0};
    cr_assert_eq(stOpen(tmpPath("f.safetensors"), &f, &err), 0, "%s", err.msg);
    cr_expect_str_eq(stTensor(f, 0)->name, "a");
    cr_expect_str_eq(stTensor(f, 1)->name, "b");
    float out[2];
    cr_assert_eq(stToF32(stFind(f, "b"), out, &err), 0);
    cr_expect(out[0] == 1 && out[1] == -2);
    stClose(f);
}

static void expectStBroken(const char *name, const char *header, size_t data_len, int64_t lie, const char *want)
{
    unsigned char data[256] = {0};
    const char *path = tmpPath(name);
    writeSt(path, header, data, data_len, lie);
    StFile *f = NULL;
    Error err = {0};
    cr_expect_eq(stOpen(path, &f, &err), -1, "%s: opened", name);
    cr_expect_null(f);
    cr_expect_eq(err.code, EXIT_INPUT, "%s: code %d", name, err.code);
    cr_expect_eq(strncmp(err.msg, path, strlen(path)), 0, "%s: message does not start with the path: %s", name, err.msg);
    cr_expect(strstr(err.msg, want) != NULL, "%s: '%s' lacks '%s'", name, err.msg, want);
}

#define T1 "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"

Test(safetensors, broken_files)
{
    expectStBroken("ok-but-short.st", T1 "}", 8, -1, "reach past the data region");
    expectStBroken("lie.st", T1 "}", 16, 100000, "runs past the end");
    expectStBroken("huge.st", T1 "}", 16, (int64_t)1 << 50, "byte limit");
    expectStBroken("json.st", "{\"x\":{\"dtype\":", 16, -1, "not valid JSON");
    expectStBroken("notobj.st", "[1,2,3]", 0, -1, "does not start with a JSON object");
    expectStBroken("dtype.st", "{\"x\":{\"dtype\":\"Q4\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16, -1,
                   "tensor 'x': unknown dtype 'Q4'");
    expectStBroken("shape.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16, -1,
                   "tensor 'x': shape and dtype F32 need");
    expectStBroken("overlap.st", T1 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, -1,
                   "overlaps");
    expectStBroken("gap.st", T1 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}", 32, -1,
                   "tensor 'y': gap of 8 bytes");
    expectStBroken("range.st", T1 ",\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}}", 16, -1,
                   "tensor 'y': data_offsets [16, 24] reach past");
    expectStBroken("tail.st", T1 "}", 24, -1, "cover 16 of the 24");
    expectStBroken("dup.st",
                   "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                   "\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                   16, -1, "duplicate");
    expectStBroken("neg.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}}", 16, -1,
                   "non-negative");
    expectStBroken("ovf.st",
                   "{\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", 16, -1,
                   "too many");
    expectStBroken("dims.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,4],\"data_offsets\":[0,16]}}",
                   16, -1, "9 dimensions");
    expectStBroken("meta.st", "{\"__metadata__\":{\"a\":[1]}}", 0, -1, "not a string");
    expectStBroken("offs.st", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0]}}", 16, -1,
                   "not a pair of integers");
    writeFile(tmpPath("tiny.st"), "\x02\0\0", 3);
    StFile *f;
    Error err = {0};
    cr_expect_eq(stOpen(tmpPath("tiny.st"), &f, &err), -1);
    cr_expect(strstr(err.msg, "too short") != NULL, "%s", err.msg);
    cr_expect_eq(stOpen(tmpPath("does-not-exist"), &f, &err), -1);
    cr_expect_eq(err.code, EXIT_INPUT);
}

/* ---- npy ---- */

static size_t npyBytes(unsigned char *buf, int major, const char *dict, const void *data, size_t len)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = dl + 1;
    hl += (64 - (pre + hl) % 64) % 64;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) buf[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hl - dl - 1);
    buf[pre + hl - 1] = '\n';
    memcpy(buf + pre + hl, data, len);
    return pre + hl + len;
}

Test(npy, header_dialects)
{
    struct { const char *dict; int ndim; int64_t d0, d1; int elsize; } ok[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 2, 3, 4, 4},
        {"{'descr':'<f8','fortran_order':False,'shape':(3,4)}", 2, 3, 4, 8},
        {"{\"descr\": \"=f2\", \"fortran_order\": False, \"shape\": (3L, 4L)}", 2, 3, 4, 2},
        {"{'shape': (2, 5, 7,), 'fortran_order': False, 'descr': 'f4'}", 3, 2, 5, 4},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (12,), }", 1, 12, 0, 4},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        NpyHeader h = {0};
        Error err = {0};
        cr_expect_eq(npyParseDict("x.npy", ok[i].dict, strlen(ok[i].dict), &h, &err), 0, "%s: %s", ok[i].dict, err.msg);
        cr_expect_eq(h.ndim, ok[i].ndim, "%s", ok[i].dict);
        cr_expect_eq(h.shape[0], ok[i].d0);
        if (ok[i].ndim > 1) cr_expect_eq(h.shape[1], ok[i].d1);
        cr_expect_eq(h.elsize, ok[i].elsize);
    }
    struct { const char *dict, *want; } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3, 4), }", "big-endian"},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }", "unsupported dtype '<i8'"},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (3, 4), }", "byte order"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 4), }", "Fortran"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, -4), }", "non-negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [3, 4], }", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False }", "must each appear once"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,2)}", "must each appear once"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } junk", "trailing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)", "expected ',' or '}'"},
        {"{'descr': '<f4", "unterminated"},
        {"", "not a dict"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", "structured"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 4)}", "too large"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        NpyHeader h = {0};
        Error err = {0};
        cr_expect_eq(npyParseDict("x.npy", bad[i].dict, strlen(bad[i].dict), &h, &err), -1, "%s", bad[i].dict);
        cr_expect(strstr(err.msg, bad[i].want) && !strncmp(err.msg, "x.npy: ", 7), "'%s' -> '%s' lacks '%s'",
                  bad[i].dict, err.msg, bad[i].want);
    }
}

/* ---- activation files ---- */

Test(acts, npy_versions_and_dtypes)
{
    float vals[24];
    for (int i = 0; i < 24; i++) vals[i] = (float)i * 0.5f - 3;
    unsigned char buf[1024];
    const char *dict32 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
    for (int major = 1; major <= 3; major++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.mlp.hook_pre.npy", major);
        size_t n = npyBytes(buf, major, dict32, vals, sizeof vals);
        writeFile(tmpPath(name), buf, n);
        ActFile *f;
        Error err = {0};
        cr_assert_eq(actFileOpen(tmpPath(name), &f, &err), 0, "v%d: %s", major, err.msg);
        cr_assert_eq(actFileCount(f), 1);
        const ActTensor *t = actFileTensor(f, 0);
        cr_expect(t->rows == 6 && t->width == 4 && t->dtype == ACT_F32, "3-D flattened to [6, 4]");
        cr_expect_eq(t->layer, major, "layer from the file name");
        cr_expect_eq(t->site, SITE_PRE);
        cr_expect_str_eq(t->name, "");
        float out[8];
        cr_assert_eq(actFileRead(f, 0, 3, 2, out, &err), 0);
        cr_expect_eq(memcmp(out, vals + 12, 8 * sizeof(float)), 0);
        double dout[24];
        cr_assert_eq(actFileReadF64(f, 0, 0, 6, dout, &err), 0);
        for (int i = 0; i < 24; i++) cr_expect_eq(dout[i], vals[i]);
        cr_expect_eq(actFileRead(f, 0, 5, 2, out, &err), -1, "past the last row");
        actFileClose(f);
    }
    /* float16 and float64 */
    uint16_t hv[6] = {0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x8000};
    size_t n = npyBytes(buf, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", hv, sizeof hv);
    writeFile(tmpPath("h.npy"), buf, n);
    double dv[4] = {0.1, 1e-300, -2.5, 3};
    n = npyBytes(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", dv, sizeof dv);
    writeFile(tmpPath("d.npy"), buf, n);
    ActFile *f;
    Error err = {0};
    cr_assert_eq(actFileOpen(tmpPath("h.npy"), &f, &err), 0, "%s", err.msg);
    float out[6];
    cr_assert_eq(actFileRead(f, 0, 0, 3, out, &err), 0);
    for (int i = 0; i < 6; i++) cr_expect_eq(out[i], halfToF32(hv[i]), "f16 element %d", i);
    double dout[6];
    cr_assert_eq(actFileReadF64(f, 0, 1, 2, dout, &err), 0);
    for (int i = 0; i < 4; i++) cr_expect_eq(dout[i], (double)halfToF32(hv[2 + i]));
    actFileClose(f);
    cr_assert_eq(actFileOpen(tmpPath("d.npy"), &f, &err), 0, "%s", err.msg);
    cr_expect_eq(actFileTensor(f, 0)->dtype, ACT_F64);
    cr_assert_eq(actFileReadF64(f, 0, 0, 2, dout, &err), 0);
    cr_expect_eq(memcmp(dout, dv, sizeof dv), 0, "float64 read exactly");
    cr_assert_eq(actFileRead(f, 0, 0, 2, out, &err), 0);
    cr_expect(out[0] == 0.1f && out[2] == -2.5f);
    actFileClose(f);
}

Test(acts, npy_broken)
{
    float vals[8] = {0};
    unsigned char buf[1024];
    struct { const char *name, *dict; size_t data, cut; const char *want; } cases[] = {
        {"trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", 32, 4, "truncated"},
        {"long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 32, 0, "after the data"},
        {"one.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8), }", 32, 0, "1 row"},
        {"flat.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", 32, 0, "1-D array"},
        {"be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 4), }", 32, 0, "big-endian"},
        {"fo.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 4), }", 32, 0, "Fortran"},
        {"int.npy", "{'descr': '<u2', 'fortran_order': False, 'shape': (4, 4), }", 32, 0, "unsupported dtype"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = npyBytes(buf, 1, cases[i].dict, vals, cases[i].data) - cases[i].cut;
        const char *path = tmpPath(cases[i].name);
        writeFile(path, buf, n);
        ActFile *f = NULL;
        Error err = {0};
        cr_expect_eq(actFileOpen(path, &f, &err), -1, "%s opened", cases[i].name);
        cr_expect_null(f);
        cr_expect_eq(err.code, EXIT_INPUT);
        cr_expect(!strncmp(err.msg, path, strlen(path)) && strstr(err.msg, cases[i].want), "%s: '%s' lacks '%s'",
                  cases[i].name, err.msg, cases[i].want);
    }
    /* lying header length */
    size_t n = npyBytes(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", vals, 32);
    buf[8] = 0xff, buf[9] = 0x7f;
    writeFile(tmpPath("lie.npy"), buf, n);
    ActFile *f;
    Error err = {0};
    cr_expect_eq(actFileOpen(tmpPath("lie.npy"), &f, &err), -1);
    cr_expect(strstr(err.msg, "runs past the end") != NULL, "%s", err.msg);
    buf[6] = 4;
    writeFile(tmpPath("v4.npy"), buf, n);
    cr_expect_eq(actFileOpen(tmpPath("v4.npy"), &f, &err), -1);
    cr_expect(strstr(err.msg, "version 4.0") != NULL, "%s", err.msg);
}

Test(acts, safetensors_tensors)
{
    float a[2 * 3] = {1, 2, 3, 4, 5, 6};
    uint16_t b[2 * 2 * 2] = {0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0, 0x40e0, 0x4100}; /* bf16 1..8 */
    double c[3 * 2] = {1, -1, 2, -2, 3, -3};
    int64_t sa[2] = {2, 3}, sb[3] = {2, 2, 2}, sc[2] = {3, 2};
    Error err = {0};
    StWriter *w = stWriterNew();
    cr_assert_eq(stWriterAdd(w, "blocks.4.mlp.hook_post", ST_F32, 2, sa, a, &err), 0);
    cr_assert_eq(stWriterAdd(w, "model.layers.11.mlp.pre", ST_BF16, 3, sb, b, &err), 0);
    cr_assert_eq(stWriterAdd(w, "other", ST_F64, 2, sc, c, &err), 0);
    cr_assert_eq(stWriterSave(w, tmpPath("acts.safetensors"), &err), 0, "%s", err.msg);
    stWriterFree(w);
    ActFile *f;
    cr_assert_eq(actFileOpen(tmpPath("acts.safetensors"), &f, &err), 0, "%s", err.msg);
    cr_assert_eq(actFileCount(f), 3);
    const ActTensor *t0 = actFileTensor(f, 0), *t1 = actFileTensor(f, 1), *t2 = actFileTensor(f, 2);
    cr_expect(t0->layer == 4 && t0->site == SITE_POST && t0->rows == 2 && t0->width == 3);
    cr_expect(t1->layer == 11 && t1->site == SITE_PRE && t1->rows == 4 && t1->width == 2 && t1->dtype == ACT_BF16);
    cr_expect(t2->layer == -1 && t2->site == SITE_POST && t2->dtype == ACT_F64);
    float out[8];
    cr_assert_eq(actFileRead(f, 1, 1, 3, out, &err), 0);
    for (int i = 0; i < 6; i++) cr_expect_eq(out[i], (float)(i + 3));
    double dout[6];
    cr_assert_eq(actFileReadF64(f, 2, 0, 3, dout, &err), 0);
    cr_expect_eq(memcmp(dout, c, sizeof c), 0);
    cr_assert_eq(actFileRead(f, 0, 1, 1, out, &err), 0);
    cr_expect(out[0] == 4 && out[1] == 5 && out[2] == 6);
    actFileClose(f);

    /* a non-activation tensor or a single row makes the whole file an input error */
    int32_t iv[4] = {0};
    int64_t si[2] = {2, 2}, s1[2] = {1, 3};
    w = stWriterNew();
    cr_assert_eq(stWriterAdd(w, "ids", ST_I32, 2, si, iv, &err), 0);
    cr_assert_eq(stWriterSave(w, tmpPath("ids.safetensors"), &err), 0);
    stWriterFree(w);
    cr_expect_eq(actFileOpen(tmpPath("ids.safetensors"), &f, &err), -1);
    cr_expect(strstr(err.msg, "tensor 'ids': dtype I32 is not an activation type") != NULL, "%s", err.msg);
    w = stWriterNew();
    cr_assert_eq(stWriterAdd(w, "one", ST_F32, 2, s1, a, &err), 0);
    cr_assert_eq(stWriterSave(w, tmpPath("one.safetensors"), &err), 0);
    stWriterFree(w);
    cr_expect_eq(actFileOpen(tmpPath("one.safetensors"), &f, &err), -1);
    cr_expect(strstr(err.msg, "tensor 'one': 1 row") != NULL, "%s", err.msg);
}

Test(names, layer_and_site)
{
    struct { const char *name; int layer; Site site; } v[] = {
        {"blocks.3.mlp.hook_post", 3, SITE_POST},
        {"blocks.12.mlp.hook_pre", 12, SITE_PRE},
        {"model.layers.7.mlp.pre", 7, SITE_PRE},
        {"transformer.h.0.mlp.post", 0, SITE_POST},
        {"gpt2/pre/layer5", 5, SITE_PRE},
        {"h.2", 2, SITE_POST},
        {"model/post/layer10", 10, SITE_POST},
        {"x/layer12b", -1, SITE_POST},
        {"blocks.x.hook_pre", -1, SITE_PRE},
        {"blocks3.hook_post", -1, SITE_POST},
        {"preprocess.h12x", -1, SITE_POST},
        {"", -1, SITE_POST},
        {"acts_layer.4.pre.npy", -1, SITE_PRE},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int layer;
        Site site;
        actNameParse(v[i].name, &layer, &site);
        cr_expect(layer == v[i].layer && site == v[i].site, "%s: layer %d site %d", v[i].name, layer, site);
    }
}

/* Byte flips, truncations and length changes anywhere in a good file: open
 * either succeeds (and then every row reads) or fails with an input error;
 * never a crash, a hang or a runtime error. */
static void mutateAndOpen(const char *path, const unsigned char *good, size_t len, uint64_t seed)
{
    unsigned char *buf = malloc(len + 16);
    uint64_t s = seed;
    for (int iter = 0; iter < 400; iter++) {
        memcpy(buf, good, len);
        size_t n = len;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int flips = 1 + (int)((s >> 33) % 4);
        for (int k = 0; k < flips; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)((s >> 20) % (len < 200 ? len : 200)); /* headers live at the front */
            buf[at] = (unsigned char)(s >> 8);
        }
        if (iter % 5 == 0) n = (size_t)((s >> 40) % len);
        writeFile(path, buf, n);
        ActFile *f = NULL;
        Error err = {0};
        if (actFileOpen(path, &f, &err) == 0) {
            for (int i = 0; i < actFileCount(f); i++) {
                const ActTensor *t = actFileTensor(f, i);
                float *out = malloc((size_t)t->rows * t->width * sizeof *out);
                cr_assert_not_null(out);
                cr_expect_eq(actFileRead(f, i, 0, t->rows, out, &err), 0, "%s", err.msg);
                free(out);
            }
            actFileClose(f);
        } else {
            cr_expect_eq(err.code, EXIT_INPUT, "iteration %d: %s", iter, err.msg);
        }
    }
    free(buf);
}

Test(acts, mutated_files_never_crash)
{
    float a[4 * 6];
    for (int i = 0; i < 24; i++) a[i] = (float)i;
    int64_t sa[2] = {4, 6}, sb[3] = {2, 2, 3};
    Error err = {0};
    StWriter *w = stWriterNew();
    cr_assert_eq(stWriterAdd(w, "blocks.0.hook_post", ST_F32, 2, sa, a, &err), 0);
    cr_assert_eq(stWriterAdd(w, "blocks.1.hook_pre", ST_F16, 3, sb, a, &err), 0);
    cr_assert_eq(stWriterSave(w, tmpPath("good.safetensors"), &err), 0);
    stWriterFree(w);
    char *data;
    size_t len;
    FILE *fp = fopen(tmpPath("good.safetensors"), "rb");
    cr_assert_not_null(fp);
    data = malloc(4096);
    len = fread(data, 1, 4096, fp);
    fclose(fp);
    mutateAndOpen(tmpPath("m.safetensors"), (unsigned char *)data, len, 1);
    unsigned char npy[1024];
    len = npyBytes(npy, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 6), }", a, sizeof a);
    mutateAndOpen(tmpPath("m.npy"), npy, len, 2);
    len = npyBytes(npy, 2, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2, 6), }", a, 48);
    mutateAndOpen(tmpPath("m2.npy"), npy, len, 3);
    free(data);
}
