#ifndef FFNSCOPE_MODEL_HPARAMS_H
#define FFNSCOPE_MODEL_HPARAMS_H

/* Hyperparameters, read the same way from every checkpoint format. A format
 * reader wraps its key-value store in an HpSource (config.json for Hugging
 * Face directories, the metadata of a GGUF file, or a short list of values a
 * binary header gave); a family describes what it needs as a table of
 * Hparam rows (Hugging Face key, GGUF key, default) and a configure function
 * for what a table cannot say. See docs/architecture.md. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

typedef enum HpKind { HPV_ABSENT, HPV_NULL, HPV_INT, HPV_REAL, HPV_BOOL, HPV_STR, HPV_OTHER } HpKind;

typedef struct HpValue {
    HpKind kind;        /* getters treat HPV_NULL (JSON null) as absent */
    int64_t i;          /* HPV_INT, HPV_BOOL */
    double r;           /* HPV_REAL, and HPV_INT as a number */
    const char *s;      /* HPV_STR, NUL-terminated */
    size_t len;
} HpValue;

/* A key-value store. find: 0 with *v filled (kind HPV_ABSENT when the key is
 * not there), -1 with err set when the store itself is broken or, where the
 * store types its values (GGUF), the value is not of the kind wanted. Hugging Face
 * keys may be dotted paths into nested objects and arrays
 * ("rope_scaling.factor", "layer_types.3"); GGUF keys are given without the
 * "ARCH." prefix, which the source adds. */
typedef struct HpSource {
    const char *path;   /* named in every error */
    int gguf;           /* keys are GGUF names */
    const char *arch;   /* GGUF: the general.architecture prefix */
    int (*find)(const struct HpSource *s, const char *key, HpKind want, HpValue *v, Error *err);
    const void *impl;
} HpSource;

/* The key this source reads of a (Hugging Face, GGUF) pair; NULL when the
 * format has no such key. */
const char *hpKey(const HpSource *s, const char *hf, const char *gguf);
/* The name of that key as messages print it ("llama.embedding_length" for GGUF). */
const char *hpKeyName(const HpSource *s, const char *hf, const char *gguf, char *buf, size_t len);

/* Getters: 1 when the key is absent (*out = dflt), 0 when read, -1 on a
 * wrong type or value (error names the file and the key). required: absent
 * is an error too. Integers must be positive; reals positive and finite
 * unless hpReal's any_sign. */
int hpInt(const HpSource *s, const char *hf, const char *gguf, int required, int dflt, int *out, Error *err);
int hpReal(const HpSource *s, const char *hf, const char *gguf, int any_sign, double dflt, double *out,
           Error *err);
int hpBool(const HpSource *s, const char *hf, const char *gguf, int dflt, int *out, Error *err);
/* The string (valid until the source is closed), dflt when absent. */
int hpStr(const HpSource *s, const char *hf, const char *gguf, const char *dflt, const char **out, Error *err);
/* 1 when the key is present (and not null). */
int hpHas(const HpSource *s, const char *hf, const char *gguf);
/* 1 when the key is present with the value null (Hugging Face: "turned off",
 * where absence means the config class's default). */
int hpIsNull(const HpSource *s, const char *hf, const char *gguf);

/* One row of a family's hyperparameter table: where the value lives in the
 * family's config struct, and how each format names it. */
typedef enum HpType { HP_INT, HP_REAL, HP_BOOL } HpType;
#define HP_REQUIRED 1
typedef struct Hparam {
    const char *hf, *gguf;  /* NULL: the format has no such key */
    HpType type;
    size_t offset;          /* of an int (HP_INT, HP_BOOL) or double (HP_REAL) */
    int required;           /* HP_REQUIRED or 0 */
    double dflt;            /* when absent and not required */
} Hparam;

/* Reads every row of table (ended by a row with both keys NULL) into the
 * struct at base. */
int hparamsRead(const Hparam *table, const HpSource *s, void *base, Error *err);

/* A source over a fixed list of Hugging Face keys and numbers, for formats
 * whose header is a handful of integers (llama2.c, llm.c). */
typedef struct HpPair {
    const char *key;
    double value;
    int boolean;        /* the value is true/false */
} HpPair;
#define HP_NUM(key, v) {(key), (double)(v), 0}
#define HP_BOOL_PAIR(key, v) {(key), (double)(v), 1}
#define HP_END {NULL, 0, 0}
void hpListSource(HpSource *s, const char *path, const HpPair *pairs);

#endif
