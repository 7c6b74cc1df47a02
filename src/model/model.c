#include "ffnscope/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/decoder.h"
#include "model/formats.h"
#include "model/hf.h"
#include "util/fileio.h"
#include "util/threads.h"

struct Model {
    LoadedModel lm;
    int info_only;
};

/* Tried in order when no format is forced. */
static const ModelReader readers[] = {
    {"hf", hfDetect, hfLoad},
    {"gguf", ggufModelDetect, ggufModelLoad},
    {"llmc", llmcDetect, llmcLoad},       /* before llama2c: both are *.bin */
    {"llama2c", llama2cDetect, llama2cLoad},
};
#define N_READERS ((int)(sizeof readers / sizeof readers[0]))

static int isFile(const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return 0;
    return fileIsRegular(path);
}

/* A directory carries a tokenizer when it has any of the layouts tokenizer.h reads. */
static int hasTokenizer(const char *dir)
{
    return isFile(dir, "tokenizer.json") || (isFile(dir, "vocab.json") && isFile(dir, "merges.txt")) ||
           (isFile(dir, "encoder.json") && isFile(dir, "vocab.bpe"));
}

int modelOpen(const char *path, const ModelOptions *opt, Model **out, Error *err)
{
    ModelOptions none = {0};
    if (!opt) opt = &none;
    struct stat st;
    if (stat(path, &st) != 0) return errorSet(err, EXIT_INPUT, "%s: no such file or directory", path);
    const ModelReader *r = NULL;
    for (int i = 0; i < N_READERS && !r; i++)
        if (opt->format ? !strcmp(opt->format, readers[i].format) : readers[i].detect(path)) r = &readers[i];
    if (!r) {
        if (opt->format)
            return errorSet(err, EXIT_INPUT, "%s: model format '%s' is not supported (hf, gguf, llmc, llama2c)", path, opt->format);
        return errorSet(err, EXIT_INPUT, "%s: not a model ffnscope can read (a Hugging Face directory, a .gguf file, an llm.c or llama2.c .bin)", path);
    }

    Model *m = calloc(1, sizeof *m);
    if (!m) return errorNoMem(err, path);
    m->info_only = opt->info_only;
    if (r->load(path, opt, &m->lm, err)) {
        free(m);
        return -1;
    }
    /* An explicit tokenizer wins over the one the checkpoint carries. */
    const char *tok_path = opt->tokenizer;
    if (!tok_path && !m->lm.tok && S_ISDIR(st.st_mode) && hasTokenizer(path)) tok_path = path;
    if (tok_path) {
        if (m->lm.tok) tokenizerFree(m->lm.tok);
        m->lm.tok = NULL;
        if (tokenizerLoad(tok_path, &m->lm.tok, err)) {
            modelFree(m);
            return -1;
        }
    }
    if (!opt->info_only) threadsBlasSingle(); /* the forward pass splits its work itself */
    *out = m;
    return 0;
}

const ModelInfo *modelInfo(const Model *m) { return &m->lm.info; }

const Tokenizer *modelTokenizer(const Model *m) { return m->lm.tok; }

/* The checks every entry point shares: weights loaded, sizes in range, ids
 * inside the vocabulary (tokens may be NULL). */
static int checkCall(const Model *m, const int32_t *tokens, int batch, int seq_len, Error *err)
{
    const ModelInfo *in = &m->lm.info;
    if (m->info_only)
        return errorSet(err, EXIT_RUNTIME, "model was opened for inspection only; weights are not loaded");
    if (batch <= 0 || seq_len <= 0)
        return errorSet(err, EXIT_INPUT, "batch (%d) and sequence length (%d) must be positive", batch,
                        seq_len);
    if (seq_len > in->context)
        return errorSet(err, EXIT_INPUT, "sequence length %d exceeds the model's context of %d", seq_len,
                        in->context);
    size_t rows = (size_t)batch * seq_len;
    for (size_t i = 0; tokens && i < rows; i++)
        if (tokens[i] < 0 || tokens[i] >= in->vocab_size)
            return errorSet(err, EXIT_INPUT, "token id %d at position %zu is outside the vocabulary (%d)",
                            tokens[i], i, in->vocab_size);
    return 0;
}

int modelForward(Model *m, const int32_t *tokens, int batch, int seq_len, const uint8_t *capture,
                 CaptureFn fn, void *ctx, Error *err)
{
    const ModelInfo *in = &m->lm.info;
    if (checkCall(m, tokens, batch, seq_len, err)) return -1;
    int last = -1;
    for (int l = 0; capture && l < in->n_layers; l++)
        if (capture[l] & (SITE_BIT(SITE_POST) | SITE_BIT(SITE_PRE))) last = l;
    if (last < 0) return 0; /* nothing asked for: no layer needs to run */
    return decoderForward(m->lm.dec, tokens, batch, seq_len, capture, last, fn, ctx, err);
}

int modelEmbed(Model *m, const int32_t *tokens, int batch, int seq_len, float *x, Error *err)
{
    if (checkCall(m, tokens, batch, seq_len, err)) return -1;
    return decoderEmbed(m->lm.dec, tokens, (size_t)batch * seq_len, seq_len, x, err);
}

int modelForwardLayers(Model *m, const float *x_in, float *x_out, int batch, int seq_len, int first, int last,
                       const uint8_t *capture, CaptureFn fn, void *ctx, Error *err)
{
    if (checkCall(m, NULL, batch, seq_len, err)) return -1;
    if (!x_in || first < 0 || last < first || last >= m->lm.info.n_layers)
        return errorSet(err, EXIT_RUNTIME, "layers %d-%d: not a range of the model's %d layers", first, last,
                        m->lm.info.n_layers);
    return decoderForwardRange(m->lm.dec, NULL, x_in, x_out, batch, seq_len, capture, first, last, fn, ctx, err);
}

void modelLayerFfn(const Model *m, int l, LayerFfn *out) { decoderLayerFfn(m->lm.dec, l, out); }

void modelFree(Model *m)
{
    if (!m) return;
    decoderFree(m->lm.dec);
    if (m->lm.keep) m->lm.keep_free(m->lm.keep);
    if (m->lm.tok) tokenizerFree(m->lm.tok);
    free(m);
}
