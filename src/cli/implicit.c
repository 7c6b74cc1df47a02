#define _GNU_SOURCE
#include "cli/implicit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/paths.h"
#include "util/fileio.h"

static int hasSuffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int implicitIsModelSource(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISDIR(st.st_mode)) {
        char cfg[PATH_MAX];
        return (size_t)snprintf(cfg, sizeof cfg, "%s/config.json", path) < sizeof cfg && fileIsRegular(cfg);
    }
    return hasSuffix(path, ".gguf") || hasSuffix(path, ".bin") || hasSuffix(path, ".npy") ||
           hasSuffix(path, ".safetensors");
}

int implicitOption(int argc, char **argv, int *i, ImplicitArgs *a, Error *err)
{
    static const struct {
        const char *flag;
        size_t field;
    } opts[] = {
        {"--corpus", offsetof(ImplicitArgs, corpus)},   {"--tokens", offsetof(ImplicitArgs, tokens)},
        {"--seq-len", offsetof(ImplicitArgs, seq_len)}, {"--batch", offsetof(ImplicitArgs, batch)},
        {"--sites", offsetof(ImplicitArgs, sites)},     {"--layers", offsetof(ImplicitArgs, layers)},
    };
    const char *arg = argv[*i];
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        size_t n = strlen(opts[k].flag);
        const char **dst = (const char **)((char *)a + opts[k].field);
        if (!strcmp(arg, opts[k].flag)) {
            if (*i + 1 >= argc || !*argv[*i + 1])
                return errorSet(err, EXIT_INPUT, "%s needs a value", opts[k].flag);
            *dst = argv[++*i];
            return 1;
        }
        if (!strncmp(arg, opts[k].flag, n) && arg[n] == '=' && arg[n + 1]) {
            *dst = arg + n + 1;
            return 1;
        }
    }
    return 0;
}

/* A positive integer as the option gave it. */
static int number(const char *flag, const char *s, Error *err)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0) return errorSet(err, EXIT_INPUT, "%s %s: expected a positive integer", flag, s);
    return 0;
}

/* The last path component without a file extension. */
static void stem(const char *path, char *out, size_t n)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    size_t l = strlen(buf);
    while (l > 1 && buf[l - 1] == '/') buf[--l] = 0;
    const char *b = strrchr(buf, '/');
    b = b ? b + 1 : buf;
    snprintf(out, n, "%s", b);
    char *dot = strrchr(out, '.');
    struct stat st;
    if (dot && dot != out && !(stat(path, &st) == 0 && S_ISDIR(st.st_mode))) *dot = 0;
}

/* A YAML double-quoted scalar. */
static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int implicitYaml(const ImplicitArgs *a, char **yaml, Error *err)
{
    if (a->n_models < 1) return errorSet(err, EXIT_INPUT, "no model given");
    if ((a->tokens && number("--tokens", a->tokens, err)) || (a->seq_len && number("--seq-len", a->seq_len, err)) ||
        (a->batch && number("--batch", a->batch, err)))
        return -1;
    char corpus[PATH_MAX], path[PATH_MAX];
    if (a->corpus) {
        if (!realpath(a->corpus, corpus)) return errorSet(err, EXIT_INPUT, "%s: no such file", a->corpus);
    } else if (dataPath("data/austen/persuasion.txt", corpus, sizeof corpus)) {
        corpus[0] = 0;
    }
    int any_checkpoint = 0;
    for (int i = 0; i < a->n_models; i++) {
        const char *m = a->models[i];
        any_checkpoint |= !(hasSuffix(m, ".npy") || hasSuffix(m, ".safetensors"));
    }
    if (any_checkpoint && !corpus[0])
        return errorSet(err, EXIT_INPUT, "no corpus: the bundled data/austen/persuasion.txt is not there "
                                          "(scripts/setup.sh extracts it); give one with --corpus FILE");
    size_t len = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return errorNoMem(err, "implicit config");
    fprintf(f, "# written by ffnscope run --print-config\nversion: 1\n");
    if (any_checkpoint) {
        fprintf(f, "corpus:\n  path: ");
        quoted(f, corpus);
        fprintf(f, "\n");
        if (a->tokens) fprintf(f, "  tokens: %s\n", a->tokens);
        if (a->seq_len) fprintf(f, "  seq_len: %s\n", a->seq_len);
        if (a->batch) fprintf(f, "  batch: %s\n", a->batch);
    }
    if (a->sites || a->layers) {
        fprintf(f, "capture:\n");
        if (a->sites) {
            fprintf(f, "  sites: [");
            char sites[64];
            snprintf(sites, sizeof sites, "%s", a->sites);
            char *save = NULL;
            int first = 1;
            for (char *t = strtok_r(sites, ",", &save); t; t = strtok_r(NULL, ",", &save), first = 0) {
                if (!first) fprintf(f, ", ");
                quoted(f, t);
            }
            fprintf(f, "]\n");
        }
        if (a->layers) {
            fprintf(f, "  layers: ");
            /* "all" and "A-B" as they are; "0,11,23" as the list the config takes */
            if (!strcmp(a->layers, "all")) fprintf(f, "all");
            else if (strchr(a->layers, ',')) {
                fprintf(f, "[");
                for (const char *c = a->layers; *c; c++) {
                    if (*c == ',') fputs(", ", f);
                    else fputc(*c, f);
                }
                fprintf(f, "]");
            } else if (strspn(a->layers, "0123456789") == strlen(a->layers)) {
                fputs(a->layers, f); /* one layer: a number, not a string */
            } else quoted(f, a->layers);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "models:\n");
    for (int i = 0; i < a->n_models; i++) {
        if (!realpath(a->models[i], path)) {
            fclose(f);
            free(buf);
            return errorSet(err, EXIT_INPUT, "%s: no such file or directory", a->models[i]);
        }
        fprintf(f, "  - path: ");
        quoted(f, path);
        fprintf(f, "\n");
    }
    char name[256];
    stem(a->models[0], name, sizeof name);
    fprintf(f, "output:\n  dir: ");
    if (a->out) quoted(f, a->out);
    else {
        char dir[300];
        snprintf(dir, sizeof dir, "results/%s", name);
        quoted(f, dir);
    }
    fprintf(f, "\n");
    if (fclose(f)) {
        free(buf);
        return errorNoMem(err, "implicit config");
    }
    *yaml = buf;
    return 0;
}

/* Replaces every occurrence of the temporary file's name in the message. */
static void renameInMessage(Error *err, const char *tmp)
{
    char msg[sizeof err->msg];
    const char *p = strstr(err->msg, tmp);
    if (!p) return;
    snprintf(msg, sizeof msg, "%.*scommand line%s", (int)(p - err->msg), err->msg, p + strlen(tmp));
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

int implicitConfig(const ImplicitArgs *a, Config **out, Error *err)
{
    char *yaml;
    if (implicitYaml(a, &yaml, err)) return -1;
    char tmp[] = "/tmp/ffnscope-implicit-XXXXXX.yaml";
    int fd = mkstemps(tmp, 5);
    if (fd < 0) {
        free(yaml);
        return errorSet(err, EXIT_RUNTIME, "cannot create a temporary config file");
    }
    size_t n = strlen(yaml);
    int ok = write(fd, yaml, n) == (ssize_t)n;
    close(fd);
    free(yaml);
    int rc = ok ? configLoad(tmp, out, err) : errorSet(err, EXIT_RUNTIME, "cannot write %s", tmp);
    unlink(tmp);
    if (rc) {
        renameInMessage(err, tmp);
        return rc;
    }
    char *name = strdup("command line");
    if (!name) {
        configFree(*out);
        return errorNoMem(err, "implicit config");
    }
    free((*out)->path);
    (*out)->path = name;
    return 0;
}
