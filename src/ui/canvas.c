#include "ui/canvas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Canvas *canvasNew(int w, int h, int ascii)
{
    if (w <= 0 || h <= 0 || w > 10000 || h > 10000) return NULL;
    Canvas *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cells = calloc((size_t)w * (size_t)h, sizeof *c->cells);
    if (!c->cells) {
        free(c);
        return NULL;
    }
    c->w = w;
    c->h = h;
    c->ascii = ascii;
    c->clip = (Rect){0, 0, w, h};
    canvasClear(c, (Style){COLOR_DEFAULT, COLOR_DEFAULT, 0});
    return c;
}

void canvasFree(Canvas *c)
{
    if (!c) return;
    free(c->cells);
    free(c);
}

void canvasClear(Canvas *c, Style st)
{
    for (int i = 0; i < c->w * c->h; i++) c->cells[i] = (Cell){' ', st.fg, st.bg, st.attrs};
}

void canvasClip(Canvas *c, Rect r)
{
    int x0 = r.x < 0 ? 0 : r.x, y0 = r.y < 0 ? 0 : r.y;
    int x1 = r.x + r.w > c->w ? c->w : r.x + r.w;
    int y1 = r.y + r.h > c->h ? c->h : r.y + r.h;
    if (x1 < x0) x1 = x0;
    if (y1 < y0) y1 = y0;
    c->clip = (Rect){x0, y0, x1 - x0, y1 - y0};
}

void canvasUnclip(Canvas *c) { c->clip = (Rect){0, 0, c->w, c->h}; }

static int inClip(const Canvas *c, int x, int y)
{
    return x >= c->clip.x && y >= c->clip.y && x < c->clip.x + c->clip.w && y < c->clip.y + c->clip.h;
}

const Cell *canvasAt(const Canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return NULL;
    return &c->cells[(size_t)y * c->w + x];
}

void canvasPut(Canvas *c, int x, int y, uint32_t ch, Style st)
{
    if (!inClip(c, x, y)) return;
    if (c->ascii && ch >= 0x80) ch = glyphAscii(ch);
    c->cells[(size_t)y * c->w + x] = (Cell){ch, st.fg, st.bg, st.attrs};
}

void canvasRestyle(Canvas *c, int x, int y, Style st)
{
    if (!inClip(c, x, y)) return;
    Cell *cell = &c->cells[(size_t)y * c->w + x];
    cell->fg = st.fg;
    cell->bg = st.bg;
    cell->attrs = st.attrs;
}

void canvasFill(Canvas *c, Rect r, uint32_t ch, Style st)
{
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) canvasPut(c, x, y, ch, st);
}

void canvasHLine(Canvas *c, int x, int y, int w, uint32_t ch, Style st)
{
    for (int i = 0; i < w; i++) canvasPut(c, x + i, y, ch, st);
}

void canvasVLine(Canvas *c, int x, int y, int h, uint32_t ch, Style st)
{
    for (int i = 0; i < h; i++) canvasPut(c, x, y + i, ch, st);
}

int utf8Decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    int n;
    uint32_t v, min;
    if ((u[0] & 0xe0) == 0xc0) n = 2, v = u[0] & 0x1f, min = 0x80;
    else if ((u[0] & 0xf0) == 0xe0) n = 3, v = u[0] & 0x0f, min = 0x800;
    else if ((u[0] & 0xf8) == 0xf0) n = 4, v = u[0] & 0x07, min = 0x10000;
    else {
        *cp = 0xfffd;
        return 1;
    }
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return i;   /* resynchronise on the byte that broke the sequence */
        }
        v = v << 6 | (u[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) v = 0xfffd;
    *cp = v;
    return n;
}

int utf8Encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Zero-width marks are dropped; wide (two-column) characters and controls
 * become '?', so that one code point is always one column. */
static int isZeroWidth(uint32_t cp)
{
    return (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff ||
           (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
           (cp >= 0x20d0 && cp <= 0x20ff);
}

static int isWide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
           (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
           (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/* Returns 0 for a code point to skip, else the one-column code point to draw. */
static uint32_t sanitize(uint32_t cp)
{
    if (cp == '\t') return ' ';
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return '?';
    if (isZeroWidth(cp)) return 0;
    if (isWide(cp)) return '?';
    return cp;
}

int textColumns(const char *s)
{
    int n = 0;
    while (*s) {
        uint32_t cp;
        s += utf8Decode(s, &cp);
        if (sanitize(cp)) n++;
    }
    return n;
}

int canvasText(Canvas *c, int x, int y, int maxw, const char *s, Style st)
{
    if (maxw < 0) maxw = c->clip.x + c->clip.w - x;
    if (maxw <= 0) return 0;
    int total = textColumns(s);
    int col = 0;
    while (*s && col < maxw) {
        uint32_t cp;
        s += utf8Decode(s, &cp);
        cp = sanitize(cp);
        if (!cp) continue;
        if (total > maxw && col == maxw - 1) {
            canvasPut(c, x + col, y, 0x2026, st);   /* … */
            return maxw;
        }
        canvasPut(c, x + col, y, cp, st);
        col++;
    }
    return col;
}

int canvasTextRight(Canvas *c, int x_end, int y, int maxw, const char *s, Style st)
{
    int n = textColumns(s);
    if (n > maxw) n = maxw;
    return canvasText(c, x_end - n, y, n, s, st);
}

void canvasQuantize(Canvas *c, ColorDepth depth)
{
    if (depth == DEPTH_TRUE) return;
    for (int i = 0; i < c->w * c->h; i++) {
        Cell *cell = &c->cells[i];
        Color *col[2] = {&cell->fg, &cell->bg};
        for (int k = 0; k < 2; k++) {
            if (*col[k] == COLOR_DEFAULT) continue;
            if (depth == DEPTH_NONE) *col[k] = COLOR_DEFAULT;
            else if (depth == DEPTH_256) *col[k] = colorFrom256(colorTo256(*col[k]));
            else *col[k] = colorFrom8(colorTo8(*col[k]));
        }
    }
}

typedef struct AsciiMap {
    uint32_t cp;
    char ascii;
} AsciiMap;

/* Sorted by code point for bsearch. */
static const AsciiMap ascii_map[] = {
    {0x00b2, '2'}, {0x00b7, '.'}, {0x00d7, 'x'}, {0x0394, 'D'}, {0x03a3, 'S'}, {0x03b1, 'a'}, {0x03b2, 'b'},
    {0x03bb, 'l'}, {0x2013, '-'}, {0x2014, '-'}, {0x2022, '*'}, {0x2026, '~'}, {0x2190, '<'},
    {0x2191, '^'}, {0x2192, '>'}, {0x2193, 'v'}, {0x2248, '~'}, {0x2264, '<'}, {0x2265, '>'},
    {0x23ce, 'E'}, {0x2500, '-'}, {0x2502, '|'}, {0x2508, '.'}, {0x250a, ':'}, {0x250c, '+'}, {0x2510, '+'}, {0x2514, '+'},
    {0x2518, '+'}, {0x251c, '+'}, {0x2524, '+'}, {0x252c, '+'}, {0x2534, '+'}, {0x253c, '+'},
    {0x254c, '-'}, {0x254e, ':'}, {0x2580, '"'}, {0x2581, '.'}, {0x2582, '.'}, {0x2583, '.'},
    {0x2584, ':'}, {0x2585, ':'}, {0x2586, ':'}, {0x2587, ':'}, {0x2588, '#'}, {0x2589, '='},
    {0x258a, '='}, {0x258b, '='}, {0x258c, '='}, {0x258d, '-'}, {0x258e, '-'}, {0x258f, '|'},
    {0x2591, '.'}, {0x2592, ':'}, {0x2593, '%'}, {0x2594, '\''}, {0x2595, '|'}, {0x25a0, '#'},
    {0x25a1, '='}, {0x25b2, 'A'}, {0x25b3, '^'}, {0x25b6, '>'}, {0x25b8, '>'}, {0x25bc, 'v'},
    {0x25be, 'v'}, {0x25c6, '*'}, {0x25c7, '+'}, {0x25cb, 'o'}, {0x25cf, '@'}, {0x2605, 'X'},
    {0x2606, 'x'}, {0x2691, '!'}, {0x26a0, '!'},
};

static int asciiCmp(const void *a, const void *b)
{
    uint32_t x = ((const AsciiMap *)a)->cp, y = ((const AsciiMap *)b)->cp;
    return x < y ? -1 : x > y;
}

uint32_t glyphAscii(uint32_t cp)
{
    if (cp < 0x80) return cp;
    if (cp >= 0x2800 && cp <= 0x28ff) return cp == 0x2800 ? ' ' : '.';   /* braille dots */
    AsciiMap key = {cp, 0};
    const AsciiMap *m =
        bsearch(&key, ascii_map, sizeof ascii_map / sizeof *ascii_map, sizeof *ascii_map, asciiCmp);
    return m ? (uint32_t)m->ascii : '?';
}

Color colorLerp(Color a, Color b, double t)
{
    if (a == COLOR_DEFAULT || b == COLOR_DEFAULT) return t < 0.5 ? a : b;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    int r = (int)lround(((a >> 16) & 0xff) * (1 - t) + ((b >> 16) & 0xff) * t);
    int g = (int)lround(((a >> 8) & 0xff) * (1 - t) + ((b >> 8) & 0xff) * t);
    int bl = (int)lround((a & 0xff) * (1 - t) + (b & 0xff) * t);
    return RGB(r, g, bl);
}

double colorLuma(Color c)
{
    if (c == COLOR_DEFAULT) return 0.0;
    return (0.2126 * ((c >> 16) & 0xff) + 0.7152 * ((c >> 8) & 0xff) + 0.0722 * (c & 0xff)) / 255.0;
}

static const int cube_level[6] = {0, 95, 135, 175, 215, 255};

static int dist2(int r1, int g1, int b1, int r2, int g2, int b2)
{
    return (r1 - r2) * (r1 - r2) + (g1 - g2) * (g1 - g2) + (b1 - b2) * (b1 - b2);
}

static int nearestLevel(int v)
{
    int best = 0;
    for (int i = 1; i < 6; i++)
        if (abs(cube_level[i] - v) < abs(cube_level[best] - v)) best = i;
    return best;
}

int colorTo256(Color c)
{
    int r = (c >> 16) & 0xff, g = (c >> 8) & 0xff, b = c & 0xff;
    int ri = nearestLevel(r), gi = nearestLevel(g), bi = nearestLevel(b);
    int cube = 16 + 36 * ri + 6 * gi + bi;
    int dc = dist2(r, g, b, cube_level[ri], cube_level[gi], cube_level[bi]);
    int avg = (r + g + b) / 3;
    int gi2 = avg < 8 ? 0 : avg > 238 ? 23 : (avg - 8 + 5) / 10;
    if (gi2 > 23) gi2 = 23;
    int gv = 8 + 10 * gi2;
    int dg = dist2(r, g, b, gv, gv, gv);
    return dg < dc ? 232 + gi2 : cube;
}

Color colorFrom256(int idx)
{
    if (idx < 16) return colorFrom8(idx & 7);
    if (idx >= 232) {
        int v = 8 + 10 * (idx - 232);
        return RGB(v, v, v);
    }
    idx -= 16;
    return RGB(cube_level[idx / 36], cube_level[idx / 6 % 6], cube_level[idx % 6]);
}

/* The xterm defaults of the eight basic colours. */
static const Color ansi8[8] = {
    RGB(0, 0, 0),     RGB(205, 0, 0),   RGB(0, 205, 0),   RGB(205, 205, 0),
    RGB(0, 0, 238),   RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
};

int colorTo8(Color c)
{
    int r = (c >> 16) & 0xff, g = (c >> 8) & 0xff, b = c & 0xff;
    int best = 0, bd = -1;
    for (int i = 0; i < 8; i++) {
        int d = dist2(r, g, b, (ansi8[i] >> 16) & 0xff, (ansi8[i] >> 8) & 0xff, ansi8[i] & 0xff);
        if (bd < 0 || d < bd) bd = d, best = i;
    }
    return best;
}

Color colorFrom8(int idx) { return ansi8[idx & 7]; }

int colorParse(const char *s, Color *out)
{
    if (!strcmp(s, "default")) {
        *out = COLOR_DEFAULT;
        return 0;
    }
    if (s[0] != '#' || strlen(s) != 7) return -1;
    unsigned v = 0;
    for (int i = 1; i < 7; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}
