/* The YAML config (README "Config").
 *
 * libyaml loads the file into a node tree that keeps the start mark of every
 * node, so each error can name "CONFIG:LINE:COL: what is wrong" (1-based, as
 * editors count). The tree is then walked against a fixed schema: unknown
 * keys, duplicate keys, wrong types and bad values are errors.
 *
 * Paths: inputs (corpus.path, models[].path, models[].glob, models[].tokenizer)
 * are relative to the folder of the config file, so a config travels with its
 * data. Outputs (output.dir, output.export_dir) are relative to the working
 * directory ffnscope runs in, as for most command-line tools that write files;
 * absolute paths are used as given. output.dir defaults to
 * results/<config file name without .yaml/.yml>, export_dir to exports. */
#define _GNU_SOURCE
#include "ffnscope/config.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "engine/peek.h"
#include "ffnscope/site.h"
#include "model/families.h"
#include "util/fileio.h"
#include "util/memsize.h"

#define MAX_LAYER 100000

typedef struct Ctx {
    const char *path;     /* the config as given, for messages */
    char *dir;            /* its folder, for resolving input paths */
    yaml_document_t doc;
    Error *err;
} Ctx;

/* ---- small helpers ---- */

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static int failAt(Ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failAt(Ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int line = n ? (int)n->start_mark.line + 1 : 1, col = n ? (int)n->start_mark.column + 1 : 1;
    return errorSet(c->err, EXIT_INPUT, "%s:%d:%d: %s", c->path, line, col, what);
}

static yaml_node_t *nodeAt(Ctx *c, int id) { return yaml_document_get_node(&c->doc, id); }

static int isScalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int isPlain(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

static int isNull(const yaml_node_t *n)
{
    if (!isScalar(n) || !isPlain(n)) return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* A short, printable rendering of a node for messages. */
static const char *show(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    return NULL;
}

static int expectKind(Ctx *c, const yaml_node_t *n, const char *field, const char *want)
{
    const char *k = show(n);
    if (k) return failAt(c, n, "%s: expected %s, got %s", field, want, k);
    return failAt(c, n, "%s: expected %s, got '%.60s'", field, want, scalar(n));
}

static int getInt(Ctx *c, const yaml_node_t *n, const char *field, int64_t lo, int64_t hi,
                  const char *want, int64_t *out)
{
    if (!isScalar(n) || !isPlain(n)) return expectKind(c, n, field, want);
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno) return expectKind(c, n, field, want);
    if (v < lo || v > hi) return failAt(c, n, "%s: expected %s, got %s", field, want, s);
    *out = v;
    return 0;
}

static int getNumber(Ctx *c, const yaml_node_t *n, const char *field, double *out)
{
    if (!isScalar(n) || !isPlain(n)) return expectKind(c, n, field, "a number");
    const char *s = scalar(n);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return expectKind(c, n, field, "a number");
    *out = v;
    return 0;
}

static int getBool(Ctx *c, const yaml_node_t *n, const char *field, int *out)
{
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", NULL};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "off", NULL};
    if (isScalar(n) && isPlain(n)) {
        for (int i = 0; yes[i]; i++)
            if (!strcmp(scalar(n), yes[i])) return *out = 1, 0;
        for (int i = 0; no[i]; i++)
            if (!strcmp(scalar(n), no[i])) return *out = 0, 0;
    }
    return expectKind(c, n, field, "true or false");
}

/* A non-empty string scalar (a plain number is accepted as its text). */
static int getString(Ctx *c, const yaml_node_t *n, const char *field, const char **out)
{
    if (!isScalar(n) || isNull(n)) return expectKind(c, n, field, "a string");
    if (!*scalar(n)) return failAt(c, n, "%s: must not be empty", field);
    *out = scalar(n);
    return 0;
}

/* Checks that every key of mapping `map` is a string in `allowed`, once.
 * `section` names the mapping in messages. */
static int checkKeys(Ctx *c, yaml_node_t *map, const char *section, const char *const *allowed)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nodeAt(c, p->key);
        if (!isScalar(k)) return failAt(c, k, "keys in %s must be plain names", section);
        int known = 0;
        for (int i = 0; allowed[i]; i++) known |= !strcmp(scalar(k), allowed[i]);
        if (!known) return failAt(c, k, "unknown key '%.60s' in %s", scalar(k), section);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k0 = nodeAt(c, q->key);
            if (isScalar(k0) && !strcmp(scalar(k0), scalar(k)))
                return failAt(c, k, "duplicate key '%s' in %s (first at line %d)", scalar(k), section,
                              (int)k0->start_mark.line + 1);
        }
    }
    return 0;
}

static yaml_node_t *lookup(Ctx *c, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = nodeAt(c, p->key);
        if (isScalar(k) && !strcmp(scalar(k), key)) return nodeAt(c, p->value);
    }
    return NULL;
}

/* A section such as `corpus:`: a mapping, or nothing (an empty value is an
 * empty section). Returns 1 when present as a mapping, 0 when absent, -1 on error. */
static int section(Ctx *c, yaml_node_t *root, const char *key, const char *const *allowed,
                   yaml_node_t **out)
{
    yaml_node_t *n = lookup(c, root, key);
    *out = NULL;
    if (!n || isNull(n)) return 0;
    if (n->type != YAML_MAPPING_NODE) return expectKind(c, n, key, "a mapping");
    if (checkKeys(c, n, key, allowed)) return -1;
    *out = n;
    return 1;
}

/* dir + "/" + p unless p is absolute or dir is "." */
static char *joinPath(const char *dir, const char *p)
{
    if (p[0] == '/' || !strcmp(dir, ".")) return strdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", dir, p);
    return s;
}

static char *dirName(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* The last path component (trailing slashes ignored); for regular files the
 * extension is dropped ("run7.safetensors" -> "run7"). */
static char *lastComponent(const char *path, int strip_ext)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    size_t e = n;
    if (strip_ext) {
        for (size_t i = n; i > b + 1; i--)
            if (path[i - 1] == '.') {
                e = i - 1;
                break;
            }
    }
    return strndup(path + b, e - b);
}

static int hasSuffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* ---- the schema ---- */

static const char *const kRootKeys[] = {"version", "corpus", "capture", "metrics", "models", "ui", "output", NULL};
static const char *const kCorpusKeys[] = {"path", "tokens", "seq_len", "batch", "add_bos", NULL};
static const char *const kCaptureKeys[] = {"sites", "layers", "refresh_tokens", "memory_limit", NULL};
static const char *const kMetricsKeys[] = {"concentration_k", "overlap_k", NULL};
static const char *const kModelKeys[] = {"name", "path", "glob", "format", "family", "tokenizer", "fit_group", NULL};
static const char *const kUiKeys[] = {"theme", NULL};
static const char *const kOutputKeys[] = {"dir", "export_dir", NULL};

static const char *const kFormats[] = {"hf", "gguf", "llama2c", "llmc", "npy", "safetensors", NULL};

static int inList(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i])) return 1;
    return 0;
}

static int parseCorpus(Ctx *c, yaml_node_t *root, Config *cfg)
{
    yaml_node_t *m, *n;
    int r = section(c, root, "corpus", kCorpusKeys, &m);
    if (r <= 0) return r;
    int64_t v;
    const char *s;
    if (!(n = lookup(c, m, "path"))) return failAt(c, m, "corpus: missing key 'path'");
    if (getString(c, n, "corpus.path", &s)) return -1;
    if (!(cfg->corpus.path = joinPath(c->dir, s))) return errorNoMem(c->err, c->path);
    struct stat st;
    if (stat(cfg->corpus.path, &st) != 0)
        return failAt(c, n, "corpus.path: %s: %s", cfg->corpus.path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return failAt(c, n, "corpus.path: %s: not a regular file", cfg->corpus.path);
    if ((n = lookup(c, m, "tokens"))) {
        if (getInt(c, n, "corpus.tokens", 1, INT64_MAX / 4, "a positive integer", &v)) return -1;
        cfg->corpus.tokens = v;
    }
    if ((n = lookup(c, m, "seq_len"))) {
        if (getInt(c, n, "corpus.seq_len", 1, 1 << 20, "a positive integer", &v)) return -1;
        cfg->corpus.seq_len = (int)v;
    }
    if ((n = lookup(c, m, "batch"))) {
        if (getInt(c, n, "corpus.batch", 1, 1 << 16, "a positive integer", &v)) return -1;
        cfg->corpus.batch = (int)v;
    }
    if ((n = lookup(c, m, "add_bos")) && getBool(c, n, "corpus.add_bos", &cfg->corpus.add_bos)) return -1;
    cfg->has_corpus = 1;
    return 0;
}

static int parseSite(Ctx *c, yaml_node_t *n, unsigned *sites)
{
    const char *s;
    if (getString(c, n, "capture.sites", &s)) return -1;
    if (!strcmp(s, "post")) *sites |= SITE_BIT(SITE_POST);
    else if (!strcmp(s, "pre")) *sites |= SITE_BIT(SITE_PRE);
    else return failAt(c, n, "capture.sites: unknown site '%.60s' (expected post or pre)", s);
    return 0;
}

/* Adds one layer item (an integer or a "A-B" range) to the set `mark`. */
static int parseLayerItem(Ctx *c, yaml_node_t *n, unsigned char *mark)
{
    if (!isScalar(n) || isNull(n)) return expectKind(c, n, "capture.layers", "all, a list of layers or a range \"A-B\"");
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10), b = a;
    if (end == s || errno) goto bad;
    if (*end == '-') {
        const char *t = end + 1;
        if (*t < '0' || *t > '9') goto bad;
        b = strtol(t, &end, 10);
        if (errno) goto bad;
        if (*end) goto bad;
        if (a < 0 || b < a) return failAt(c, n, "capture.layers: bad layer range '%.60s'", s);
    } else if (*end || !isPlain(n)) {
        goto bad;
    }
    if (a < 0) return failAt(c, n, "capture.layers: layer %ld is negative", a);
    if (b >= MAX_LAYER) return failAt(c, n, "capture.layers: layer %ld is too large", b);
    for (long i = a; i <= b; i++) mark[i] = 1;
    return 0;
bad:
    return failAt(c, n, "capture.layers: expected all, a layer number or a range \"A-B\", got '%.60s'", s);
}

static int parseCapture(Ctx *c, yaml_node_t *root, Config *cfg)
{
    yaml_node_t *m, *n;
    int r = section(c, root, "capture", kCaptureKeys, &m);
    if (r <= 0) return r;
    if ((n = lookup(c, m, "sites"))) {
        unsigned sites = 0;
        if (n->type == YAML_SEQUENCE_NODE) {
            if (n->data.sequence.items.top == n->data.sequence.items.start)
                return failAt(c, n, "capture.sites: the list is empty");
            for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
                if (parseSite(c, nodeAt(c, *it), &sites)) return -1;
        } else if (parseSite(c, n, &sites)) {
            return -1;
        }
        cfg->sites = sites;
    }
    if ((n = lookup(c, m, "layers"))) {
        if (isScalar(n) && isPlain(n) && !strcmp(scalar(n), "all")) {
            cfg->all_layers = 1;
        } else {
            unsigned char *mark = calloc(MAX_LAYER, 1);
            if (!mark) return errorNoMem(c->err, c->path);
            int bad = 0;
            if (n->type == YAML_SEQUENCE_NODE) {
                if (n->data.sequence.items.top == n->data.sequence.items.start)
                    bad = failAt(c, n, "capture.layers: the list is empty");
                for (yaml_node_item_t *it = n->data.sequence.items.start; !bad && it < n->data.sequence.items.top; it++)
                    bad = parseLayerItem(c, nodeAt(c, *it), mark);
            } else {
                bad = parseLayerItem(c, n, mark);
            }
            int count = 0;
            for (int i = 0; !bad && i < MAX_LAYER; i++) count += mark[i];
            if (!bad && !(cfg->layers = malloc(sizeof(int) * (size_t)count))) bad = errorNoMem(c->err, c->path);
            if (!bad) {
                cfg->n_layers = 0;
                for (int i = 0; i < MAX_LAYER; i++)
                    if (mark[i]) cfg->layers[cfg->n_layers++] = i;
                cfg->all_layers = 0;
            }
            free(mark);
            if (bad) return -1;
        }
    }
    if ((n = lookup(c, m, "refresh_tokens"))) {
        int64_t v;
        if (getInt(c, n, "capture.refresh_tokens", 1, INT64_MAX / 4, "a positive integer", &v)) return -1;
        cfg->refresh_tokens = v;
    }
    if ((n = lookup(c, m, "memory_limit"))) {
        if (!isScalar(n) || memParseSize(scalar(n), &cfg->memory_limit))
            return failAt(c, n, "capture.memory_limit: expected a size such as 4G, 512MiB or a number of bytes");
    }
    return 0;
}

static int parseMetrics(Ctx *c, yaml_node_t *root, Config *cfg)
{
    yaml_node_t *m, *n;
    int r = section(c, root, "metrics", kMetricsKeys, &m);
    if (r <= 0) return r;
    if ((n = lookup(c, m, "concentration_k"))) {
        double k = 0;
        if (getNumber(c, n, "metrics.concentration_k", &k)) return -1;
        if (k <= 0)
            return failAt(c, n, "metrics.concentration_k: must be a fraction in (0, 1) or a count >= 1, got %s", scalar(n));
        if (k >= 1 && k != floor(k))
            return failAt(c, n, "metrics.concentration_k: a count (>= 1) must be a whole number, got %s", scalar(n));
        cfg->concentration_k = k;
    }
    if ((n = lookup(c, m, "overlap_k"))) {
        double k = 0;
        if (getNumber(c, n, "metrics.overlap_k", &k)) return -1;
        if (k < 1 || k > 4096 || k != floor(k))
            return failAt(c, n, "metrics.overlap_k: must be a whole number in [1, 4096], got %s", scalar(n));
        cfg->overlap_k = (int)k;
    }
    return 0;
}

static int parseUiOutput(Ctx *c, yaml_node_t *root, Config *cfg)
{
    yaml_node_t *m, *n;
    const char *s;
    int r = section(c, root, "ui", kUiKeys, &m);
    if (r < 0) return -1;
    if (r && (n = lookup(c, m, "theme"))) {
        if (getString(c, n, "ui.theme", &s)) return -1;
        free(cfg->theme);
        if (!(cfg->theme = strdup(s))) return errorNoMem(c->err, c->path);
    }
    r = section(c, root, "output", kOutputKeys, &m);
    if (r < 0) return -1;
    if (r && (n = lookup(c, m, "dir"))) {
        if (getString(c, n, "output.dir", &s)) return -1;
        free(cfg->output_dir);
        if (!(cfg->output_dir = strdup(s))) return errorNoMem(c->err, c->path);
    }
    if (r && (n = lookup(c, m, "export_dir"))) {
        if (getString(c, n, "output.export_dir", &s)) return -1;
        free(cfg->export_dir);
        if (!(cfg->export_dir = strdup(s))) return errorNoMem(c->err, c->path);
    }
    return 0;
}

/* FFN width from a Hugging Face config.json, when there is one; 0 otherwise. */
static int hfWidth(const char *dir)
{
    Peek p;
    peekHfConfig(dir, &p);
    return p.width;
}

typedef struct Match {
    char *path;
    char *name;
    int width;   /* 0 when unknown */
} Match;

static int matchCmp(const void *a, const void *b)
{
    const Match *x = a, *y = b;
    if (!x->width != !y->width) return x->width ? -1 : 1;   /* known widths first */
    if (x->width != y->width) return x->width < y->width ? -1 : 1;
    return strverscmp(x->name, y->name);   /* w64 before w128 */
}

static int pushModel(Ctx *c, Config *cfg, int *cap, ModelEntry *e)
{
    if (cfg->n_models == *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        ModelEntry *m = realloc(cfg->models, sizeof *m * (size_t)ncap);
        if (!m) return errorNoMem(c->err, c->path);
        cfg->models = m;
        *cap = ncap;
    }
    cfg->models[cfg->n_models++] = *e;
    return 0;
}

static void entryFree(ModelEntry *e)
{
    free(e->name);
    free(e->path);
    free(e->format);
    free(e->family);
    free(e->fit_group);
    free(e->tokenizer);
    memset(e, 0, sizeof *e);
}

/* Decides whether a source is an activation file (no model, no corpus needed). */
static int isActivationSource(const char *path, const char *format)
{
    if (format) return !strcmp(format, "npy") || !strcmp(format, "safetensors");
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    return hasSuffix(path, ".npy") || hasSuffix(path, ".safetensors");
}

static int validName(const char *s)
{
    if (!*s || strlen(s) > 200) return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '/' || *p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

static int parseModel(Ctx *c, yaml_node_t *n, int index, Config *cfg, int *cap)
{
    char field[64];
    snprintf(field, sizeof field, "models[%d]", index);
    if (n->type != YAML_MAPPING_NODE)
        return expectKind(c, n, field, "a mapping with 'path' or 'glob'");
    if (checkKeys(c, n, field, kModelKeys)) return -1;
    yaml_node_t *pn = lookup(c, n, "path"), *gn = lookup(c, n, "glob"), *v;
    if (!pn && !gn) return failAt(c, n, "%s: needs 'path' or 'glob'", field);
    if (pn && gn) return failAt(c, gn, "%s: give either 'path' or 'glob', not both", field);
    const char *name = NULL, *format = NULL, *family = NULL, *tok = NULL, *group = NULL, *s;
    char sub[96];
    if ((v = lookup(c, n, "name"))) {
        snprintf(sub, sizeof sub, "%s.name", field);
        if (getString(c, v, sub, &name)) return -1;
        if (gn) return failAt(c, v, "%s: 'name' cannot be used with 'glob' (names come from the matches)", field);
        if (!validName(name)) return failAt(c, v, "%s: bad model name '%.60s' (no '/' or control characters)", sub, name);
    }
    if ((v = lookup(c, n, "format"))) {
        snprintf(sub, sizeof sub, "%s.format", field);
        if (getString(c, v, sub, &format)) return -1;
        if (!inList(format, kFormats))
            return failAt(c, v, "%s: unknown format '%.60s' (expected hf, gguf, llama2c, llmc, npy or safetensors)", sub, format);
    }
    yaml_node_t *famn = lookup(c, n, "family");
    if (famn) {
        snprintf(sub, sizeof sub, "%s.family", field);
        if (getString(c, famn, sub, &family)) return -1;
        if (!validName(family)) return failAt(c, famn, "%s: bad family '%.60s'", sub, family);
    }
    if ((v = lookup(c, n, "fit_group"))) {
        snprintf(sub, sizeof sub, "%s.fit_group", field);
        if (getString(c, v, sub, &group)) return -1;
        if (!validName(group)) return failAt(c, v, "%s: bad fit group '%.60s'", sub, group);
    }
    char *tokpath = NULL;
    if ((v = lookup(c, n, "tokenizer"))) {
        snprintf(sub, sizeof sub, "%s.tokenizer", field);
        if (getString(c, v, sub, &tok)) return -1;
        if (!(tokpath = joinPath(c->dir, tok))) return errorNoMem(c->err, c->path);
        struct stat st;
        if (stat(tokpath, &st) != 0) {
            failAt(c, v, "%s: %s: %s", sub, tokpath, strerror(errno));
            free(tokpath);
            return -1;
        }
    }

    /* The list of sources this entry stands for. */
    Match *matches = NULL;
    size_t n_matches = 0;
    int rc = -1;
    if (pn) {
        snprintf(sub, sizeof sub, "%s.path", field);
        if (getString(c, pn, sub, &s)) goto done;
        matches = calloc(1, sizeof *matches);
        if (!matches || !(matches[0].path = joinPath(c->dir, s))) {
            errorNoMem(c->err, c->path);
            goto done;
        }
        n_matches = 1;
        struct stat st;
        if (stat(matches[0].path, &st) != 0) {
            failAt(c, pn, "%s: %s: %s", sub, matches[0].path, strerror(errno));
            goto done;
        }
        matches[0].name = name ? strdup(name) : lastComponent(matches[0].path, S_ISREG(st.st_mode));
        if (!matches[0].name) {
            errorNoMem(c->err, c->path);
            goto done;
        }
    } else {
        snprintf(sub, sizeof sub, "%s.glob", field);
        if (getString(c, gn, sub, &s)) goto done;
        char *pattern = joinPath(c->dir, s);
        if (!pattern) {
            errorNoMem(c->err, c->path);
            goto done;
        }
        glob_t g;
        int gr = glob(pattern, 0, NULL, &g);
        if (gr == GLOB_NOMATCH || (gr == 0 && g.gl_pathc == 0)) {
            failAt(c, gn, "%s: '%s' matches nothing", sub, pattern);
            free(pattern);
            if (gr == 0) globfree(&g);
            goto done;
        }
        free(pattern);
        if (gr != 0) {
            failAt(c, gn, "%s: cannot expand '%s'", sub, s);
            goto done;
        }
        matches = calloc(g.gl_pathc, sizeof *matches);
        if (!matches) {
            globfree(&g);
            errorNoMem(c->err, c->path);
            goto done;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            int is_file = stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode);
            matches[i].path = strdup(g.gl_pathv[i]);
            matches[i].name = lastComponent(g.gl_pathv[i], is_file);
            n_matches = i + 1;
            if (!matches[i].path || !matches[i].name) {
                globfree(&g);
                errorNoMem(c->err, c->path);
                goto done;
            }
            matches[i].width = is_file ? 0 : hfWidth(matches[i].path);
        }
        globfree(&g);
        qsort(matches, n_matches, sizeof *matches, matchCmp);
    }

    for (size_t i = 0; i < n_matches; i++) {
        ModelEntry e = {0};
        e.line = (int)n->start_mark.line + 1;
        e.col = (int)n->start_mark.column + 1;
        e.name = matches[i].name;
        e.path = matches[i].path;
        matches[i].name = matches[i].path = NULL;
        e.format = xstrdup(format);
        e.family = xstrdup(family);
        e.tokenizer = xstrdup(tokpath);
        e.fit_group = xstrdup(group);
        if ((format && !e.format) || (family && !e.family) || (tokpath && !e.tokenizer) || (group && !e.fit_group)) {
            entryFree(&e);
            errorNoMem(c->err, c->path);
            goto done;
        }
        e.is_acts = isActivationSource(e.path, e.format);
        if (!e.is_acts && family && !familyByName(family)) {
            char list[256];
            failAt(c, famn, "%s.family: unknown family '%.60s' (expected one of %s)", field, family,
                   familyList(list, sizeof list, 0));
            entryFree(&e);
            goto done;
        }
        for (int j = 0; j < cfg->n_models; j++)
            if (!strcmp(cfg->models[j].name, e.name)) {
                failAt(c, pn ? n : gn, "%s: model name '%s' is used twice (also by the entry at line %d); set 'name'",
                       field, e.name, cfg->models[j].line);
                entryFree(&e);
                goto done;
            }
        if (pushModel(c, cfg, cap, &e)) {
            entryFree(&e);
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < n_matches; i++) {
        free(matches[i].path);
        free(matches[i].name);
    }
    free(matches);
    free(tokpath);
    return rc;
}

static int parseModels(Ctx *c, yaml_node_t *root, Config *cfg)
{
    yaml_node_t *n = lookup(c, root, "models");
    if (!n) return failAt(c, root, "missing key 'models'");
    if (n->type != YAML_SEQUENCE_NODE) return expectKind(c, n, "models", "a list");
    if (n->data.sequence.items.top == n->data.sequence.items.start) return failAt(c, n, "models: the list is empty");
    int cap = 0, index = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, index++)
        if (parseModel(c, nodeAt(c, *it), index, cfg, &cap)) return -1;
    if (!cfg->has_corpus)
        for (int i = 0; i < cfg->n_models; i++)
            if (!cfg->models[i].is_acts) {
                ModelEntry *e = &cfg->models[i];
                return errorSet(c->err, EXIT_INPUT,
                                "%s:%d:%d: model '%s' is not an activation file and needs a corpus (add corpus.path)",
                                c->path, e->line, e->col, e->name);
            }
    return 0;
}

static int parseRoot(Ctx *c, yaml_node_t *root, Config *cfg)
{
    if (root->type != YAML_MAPPING_NODE) return expectKind(c, root, "config", "a mapping of sections");
    if (checkKeys(c, root, "config", kRootKeys)) return -1;
    yaml_node_t *v = lookup(c, root, "version");
    if (!v) return failAt(c, root, "missing key 'version' (add 'version: 1')");
    int64_t ver;
    if (getInt(c, v, "version", INT64_MIN, INT64_MAX, "1", &ver)) return -1;
    if (ver != 1) return failAt(c, v, "version: unsupported version %lld (expected 1)", (long long)ver);
    cfg->version = 1;
    if (parseCorpus(c, root, cfg) || parseCapture(c, root, cfg) || parseMetrics(c, root, cfg) ||
        parseUiOutput(c, root, cfg) || parseModels(c, root, cfg))
        return -1;
    return 0;
}

/* libyaml's own errors: scanner and parser problems carry a mark. */
static int yamlError(Ctx *c, yaml_parser_t *p, const char *text, size_t len)
{
    const char *what = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_READER_ERROR)
        return errorSet(c->err, EXIT_INPUT, "%s: %s at byte %zu", c->path, what, p->problem_offset);
    yaml_mark_t m = p->problem_mark;
    const char *hint = "";
    if (m.index < len && text[m.index] == '\t') hint = " (tabs are not allowed for indentation; use spaces)";
    if (p->context)
        return errorSet(c->err, EXIT_INPUT, "%s:%d:%d: YAML syntax error: %s %s%s", c->path, (int)m.line + 1,
                        (int)m.column + 1, p->context, what, hint);
    return errorSet(c->err, EXIT_INPUT, "%s:%d:%d: YAML syntax error: %s%s", c->path, (int)m.line + 1,
                    (int)m.column + 1, what, hint);
}

static int defaults(Config *cfg, const char *path)
{
    cfg->corpus.tokens = 65536;
    cfg->corpus.seq_len = 128;
    cfg->corpus.batch = 16;
    cfg->corpus.add_bos = 0;
    cfg->sites = SITE_BIT(SITE_POST);
    cfg->all_layers = 1;
    cfg->refresh_tokens = 8192;
    cfg->concentration_k = 0.1;
    cfg->overlap_k = 8;
    cfg->theme = strdup("default");
    cfg->export_dir = strdup("exports");
    char *stem = lastComponent(path, 0);
    if (stem) {
        if (hasSuffix(stem, ".yaml")) stem[strlen(stem) - 5] = '\0';
        else if (hasSuffix(stem, ".yml")) stem[strlen(stem) - 4] = '\0';
        size_t n = strlen(stem) + 16;
        cfg->output_dir = malloc(n);
        if (cfg->output_dir) snprintf(cfg->output_dir, n, "results/%s", stem);
        free(stem);
    }
    cfg->path = strdup(path);
    return cfg->theme && cfg->export_dir && cfg->output_dir && cfg->path ? 0 : -1;
}

int configLoad(const char *path, Config **out, Error *err)
{
    *out = NULL;
    char *text;
    size_t len;
    if (fileReadAll(path, &text, &len, err)) return -1;
    Config *cfg = calloc(1, sizeof *cfg);
    Ctx c = {.path = path, .dir = dirName(path), .err = err};
    if (!cfg || !c.dir || defaults(cfg, path)) {
        free(text);
        free(c.dir);
        configFree(cfg);
        return errorNoMem(err, path);
    }
    yaml_parser_t parser;
    int rc = -1;
    if (!yaml_parser_initialize(&parser)) {
        errorNoMem(err, path);
        goto out;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        yamlError(&c, &parser, text, len);
        yaml_parser_delete(&parser);
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        errorSet(err, EXIT_INPUT, "%s:1:1: the config is empty (it needs at least 'version: 1' and 'models')", path);
    } else {
        yaml_document_t extra;
        int more = yaml_parser_load(&parser, &extra);
        if (!more) {
            yamlError(&c, &parser, text, len);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2) {
                errorSet(err, EXIT_INPUT, "%s:%d:%d: a config holds one YAML document, found a second one", path,
                         (int)extra.start_mark.line + 1, (int)extra.start_mark.column + 1);
            } else {
                rc = parseRoot(&c, root, cfg);
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&c.doc);
    yaml_parser_delete(&parser);
out:
    free(text);
    free(c.dir);
    if (rc) {
        configFree(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

void configFree(Config *cfg)
{
    if (!cfg) return;
    free(cfg->path);
    free(cfg->corpus.path);
    free(cfg->layers);
    for (int i = 0; i < cfg->n_models; i++) entryFree(&cfg->models[i]);
    free(cfg->models);
    free(cfg->theme);
    free(cfg->output_dir);
    free(cfg->export_dir);
    free(cfg);
}

int configWantsLayer(const Config *cfg, int layer)
{
    if (cfg->all_layers) return 1;
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i] == layer) return 1;
    return 0;
}
