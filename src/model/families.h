#ifndef FFNSCOPE_MODEL_FAMILIES_H
#define FFNSCOPE_MODEL_FAMILIES_H

/* The registry of architectures: one explicit const table (families.c), one
 * row per family, each family's tables and block in its own file under
 * model/arch/. Readers look a family up here instead of naming any. */

#include <stddef.h>

#include "model/arch.h"

/* By registry name (an HF model_type), NULL when unknown. */
const Family *familyByName(const char *name);
/* By one entry of a config.json "architectures" list (exact), NULL when unknown. */
const Family *familyByHfArch(const char *arch);
/* By GGUF general.architecture (s reads the file's metadata, for the
 * families that share one), NULL when unknown. */
const Family *familyByGguf(const char *arch, const HpSource *s);
/* "gpt2, llama, ..." into buf (for messages). */
const char *familyList(char *buf, size_t len, int gguf_only);

#endif
