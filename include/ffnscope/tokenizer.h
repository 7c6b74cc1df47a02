#ifndef FFNSCOPE_TOKENIZER_H
#define FFNSCOPE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

/* Byte-level BPE (GPT-2) and SentencePiece-style BPE with byte fallback (LLaMA). */
typedef struct Tokenizer Tokenizer;

/* path: a model directory (tokenizer.json, or vocab.json + merges.txt, or
 * encoder.json + vocab.bpe), or one of those files directly. */
int tokenizerLoad(const char *path, Tokenizer **out, Error *err);

/* Encodes UTF-8 text as one stream, without BOS/EOS. *ids is malloc'd. */
int tokenizerEncode(const Tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
                    Error *err);

int tokenizerVocabSize(const Tokenizer *t);
int tokenizerBos(const Tokenizer *t);   /* -1 when none */
const char *tokenizerKind(const Tokenizer *t); /* "byte-bpe" or "sp-bpe" */
void tokenizerFree(Tokenizer *t);

#endif
