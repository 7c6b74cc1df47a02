#ifndef FFNSCOPE_UI_THEME_H
#define FFNSCOPE_UI_THEME_H

#include "ffnscope/error.h"
#include "ui/canvas.h"

/* A theme names a colour for each UI element plus the family colours of the
 * scaling plot and the gradient stops of the heatmap. Themes are YAML files:
 * the bundled themes/NAME.yaml and the user's
 * $XDG_CONFIG_HOME/ffnscope/themes/NAME.yaml (which wins on equal names). */

typedef enum ThemeRole {
    ROLE_BACKGROUND,
    ROLE_TEXT,
    ROLE_DIM,
    ROLE_BORDER,
    ROLE_TITLE,
    ROLE_HEADER_BG,
    ROLE_HEADER_FG,
    ROLE_TAB_BG,          /* the active view's tab */
    ROLE_TAB_FG,
    ROLE_STATUS_BG,
    ROLE_STATUS_FG,
    ROLE_SELECTION_BG,
    ROLE_SELECTION_FG,
    ROLE_ACCENT,
    ROLE_OK,
    ROLE_WARNING,
    ROLE_ERROR,
    ROLE_BAR,             /* spectrum bars, mini SUI bars, progress */
    ROLE_HARD_RANK,       /* the HR marker */
    ROLE_SOFT_RANK,       /* the SR marker */
    ROLE_CURVE,           /* cumulative energy */
    ROLE_AXIS,
    ROLE_GRID,
    ROLE_COUNT
} ThemeRole;

#define THEME_MAX_FAMILY 8
#define THEME_MAX_GRADIENT 16

typedef struct Theme {
    char name[64];
    Color role[ROLE_COUNT];
    int n_family;
    Color family[THEME_MAX_FAMILY];
    int n_gradient;               /* >= 2, evenly spaced from low to high */
    Color gradient[THEME_MAX_GRADIENT];
} Theme;

/* The YAML key of a role ("header_bg"). */
const char *themeRoleName(ThemeRole r);

/* The built-in default (the same colours as themes/default.yaml), used when
 * no theme file can be found. */
void themeDefault(Theme *t);

/* Parses a theme file. Keys missing from it keep the default's colour;
 * unknown keys, malformed colours and wrong types are errors naming
 * PATH:line:column. */
int themeLoad(const char *path, Theme *out, Error *err);

/* Up to max theme directories, most specific first: the user's
 * ($XDG_CONFIG_HOME or ~/.config)/ffnscope/themes, then the bundled ones
 * (next to the executable, the installed data folder, the source tree).
 * Only folders that exist are listed. Returns the count; free each string. */
int themeDirs(char **dirs, int max);

/* The sorted, de-duplicated theme names found in the theme directories.
 * Returns the count (0 when none); free with themeNamesFree. */
int themeNames(char ***names);
void themeNamesFree(char **names, int n);

/* Finds NAME.yaml in the theme directories and loads it; a missing "default"
 * falls back to themeDefault. */
int themeFind(const char *name, Theme *out, Error *err);

/* Heatmap colour at t in [0, 1]. */
Color themeGradient(const Theme *t, double v);
/* Colour of the i-th family (cycles). */
Color themeFamily(const Theme *t, int i);

#endif
