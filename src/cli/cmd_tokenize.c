/* ffnscope tokenize MODEL_OR_TOKENIZER TEXTFILE [--format ids|json]
 *
 * Prints the token ids of TEXTFILE (or standard input for "-"), encoded as one
 * stream without BOS/EOS, exactly as `run` feeds the corpus to a model.
 * ids (default): one decimal id per line. json: one JSON array of ids.
 * A .gguf file carries its tokenizer inside: it is read through the model
 * loader (without the weights). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/model.h"
#include "ffnscope/tokenizer.h"
#include "util/fileio.h"

static int readStdin(char **data, size_t *len, Error *err)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return errorNoMem(err, "standard input");
    for (;;) {
        if (n + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                return errorNoMem(err, "standard input");
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, stdin);
        n += got;
        if (!got) break;
    }
    if (ferror(stdin)) {
        free(buf);
        return errorSet(err, EXIT_INPUT, "standard input: read error");
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

int cmdTokenize(int argc, char **argv, Error *err)
{
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0;
    const char *format = "ids";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
            if (a[8] == '=') format = a + 9;
            else if (i + 1 < argc) format = argv[++i];
            else {
                errorSet(err, EXIT_INPUT, "tokenize: --format needs a value (ids or json)");
                return EXIT_INPUT;
            }
        } else if (a[0] == '-' && a[1]) {
            errorSet(err, EXIT_INPUT, "tokenize: unknown option '%s'", a);
            return EXIT_INPUT;
        } else if (n_paths < 2) {
            paths[n_paths++] = a;
        } else {
            errorSet(err, EXIT_INPUT, "tokenize: unexpected argument '%s'", a);
            return EXIT_INPUT;
        }
    }
    if (n_paths != 2) {
        errorSet(err, EXIT_INPUT, "usage: ffnscope tokenize MODEL_OR_TOKENIZER TEXTFILE [--format ids|json]");
        return EXIT_INPUT;
    }
    bool json = !strcmp(format, "json");
    if (!json && strcmp(format, "ids")) {
        errorSet(err, EXIT_INPUT, "tokenize: unknown format '%s' (ids or json)", format);
        return EXIT_INPUT;
    }

    Tokenizer *own = NULL;
    Model *model = NULL;
    const Tokenizer *tok;
    size_t plen = strlen(paths[0]);
    if (plen > 5 && !strcmp(paths[0] + plen - 5, ".gguf")) {
        ModelOptions opt = {.info_only = 1, .header_only = 1}; /* the tokenizer only */
        if (modelOpen(paths[0], &opt, &model, err)) return err->code;
        if (!(tok = modelTokenizer(model))) {
            modelFree(model);
            errorSet(err, EXIT_INPUT, "%s: carries no tokenizer", paths[0]);
            return EXIT_INPUT;
        }
    } else {
        if (tokenizerLoad(paths[0], &own, err)) return err->code;
        tok = own;
    }
    char *text;
    size_t len;
    int rc = strcmp(paths[1], "-") ? fileReadAll(paths[1], &text, &len, err) : readStdin(&text, &len, err);
    int32_t *ids = NULL;
    size_t n = 0;
    if (!rc) {
        Error inner = {0};
        rc = tokenizerEncode(tok, text, len, &ids, &n, &inner);
        free(text);
        if (rc)
            errorSet(err, inner.code, "%s: %s", strcmp(paths[1], "-") ? paths[1] : "standard input", inner.msg);
    }
    tokenizerFree(own);
    if (model) modelFree(model);
    if (rc) return err->code;

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (json) {
        putchar('[');
        for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        fputs("]\n", stdout);
    } else {
        for (size_t i = 0; i < n; i++) printf("%d\n", ids[i]);
    }
    free(ids);
    if (fflush(stdout) || ferror(stdout)) {
        errorSet(err, EXIT_RUNTIME, "standard output: %s", strerror(errno));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}
