#ifndef FFNSCOPE_UI_VIEWS_H
#define FFNSCOPE_UI_VIEWS_H

/* Internal to src/ui: the panels and views, their shared styles and the
 * geometry that mouse hit-testing shares with drawing. */

#include "ui/ui.h"

/* A view is a const class (title, key, draw); the table of them drives the
 * header tabs, the 1-4 keys and rendering. */
typedef struct ViewClass {
    ViewId id;
    const char *title;        /* on screen */
    const char *name;         /* in file names and --view */
    void (*draw)(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx);
} ViewClass;

extern const ViewClass spectrum_view, heatmap_view, scaling_view, table_view;
const ViewClass *viewClass(ViewId v);

/* ---- styles from the theme (colour depth aware) ---- */
Style stText(const RenderCtx *ctx);
Style stDim(const RenderCtx *ctx);
Style stFg(const RenderCtx *ctx, ThemeRole fg);            /* on the background */
Style stFgColor(const RenderCtx *ctx, Color fg);
Style stTitle(const RenderCtx *ctx);
Style stSelected(const RenderCtx *ctx);
Style stHeader(const RenderCtx *ctx);
Style stTab(const RenderCtx *ctx);
Style stStatus(const RenderCtx *ctx);
Color bgColor(const RenderCtx *ctx);

/* ---- panels ---- */
void headerDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx);
/* x and width of each view's tab in the header. */
void headerTabs(Rect r, int x[VIEW_COUNT], int w[VIEW_COUNT]);

/* A dense layer is one SIDE_LAYER line; a routed layer (at a site) is one SIDE_LAYER line
 * that opens into a SIDE_EXPERT line per expert, the shared one last. */
typedef enum SideKind { SIDE_FAMILY, SIDE_MODEL, SIDE_LAYER, SIDE_EXPERT } SideKind;
typedef struct SideItem {
    SideKind kind;
    int model, row;           /* row: index into the model's rows (SIDE_LAYER: a routed layer's
                               * first expert) */
    int n_rows;               /* SIDE_LAYER of a routed layer: its experts' rows from row on; else 1 */
} SideItem;

/* The sidebar's lines. Returns the count or -1 (out of memory); *out malloc'd. */
int sidebarItems(const Snapshot *s, const UiState *st, SideItem **out);
/* Index of the item under the cursor, -1 when none. */
int sidebarCursor(const Snapshot *s, const UiState *st, const SideItem *items, int n);
int sidebarListTop(Rect r);   /* first row of the list (below the sidebar title) */
void sidebarDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx);

void statusDraw(Canvas *c, Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx);
void helpDraw(Canvas *c, Rect r, const UiState *st, const RenderCtx *ctx);
/* Lines the help text has at an inner width (for scrolling). */
int helpLines(int inner_w);
void tooSmallDraw(Canvas *c, const RenderCtx *ctx);

/* ---- view geometry shared with the mouse ---- */

typedef struct HeatGeom {
    Rect grid;                /* the cells */
    int label_w;              /* layer labels left of the grid */
    int cell_w;               /* columns per model */
    int n_models;             /* grid columns: the models, or (layers x experts) the experts */
    int first_col, visible_cols;  /* the columns shown (layers x experts scrolls sideways) */
    int *experts;             /* layers x experts: [n_models] each column's expert (CAPTURE_SHARED
                               * last), in g->layers' allocation; NULL: the columns are models */
    int n_layers;             /* distinct layers at the site */
    int *layers;              /* [n_layers], sorted; malloc'd */
    int half_per_layer;       /* half-rows (two per text row) per layer */
    int first_layer;          /* index into layers of the first one shown */
    int visible_layers;
    int half_blocks;          /* draw two layers per text row */
} HeatGeom;
/* Returns -1 when out of memory; free g->layers. */
int heatGeometry(Rect r, const Snapshot *s, const UiState *st, const RenderCtx *ctx, HeatGeom *g);
/* Column (model, or expert index into g->experts) and layer index (into g->layers) of a
 * screen cell; 0 when outside. */
int heatHit(const HeatGeom *g, int x, int y, int *model, int *layer_index);

typedef struct TableGeom {
    int header_y, first_y, n_visible;
    int n_cols;
    Column col[COL_COUNT];    /* the columns shown, in order */
    int x[COL_COUNT], w[COL_COUNT];
} TableGeom;
void tableGeometry(Rect r, const Snapshot *s, const UiState *st, TableGeom *g);

/* ---- drawing helpers ---- */

/* A braille overlay: 2x4 dots per cell, each cell one colour; flushed onto
 * the canvas where cells are empty (or, on full bars, over their colour). */
typedef struct Braille {
    Rect r;
    uint8_t *bits;            /* [r.h, r.w] */
    Color *fg;                /* [r.h, r.w] */
} Braille;
int brailleInit(Braille *b, Rect r);
void brailleFree(Braille *b);
/* Dot at sub-cell position (sx in [0, 2*w), sy in [0, 4*h), 0 = bottom). */
void brailleDot(Braille *b, int sx, int sy, Color fg);
/* A line between two dots. */
void brailleLine(Braille *b, int sx0, int sy0, int sx1, int sy1, Color fg, int dashed);
/* over_full: also draw on cells holding a full block, taking its colour as background. */
void brailleFlush(const Braille *b, Canvas *c, const RenderCtx *ctx, int over_full);

/* Lower 1/8 block for k eighths (1..8), left 1/8 block for k eighths. */
uint32_t blockLower(int k);
uint32_t blockLeft(int k);
/* A horizontal bar of `cells` columns filled to v in [0,1], with 1/8 steps. */
void drawHBar(Canvas *c, int x, int y, int cells, double v, Style on, Style off);

/* Compact number formats. */
void fmtNum(double v, char *buf, size_t n);        /* 3 significant digits, k/M suffix */
void fmtCount(int64_t v, char *buf, size_t n);     /* 65,536 -> 65.5k */
void fmtUnit(double v, char *buf, size_t n);       /* values in [0,1]: .073 / 1.00 */

/* Text of a model's status for the sidebar ("queued", "41%", "done"). */
const char *modelStatusText(const ModelSnapshot *m, char *buf, size_t n);
Color statusColor(const RenderCtx *ctx, ModelStatus st);

#endif
