/* Plain text and ANSI screenshots. */
#include <string.h>

#include "export/export.h"

static void putGlyph(uint32_t ch, FILE *fp)
{
    char buf[4];
    fwrite(buf, 1, (size_t)utf8Encode(ch, buf), fp);
}

int exportTxt(const Canvas *c, FILE *fp)
{
    for (int y = 0; y < c->h; y++) {
        const Cell *row = &c->cells[(size_t)y * c->w];
        int end = c->w;
        while (end > 0 && row[end - 1].ch == ' ') end--;   /* no trailing blanks */
        for (int x = 0; x < end; x++) putGlyph(row[x].ch, fp);
        fputc('\n', fp);
    }
    return ferror(fp) ? -1 : 0;
}

static void sgrColor(FILE *fp, Color col, int bg, ColorDepth depth)
{
    if (col == COLOR_DEFAULT || depth == DEPTH_NONE) return;
    if (depth == DEPTH_TRUE)
        fprintf(fp, ";%d;2;%u;%u;%u", bg ? 48 : 38, (col >> 16) & 0xff, (col >> 8) & 0xff, col & 0xff);
    else if (depth == DEPTH_256) fprintf(fp, ";%d;5;%d", bg ? 48 : 38, colorTo256(col));
    else fprintf(fp, ";%d", (bg ? 40 : 30) + colorTo8(col));
}

int exportAnsi(const Canvas *c, ColorDepth depth, FILE *fp)
{
    for (int y = 0; y < c->h; y++) {
        const Cell *row = &c->cells[(size_t)y * c->w];
        const Cell *prev = NULL;
        for (int x = 0; x < c->w; x++) {
            const Cell *cell = &row[x];
            if (!prev || cell->fg != prev->fg || cell->bg != prev->bg || cell->attrs != prev->attrs) {
                fputs("\x1b[0", fp);   /* every change starts from a reset: simple and robust */
                if (cell->attrs & ATTR_BOLD) fputs(";1", fp);
                if (cell->attrs & ATTR_DIM) fputs(";2", fp);
                if (cell->attrs & ATTR_UNDERLINE) fputs(";4", fp);
                if (cell->attrs & ATTR_REVERSE) fputs(";7", fp);
                sgrColor(fp, cell->fg, 0, depth);
                sgrColor(fp, cell->bg, 1, depth);
                fputc('m', fp);
                prev = cell;
            }
            putGlyph(cell->ch, fp);
        }
        fputs("\x1b[0m\n", fp);
    }
    return ferror(fp) ? -1 : 0;
}
