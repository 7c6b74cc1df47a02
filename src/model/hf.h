#ifndef FFNSCOPE_MODEL_HF_H
#define FFNSCOPE_MODEL_HF_H

/* Hugging Face model directories: config.json plus model.safetensors or a
 * sharded model.safetensors.index.json; families gpt2, llama (and the
 * Mistral/Qwen2 variants of it) and ngpt. */

#include "ffnscope/error.h"
#include "model/reader.h"

/* 1 when path is a directory. */
int hfDetect(const char *path);

/* opt->family: forced family or NULL to detect from model_type/architectures.
 * opt->info_only: validate every tensor's presence, dtype and shape but
 * convert nothing (inspect). */
int hfLoad(const char *dir, const ModelOptions *opt, LoadedModel *out, Error *err);

#endif
