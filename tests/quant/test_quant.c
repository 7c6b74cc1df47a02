/* The ggml type table, hand-built blocks with values worked out from the
 * layouts, the scale check, argument errors and the type-mix text. The
 * decoders are checked against numpy over random blocks by check_quant.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "io/ggml_quant.h"
#include "util/half.h"

static void putF16(unsigned char *p, float v)
{
    uint16_t h = halfFromF32(v);
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

Test(types, block_sizes_follow_the_layouts)
{
    /* (elements, bytes) from the fields of each block: f16 = 2 bytes. */
    struct { uint32_t t; int qk, bytes; } want[] = {
        {GGML_TYPE_F32, 1, 4},
        {GGML_TYPE_F16, 1, 2},
        {GGML_TYPE_BF16, 1, 2},
        {GGML_TYPE_Q4_0, 32, 2 + 32 / 2},
        {GGML_TYPE_Q4_1, 32, 2 * 2 + 32 / 2},
        {GGML_TYPE_Q5_0, 32, 2 + 4 + 32 / 2},
        {GGML_TYPE_Q5_1, 32, 2 * 2 + 4 + 32 / 2},
        {GGML_TYPE_Q8_0, 32, 2 + 32},
        {GGML_TYPE_Q2_K, 256, 256 / 16 + 256 / 4 + 2 * 2},
        {GGML_TYPE_Q3_K, 256, 256 / 8 + 256 / 4 + 12 + 2},
        {GGML_TYPE_Q4_K, 256, 2 * 2 + 12 + 256 / 2},
        {GGML_TYPE_Q5_K, 256, 2 * 2 + 12 + 256 / 8 + 256 / 2},
        {GGML_TYPE_Q6_K, 256, 256 / 2 + 256 / 4 + 256 / 16 + 2},
        {GGML_TYPE_IQ4_NL, 32, 2 + 32 / 2},
        {GGML_TYPE_IQ4_XS, 256, 2 + 2 + 256 / 64 + 256 / 2},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_expect(ggmlTypeReadable(want[i].t), "%s", ggmlTypeName(want[i].t));
        cr_expect_eq(ggmlBlockElements(want[i].t), want[i].qk, "%s", ggmlTypeName(want[i].t));
        cr_expect_eq(ggmlBlockBytes(want[i].t), want[i].bytes, "%s", ggmlTypeName(want[i].t));
    }
    uint32_t unread[] = {4, 5, 9, 15, 16, 17, 18, 19, 21, 22, 24, 28, 29, 34, 35, 39, 40, 1000};
    for (size_t i = 0; i < sizeof unread / sizeof unread[0]; i++) {
        cr_expect(!ggmlTypeReadable(unread[i]), "type %u", unread[i]);
        cr_expect_eq(ggmlBlockBytes(unread[i]), 0);
    }
    cr_expect_str_eq(ggmlTypeName(GGML_TYPE_Q4_K), "Q4_K");
    cr_expect_str_eq(ggmlTypeName(16), "IQ2_XXS");
    cr_expect_str_eq(ggmlTypeName(39), "MXFP4");
    cr_expect_str_eq(ggmlTypeName(33), "?");
    cr_expect_str_eq(ggmlTypeName(1000), "?");
}

Test(decode, q4_0_by_hand)
{
    unsigned char b[18];
    putF16(b, 0.5f);
    for (int j = 0; j < 16; j++) b[2 + j] = (unsigned char)(j | (15 - j) << 4);
    float y[32];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_Q4_0, b, 32, 0, 1, y, NULL), 0);
    for (int j = 0; j < 16; j++) {
        cr_expect_eq(y[j], (j - 8) * 0.5f);
        cr_expect_eq(y[j + 16], (7 - j) * 0.5f);
    }
}

Test(decode, q5_1_by_hand)
{
    /* Fifth bits set for odd elements: x = q * d + m with q = nibble + 16 * bit. */
    unsigned char b[24];
    putF16(b, 0.25f);
    putF16(b + 2, -3.0f);
    uint32_t qh = 0xAAAAAAAAu;
    for (int i = 0; i < 4; i++) b[4 + i] = (unsigned char)(qh >> (8 * i));
    for (int j = 0; j < 16; j++) b[8 + j] = (unsigned char)(j | (15 - j) << 4);
    float y[32];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_Q5_1, b, 32, 0, 1, y, NULL), 0);
    for (int j = 0; j < 16; j++) {
        cr_expect_eq(y[j], (float)(j + 16 * (j & 1)) * 0.25f - 3.0f, "y[%d] = %g", j, y[j]);
        cr_expect_eq(y[j + 16], (float)(15 - j + 16 * ((j + 16) & 1)) * 0.25f - 3.0f);
    }
}

Test(decode, q4_k_high_scales_by_hand)
{
    /* Sub-block 5's 6-bit scale is 0x2A: low nibble 0xA in byte 9, high bits
     * 0b10 in the top of byte 1; its min is 0x15: nibble 5 in byte 9's top,
     * 0b01 in the top of byte 5. Every other scale and min is 0. */
    unsigned char b[144] = {0};
    putF16(b, 2.0f);
    putF16(b + 2, 1.0f);
    b[4 + 9] = 0xA | 5 << 4;
    b[4 + 1] = 2 << 6;
    b[4 + 5] = 1 << 6;
    for (int l = 0; l < 128; l++) b[16 + l] = (unsigned char)(l % 16 | ((l + 3) % 16) << 4);
    float y[256];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_Q4_K, b, 256, 0, 1, y, NULL), 0);
    /* Sub-block 5 = elements 160..191: the high nibbles of qs[64..95]. */
    for (int i = 0; i < 256; i++) {
        float want = 0;
        if (i >= 160 && i < 192) want = 2.0f * 42 * (float)((64 + i - 160 + 3) % 16) - 21.0f;
        cr_expect_eq(y[i], want, "y[%d] = %g, want %g", i, y[i], want);
    }
}

Test(decode, q6_k_by_hand)
{
    /* Every quant 32 + 5 = 37 except element 200 (half 1, group 2, l = 8):
     * q = 0 -> -32; scales[i] = i - 8. */
    unsigned char b[210] = {0};
    for (int l = 0; l < 128; l++) b[l] = 5 | 5 << 4;
    for (int l = 0; l < 64; l++) b[128 + l] = 2 | 2 << 2 | 2 << 4 | 2 << 6;
    for (int i = 0; i < 16; i++) b[192 + i] = (unsigned char)(int8_t)(i - 8);
    putF16(b + 208, 0.5f);
    /* Element 200 is element 8 of group 2 in half 1: the high nibble of ql[64 + 8], bits 4-5 of qh[32 + 8]. */
    b[64 + 8] &= 0x0F;
    b[128 + 32 + 8] &= (unsigned char)~(3 << 4);
    float y[256];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_Q6_K, b, 256, 0, 1, y, NULL), 0);
    for (int i = 0; i < 256; i++) {
        float want = 0.5f * (float)(i / 16 - 8) * (i == 200 ? -32.0f : 5.0f);
        cr_expect_eq(y[i], want, "y[%d] = %g, want %g", i, y[i], want);
    }
}

Test(decode, iq4_nl_grid)
{
    unsigned char b[18];
    putF16(b, 1.0f);
    for (int j = 0; j < 16; j++) b[2 + j] = (unsigned char)(j | (15 - j) << 4);
    static const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    float y[32];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_IQ4_NL, b, 32, 0, 1, y, NULL), 0);
    for (int j = 0; j < 16; j++) {
        cr_expect_eq(y[j], (float)grid[j]);
        cr_expect_eq(y[j + 16], (float)grid[15 - j]);
    }
}

Test(decode, row_ranges_and_errors)
{
    /* Three rows of 64 Q8_0 values: row r, element i = (r * 64 + i) % 100 - 50, scale 1. */
    unsigned char b[6 * 34];
    for (int k = 0; k < 6; k++) {
        putF16(b + 34 * k, 1.0f);
        for (int j = 0; j < 32; j++) b[34 * k + 2 + j] = (unsigned char)(int8_t)((k * 32 + j) % 100 - 50);
    }
    float y[64];
    cr_assert_eq(ggmlDequantRows(GGML_TYPE_Q8_0, b, 64, 2, 1, y, NULL), 0);
    for (int i = 0; i < 64; i++) cr_expect_eq(y[i], (float)((128 + i) % 100 - 50));
    Error err = {0};
    cr_expect_eq(ggmlDequantRows(GGML_TYPE_Q8_0, b, 48, 0, 1, y, &err), -1);
    cr_expect_eq(err.code, EXIT_RUNTIME);
    cr_expect(strstr(err.msg, "Q8_0") != NULL, "%s", err.msg);
    err = (Error){0};
    cr_expect_eq(ggmlDequantRows(16, b, 256, 0, 1, y, &err), -1);
    cr_expect(strstr(err.msg, "IQ2_XXS") != NULL, "%s", err.msg);
    cr_expect_eq(ggmlDequantRows(GGML_TYPE_Q8_0, b, 64, -1, 1, y, &err), -1);
}

Test(scales, first_non_finite_block)
{
    unsigned char b[4 * 144] = {0};
    for (int k = 0; k < 4; k++) {
        putF16(b + 144 * k, 1.0f);
        putF16(b + 144 * k + 2, -0.0f);
    }
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_Q4_K, b, 4), -1);
    putF16(b + 144 * 3, INFINITY);
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_Q4_K, b, 4), 3);
    putF16(b + 144 * 2 + 2, NAN); /* dmin */
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_Q4_K, b, 4), 2);
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_Q4_K, b, 2), -1);
    /* Q6_K keeps d at the end of its block. */
    unsigned char q6[2 * 210] = {0};
    putF16(q6 + 210 + 208, NAN);
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_Q6_K, q6, 2), 1);
    /* plain floats have no scales */
    float f[2] = {NAN, INFINITY};
    cr_expect_eq(ggmlFindBadScale(GGML_TYPE_F32, f, 2), -1);
}

Test(mix, formats_shares)
{
    char buf[128];
    GgmlTypeCount a[] = {{GGML_TYPE_Q4_K, 500}, {GGML_TYPE_F32, 210}, {GGML_TYPE_Q6_K, 120},
                         {GGML_TYPE_Q4_K, 170}};
    int n = ggmlFormatTypeMix(a, 4, buf, sizeof buf);
    cr_expect_str_eq(buf, "Q4_K 67%, F32 21%, Q6_K 12%");
    cr_expect_eq(n, (int)strlen(buf));
    /* a share under half a percent; equal counts in type order */
    GgmlTypeCount b[] = {{GGML_TYPE_F32, 1}, {GGML_TYPE_Q8_0, 500}, {GGML_TYPE_F16, 500}};
    ggmlFormatTypeMix(b, 3, buf, sizeof buf);
    cr_expect_str_eq(buf, "F16 50%, Q8_0 50%, F32 <1%");
    /* truncated output, full length returned */
    char small[8];
    n = ggmlFormatTypeMix(a, 4, small, sizeof small);
    cr_expect_eq(n, (int)strlen("Q4_K 67%, F32 21%, Q6_K 12%"));
    cr_expect_str_eq(small, "Q4_K 67");
    cr_expect_eq(ggmlFormatTypeMix(NULL, 0, buf, sizeof buf), 0);
    cr_expect_str_eq(buf, "");
}
