#ifndef FFNSCOPE_UI_UI_H
#define FFNSCOPE_UI_UI_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/model.h"
#include "ffnscope/site.h"
#include "ffnscope/snapshot.h"
#include "ui/canvas.h"
#include "ui/layout.h"
#include "ui/theme.h"

/* What the dashboard shows and how: the view state (changed only by keys,
 * mouse and uiSync) and the render context (theme, colour depth, glyphs).
 * Rendering is a pure function of (snapshot, state, context, size) into a
 * canvas; app.c is the only place that talks to the terminal. */

typedef enum ViewId { VIEW_SPECTRUM, VIEW_HEATMAP, VIEW_SCALING, VIEW_TABLE, VIEW_COUNT } ViewId;

/* One column of the table; the numeric ones are also the heatmap metrics. */
typedef enum Column {
    COL_MODEL,
    COL_FAMILY,
    COL_WIDTH,
    COL_LAYER,
    COL_SITE,
    COL_EXPERT,   /* "" for a dense FFN, the expert index or "shared" */
    COL_TOKENS,
    COL_HARD_RANK,
    COL_SOFT_RANK,
    COL_HARD_UTIL,
    COL_SOFT_UTIL,
    COL_CONCENTRATION,
    COL_EEE,
    COL_SUI,
    COL_ALPHA,
    COL_WARNINGS,
    COL_COUNT
} Column;

typedef struct UiState {
    ViewId view;
    int help;                 /* the help box is open */
    int help_scroll;
    int sel_model;            /* -1: no models yet */
    int sel_layer;
    Site sel_site;
    int sel_expert;           /* CAPTURE_DENSE, or the selected expert of a routed layer (index or
                               * CAPTURE_SHARED) */
    int on_model;             /* sidebar cursor on the model line, not a layer line */
    int on_group;             /* a routed layer selected: the sidebar cursor on the layer's line, not
                               * on its expert's (sel_expert still names the expert the views show) */
    unsigned char *expanded;  /* [n_expanded] per model */
    int n_expanded;
    struct UiOpenLayer *open_layers;  /* routed layers whose experts the sidebar lists */
    int n_open_layers, cap_open_layers;
    int side_scroll;          /* first sidebar item shown */
    int log_scale;            /* spectrum y axis */
    Column heat_metric;
    int heat_load;            /* layers x experts only: the metric is the load (tokens routed to the
                               * expert), not heat_metric */
    int heat_experts;         /* the heatmap shows layers x experts of the selected model */
    int heat_scroll;          /* first heatmap layer shown when they do not fit */
    int heat_col_scroll;      /* first heatmap column shown when they do not fit (layers x experts) */
    Column sort_col;
    int sort_desc;
    char filter[128];         /* table filter (a regex; a plain substring when it is not one) */
    int filter_editing;
    char filter_edit[128];    /* the filter being typed */
    int table_cursor;         /* index into the filtered, sorted rows */
    int table_scroll;
    char message[256];        /* the last message, shown in the status bar */
    int message_error;
} UiState;

typedef struct RenderCtx {
    const Theme *theme;
    ColorDepth depth;
    int ascii;                /* the locale is not UTF-8 */
    size_t rss_bytes;         /* resident memory for the status bar; 0 hides it */
    int live;                 /* a worker runs: p and r mean something */
} RenderCtx;

/* ---- state ---- */

void uiStateInit(UiState *st);
void uiStateFree(UiState *st);
/* Clamps selections and scroll offsets to the snapshot and screen; call
 * before every render (keeps the selection visible). Returns -1 only when
 * out of memory. */
int uiSync(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx);
void uiMessage(UiState *st, int is_error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether the sidebar lists the experts of a model's routed layer at a site; set it
 * (returns -1 when out of memory). */
int uiLayerOpen(const UiState *st, int model, int layer, Site site);
int uiLayerSetOpen(UiState *st, int model, int layer, Site site, int open);

/* The selected model and layer row, or NULL. */
const ModelSnapshot *uiSelectedModel(const Snapshot *s, const UiState *st);
const LayerSnapshot *uiSelectedRow(const Snapshot *s, const UiState *st);
/* Row of model m at (layer, site, expert), expert CAPTURE_DENSE for a dense
 * row, or NULL. */
const LayerSnapshot *modelFindRow(const ModelSnapshot *m, int layer, Site site, int expert);
/* The first row at (layer, site), whatever its expert, or NULL. */
const LayerSnapshot *modelFindLayer(const ModelSnapshot *m, int layer, Site site);
/* A row's expert as the selection keeps it: CAPTURE_DENSE for a dense row. */
int uiRowExpert(const LayerSnapshot *r);
/* The first routed row of m (at site first, else at any site), or NULL for a dense model. */
const LayerSnapshot *modelFirstExpertRow(const ModelSnapshot *m, Site site);

/* ---- keys and mouse ---- */

/* Key codes independent of the terminal library (app.c maps ncurses' codes). */
enum {
    KEY_UI_UP = 0x110000, KEY_UI_DOWN, KEY_UI_LEFT, KEY_UI_RIGHT, KEY_UI_PGUP, KEY_UI_PGDN,
    KEY_UI_HOME, KEY_UI_END, KEY_UI_ENTER, KEY_UI_ESC, KEY_UI_TAB, KEY_UI_BTAB, KEY_UI_BACKSPACE,
};

typedef enum Effect {
    EFFECT_NONE = 0,
    EFFECT_QUIT,
    EFFECT_PAUSE,             /* pause or resume */
    EFFECT_RESTART,           /* restart the selected model */
    EFFECT_THEME,             /* next theme */
    EFFECT_SCREENSHOT,
    EFFECT_EXPORT_TABLE,
    EFFECT_FIGURE,            /* the view as a figure (src/plot) */
} Effect;

typedef enum MouseEvent { MOUSE_CLICK, MOUSE_WHEEL_UP, MOUSE_WHEEL_DOWN } MouseEvent;

/* Applies a key to the state; returns what the app must do beyond redrawing. */
Effect uiKey(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, int key);
Effect uiMouse(UiState *st, const Snapshot *s, const Layout *lay, const RenderCtx *ctx, MouseEvent ev, int x,
               int y);

/* One line of the help's key list, generated from the dispatch table. */
typedef struct KeyHelp {
    char keys[48];            /* "↑ k" */
    const char *what;
    const char *views;        /* "" for everywhere, else the view names */
} KeyHelp;
/* Fills up to max lines; returns the count. */
int uiKeyHelp(KeyHelp *out, int max);

/* A short hint for the status bar ("s" "screenshot"). */
typedef struct KeyHint {
    const char *key, *what;
} KeyHint;
/* The hints that apply in view v, its own first; returns the count. */
int uiKeyHints(ViewId v, int live, KeyHint *out, int max);

/* ---- rendering ---- */

/* Draws the whole screen (or the too-small message) into c, whose size is
 * the terminal size. Pure: the same inputs give the same cells. */
void uiRender(Canvas *c, const Snapshot *s, const UiState *st, const RenderCtx *ctx);

/* The view's title ("Spectrum") and its lower-case name for file names. */
const char *viewTitle(ViewId v);
const char *viewName(ViewId v);
/* "spectrum" -> VIEW_SPECTRUM; -1 when unknown. */
int viewParse(const char *name);

/* ---- table rows (table view, its exports, the heatmap's metrics) ---- */

typedef struct TableRow {
    int model, row;           /* indices into s->models and its rows */
} TableRow;

/* The rows the table shows: filtered by st->filter, sorted by st->sort_col.
 * *out is malloc'd (NULL when empty). Returns the count, or -1 when out of
 * memory. */
int tableRows(const Snapshot *s, const UiState *st, TableRow **out);
const char *columnName(Column c);        /* metrics.csv header name */
int columnByName(const char *name);      /* the column of a metrics.csv header name, -1 when none */
const char *columnTitle(Column c);       /* short on-screen title */
int columnIsNumeric(Column c);
/* NAN when not computed yet. */
double columnValue(const ModelSnapshot *m, const LayerSnapshot *r, Column c);
/* Formats a cell for the screen (precise == 0) or for an export (precise == 1). */
void columnText(const ModelSnapshot *m, const LayerSnapshot *r, Column c, int precise, char *buf,
                size_t n);

/* Median over a model's computed layers at a site of a metric column (a
 * mixture-of-experts model: over its routed experts, snapshotRowInPoint);
 * NAN when none is computed. */
double modelMedian(const ModelSnapshot *m, Site site, Column c);

/* A layer's value of a metric column at a site, as the heatmaps show it: the
 * dense row's, or for a routed layer the median over its routed experts that
 * have one (the shared expert left out); *n_experts (when not NULL) gets how
 * many experts the median is of, 0 for a dense layer. NAN when none. */
double modelLayerValue(const ModelSnapshot *m, int layer, Site site, Column c, int *n_experts);

#endif
