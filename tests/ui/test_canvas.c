/* Canvas, UTF-8, ASCII fallbacks, colour quantisation, braille and bars. */
#include <criterion/criterion.h>
#include <string.h>

#include "ui/canvas.h"
#include "ui/views.h"

static const Style plain = {COLOR_DEFAULT, COLOR_DEFAULT, 0};

Test(canvas, utf8_roundtrip)
{
    const uint32_t cps[] = {0x41, 0xe9, 0x3b1, 0x2588, 0x28ff, 0x1f600, 0x10ffff};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        char buf[5] = {0};
        int n = utf8Encode(cps[i], buf);
        uint32_t back;
        cr_assert_eq(utf8Decode(buf, &back), n);
        cr_assert_eq(back, cps[i], "U+%X decoded as U+%X", cps[i], back);
    }
}

Test(canvas, utf8_invalid_decodes_to_replacement)
{
    uint32_t cp;
    cr_assert_eq(utf8Decode("\xff", &cp), 1);
    cr_assert_eq(cp, 0xfffd);
    cr_assert_eq(utf8Decode("\xe2\x96", &cp), 2);    /* truncated: stops at the NUL */
    cr_assert_eq(cp, 0xfffd);
    cr_assert_eq(utf8Decode("\xc0\x80", &cp), 2);    /* overlong NUL */
    cr_assert_eq(cp, 0xfffd);
    cr_assert_eq(utf8Decode("\xed\xa0\x80", &cp), 3); /* surrogate */
    cr_assert_eq(cp, 0xfffd);
}

Test(canvas, text_clips_and_ends_in_ellipsis)
{
    Canvas *c = canvasNew(10, 2, 0);
    cr_assert_eq(canvasText(c, 0, 0, 5, "abcdefgh", plain), 5);
    cr_assert_eq(canvasAt(c, 3, 0)->ch, 'd');
    cr_assert_eq(canvasAt(c, 4, 0)->ch, 0x2026);
    cr_assert_eq(canvasAt(c, 5, 0)->ch, ' ');
    /* exactly fitting text has no ellipsis */
    cr_assert_eq(canvasText(c, 0, 1, 3, "xyz", plain), 3);
    cr_assert_eq(canvasAt(c, 2, 1)->ch, 'z');
    /* clip rectangle */
    canvasClear(c, plain);
    canvasClip(c, (Rect){2, 0, 3, 1});
    canvasText(c, 0, 0, -1, "0123456789", plain);
    canvasPut(c, 3, 1, 'X', plain);
    canvasUnclip(c);
    cr_assert_eq(canvasAt(c, 1, 0)->ch, ' ');
    cr_assert_eq(canvasAt(c, 2, 0)->ch, '2');
    cr_assert_eq(canvasAt(c, 4, 0)->ch, 0x2026, "clipped at the clip edge: %x", canvasAt(c, 4, 0)->ch);
    cr_assert_eq(canvasAt(c, 5, 0)->ch, ' ');
    cr_assert_eq(canvasAt(c, 3, 1)->ch, ' ');
    cr_assert_null(canvasAt(c, 10, 0));
    cr_assert_null(canvasAt(c, -1, 0));
    canvasFree(c);
}

Test(canvas, one_column_per_code_point)
{
    Canvas *c = canvasNew(10, 1, 0);
    /* a control character and a wide character become '?', a combining mark is dropped */
    int n = canvasText(c, 0, 0, -1, "a\x01" "e\xcc\x81\xe4\xb8\xad" "b", plain);
    cr_assert_eq(n, 5);
    cr_assert_eq(textColumns("a\x01" "e\xcc\x81\xe4\xb8\xad" "b"), 5);
    uint32_t want[5] = {'a', '?', 'e', '?', 'b'};
    for (int i = 0; i < 5; i++) cr_assert_eq(canvasAt(c, i, 0)->ch, want[i]);
    canvasFree(c);
}

Test(canvas, ascii_mode_maps_every_glyph_to_printable_ascii)
{
    for (uint32_t cp = 0x80; cp < 0x3000; cp++) {
        uint32_t a = glyphAscii(cp);
        cr_assert(a >= 0x20 && a < 0x7f, "U+%X -> %u", cp, a);
    }
    /* every glyph the views and the help draw has a real stand-in, not '?' */
    static const uint32_t used[] = {
        0x00b2, 0x00b7, 0x00d7, 0x0394, 0x03a3, 0x03b1, 0x03b2, 0x03bb, 0x2026, 0x2190, 0x2191, 0x2192, 0x2193,
        0x23ce, 0x2500, 0x2502, 0x2508, 0x250a, 0x250c, 0x2510, 0x2514, 0x2518, 0x251c, 0x2524, 0x252c, 0x2534,
        0x253c, 0x2580, 0x2581, 0x2584, 0x2587, 0x2588, 0x2589, 0x258c, 0x258f, 0x2591, 0x2592, 0x2593, 0x25a0,
        0x25a1, 0x25b2, 0x25b3, 0x25b8, 0x25bc, 0x25be, 0x25c6, 0x25c7, 0x25cb, 0x25cf, 0x2605, 0x2606, 0x26a0,
        0x2801, 0x2894, 0x28ff,
    };
    for (size_t i = 0; i < sizeof used / sizeof *used; i++)
        cr_assert_neq(glyphAscii(used[i]), '?', "U+%X has no ASCII stand-in", used[i]);
    Canvas *c = canvasNew(6, 1, 1);
    canvasPut(c, 0, 0, 0x2588, plain);   /* █ */
    canvasPut(c, 1, 0, 0x2500, plain);   /* ─ */
    canvasPut(c, 2, 0, 0x2502, plain);   /* │ */
    canvasPut(c, 3, 0, 0x250c, plain);   /* ┌ */
    canvasPut(c, 4, 0, 0x03b1, plain);   /* α */
    canvasPut(c, 5, 0, 0x25cf, plain);   /* ● */
    const char *want = "#-|+a@";
    for (int i = 0; i < 6; i++) cr_assert_eq(canvasAt(c, i, 0)->ch, (uint32_t)want[i], "cell %d", i);
    canvasFree(c);
}

Test(canvas, xterm_256_palette_is_exact_on_its_own_colours)
{
    for (int i = 16; i < 256; i++) {
        Color c = colorFrom256(i);
        cr_assert_eq(colorFrom256(colorTo256(c)), c, "index %d", i);
    }
    cr_assert_eq(colorTo256(RGB(255, 0, 0)), 196);
    cr_assert_eq(colorTo256(RGB(0, 0, 0)), 16);
    cr_assert_eq(colorTo256(RGB(128, 128, 128)), 244);   /* grey ramp: 8 + 10*12 = 128 */
    for (int i = 0; i < 8; i++) cr_assert_eq(colorTo8(colorFrom8(i)), i);
    cr_assert_eq(colorTo8(RGB(250, 10, 10)), 1);
    cr_assert_eq(colorTo8(RGB(20, 20, 230)), 4);
}

Test(canvas, colour_parse_and_lerp)
{
    Color c;
    cr_assert_eq(colorParse("#1e222A", &c), 0);
    cr_assert_eq(c, 0x1e222a);
    cr_assert_eq(colorParse("default", &c), 0);
    cr_assert_eq(c, COLOR_DEFAULT);
    cr_assert_eq(colorParse("1e222a", &c), -1);
    cr_assert_eq(colorParse("#12345", &c), -1);
    cr_assert_eq(colorParse("#12345g", &c), -1);
    cr_assert_eq(colorLerp(RGB(0, 0, 0), RGB(200, 100, 50), 0.5), RGB(100, 50, 25));
    cr_assert_eq(colorLerp(RGB(0, 0, 0), RGB(200, 100, 50), 2.0), RGB(200, 100, 50));
}

Test(canvas, quantize_to_depths)
{
    Canvas *c = canvasNew(2, 1, 0);
    canvasPut(c, 0, 0, 'x', (Style){RGB(250, 10, 10), RGB(1, 2, 3), ATTR_BOLD});
    canvasPut(c, 1, 0, 'y', (Style){COLOR_DEFAULT, RGB(100, 100, 100), 0});
    canvasQuantize(c, DEPTH_256);
    cr_assert_eq(canvasAt(c, 0, 0)->fg, colorFrom256(colorTo256(RGB(250, 10, 10))));
    cr_assert_eq(canvasAt(c, 1, 0)->fg, COLOR_DEFAULT);
    canvasQuantize(c, DEPTH_8);
    cr_assert_eq(canvasAt(c, 0, 0)->fg, colorFrom8(1));
    canvasQuantize(c, DEPTH_NONE);
    cr_assert_eq(canvasAt(c, 0, 0)->fg, COLOR_DEFAULT);
    cr_assert_eq(canvasAt(c, 0, 0)->bg, COLOR_DEFAULT);
    cr_assert_eq(canvasAt(c, 0, 0)->attrs, ATTR_BOLD, "attributes survive");
    canvasFree(c);
}

Test(canvas, braille_dots_and_lines)
{
    Theme t;
    themeDefault(&t);
    RenderCtx ctx = {&t, DEPTH_TRUE, 0, 0, 0};
    Canvas *c = canvasNew(2, 1, 0);
    Braille b;
    cr_assert_eq(brailleInit(&b, (Rect){0, 0, 2, 1}), 0);
    brailleDot(&b, 0, 0, 0x112233);   /* bottom-left: dot 7 */
    brailleDot(&b, 1, 3, 0x112233);   /* top-right: dot 4 */
    brailleLine(&b, 2, 0, 3, 3, 0x445566, 0);   /* second cell: a rising line */
    brailleFlush(&b, c, &ctx, 0);
    brailleFree(&b);
    cr_assert_eq(canvasAt(c, 0, 0)->ch, 0x2800 + 0x40 + 0x08);
    cr_assert_eq(canvasAt(c, 0, 0)->fg, 0x112233);
    /* from (0,bottom) to (1,top) in the second cell: dots 7, then 2 or 5..., ends at dot 4 */
    uint32_t ch = canvasAt(c, 1, 0)->ch;
    cr_assert(ch & 0x40 && ch & 0x08, "line ends lit: %x", ch);
    canvasFree(c);
}

Test(canvas, horizontal_bar_eighths)
{
    Canvas *c = canvasNew(4, 1, 0);
    Style on = {0xffffff, 0, 0}, off = {0x808080, 0, 0};
    drawHBar(c, 0, 0, 4, 0.5 + 3.0 / 32, on, off);   /* 2 cells and 3 eighths */
    cr_assert_eq(canvasAt(c, 0, 0)->ch, 0x2588);
    cr_assert_eq(canvasAt(c, 1, 0)->ch, 0x2588);
    cr_assert_eq(canvasAt(c, 2, 0)->ch, 0x258d);   /* ▍ three eighths */
    cr_assert_eq(canvasAt(c, 3, 0)->ch, 0x00b7);
    cr_assert_eq(blockLower(1), 0x2581);
    cr_assert_eq(blockLower(8), 0x2588);
    cr_assert_eq(blockLeft(1), 0x258f);
    canvasFree(c);
}
