#ifndef FFNSCOPE_UI_CANVAS_H
#define FFNSCOPE_UI_CANVAS_H

#include <stdint.h>

/* The canvas is the one picture every output shares: views draw into a grid
 * of cells, the ncurses backend blits it and the exporters (txt, ansi, html,
 * svg) serialise it, so a screenshot is exactly what the screen shows.
 * A cell holds one single-column glyph (a Unicode code point, written out as
 * UTF-8 by every backend), a foreground, a background and attributes. */

typedef uint32_t Color;                 /* 0xRRGGBB, or COLOR_DEFAULT */
#define COLOR_DEFAULT 0xFF000000u       /* the terminal's own colour */
#define RGB(r, g, b) ((Color)(((r) & 0xff) << 16 | ((g) & 0xff) << 8 | ((b) & 0xff)))

enum {
    ATTR_BOLD = 1u << 0,
    ATTR_DIM = 1u << 1,
    ATTR_UNDERLINE = 1u << 2,
    ATTR_REVERSE = 1u << 3,
};

/* How many colours the output can show; views shade with glyphs at DEPTH_NONE. */
typedef enum ColorDepth { DEPTH_NONE = 0, DEPTH_8, DEPTH_256, DEPTH_TRUE } ColorDepth;

typedef struct Style {
    Color fg, bg;
    uint8_t attrs;
} Style;

typedef struct Cell {
    uint32_t ch;          /* code point, always one column wide */
    Color fg, bg;
    uint8_t attrs;
} Cell;

typedef struct Rect {
    int x, y, w, h;
} Rect;

typedef struct Canvas {
    int w, h;
    int ascii;            /* map every glyph to ASCII (locale is not UTF-8) */
    Rect clip;            /* drawing outside is dropped */
    Cell *cells;          /* [h, w], row-major */
} Canvas;

/* NULL when out of memory or the size is not positive. */
Canvas *canvasNew(int w, int h, int ascii);
void canvasFree(Canvas *c);

void canvasClear(Canvas *c, Style st);
/* Restricts drawing to r (intersected with the canvas); canvasUnclip restores. */
void canvasClip(Canvas *c, Rect r);
void canvasUnclip(Canvas *c);

const Cell *canvasAt(const Canvas *c, int x, int y); /* NULL outside */
void canvasPut(Canvas *c, int x, int y, uint32_t ch, Style st);
/* Changes only the colours and attributes of a cell already drawn. */
void canvasRestyle(Canvas *c, int x, int y, Style st);
void canvasFill(Canvas *c, Rect r, uint32_t ch, Style st);
void canvasHLine(Canvas *c, int x, int y, int w, uint32_t ch, Style st);
void canvasVLine(Canvas *c, int x, int y, int h, uint32_t ch, Style st);

/* Draws UTF-8 text from (x, y), at most maxw columns (maxw < 0: to the clip
 * edge); a text that does not fit ends in an ellipsis. Returns the columns used. */
int canvasText(Canvas *c, int x, int y, int maxw, const char *utf8, Style st);
/* Right-aligned so that the text ends at column x_end - 1. */
int canvasTextRight(Canvas *c, int x_end, int y, int maxw, const char *utf8, Style st);
/* Columns the text takes on a canvas (one per code point, after sanitising). */
int textColumns(const char *utf8);

/* Turns every colour into COLOR_DEFAULT (depth none) or into the colour the
 * depth can actually show, so that exports equal the screen. */
void canvasQuantize(Canvas *c, ColorDepth depth);

/* UTF-8 helpers. utf8Decode returns the bytes consumed (>= 1; invalid input
 * decodes to U+FFFD); utf8Encode returns the bytes written (1..4). */
int utf8Decode(const char *s, uint32_t *cp);
int utf8Encode(uint32_t cp, char out[4]);
/* The ASCII stand-in for a glyph (box drawing, blocks, markers, Greek letters). */
uint32_t glyphAscii(uint32_t cp);

/* Colour helpers. */
Color colorLerp(Color a, Color b, double t);
double colorLuma(Color c);                 /* 0..1 */
int colorTo256(Color c);                   /* xterm palette index 16..255 */
int colorTo8(Color c);                     /* 0..7, ANSI order */
Color colorFrom256(int idx);
Color colorFrom8(int idx);
/* "#rrggbb" or "default"; -1 when malformed. */
int colorParse(const char *s, Color *out);

#endif
