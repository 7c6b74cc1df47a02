#ifndef FFNSCOPE_UI_LAYOUT_H
#define FFNSCOPE_UI_LAYOUT_H

#include "ui/canvas.h"

/* Where the panels of the screen go: a pure function of the terminal size,
 * so it is tested over many sizes without a terminal.
 *
 *   header   (1 row: program, source, worker state, view tabs)
 *   sidebar | divider | main view
 *   status   (2 rows: progress and message, key hints)
 */

#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_ROWS 24

typedef struct Layout {
    int cols, rows;
    int too_small;      /* below 80x24: only the message is drawn */
    Rect header, sidebar, divider, main, status;
    Rect help;          /* the help box, over sidebar and main */
} Layout;

void layoutCompute(int cols, int rows, Layout *out);

/* 1 when (x, y) is inside r. */
int rectContains(Rect r, int x, int y);
/* 1 when the two rectangles share a cell. */
int rectOverlaps(Rect a, Rect b);

#endif
