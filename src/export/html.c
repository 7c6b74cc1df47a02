/* HTML screenshots: one <pre>, a <span> per run of equal style. */
#include <string.h>

#include "export/export.h"

ExportColors exportColors(const Theme *t)
{
    ExportColors c = {RGB(0xd0, 0xd0, 0xd0), RGB(0x16, 0x16, 0x16)};
    if (t && t->role[ROLE_TEXT] != COLOR_DEFAULT) c.fg = t->role[ROLE_TEXT];
    if (t && t->role[ROLE_BACKGROUND] != COLOR_DEFAULT) c.bg = t->role[ROLE_BACKGROUND];
    return c;
}

CellLook exportLook(const Cell *cell, ExportColors col)
{
    CellLook l = {cell->fg == COLOR_DEFAULT ? col.fg : cell->fg, cell->bg == COLOR_DEFAULT ? col.bg : cell->bg,
                  (cell->attrs & ATTR_BOLD) != 0, (cell->attrs & ATTR_UNDERLINE) != 0};
    if (cell->attrs & ATTR_REVERSE) {
        Color t = l.fg;
        l.fg = l.bg;
        l.bg = t;
    }
    if (cell->attrs & ATTR_DIM) l.fg = colorLerp(l.fg, l.bg, 0.45);
    return l;
}

static void putEscaped(uint32_t ch, FILE *fp)
{
    if (ch == '&') fputs("&amp;", fp);
    else if (ch == '<') fputs("&lt;", fp);
    else if (ch == '>') fputs("&gt;", fp);
    else {
        char buf[4];
        fwrite(buf, 1, (size_t)utf8Encode(ch, buf), fp);
    }
}

static void putTitle(const char *title, FILE *fp)
{
    while (*title) {
        uint32_t cp;
        title += utf8Decode(title, &cp);
        if (cp == '"') fputs("&quot;", fp);
        else putEscaped(cp, fp);
    }
}

int exportHtml(const Canvas *c, ExportColors col, const char *title, FILE *fp)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", fp);
    putTitle(title, fp);
    fprintf(fp,
            "</title>\n<style>\n"
            "body { margin: 0; background: #%06x; }\n"
            "pre { margin: 0; padding: 12px; color: #%06x; background: #%06x;\n"
            "      font: 14px/1.2 \"DejaVu Sans Mono\", \"Menlo\", \"Consolas\", monospace; }\n"
            ".b { font-weight: bold; } .u { text-decoration: underline; }\n"
            "</style>\n</head>\n<body>\n<pre>",
            col.bg, col.fg, col.bg);
    for (int y = 0; y < c->h; y++) {
        const Cell *row = &c->cells[(size_t)y * c->w];
        int x = 0;
        while (x < c->w) {
            CellLook l = exportLook(&row[x], col);
            int end = x + 1;
            while (end < c->w) {
                CellLook m = exportLook(&row[end], col);
                if (m.fg != l.fg || m.bg != l.bg || m.bold != l.bold || m.underline != l.underline) break;
                end++;
            }
            int plain = l.fg == col.fg && l.bg == col.bg && !l.bold && !l.underline;
            if (!plain) {
                fputs("<span", fp);
                if (l.bold || l.underline)
                    fprintf(fp, " class=\"%s%s%s\"", l.bold ? "b" : "", l.bold && l.underline ? " " : "",
                            l.underline ? "u" : "");
                fprintf(fp, " style=\"color:#%06x", l.fg);
                if (l.bg != col.bg) fprintf(fp, ";background:#%06x", l.bg);
                fputs("\">", fp);
            }
            for (int i = x; i < end; i++) putEscaped(row[i].ch, fp);
            if (!plain) fputs("</span>", fp);
            x = end;
        }
        fputc('\n', fp);
    }
    fputs("</pre>\n</body>\n</html>\n", fp);
    return ferror(fp) ? -1 : 0;
}
