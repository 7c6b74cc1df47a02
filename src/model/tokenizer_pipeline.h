#ifndef FFNSCOPE_MODEL_TOKENIZER_PIPELINE_H
#define FFNSCOPE_MODEL_TOKENIZER_PIPELINE_H

/* A tokenizer.json's normalizer and pre-tokenizer, step by step as Hugging
 * Face's tokenizers library runs them: the normalizer rewrites a stretch of
 * text (between added tokens), the pre-tokenizer cuts it into pieces (and may
 * rewrite them: ByteLevel, Metaspace), and the BPE model encodes each piece.
 *
 * Normalizers: NFC, NFD, NFKC, NFKD (utf8proc), Lowercase, Strip,
 * StripAccents, Replace (string or regex), Prepend, BertNormalizer,
 * Sequence. Pre-tokenizers: Split (all
 * five behaviors, invert), ByteLevel, Whitespace, WhitespaceSplit,
 * Punctuation, Digits, Metaspace, CharDelimiterSplit, BertPreTokenizer,
 * Sequence. Anything else is refused by name.
 *
 * The pipeline is read-only once parsed; what an encode call needs to run it
 * (match data, buffers) lives in a TokScratch, one per call. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ffnscope/error.h"
#include "model/tokenizer_impl.h"

typedef struct TokPipeline TokPipeline;

/* One piece of pre-tokenized text: bytes [off, off + len) of the scratch arena.
 * origin: the piece starts where the whole text starts (Metaspace "first"). */
typedef struct TokPiece {
    size_t off, len;
    bool origin;
} TokPiece;

typedef struct TokPieceList {
    TokPiece *v;
    size_t n, cap;
} TokPieceList;

typedef struct TokRange {
    size_t start, end;
    bool match;
} TokRange;

typedef struct TokScratch {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
    char *norm[2]; /* normalizer steps write one and read the other */
    size_t norm_cap[2];
    char *arena; /* pre-tokenized pieces */
    size_t arena_n, arena_cap;
    TokPieceList list[2];
    TokRange *ranges;
    size_t n_ranges, ranges_cap;
} TokScratch;

/* Parses the "normalizer" and "pre_tokenizer" members (either may be null). */
int tokPipelineParse(const char *path, json_t *normalizer, json_t *pre_tokenizer, TokPipeline **out,
                     Error *err);
void tokPipelineFree(TokPipeline *p);
bool tokPipelineHasNormalizer(const TokPipeline *p);

int tokScratchInit(TokScratch *sc, Error *err);
void tokScratchFree(TokScratch *sc);

/* Normalizes s[0..len): *out points into the scratch, valid until the next call. */
int tokPipelineNormalize(const TokPipeline *p, TokScratch *sc, const char *s, size_t len,
                         const char **out, size_t *out_len, Error *err);

/* Pre-tokenizes s[0..len) (origin: it starts the text). The pieces are
 * *pieces[0..*n), their bytes in sc->arena; valid until the next call. */
int tokPipelinePreTokenize(const TokPipeline *p, TokScratch *sc, const char *s, size_t len,
                           bool origin, const TokPiece **pieces, size_t *n, Error *err);

#endif
