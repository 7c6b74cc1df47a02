#include "model/families.h"

#include <stdio.h>
#include <string.h>

/* Each defined in its own file under model/arch/. */
extern const Family familyGpt2, familyLlama, familyMistral, familyQwen2, familyQwen3, familyGemma, familyGemma2,
    familyGemma3Text, familyGptNeox, familyPhi3, familyOlmo2, familyNgpt, familyMixtral, familyQwen2Moe,
    familyQwen3Moe, familyOlmoe;

/* Order is the order of error messages and lists. */
static const Family *const kFamilies[] = {
    &familyGpt2,   &familyLlama, &familyMistral, &familyQwen2,     &familyQwen3, &familyGemma,
    &familyGemma2, &familyGemma3Text, &familyGptNeox, &familyPhi3, &familyOlmo2, &familyNgpt,
    &familyMixtral, &familyQwen2Moe, &familyQwen3Moe, &familyOlmoe,
};
#define N_FAMILIES (sizeof kFamilies / sizeof kFamilies[0])

const Family *familyByName(const char *name)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        if (!strcmp(kFamilies[i]->name, name)) return kFamilies[i];
    return NULL;
}

const Family *familyByHfArch(const char *arch)
{
    for (size_t i = 0; i < N_FAMILIES; i++)
        for (const char *const *a = kFamilies[i]->hf_archs; a && *a; a++)
            if (!strcmp(*a, arch)) return kFamilies[i];
    return NULL;
}

const Family *familyByGguf(const char *arch, const HpSource *s)
{
    const Family *fallback = NULL;
    for (size_t i = 0; i < N_FAMILIES; i++) {
        const Family *f = kFamilies[i];
        if (!f->gguf_arch || strcmp(f->gguf_arch, arch)) continue;
        if (!f->gguf_claims) {
            if (!fallback) fallback = f;
        } else if (f->gguf_claims(s)) {
            return f;
        }
    }
    return fallback;
}

const char *familyList(char *buf, size_t len, int gguf_only)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_FAMILIES && o < len; i++) {
        const char *n = gguf_only ? kFamilies[i]->gguf_arch : kFamilies[i]->name;
        if (!n || (gguf_only && kFamilies[i]->gguf_claims)) continue; /* listed by its fallback */
        o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", n);
    }
    return buf;
}
