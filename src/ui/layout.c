#include "ui/layout.h"

#include <string.h>

static int clampInt(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void layoutCompute(int cols, int rows, Layout *out)
{
    memset(out, 0, sizeof *out);
    out->cols = cols;
    out->rows = rows;
    if (cols < LAYOUT_MIN_COLS || rows < LAYOUT_MIN_ROWS) {
        out->too_small = 1;
        return;
    }
    /* The sidebar grows with the screen but stays a list: names of ~16
     * characters, a width, a status; wider only wastes room the plots want. */
    int side_w = clampInt(cols * 22 / 100, 28, 42);
    int body_y = 1, body_h = rows - 3;
    out->header = (Rect){0, 0, cols, 1};
    out->sidebar = (Rect){0, body_y, side_w, body_h};
    out->divider = (Rect){side_w, body_y, 1, body_h};
    out->main = (Rect){side_w + 1, body_y, cols - side_w - 1, body_h};
    out->status = (Rect){0, rows - 2, cols, 2};
    int help_w = clampInt(cols - 8, 60, 100), help_h = body_h - 2;
    out->help = (Rect){(cols - help_w) / 2, body_y + 1, help_w, help_h};
}

int rectContains(Rect r, int x, int y) { return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h; }

int rectOverlaps(Rect a, Rect b)
{
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0) return 0;
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
