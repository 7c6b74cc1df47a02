#ifndef FFNSCOPE_TOKENIZER_H
#define FFNSCOPE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

/* Byte-level BPE (GPT-2) and SentencePiece-style BPE with byte fallback (LLaMA). */
typedef struct Tokenizer Tokenizer;

/* path: a model directory (tokenizer.json, or vocab.json + merges.txt, or
 * encoder.json + vocab.bpe, or llama2.c's tokenizer.bin, tried in that
 * order), or one of those files directly (any *.json is read as a
 * tokenizer.json, any *.bin as a tokenizer.bin; config.json or a
 * .safetensors file stands for its folder). A malformed file fails with
 * EXIT_INPUT and "PATH: what is wrong". */
int tokenizerLoad(const char *path, Tokenizer **out, Error *err);

/* Encodes UTF-8 text as one stream, without BOS/EOS. *ids is malloc'd.
 * Invalid UTF-8 fails with EXIT_INPUT ("text is not valid UTF-8 at byte N").
 * Thread-safe: t is only read. */
int tokenizerEncode(const Tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n,
                    Error *err);

int tokenizerVocabSize(const Tokenizer *t);
int tokenizerBos(const Tokenizer *t);   /* -1 when none */
/* Why there is no BOS when the files say so (tokenizer_config.json's
 * add_bos_token false or bos_token null), or NULL. */
const char *tokenizerNoBosReason(const Tokenizer *t);
const char *tokenizerKind(const Tokenizer *t); /* "byte-bpe" or "sp-bpe" */
void tokenizerFree(Tokenizer *t);

int tokenizerEos(const Tokenizer *t);   /* -1 when none */
/* Where it came from: "tokenizer.json", "vocab.json+merges.txt",
 * "encoder.json+vocab.bpe", "tokenizer.bin", "gguf". */
const char *tokenizerFormat(const Tokenizer *t);
/* The token's string as the vocabulary stores it (GPT-2's byte alphabet for
 * byte-bpe), not NUL-terminated in general; NULL for an unused id. */
const char *tokenizerToken(const Tokenizer *t, int32_t id, size_t *len);

#endif
