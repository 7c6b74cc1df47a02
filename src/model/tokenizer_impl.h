#ifndef FFNSCOPE_MODEL_TOKENIZER_IMPL_H
#define FFNSCOPE_MODEL_TOKENIZER_IMPL_H

/* The Tokenizer's insides, shared by src/model/tokenizer*.c only. */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/tokenizer_build.h"

/* String -> lowest id, keyed by the token strings themselves. */
typedef struct TokSlot {
    uint32_t hash;
    int32_t id; /* -1: empty */
} TokSlot;

/* (left id, right id) -> (rank, merged id). */
typedef struct PairSlot {
    uint64_t key; /* UINT64_MAX: empty */
    int32_t rank;
    int32_t id;
} PairSlot;

typedef struct AddedToken {
    int32_t id;
    char *content;
    size_t len;
    bool lstrip, rstrip, single_word;
} AddedToken;

typedef struct AddedSet {
    AddedToken *tok; /* sorted by first byte, then longest first */
    int32_t n;
    int32_t start[257]; /* tok[start[b] .. start[b+1]) start with byte b */
} AddedSet;

struct Tokenizer {
    TokenizerKind kind;
    const char *format;
    char *source;

    int32_t n_tokens;
    const char **tok;  /* [n_tokens] into pool, NULL for holes */
    uint32_t *tok_len; /* [n_tokens] */
    char *pool;
    float *score;  /* [n_tokens] or NULL */
    int32_t *type; /* [n_tokens] or NULL */

    TokSlot *vocab; /* [vocab_cap] */
    size_t vocab_cap;
    PairSlot *pairs; /* [pairs_cap], rank order only */
    size_t pairs_cap;
    int32_t n_merges;
    TokenizerMergeOrder merge_order;

    int32_t unk, bos, eos;
    const char *no_bos_reason; /* static string or NULL */
    bool fuse_unk, ignore_merges;
    int32_t byte_id[256]; /* byte-bpe: the byte's token; sp-bpe: its fallback token; -1 none */
    TokenizerByteFallback byte_fallback;

    pcre2_code *re[TOKENIZER_MAX_SPLITS + 1]; /* applied in order */
    int n_re;
    bool gpt2_re; /* re[n_re - 1] is GPT-2's pattern, applied after the prefix space */
    bool add_prefix_space;

    char *prefix;
    size_t prefix_len;
    bool prefix_if_missing, prefix_first_only, escape_spaces, split_on_space;
    /* No token has a space ("▁", or " " for llama2.c) right after another
     * character, so no merge crosses into a word: words can be merged apart
     * (and cached), with the same result. */
    bool words_apart;

    AddedSet added;      /* matched in the raw text */
    AddedSet added_norm; /* pipeline only: matched in the normalized text */

    struct TokPipeline *pipeline; /* tokenizer.json normalizer + pre-tokenizer, or NULL */
    char *subword_prefix, *word_suffix;
    size_t subword_prefix_len, word_suffix_len;
};

uint32_t tokHash(const char *s, size_t len);
/* Lowest id whose string is s[0..len), or -1. */
int32_t tokLookup(const Tokenizer *t, const char *s, size_t len);
/* Merge of (a, b) in rank order: the merged id and its rank, or -1. */
int32_t tokPairLookup(const Tokenizer *t, int32_t a, int32_t b, int32_t *rank);

/* White space as Unicode's White_Space property (what Python's regex module
 * and Hugging Face's tokenizers mean by \s), for use inside a character class. */
#define TOK_WS_CLASS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}" \
                     "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

/* Readers (tokenizer_json.c, tokenizer_bin.c). `path` names the file in errors. */
int tokenizerLoadHfJson(const char *path, Tokenizer **out, Error *err);
int tokenizerLoadVocabMerges(const char *vocab_path, const char *merges_path, const char *format,
                             Tokenizer **out, Error *err);
int tokenizerLoadLlama2c(const char *path, Tokenizer **out, Error *err);

/* Compiles a pre-tokenizer pattern, rewriting \s and \S to White_Space. */
pcre2_code *tokCompileRegex(const char *pattern, const char *source, Error *err);

#endif
