/* Test helper: the token ids a checkpoint's own tokenizer (the one embedded in
 * a GGUF file, or tokenizer.bin next to a llama2.c checkpoint) gives a text, as
 * one JSON array, so check_formats.py can compare them with the Hugging Face
 * tokenizer's.
 *
 * usage: model_tokenize MODEL TEXTFILE */
#include <stdio.h>
#include <stdlib.h>

#include "ffnscope/model.h"
#include "util/fileio.h"

static int run(int argc, char **argv, Error *err)
{
    if (argc != 3) return errorSet(err, EXIT_INPUT, "usage: model_tokenize MODEL TEXTFILE");
    ModelOptions opt = {.info_only = 1};
    Model *m = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    size_t len, n = 0;
    int rc = -1;
    if (modelOpen(argv[1], &opt, &m, err) || fileReadAll(argv[2], &text, &len, err)) goto done;
    if (!modelTokenizer(m)) {
        errorSet(err, EXIT_INPUT, "%s: carries no tokenizer", argv[1]);
        goto done;
    }
    if (tokenizerEncode(modelTokenizer(m), text, len, &ids, &n, err)) goto done;
    printf("[");
    for (size_t i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
    printf("]\n");
    rc = 0;
done:
    free(ids);
    free(text);
    modelFree(m);
    return rc;
}

int main(int argc, char **argv)
{
    Error err = {0};
    if (run(argc, argv, &err)) {
        fprintf(stderr, "model_tokenize: error: %s\n", err.msg);
        return err.code ? err.code : EXIT_RUNTIME;
    }
    return 0;
}
