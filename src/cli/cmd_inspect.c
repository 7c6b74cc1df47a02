/* ffnscope inspect MODEL [--format table|json]: what a checkpoint is, read
 * without loading its weights (every tensor is still checked for presence,
 * dtype and shape, so a broken checkpoint fails here as it would in a run). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/model.h"
#include "io/gguf.h"

static int usage(Error *err, const char *why)
{
    errorSet(err, EXIT_INPUT, "inspect: %s (usage: ffnscope inspect MODEL [--format table|json])", why);
    return EXIT_INPUT;
}

/* 124439808 -> "124,439,808" */
static void groupDigits(int64_t n, char *buf, size_t len)
{
    char raw[32];
    int r = snprintf(raw, sizeof raw, "%lld", (long long)n), o = 0;
    for (int i = 0; i < r && (size_t)o + 2 < len; i++) {
        if (i > 0 && raw[i - 1] != '-' && (r - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
}

static void printTable(const char *path, const ModelInfo *in, const Tokenizer *tok, json_t *meta)
{
    char params[40];
    groupDigits(in->n_params, params, sizeof params);
    printf("%-11s %s\n", "model", path);
    printf("%-11s %s\n", "family", in->family);
    printf("%-11s %s\n", "format", in->format);
    printf("%-11s %d\n", "d_model", in->d_model);
    printf("%-11s %d\n", "layers", in->n_layers);
    printf("%-11s %d\n", "heads", in->n_heads);
    printf("%-11s %d\n", "kv_heads", in->n_kv_heads);
    printf("%-11s %d\n", "head_dim", in->head_dim);
    printf("%-11s %d\n", "ffn_width", in->ffn_width);
    printf("%-11s %d\n", "vocab", in->vocab_size);
    printf("%-11s %d\n", "context", in->context);
    printf("%-11s %s\n", "dtype", in->dtype);
    if (in->type_mix[0]) printf("%-11s %s\n", "types", in->type_mix);
    printf("%-11s %s (%.2fM)\n", "params", params, (double)in->n_params / 1e6);
    if (in->details[0]) printf("%-11s %s\n", "arch", in->details);
    if (tok)
        printf("%-11s %s, %d tokens\n", "tokenizer", tokenizerKind(tok), tokenizerVocabSize(tok));
    else
        printf("%-11s none\n", "tokenizer");
    /* GGUF key-values, long arrays (the vocabulary) summarised by type and count. */
    const char *key;
    json_t *v;
    if (meta) printf("metadata\n");
    json_object_foreach(meta, key, v)
    {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("  %-44s %s\n", key, text ? text : "?");
        free(text);
    }
}

/* "key=value ..." as an object; values that read as numbers become numbers. */
static json_t *detailsJson(const char *details)
{
    json_t *o = json_object();
    char buf[sizeof ((ModelInfo *)0)->details];
    snprintf(buf, sizeof buf, "%s", details);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok && o; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        char *end;
        double v = strtod(eq + 1, &end);
        json_t *val = *end || end == eq + 1   ? json_string(eq + 1)
                      : v == (double)(json_int_t)v ? json_integer((json_int_t)v)
                                                   : json_real(v);
        json_object_set_new(o, tok, val);
    }
    return o;
}

static int printJson(const char *path, const ModelInfo *in, const Tokenizer *tok, json_t *meta, Error *err)
{
    json_t *t = tok ? json_pack("{s:s, s:i}", "kind", tokenizerKind(tok), "vocab_size", tokenizerVocabSize(tok))
                    : json_null();
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:I, s:o}", "model", path,
                          "family", in->family, "format", in->format, "d_model", in->d_model, "layers",
                          in->n_layers, "heads", in->n_heads, "kv_heads", in->n_kv_heads, "ffn_width",
                          in->ffn_width, "vocab_size", in->vocab_size, "context", in->context, "dtype",
                          in->dtype, "params", (json_int_t)in->n_params, "tokenizer", t);
    if (o) json_object_set_new(o, "head_dim", json_integer(in->head_dim));
    if (o && in->type_mix[0]) json_object_set_new(o, "type_mix", json_string(in->type_mix));
    if (o) json_object_set_new(o, "architecture", detailsJson(in->details));
    if (o && meta) json_object_set(o, "metadata", meta);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) return errorNoMem(err, "inspect"), EXIT_RUNTIME;
    printf("%s\n", s);
    free(s);
    return EXIT_OK;
}

int cmdInspect(int argc, char **argv, Error *err)
{
    const char *path = NULL, *format = "table";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--format")) {
            if (i + 1 >= argc) return usage(err, "--format needs a value");
            format = argv[++i];
        } else if (!strncmp(a, "--format=", 9)) {
            format = a + 9;
        } else if (a[0] == '-' && a[1]) {
            char why[160];
            snprintf(why, sizeof why, "unknown option '%.100s'", a);
            return usage(err, why);
        } else if (path) {
            return usage(err, "one model at a time");
        } else {
            path = a;
        }
    }
    if (!path) return usage(err, "no model given");
    if (strcmp(format, "table") && strcmp(format, "json")) {
        char why[160];
        snprintf(why, sizeof why, "unknown format '%.100s'", format);
        return usage(err, why);
    }
    ModelOptions opt = {.info_only = 1};
    Model *m;
    if (modelOpen(path, &opt, &m, err)) return err->code ? err->code : EXIT_RUNTIME;
    int rc = EXIT_OK;
    json_t *meta = NULL;
    if (!strcmp(modelInfo(m)->format, "gguf") && ggufReadMetadataJson(path, 16, &meta, err)) {
        modelFree(m);
        return err->code;
    }
    if (!strcmp(format, "json")) rc = printJson(path, modelInfo(m), modelTokenizer(m), meta, err);
    else printTable(path, modelInfo(m), modelTokenizer(m), meta);
    json_decref(meta);
    modelFree(m);
    return rc;
}
