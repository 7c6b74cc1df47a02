/* llama2.c's tokenizer.bin: int32 max_token_length, then per token float32
 * score, int32 length and that many bytes, little-endian, until the end of the
 * file (the vocabulary size lives in the model's header, not here). Encoding
 * follows llama2.c's encoder: a " " token in front, characters looked up one by
 * one with bytes + 3 as fallback, then the adjacent pair whose concatenation
 * has the highest score is merged until none is a token. */
#include "model/tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

enum { MAX_TOKEN_LENGTH = 1 << 16 };

int tokenizerLoadLlama2c(const char *path, Tokenizer **out, Error *err)
{
    *out = NULL;
    char *data;
    size_t len;
    if (fileReadAll(path, &data, &len, err)) return -1;
    int rc = -1;
    const char **tok = NULL;
    uint32_t *tok_len = NULL;
    float *score = NULL;
    int32_t max_len;
    if (len < 4) {
        errorSet(err, EXIT_INPUT, "%s: too short for a llama2.c tokenizer.bin (%zu bytes)", path, len);
        goto done;
    }
    memcpy(&max_len, data, 4);
    if (max_len < 1 || max_len > MAX_TOKEN_LENGTH) {
        errorSet(err, EXIT_INPUT, "%s: not a llama2.c tokenizer.bin (max_token_length %d)", path, max_len);
        goto done;
    }
    /* First pass: count and check every entry against the file's end. */
    size_t n = 0;
    for (size_t off = 4; off < len; n++) {
        int32_t l;
        if (len - off < 8) {
            errorSet(err, EXIT_INPUT, "%s: truncated in the header of token %zu (offset %zu)", path, n, off);
            goto done;
        }
        memcpy(&l, data + off + 4, 4);
        if (l < 0 || l > max_len) {
            errorSet(err, EXIT_INPUT, "%s: token %zu has length %d, outside 0..max_token_length %d",
                     path, n, l, max_len);
            goto done;
        }
        if (len - off - 8 < (size_t)l) {
            errorSet(err, EXIT_INPUT, "%s: truncated in token %zu (offset %zu)", path, n, off);
            goto done;
        }
        off += 8 + (size_t)l;
    }
    if (n == 0) {
        errorSet(err, EXIT_INPUT, "%s: no tokens", path);
        goto done;
    }
    if (n > INT32_MAX / 2) {
        errorSet(err, EXIT_INPUT, "%s: too many tokens", path);
        goto done;
    }
    tok = calloc(n, sizeof *tok);
    tok_len = calloc(n, sizeof *tok_len);
    score = calloc(n, sizeof *score);
    if (!tok || !tok_len || !score) {
        errorNoMem(err, path);
        goto done;
    }
    size_t off = 4;
    for (size_t i = 0; i < n; i++) {
        int32_t l;
        memcpy(&score[i], data + off, 4);
        memcpy(&l, data + off + 4, 4);
        tok[i] = data + off + 8;
        tok_len[i] = (uint32_t)l;
        off += 8 + (size_t)l;
    }
    TokenizerSpec spec;
    tokenizerSpecInit(&spec, TOKENIZER_SP_BPE, path, "tokenizer.bin");
    spec.n_tokens = (int32_t)n;
    spec.tokens = tok;
    spec.token_lens = tok_len;
    spec.scores = score;
    spec.merge_order = TOKENIZER_MERGE_SCORE;
    spec.prefix = " "; /* llama2.c's dummy prefix: its vocabulary spells "▁" as a space */
    spec.byte_fallback = TOKENIZER_BYTES_OFFSET3;
    if (n > 2) {
        spec.bos = 1;
        spec.eos = 2;
    }
    rc = tokenizerBuild(&spec, out, err);
done:
    free(score);
    free(tok_len);
    free(tok);
    free(data);
    return rc;
}
