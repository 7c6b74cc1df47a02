#ifndef FFNSCOPE_MODEL_TOKENIZER_BUILD_H
#define FFNSCOPE_MODEL_TOKENIZER_BUILD_H

/* Building a Tokenizer from arrays.
 *
 * Every tokenizer reader ends here: tokenizer.json, vocab.json + merges.txt,
 * encoder.json + vocab.bpe, llama2.c's tokenizer.bin, and the GGUF reader
 * (tokenizer.ggml.*). The reader fills a TokenizerSpec that points at its own
 * arrays; tokenizerBuild validates them, copies what it keeps and returns a
 * Tokenizer that owns its memory, so the reader frees its arrays afterwards.
 *
 * Two kinds:
 *
 * TOKENIZER_BYTE_BPE (GPT-2). Token strings are in GPT-2's byte-to-unicode
 *   alphabet ("Ġthe"). Text is split at added tokens, then by the
 *   pre-tokenizer regexes (split_regex[], then GPT-2's pattern unless
 *   no_gpt2_regex), each piece is mapped byte by byte to the 256 byte tokens and
 *   merged by rank. A GGUF `gpt2` tokenizer: tokens, merges, bos/eos, defaults
 *   for the rest (and split_regex from tokenizer.ggml.pre if you map it).
 *
 * TOKENIZER_SP_BPE (SentencePiece-style, LLaMA). Token strings are raw UTF-8
 *   with "▁" for a space (or a plain space for llama2.c). Each text segment gets
 *   `prefix` prepended, spaces become "▁" when escape_spaces, then every UTF-8
 *   character becomes its token, or its bytes' fallback tokens, or unk; pieces
 *   are merged by rank (merges given) or by score (no merges: any adjacent pair
 *   whose concatenation is a token, highest score first, ties to the left; the
 *   rule of llama2.c's encoder and llama.cpp's SPM tokenizer).
 *   A GGUF `llama` tokenizer: tokens, scores, token types, merge_order
 *   TOKENIZER_MERGE_SCORE (or RANK when tokenizer.ggml.merges is present),
 *   prefix "▁" (when tokenizer.ggml.add_space_prefix, default true),
 *   escape_spaces, byte_fallback TOKENIZER_BYTES_BY_NAME, unk from
 *   tokenizer.ggml.unknown_token_id.
 *
 * Special tokens are matched in the text only when listed in `added`: a GGUF
 * reader that wants llama.cpp's special-token parsing passes its CONTROL and
 * USER_DEFINED tokens there; the corpus path (no added tokens) needs none.
 *
 * Ids: tokens[i] is the string of id i; NULL marks an unused id (a hole).
 * Strings need not be NUL-terminated when token_lens is given. A string that
 * appears twice maps to its lowest id. Added tokens (matched literally in the
 * text before anything else, longest first) must name ids that are holes or
 * whose token string equals their content.
 *
 * Errors name spec->source: "SOURCE: what is wrong", EXIT_INPUT for bad
 * contents (merges naming unknown tokens, ids out of range, a regex that does
 * not compile), EXIT_RUNTIME for memory. */

#include <stdbool.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/tokenizer.h"

typedef enum TokenizerKind {
    TOKENIZER_BYTE_BPE = 0,
    TOKENIZER_SP_BPE = 1,
} TokenizerKind;

typedef enum TokenizerMergeOrder {
    TOKENIZER_MERGE_RANK = 0,  /* pairs listed in merges, earlier wins (HF BPE, GPT-2) */
    TOKENIZER_MERGE_SCORE = 1, /* concatenation with the highest score wins (llama2.c) */
} TokenizerMergeOrder;

typedef enum TokenizerByteFallback {
    TOKENIZER_BYTES_NONE = 0,    /* unknown characters become unk (or vanish without one) */
    TOKENIZER_BYTES_BY_NAME = 1, /* the tokens named "<0xNN>" (HF byte_fallback, GGUF) */
    TOKENIZER_BYTES_OFFSET3 = 2, /* id = byte + 3 (llama2.c's encoder) */
} TokenizerByteFallback;

/* Token types, numbered as GGUF's tokenizer.ggml.token_type. Kept for
 * callers; the encoder itself only uses added tokens. */
enum {
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6,
};

typedef struct TokenizerAddedToken {
    int32_t id;
    const char *content; /* NUL-terminated */
    bool lstrip, rstrip; /* swallow white space before / after the match */
    bool single_word;    /* match only between non-word characters */
    /* tokenizer.json tokens marked "normalized" with a pipeline: the content
     * as the normalizer leaves it, matched in normalized text; NULL: content
     * is matched in the raw text. */
    const char *match;
} TokenizerAddedToken;

enum { TOKENIZER_MAX_SPLITS = 4 };

typedef struct TokenizerSpec {
    TokenizerKind kind;
    const char *source; /* file named in error messages */
    const char *format; /* "tokenizer.json", "gguf", ... (static string) */

    int32_t n_tokens;
    const char *const *tokens;  /* [n_tokens], NULL = unused id */
    const uint32_t *token_lens; /* [n_tokens] byte lengths, or NULL: NUL-terminated */
    const float *scores;        /* [n_tokens] or NULL; required for TOKENIZER_MERGE_SCORE */
    const int32_t *types;       /* [n_tokens] or NULL (TOKEN_TYPE_*) */

    TokenizerMergeOrder merge_order;
    int32_t n_merges;
    /* Either merges ("left right", split at the single space) or the two halves. */
    const char *const *merges;      /* [n_merges] */
    const char *const *merge_left;  /* [n_merges] */
    const char *const *merge_right; /* [n_merges] */

    int32_t unk, bos, eos; /* -1 when none */
    const char *no_bos_reason; /* why bos is -1 (static string), or NULL */
    bool fuse_unk;         /* consecutive unknown characters give one unk */
    bool ignore_merges;    /* a piece that is a token as a whole is taken as is */

    /* byte-bpe */
    int n_splits;                                /* Split pre-tokenizers, applied in order */
    const char *split_regex[TOKENIZER_MAX_SPLITS]; /* PCRE2 patterns (\s means Unicode White_Space) */
    bool no_gpt2_regex;    /* ByteLevel use_regex=false */
    bool add_prefix_space; /* ByteLevel: a space before each piece not starting with one */

    /* sp-bpe */
    const char *prefix;     /* prepended to each text segment, NULL for none */
    bool prefix_if_missing; /* only when the segment does not start with it (Metaspace) */
    bool prefix_first_only; /* only for the segment at the start of the text (Metaspace "first") */
    bool escape_spaces;     /* " " becomes "▁" */
    bool split_on_space;    /* Metaspace split=true: pieces start at each "▁" */
    TokenizerByteFallback byte_fallback;

    int32_t n_added;
    const TokenizerAddedToken *added; /* [n_added] */

    /* tokenizer.json in general (kind TOKENIZER_SP_BPE, no prefix/escaping):
     * the normalizer and pre-tokenizer steps, handed over to the tokenizer by
     * tokenizerBuild (freed there on failure), and the BPE model's affixes. */
    struct TokPipeline *pipeline;
    const char *subword_prefix; /* continuing_subword_prefix, NULL for none */
    const char *word_suffix;    /* end_of_word_suffix, NULL for none */
} TokenizerSpec;

/* A spec with every optional field off and unk/bos/eos = -1. */
void tokenizerSpecInit(TokenizerSpec *spec, TokenizerKind kind, const char *source,
                       const char *format);

/* Validates spec and builds the tokenizer (see the top of this file). */
int tokenizerBuild(const TokenizerSpec *spec, Tokenizer **out, Error *err);

/* GPT-2's byte-to-unicode alphabet: the UTF-8 string (1 or 2 bytes, NUL-terminated)
 * that stands for byte b in byte-level token strings. */
void tokenizerByteChar(unsigned b, char out[3]);

#endif
