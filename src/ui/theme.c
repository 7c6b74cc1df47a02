#include "ui/theme.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "ui/paths.h"
#include "util/fileio.h"

static const char *const role_names[ROLE_COUNT] = {
    [ROLE_BACKGROUND] = "background", [ROLE_TEXT] = "text",
    [ROLE_DIM] = "dim",               [ROLE_BORDER] = "border",
    [ROLE_TITLE] = "title",           [ROLE_HEADER_BG] = "header_bg",
    [ROLE_HEADER_FG] = "header_fg",   [ROLE_TAB_BG] = "tab_bg",
    [ROLE_TAB_FG] = "tab_fg",         [ROLE_STATUS_BG] = "status_bg",
    [ROLE_STATUS_FG] = "status_fg",   [ROLE_SELECTION_BG] = "selection_bg",
    [ROLE_SELECTION_FG] = "selection_fg", [ROLE_ACCENT] = "accent",
    [ROLE_OK] = "ok",                 [ROLE_WARNING] = "warning",
    [ROLE_ERROR] = "error",           [ROLE_BAR] = "bar",
    [ROLE_HARD_RANK] = "hard_rank",   [ROLE_SOFT_RANK] = "soft_rank",
    [ROLE_CURVE] = "curve",           [ROLE_AXIS] = "axis",
    [ROLE_GRID] = "grid",
};

const char *themeRoleName(ThemeRole r) { return r < ROLE_COUNT ? role_names[r] : "?"; }

/* Keep equal to themes/default.yaml (a test compares them): this is what the
 * dashboard uses when it runs far from any theme folder. */
void themeDefault(Theme *t)
{
    static const Color roles[ROLE_COUNT] = {
        [ROLE_BACKGROUND] = 0x1e222a, [ROLE_TEXT] = 0xd8dee9,      [ROLE_DIM] = 0x7b8496,
        [ROLE_BORDER] = 0x4c566a,     [ROLE_TITLE] = 0x88c0d0,     [ROLE_HEADER_BG] = 0x2e3440,
        [ROLE_HEADER_FG] = 0xd8dee9,  [ROLE_TAB_BG] = 0x88c0d0,    [ROLE_TAB_FG] = 0x1e222a,
        [ROLE_STATUS_BG] = 0x2e3440,  [ROLE_STATUS_FG] = 0xc0c8d6, [ROLE_SELECTION_BG] = 0x3f4a5e,
        [ROLE_SELECTION_FG] = 0xeceff4, [ROLE_ACCENT] = 0x81a1c1,  [ROLE_OK] = 0xa3be8c,
        [ROLE_WARNING] = 0xebcb8b,    [ROLE_ERROR] = 0xbf616a,     [ROLE_BAR] = 0x5e9fd0,
        [ROLE_HARD_RANK] = 0xd08770,  [ROLE_SOFT_RANK] = 0xb48ead, [ROLE_CURVE] = 0xebcb8b,
        [ROLE_AXIS] = 0x7b8496,       [ROLE_GRID] = 0x353b47,
    };
    static const Color fam[] = {0x88c0d0, 0xd08770, 0xa3be8c, 0xb48ead, 0xebcb8b, 0xbf616a};
    static const Color grad[] = {0x440154, 0x3b528b, 0x21918c, 0x5ec962, 0xfde725};
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "default");
    memcpy(t->role, roles, sizeof roles);
    t->n_family = (int)(sizeof fam / sizeof *fam);
    memcpy(t->family, fam, sizeof fam);
    t->n_gradient = (int)(sizeof grad / sizeof *grad);
    memcpy(t->gradient, grad, sizeof grad);
}

static int nodeError(Error *err, const char *path, const yaml_node_t *node, const char *what)
{
    return errorSet(err, EXIT_INPUT, "%s:%zu:%zu: %s", path, node->start_mark.line + 1,
                    node->start_mark.column + 1, what);
}

static int readColor(yaml_document_t *doc, yaml_node_t *node, const char *path, const char *key,
                     Color *out, Error *err)
{
    (void)doc;
    char what[160];
    if (node->type != YAML_SCALAR_NODE) {
        snprintf(what, sizeof what, "'%s' must be a colour (\"#rrggbb\" or default)", key);
        return nodeError(err, path, node, what);
    }
    const char *v = (const char *)node->data.scalar.value;
    if (colorParse(v, out) != 0) {
        snprintf(what, sizeof what, "'%s': '%.40s' is not a colour (\"#rrggbb\" in quotes, or default)",
                 key, v);
        return nodeError(err, path, node, what);
    }
    return 0;
}

static int readColorList(yaml_document_t *doc, yaml_node_t *node, const char *path, const char *key,
                         int min, int max, Color *out, int *n, Error *err)
{
    char what[160];
    if (node->type != YAML_SEQUENCE_NODE) {
        snprintf(what, sizeof what, "'%s' must be a list of colours", key);
        return nodeError(err, path, node, what);
    }
    int count = (int)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (count < min || count > max) {
        snprintf(what, sizeof what, "'%s' needs %d to %d colours, not %d", key, min, max, count);
        return nodeError(err, path, node, what);
    }
    for (int i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(doc, node->data.sequence.items.start[i]);
        if (!item || readColor(doc, item, path, key, &out[i], err) != 0) return -1;
    }
    *n = count;
    return 0;
}

static int parseTheme(yaml_document_t *doc, const char *path, Theme *t, Error *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return errorSet(err, EXIT_INPUT, "%s: empty theme file", path);
    if (root->type != YAML_MAPPING_NODE)
        return nodeError(err, path, root, "a theme is a mapping (name, colors, families, gradient)");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (!k || !v) return errorSet(err, EXIT_INPUT, "%s: malformed mapping", path);
        if (k->type != YAML_SCALAR_NODE) return nodeError(err, path, k, "keys must be plain words");
        const char *key = (const char *)k->data.scalar.value;
        if (!strcmp(key, "name")) {
            if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0 ||
                v->data.scalar.length >= sizeof t->name)
                return nodeError(err, path, v, "'name' must be a short string");
            snprintf(t->name, sizeof t->name, "%s", (const char *)v->data.scalar.value);
        } else if (!strcmp(key, "colors")) {
            if (v->type != YAML_MAPPING_NODE)
                return nodeError(err, path, v, "'colors' must map element names to colours");
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
                yaml_node_t *ck = yaml_document_get_node(doc, q->key);
                yaml_node_t *cv = yaml_document_get_node(doc, q->value);
                if (!ck || !cv) return errorSet(err, EXIT_INPUT, "%s: malformed mapping", path);
                if (ck->type != YAML_SCALAR_NODE) return nodeError(err, path, ck, "keys must be plain words");
                const char *ckey = (const char *)ck->data.scalar.value;
                int role = -1;
                for (int r = 0; r < ROLE_COUNT; r++)
                    if (!strcmp(ckey, role_names[r])) role = r;
                if (role < 0) {
                    char what[200];
                    snprintf(what, sizeof what, "unknown colour '%.60s' (known: background, text, dim, "
                             "border, title, header_bg, ...; see themes/default.yaml)", ckey);
                    return nodeError(err, path, ck, what);
                }
                if (readColor(doc, cv, path, ckey, &t->role[role], err) != 0) return -1;
            }
        } else if (!strcmp(key, "families")) {
            if (readColorList(doc, v, path, key, 1, THEME_MAX_FAMILY, t->family, &t->n_family, err))
                return -1;
        } else if (!strcmp(key, "gradient")) {
            if (readColorList(doc, v, path, key, 2, THEME_MAX_GRADIENT, t->gradient, &t->n_gradient, err))
                return -1;
        } else {
            char what[160];
            snprintf(what, sizeof what, "unknown key '%.60s' (expected name, colors, families, gradient)", key);
            return nodeError(err, path, k, what);
        }
    }
    return 0;
}

int themeLoad(const char *path, Theme *out, Error *err)
{
    char *data;
    size_t len;
    if (fileReadAll(path, &data, &len, err) != 0) return -1;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(data);
        return errorNoMem(err, "yaml parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
        errorSet(err, EXIT_INPUT, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "malformed YAML");
        yaml_parser_delete(&parser);
        free(data);
        return -1;
    }
    Theme t;
    themeDefault(&t);
    /* The name defaults to the file name without .yaml. */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(t.name, sizeof t.name, "%.*s", (int)strcspn(base, "."), base);
    int rc = parseTheme(&doc, path, &t, err);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(data);
    if (rc == 0) *out = t;
    return rc;
}

int themeDirs(char **dirs, int max)
{
    int n = 0;
    char user[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int have = 0;
    if (xdg && *xdg) have = snprintf(user, sizeof user, "%s/ffnscope/themes", xdg) < (int)sizeof user;
    else if (home && *home) have = snprintf(user, sizeof user, "%s/.config/ffnscope/themes", home) < (int)sizeof user;
    struct stat st;
    if (have && max > 0 && stat(user, &st) == 0 && S_ISDIR(st.st_mode)) {
        dirs[n] = strdup(user);
        if (dirs[n]) n++;
    }
    return n + dataPaths("themes", dirs + n, max - n);
}

static int cmpStr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int themeNames(char ***names)
{
    char *dirs[8];
    int nd = themeDirs(dirs, 8);
    char **list = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len <= 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".yaml")) continue;
            if (n == cap) {
                int nc = cap ? cap * 2 : 16;
                char **nl = realloc(list, (size_t)nc * sizeof *nl);
                if (!nl) break;
                list = nl, cap = nc;
            }
            list[n] = strndup(e->d_name, len - 5);
            if (list[n]) n++;
        }
        closedir(d);
    }
    for (int i = 0; i < nd; i++) free(dirs[i]);
    if (n) qsort(list, (size_t)n, sizeof *list, cmpStr);
    int u = 0;
    for (int i = 0; i < n; i++) {
        if (u && !strcmp(list[u - 1], list[i])) free(list[i]);
        else list[u++] = list[i];
    }
    *names = list;
    return u;
}

void themeNamesFree(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

int themeFind(const char *name, Theme *out, Error *err)
{
    if (!*name || strchr(name, '/') || name[0] == '.')
        return errorSet(err, EXIT_INPUT, "theme '%s': a theme is named by its file name, without folders", name);
    char *dirs[8];
    int nd = themeDirs(dirs, 8);
    int rc = 1;
    for (int i = 0; i < nd; i++) {
        char path[PATH_MAX];
        struct stat st;
        if (rc == 1 && snprintf(path, sizeof path, "%s/%s.yaml", dirs[i], name) < (int)sizeof path &&
            stat(path, &st) == 0)
            rc = themeLoad(path, out, err);
        free(dirs[i]);
    }
    if (rc != 1) return rc;
    if (!strcmp(name, "default")) {
        themeDefault(out);
        return 0;
    }
    return errorSet(err, EXIT_INPUT, "theme '%s' not found (themes/%s.yaml or $XDG_CONFIG_HOME/ffnscope/themes/)",
                    name, name);
}

Color themeGradient(const Theme *t, double v)
{
    if (!(v >= 0)) v = 0;   /* NaN too */
    if (v > 1) v = 1;
    double pos = v * (t->n_gradient - 1);
    int i = (int)pos;
    if (i >= t->n_gradient - 1) return t->gradient[t->n_gradient - 1];
    return colorLerp(t->gradient[i], t->gradient[i + 1], pos - i);
}

Color themeFamily(const Theme *t, int i)
{
    if (t->n_family <= 0) return t->role[ROLE_TEXT];
    return t->family[(i % t->n_family + t->n_family) % t->n_family];
}
