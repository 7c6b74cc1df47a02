#ifndef FFNSCOPE_MODEL_FORMATS_H
#define FFNSCOPE_MODEL_FORMATS_H

/* Checkpoint readers beyond Hugging Face directories (see reader.h's
 * ModelReader): GGUF (gguf_model.c), llm.c GPT-2 (llmc.c) and llama2.c
 * (llama2c.c). Each detect looks at the path only; each load validates the
 * whole file against its header before it trusts a byte. */

#include "ffnscope/error.h"
#include "model/reader.h"

/* A regular file named *.gguf or starting with "GGUF". Architectures llama and
 * gpt2; tensors F32, F16, BF16, Q8_0; the embedded tokenizer when present. */
int ggufModelDetect(const char *path);
int ggufModelLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err);

/* A regular file starting with llm.c's magic 20240326: versions 3 (fp32) and
 * 5 (bf16). The tokenizer comes from opt->tokenizer (model.c loads it). */
int llmcDetect(const char *path);
int llmcLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err);

/* Any other regular *.bin file: llama2.c version 0 (bare 7-int config) or
 * version 1 ("ak42" header padded to 256 bytes), with tokenizer.bin from the
 * same folder unless opt->tokenizer names one. */
int llama2cDetect(const char *path);
int llama2cLoad(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err);

#endif
