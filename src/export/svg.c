/* SVG screenshots. Text runs carry textLength so columns line up whatever
 * font the viewer picks; block elements, shades, braille dots and box
 * lines are drawn as shapes, so bars and plots tile without font gaps. */
#include <string.h>

#include "export/export.h"

#define CELL_W 8.4     /* a 14px monospace advance */
#define CELL_H 17.0
#define PAD 10.0
#define BASELINE 12.8  /* from the cell's top */

/* Box-drawing glyphs as the arms they draw from the cell centre. */
enum { ARM_L = 1, ARM_R = 2, ARM_U = 4, ARM_D = 8 };

static int boxArms(uint32_t ch)
{
    switch (ch) {
    case 0x2500: return ARM_L | ARM_R;
    case 0x2502: return ARM_U | ARM_D;
    case 0x250c: return ARM_R | ARM_D;
    case 0x2510: return ARM_L | ARM_D;
    case 0x2514: return ARM_R | ARM_U;
    case 0x2518: return ARM_L | ARM_U;
    case 0x251c: return ARM_U | ARM_D | ARM_R;
    case 0x2524: return ARM_U | ARM_D | ARM_L;
    case 0x252c: return ARM_L | ARM_R | ARM_D;
    case 0x2534: return ARM_L | ARM_R | ARM_U;
    case 0x253c: return ARM_L | ARM_R | ARM_U | ARM_D;
    default: return 0;
    }
}

static int isShape(uint32_t ch)
{
    return (ch >= 0x2580 && ch <= 0x2595) || (ch >= 0x2801 && ch <= 0x28ff) || boxArms(ch) || ch == 0x250a ||
           ch == 0x2508;
}

static void rect(FILE *fp, double x, double y, double w, double h, Color fill, double opacity)
{
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%06x\"", x, y, w, h, fill);
    if (opacity < 1) fprintf(fp, " fill-opacity=\"%.2f\"", opacity);
    fputs("/>\n", fp);
}

static void shape(FILE *fp, uint32_t ch, double x, double y, Color fg)
{
    const double w = CELL_W, h = CELL_H;
    if (ch == 0x2580) rect(fp, x, y, w, h / 2, fg, 1);
    else if (ch >= 0x2581 && ch <= 0x2588) {
        double k = (ch - 0x2580) / 8.0;
        rect(fp, x, y + h * (1 - k), w, h * k, fg, 1);
    } else if (ch >= 0x2589 && ch <= 0x258f) {
        rect(fp, x, y, w * (0x2590 - ch) / 8.0, h, fg, 1);
    } else if (ch == 0x2590) rect(fp, x + w / 2, y, w / 2, h, fg, 1);
    else if (ch >= 0x2591 && ch <= 0x2593) rect(fp, x, y, w, h, fg, 0.25 * (ch - 0x2590));
    else if (ch == 0x2594) rect(fp, x, y, w, h / 8, fg, 1);
    else if (ch == 0x2595) rect(fp, x + w * 7 / 8, y, w / 8, h, fg, 1);
    else if (ch >= 0x2801 && ch <= 0x28ff) {
        static const int col[8] = {0, 0, 0, 1, 1, 1, 0, 1}, row[8] = {0, 1, 2, 0, 1, 2, 3, 3};
        for (int b = 0; b < 8; b++)
            if ((ch - 0x2800) & (1u << b))
                fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"1.15\" fill=\"#%06x\"/>\n", x + w * (0.28 + 0.44 * col[b]),
                        y + h * (0.14 + 0.24 * row[b]), fg);
    } else if (ch == 0x250a || ch == 0x2508) {
        int vertical = ch == 0x250a;
        fprintf(fp, "<path d=\"M%.2f %.2f l%.2f %.2f\" stroke=\"#%06x\" stroke-width=\"1\" stroke-dasharray=\"1.5 2.5\"/>\n",
                vertical ? x + w / 2 : x, vertical ? y : y + h / 2, vertical ? 0.0 : w, vertical ? h : 0.0, fg);
    } else {
        int arms = boxArms(ch);
        double cx = x + w / 2, cy = y + h / 2;
        fputs("<path d=\"", fp);
        if (arms & ARM_L) fprintf(fp, "M%.2f %.2fH%.2f", x, cy, cx);
        if (arms & ARM_R) fprintf(fp, "M%.2f %.2fH%.2f", cx, cy, x + w);
        if (arms & ARM_U) fprintf(fp, "M%.2f %.2fV%.2f", cx, y, cy);
        if (arms & ARM_D) fprintf(fp, "M%.2f %.2fV%.2f", cx, cy, y + h);
        fprintf(fp, "\" stroke=\"#%06x\" stroke-width=\"1\" fill=\"none\"/>\n", fg);
    }
}

static void putXml(uint32_t ch, FILE *fp)
{
    if (ch == '&') fputs("&amp;", fp);
    else if (ch == '<') fputs("&lt;", fp);
    else if (ch == '>') fputs("&gt;", fp);
    else if (ch == '"') fputs("&quot;", fp);
    else {
        char buf[4];
        fwrite(buf, 1, (size_t)utf8Encode(ch, buf), fp);
    }
}

int exportSvg(const Canvas *c, ExportColors col, const char *title, FILE *fp)
{
    double W = c->w * CELL_W + 2 * PAD, H = c->h * CELL_H + 2 * PAD;
    fprintf(fp,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.2f %.2f\" "
            "font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\">\n<title>",
            W, H, W, H);
    while (*title) {
        uint32_t cp;
        title += utf8Decode(title, &cp);
        putXml(cp, fp);
    }
    fputs("</title>\n", fp);
    rect(fp, 0, 0, W, H, col.bg, 1);

    fputs("<g shape-rendering=\"crispEdges\">\n", fp);
    for (int y = 0; y < c->h; y++) {
        const Cell *row = &c->cells[(size_t)y * c->w];
        for (int x = 0; x < c->w;) {
            CellLook l = exportLook(&row[x], col);
            int end = x + 1;
            while (end < c->w && exportLook(&row[end], col).bg == l.bg) end++;
            if (l.bg != col.bg) rect(fp, PAD + x * CELL_W, PAD + y * CELL_H, (end - x) * CELL_W, CELL_H, l.bg, 1);
            x = end;
        }
    }
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            const Cell *cell = &c->cells[(size_t)y * c->w + x];
            if (isShape(cell->ch)) shape(fp, cell->ch, PAD + x * CELL_W, PAD + y * CELL_H, exportLook(cell, col).fg);
        }
    fputs("</g>\n<g xml:space=\"preserve\">\n", fp);
    for (int y = 0; y < c->h; y++) {
        const Cell *row = &c->cells[(size_t)y * c->w];
        int x = 0;
        while (x < c->w) {
            if (row[x].ch == ' ' || isShape(row[x].ch)) {
                x++;
                continue;
            }
            CellLook l = exportLook(&row[x], col);
            int end = x + 1;
            while (end < c->w && !isShape(row[end].ch)) {
                CellLook m = exportLook(&row[end], col);
                if (m.fg != l.fg || m.bold != l.bold || m.underline != l.underline) break;
                end++;
            }
            while (end > x && row[end - 1].ch == ' ') end--;
            fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" textLength=\"%.2f\" lengthAdjust=\"spacingAndGlyphs\" fill=\"#%06x\"",
                    PAD + x * CELL_W, PAD + y * CELL_H + BASELINE, (end - x) * CELL_W, l.fg);
            if (l.bold) fputs(" font-weight=\"bold\"", fp);
            if (l.underline) fputs(" text-decoration=\"underline\"", fp);
            fputc('>', fp);
            for (int i = x; i < end; i++) putXml(row[i].ch, fp);
            fputs("</text>\n", fp);
            x = end;
        }
    }
    fputs("</g>\n</svg>\n", fp);
    return ferror(fp) ? -1 : 0;
}
