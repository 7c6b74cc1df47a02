/* The ncurses backend and the event loop. Everything else in src/ui is pure;
 * this file owns the terminal, the signals and the effects of keys (worker
 * commands, exports, theme changes). */
#define _GNU_SOURCE
#define NCURSES_WIDECHAR 1
#include "ui/app.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "plot/plot.h"
#include "ffnscope/results.h"
#include "ui/ui.h"

#define TICK_MS 50          /* getch timeout: the longest a new snapshot waits to be drawn */

static volatile sig_atomic_t got_signal;

static void onSignal(int sig) { got_signal = sig; }

static uint64_t nowNs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t residentBytes(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp) return 0;
    unsigned long size, resident;
    int ok = fscanf(fp, "%lu %lu", &size, &resident) == 2;
    fclose(fp);
    return ok ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* The colour depth the terminal can show: NO_COLOR wins, FFNSCOPE_COLORS
 * (truecolor, 256, 8, none) caps what terminfo reports. */
static ColorDepth detectDepth(void)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return DEPTH_NONE;
    if (!has_colors()) return DEPTH_NONE;
    /* COLORS is known only once colours are started. */
    if (start_color() != OK) return DEPTH_NONE;
    use_default_colors();
    ColorDepth d = COLORS >= 0x1000000 ? DEPTH_TRUE : COLORS >= 256 ? DEPTH_256 : COLORS >= 8 ? DEPTH_8 : DEPTH_NONE;
    const char *cap = getenv("FFNSCOPE_COLORS");
    if (cap && *cap) {
        ColorDepth want = !strcmp(cap, "none") ? DEPTH_NONE : !strcmp(cap, "8") ? DEPTH_8
                        : !strcmp(cap, "256") ? DEPTH_256 : DEPTH_TRUE;
        if (want < d) d = want;
    }
    return d;
}

static int cursesColor(Color c, ColorDepth d)
{
    if (c == COLOR_DEFAULT) return -1;
    switch (d) {
    case DEPTH_TRUE: return c < 8 ? 8 : (int)c;   /* direct colour: values below 8 mean the palette */
    case DEPTH_256: return colorTo256(c);
    case DEPTH_8: return colorTo8(c);
    default: return -1;
    }
}

/* Copies the canvas to the screen; ncurses sends only what changed. */
static void blit(const Canvas *c, ColorDepth depth)
{
    /* Neighbouring cells mostly share colours: remember the last pair. */
    Color last_fg = 0, last_bg = 0;
    int last_pair = -1;
    for (int y = 0; y < c->h; y++)
        for (int x = 0; x < c->w; x++) {
            const Cell *cell = &c->cells[(size_t)y * c->w + x];
            attr_t a = A_NORMAL;
            if (cell->attrs & ATTR_BOLD) a |= A_BOLD;
            if (cell->attrs & ATTR_DIM) a |= A_DIM;
            if (cell->attrs & ATTR_UNDERLINE) a |= A_UNDERLINE;
            if (cell->attrs & ATTR_REVERSE) a |= A_REVERSE;
            int pair = 0;
            if (depth != DEPTH_NONE) {
                if (last_pair < 0 || cell->fg != last_fg || cell->bg != last_bg) {
                    last_pair = alloc_pair(cursesColor(cell->fg, depth), cursesColor(cell->bg, depth));
                    if (last_pair < 0) last_pair = 0;
                    last_fg = cell->fg, last_bg = cell->bg;
                }
                pair = last_pair;
            }
            wchar_t w[2] = {(wchar_t)cell->ch, 0};
            cchar_t cc;
            setcchar(&cc, w, a, 0, &pair);
            mvadd_wch(y, x, &cc);
        }
}

typedef struct App {
    const AppOptions *opt;
    UiState st;
    RenderCtx ctx;
    Theme theme;
    Snapshot *snap;
    Canvas *canvas;
    const char *export_dir;
    int results_written;
    int focus_model, focus_layer;
    Site focus_site;
    FILE *frame_log;           /* FFNSCOPE_FRAME_LOG: timings for bench/ui_latency */
} App;

static void nextTheme(App *app)
{
    char **names;
    int n = themeNames(&names);
    if (n <= 0) {
        uiMessage(&app->st, 1, "no theme files found (themes/*.yaml)");
        return;
    }
    int cur = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], app->theme.name)) cur = i;
    const char *next = names[(cur + 1) % n];
    Error err = {0};
    Theme t;
    if (themeFind(next, &t, &err) == 0) {
        app->theme = t;
        uiMessage(&app->st, 0, "theme: %s", app->theme.name);
    } else {
        uiMessage(&app->st, 1, "%s", err.msg);
    }
    themeNamesFree(names, n);
}

static void applyEffect(App *app, Effect e)
{
    Worker *w = app->opt->worker;
    Error err = {0};
    char base[4096];
    switch (e) {
    case EFFECT_PAUSE:
        if (!w) uiMessage(&app->st, 0, "a saved run: nothing to pause");
        else if (app->snap->state == WORKER_PAUSED) workerResume(w), uiMessage(&app->st, 0, "resumed");
        else if (app->snap->state == WORKER_RUNNING || app->snap->state == WORKER_IDLE)
            workerPause(w), uiMessage(&app->st, 0, "paused (p resumes)");
        else uiMessage(&app->st, 0, "nothing is running");
        break;
    case EFFECT_RESTART:
        if (!w) uiMessage(&app->st, 0, "a saved run: nothing to restart");
        else if (app->st.sel_model >= 0 && app->st.sel_model < app->snap->n_models) {
            workerRestartModel(w, app->st.sel_model);
            app->results_written = 0;
            uiMessage(&app->st, 0, "restarting %s", app->snap->models[app->st.sel_model].name);
        }
        break;
    case EFFECT_THEME: nextTheme(app); break;
    case EFFECT_SCREENSHOT:
        if (exportScreenshots(app->canvas, exportColors(&app->theme), app->export_dir,
                              app->st.help ? "help" : viewName(app->st.view), time(NULL), base, sizeof base, &err))
            uiMessage(&app->st, 1, "screenshot failed: %s", err.msg);
        else uiMessage(&app->st, 0, "saved %s.{txt,ans,html,svg}", base);
        break;
    case EFFECT_FIGURE:
        if (plotExportView(app->snap, &app->st, app->export_dir, time(NULL), base, sizeof base, &err))
            uiMessage(&app->st, 1, "figure failed: %s", err.msg);
        else uiMessage(&app->st, 0, "saved %s.{pdf,svg,png}", base);
        break;
    case EFFECT_EXPORT_TABLE:
        if (exportTables(app->snap, &app->st, app->export_dir, time(NULL), base, sizeof base, &err))
            uiMessage(&app->st, 1, "export failed: %s", err.msg);
        else uiMessage(&app->st, 0, "saved %s.{csv,md,json}", base);
        break;
    default: break;
    }
}

static int mapKey(int rc, wint_t ch)
{
    if (rc == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: return KEY_UI_UP;
        case KEY_DOWN: return KEY_UI_DOWN;
        case KEY_LEFT: return KEY_UI_LEFT;
        case KEY_RIGHT: return KEY_UI_RIGHT;
        case KEY_PPAGE: return KEY_UI_PGUP;
        case KEY_NPAGE: return KEY_UI_PGDN;
        case KEY_HOME: return KEY_UI_HOME;
        case KEY_END: return KEY_UI_END;
        case KEY_ENTER: return KEY_UI_ENTER;
        case KEY_BTAB: return KEY_UI_BTAB;
        case KEY_BACKSPACE: return KEY_UI_BACKSPACE;
        default: return -1;
        }
    }
    switch (ch) {
    case '\n':
    case '\r': return KEY_UI_ENTER;
    case 27: return KEY_UI_ESC;
    case '\t': return KEY_UI_TAB;
    case 127:
    case 8: return KEY_UI_BACKSPACE;
    default: return (int)ch;
    }
}

static void writeResultsWhenDone(App *app)
{
    if (!app->opt->worker || app->results_written || !app->opt->results_dir || !app->opt->cfg) return;
    if (app->snap->state != WORKER_DONE) return;
    int ok = 0;
    for (int i = 0; i < app->snap->n_models; i++) ok |= app->snap->models[i].status == MODEL_DONE;
    app->results_written = 1;
    if (!ok) return;
    Error err = {0};
    if (resultsWrite(app->snap, app->opt->cfg, app->opt->results_dir, &err))
        uiMessage(&app->st, 1, "results not written: %s", err.msg);
    else uiMessage(&app->st, 0, "results written to %s", app->opt->results_dir);
}

static int appLoop(App *app, Error *err)
{
    Worker *w = app->opt->worker;
    uint64_t shown_gen = UINT64_MAX;
    int dirty = 1;
    uint64_t last_tick = 0;
    for (;;) {
        if (got_signal) return 128 + got_signal;
        /* A newer snapshot? */
        if (w) {
            uint64_t gen = workerWait(w, shown_gen == UINT64_MAX ? 0 : shown_gen, 0);
            if (gen != shown_gen) {
                Snapshot *s = workerSnapshot(w);
                if (s) {
                    snapshotRelease(app->snap);
                    app->snap = s;
                    shown_gen = s->generation;
                    dirty = 1;
                    writeResultsWhenDone(app);
                }
            }
        } else if (shown_gen == UINT64_MAX) {
            shown_gen = app->snap->generation;
        }
        /* Once a second for the clock and memory even when nothing else moves. */
        uint64_t t = nowNs();
        if (t - last_tick >= 1000000000ull) {
            app->ctx.rss_bytes = residentBytes();
            last_tick = t;
            dirty = 1;
        }
        int cols, rows;
        getmaxyx(stdscr, rows, cols);
        Layout lay;
        layoutCompute(cols, rows, &lay);
        if (dirty) {
            uint64_t t0 = nowNs();
            if (!app->canvas || app->canvas->w != cols || app->canvas->h != rows) {
                canvasFree(app->canvas);
                app->canvas = canvasNew(cols > 0 ? cols : 1, rows > 0 ? rows : 1, app->ctx.ascii);
                if (!app->canvas) return errorNoMem(err, "screen"), EXIT_RUNTIME;
                clearok(stdscr, TRUE);
            }
            if (uiSync(&app->st, app->snap, &lay, &app->ctx)) return errorNoMem(err, "view state"), EXIT_RUNTIME;
            app->ctx.theme = &app->theme;
            uiRender(app->canvas, app->snap, &app->st, &app->ctx);
            uint64_t t1 = nowNs();
            blit(app->canvas, app->ctx.depth);
            refresh();
            uint64_t t2 = nowNs();
            if (app->frame_log) {
                /* frame START_NS RENDER_NS TOTAL_NS GENERATION WORKER_STATE VIEW COLSxROWS */
                fprintf(app->frame_log, "frame %llu %llu %llu %llu %s %s %dx%d\n", (unsigned long long)t0,
                        (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t0),
                        (unsigned long long)app->snap->generation, workerStateName(app->snap->state),
                        viewName(app->st.view), cols, rows);
                fflush(app->frame_log);
            }
            dirty = 0;
            if (w && app->st.sel_model >= 0 &&
                (app->st.sel_model != app->focus_model || app->st.sel_layer != app->focus_layer ||
                 app->st.sel_site != app->focus_site)) {
                workerFocus(w, app->st.sel_model, app->st.sel_layer, app->st.sel_site);
                app->focus_model = app->st.sel_model;
                app->focus_layer = app->st.sel_layer;
                app->focus_site = app->st.sel_site;
            }
        }

        wint_t ch;
        int rc = get_wch(&ch);
        if (rc == ERR) continue;
        if (app->frame_log) fprintf(app->frame_log, "key %llu %u\n", (unsigned long long)nowNs(), (unsigned)ch);
        dirty = 1;
        if (rc == KEY_CODE_YES && ch == KEY_RESIZE) continue;
        Effect e = EFFECT_NONE;
        if (rc == KEY_CODE_YES && ch == KEY_MOUSE) {
            MEVENT ev;
            if (getmouse(&ev) != OK) continue;
            if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)) {
                if (ev.bstate & BUTTON1_RELEASED) continue;   /* a press already selected */
                e = uiMouse(&app->st, app->snap, &lay, &app->ctx, MOUSE_CLICK, ev.x, ev.y);
            } else if (ev.bstate & BUTTON4_PRESSED) {
                e = uiMouse(&app->st, app->snap, &lay, &app->ctx, MOUSE_WHEEL_UP, ev.x, ev.y);
#ifdef BUTTON5_PRESSED
            } else if (ev.bstate & BUTTON5_PRESSED) {
                e = uiMouse(&app->st, app->snap, &lay, &app->ctx, MOUSE_WHEEL_DOWN, ev.x, ev.y);
#endif
            }
        } else {
            int key = mapKey(rc, ch);
            if (key < 0) continue;
            e = uiKey(&app->st, app->snap, &lay, &app->ctx, key);
        }
        if (e == EFFECT_QUIT) return EXIT_OK;
        /* Effects act on what is on screen: render first so a screenshot
         * shows the state the key produced. */
        if (e == EFFECT_SCREENSHOT && app->canvas) uiRender(app->canvas, app->snap, &app->st, &app->ctx);
        if (e != EFFECT_NONE) applyEffect(app, e);
    }
}

int appRun(const AppOptions *opt, Error *err)
{
    App app;
    memset(&app, 0, sizeof app);
    app.opt = opt;
    app.focus_model = -1;
    uiStateInit(&app.st);
    app.export_dir = opt->export_dir && *opt->export_dir ? opt->export_dir : "exports";
    if (themeFind(opt->theme && *opt->theme ? opt->theme : "default", &app.theme, err)) return EXIT_INPUT;
    app.snap = opt->worker ? workerSnapshot(opt->worker) : snapshotRetain(opt->saved);
    if (!app.snap) return errorSet(err, EXIT_RUNTIME, "no snapshot to show"), EXIT_RUNTIME;
    const char *log_path = getenv("FFNSCOPE_FRAME_LOG");
    if (log_path && *log_path) app.frame_log = fopen(log_path, "w");

    /* Wide characters need the locale's character type; numbers keep the C
     * locale so exports always use a decimal point. */
    setlocale(LC_CTYPE, "");
    const char *cs = nl_langinfo(CODESET);
    app.ctx.ascii = !(cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8")));

    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        snapshotRelease(app.snap);
        if (app.frame_log) fclose(app.frame_log);
        return errorSet(err, EXIT_RUNTIME, "cannot open the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : ""),
               EXIT_RUNTIME;
    }
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    timeout(TICK_MS);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              , NULL);
    mouseinterval(0);
    app.ctx.depth = detectDepth();
    app.ctx.theme = &app.theme;
    app.ctx.live = opt->worker != NULL;
    app.ctx.rss_bytes = residentBytes();
    if (opt->worker) uiMessage(&app.st, 0, "capturing; ? for help");
    else uiMessage(&app.st, 0, "browsing a saved run; ? for help");

    int status = appLoop(&app, err);

    endwin();
    delscreen(scr);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    canvasFree(app.canvas);
    uiStateFree(&app.st);
    snapshotRelease(app.snap);
    if (app.frame_log) fclose(app.frame_log);
    return status;
}
